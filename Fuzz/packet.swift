// libFuzzer target: uWSGI exception packets, and the event built from one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = ArraySlice(UnsafeBufferPointer(start: data, count: size))
    guard let packet = try? ExceptionPacket.decode(bytes) else { return 0 }
    let host = HostFacts(hostName: "h", os: .init(sysname: "Linux", release: "6", version: "1", machine: "x"))
    let (event, _) = Event.build(options: Options(), message: nil, host: host, packet: packet,
                                 eventID: "0123456789abcdef0123456789abcdef", timestamp: "2026-01-01T00:00:00.000Z")
    _ = event.json()
    return 0
}
