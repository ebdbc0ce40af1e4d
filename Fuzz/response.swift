// libFuzzer target: the response side. Everything a server (or a proxy in front of
// it) can send: the status, the header bytes (repeated and malformed
// X-Sentry-Rate-Limits, Retry-After as a number or an HTTP date, negative, huge),
// the body (reason and detail extraction, invalid UTF-8, control characters); and
// the state files those answers are remembered in.
import CurlHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    // Two bytes of status (any 0...65535: libcurl reports what the line said), then
    // the headers, a NUL, the body.
    let status = Int(bytes[0]) | Int(bytes[1]) << 8
    let rest = bytes[2...]
    let split = rest.firstIndex(of: 0) ?? rest.endIndex
    let raw = RawResponse(status: status, headerBytes: Array(rest[..<split]),
                          bodyBytes: Array(rest[min(split + 1, rest.endIndex)...]), bodyCut: bytes[0] & 1 == 1)
    let now = 1_795_553_883.0
    let outcome = Transport.classify(.success(raw), now: now)
    if case .rateLimited(_, let seconds) = outcome {
        precondition(seconds.isFinite && seconds >= 0 && seconds <= Seconds.serverCap, "retry after \(seconds)")
    }
    let response = HTTPResponse(raw)
    for limit in RateLimits.from(response, now: now) {
        precondition(limit.seconds.isFinite && limit.seconds >= 0 && limit.seconds <= Seconds.serverCap)
        precondition(limit.categories.allSatisfy(\.isWellFormed))
    }
    let reason = Transport.reason(response)
    precondition(!reason.unicodeScalars.contains { $0.value < 32 || $0.value == 127 }, "a control character in a log line")
    let dsn = try! DSN(parsing: "http://0123456789abcdef@127.0.0.1:9/1")
    let line = Sender(dsn: dsn, options: Options(), state: nil).describe(outcome, eventID: "e")
    precondition(!line.utf8.contains(10) && !line.utf8.contains(13))
    precondition(!line.contains("0123456789abcdef"), "the key in a log line")
    // The same bytes as the state files that remember answers.
    for (_, deadline) in RateLimits.decode(bytes, now: now) { precondition(deadline.isFinite && deadline <= now + Seconds.serverCap) }
    _ = Budget.Window(bytes)
    _ = ClientReport.decode(bytes)
    _ = Seconds.whole(Double(bitPattern: UInt64(truncatingIfNeeded: status) &* 0x9E3779B97F4A7C15))
    return 0
}
