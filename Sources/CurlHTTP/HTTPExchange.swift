// What crosses the door to libcurl: a request in, raw bytes out. Parsing the answer
// (every header, the body) is SentryCore's job, where it is unit-tested and fuzzed:
// nothing from the network is interpreted here.

@frozen
public struct HTTPRequest {
    public var url: String
    public var headers: [String]
    public var body: [UInt8]
    /// Seconds for connect plus the whole transfer. Callers pass a finite, positive
    /// value (Options bounds it); it is clamped here again before becoming milliseconds.
    public var timeout: Double
    public var verifyTLS: Bool
    public var caFile: String?

    public init(url: String, headers: [String], body: [UInt8], timeout: Double, verifyTLS: Bool = true, caFile: String? = nil) {
        self.url = url; self.headers = headers; self.body = body; self.timeout = timeout
        self.verifyTLS = verifyTLS; self.caFile = caFile
    }
}

/// An HTTP answer as it came: the status libcurl parsed; the status lines and the
/// few headers we read (rate limits, Retry-After, X-Sentry-Error, Content-Type) of
/// every header block it saw (a 1xx or a proxy's CONNECT answer may come first), at
/// most 16 KiB, whatever else the server sent; the first 8 KiB of the body.
@frozen
public struct RawResponse {
    public var status: Int
    public var headerBytes: [UInt8]
    public var bodyBytes: [UInt8]
    /// The body went on past 1 MiB and was cut there (no Sentry answer is that long).
    public var bodyCut: Bool

    public init(status: Int, headerBytes: [UInt8], bodyBytes: [UInt8], bodyCut: Bool = false) {
        self.status = status; self.headerBytes = headerBytes; self.bodyBytes = bodyBytes; self.bodyCut = bodyCut
    }
}

@frozen
public enum TransferError: Error, Equatable {
    /// libcurl.so.4 could not be loaded (or could not make a handle).
    case libraryMissing
    /// No HTTP answer: refused, DNS, timeout, TLS, reset...
    case network(String)
    /// libcurl would not take the request (an option it refused): our side, not the network.
    case setup(String)
}

/// Milliseconds for libcurl from seconds that may come from anywhere: NaN, negative
/// and infinite values never reach `Int(_:)` (which traps on them).
@inlinable
public func clampedMilliseconds(_ seconds: Double, max: Double = 3_600_000) -> Int {
    guard seconds.isFinite, seconds > 0 else { return 1 }
    return Int(Swift.min(max, Swift.max(1, seconds * 1000)))
}
