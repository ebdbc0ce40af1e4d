// libFuzzer target: the option-string grammar, options, and the event they build.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOptions(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let (options, _) = Options.parse(text, environment: { _ in nil })
    _ = KVList.pairs(text)
    _ = KVList.list(text)
    let host = HostFacts(hostName: "h", os: .init(sysname: "Linux", release: "6", version: "1", machine: "x"))
    let (event, _) = Event.build(options: options, message: options.message ?? text, host: host,
                                 eventID: "0123456789abcdef0123456789abcdef", timestamp: "2026-01-01T00:00:00.000Z")
    _ = event.json()
    _ = Grouping.mask(text)
    _ = NativeBacktrace.parse(text)
    return 0
}
