// libFuzzer target: frames from the loader plugin, and everything the daemon makes
// of them without touching the disk: uWSGI's trouble lines, breadcrumbs, the
// harakiri story, the workers' cores (from a frame or the stats server), the
// scrubber, the event JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = ArraySlice(UnsafeBufferPointer(start: data, count: size))
    let host = HostFacts(hostName: "h", os: .init(sysname: "Linux", release: "6", version: "1", machine: "x"))
    let text = String(decoding: bytes, as: UTF8.self)
    // The bytes as a log line too: every parser that reads one.
    _ = UWSGILine.parse(text)
    var ring = LogRing(capacity: 30)
    ring.append(text, received: 1)
    for crumb in Breadcrumbs.make(ring.lines, count: 30, trigger: text) {
        precondition(crumb.message.unicodeScalars.count <= Breadcrumbs.maxLineLength || crumb.message == Scrubber.filtered)
    }
    _ = Scrubber.message(text)
    _ = Scrubber.query(text)
    // ... and as a line of a harakiri's story (the cmd: path has no frame, only lines).
    var told = HarakiriStory(wid: 1, pid: 1, attempt: 1, at: 1_795_639_465)
    if told.absorb(text) { _ = told.event(options: Options(), host: host, crumbs: [], eventID: "0123456789abcdef0123456789abcdef").0.json() }
    // ... and as what uWSGI's stats server says (a cmd: alarm asks it on a full listen queue).
    if let cores = try? StatsServer.cores(in: Array(bytes)) {
        let full = "*** uWSGI listen queue of socket \"x\" (fd: 3) full !!! (2/2) ***"
        var (asked, _) = Event.build(options: Options(), message: full, host: host, packet: nil,
                                     eventID: "0123456789abcdef0123456789abcdef", timestamp: "2026-01-01T00:00:00.000Z")
        Troubles.explain(&asked, line: full, cores: cores, now: 1_795_639_465)
        _ = asked.json()
    }
    guard let frame = try? LoaderFrame.decode(bytes) else { return 0 }
    let options = Options.parse(frame.options, environment: { _ in nil }).0
    let line = String(decoding: frame.body, as: UTF8.self)
    var (event, _) = Event.build(options: options, message: frame.kind == .exception ? nil : line, host: host,
                                 packet: frame.kind == .exception ? try? ExceptionPacket.decode(frame.body[...]) : nil,
                                 eventID: "0123456789abcdef0123456789abcdef", timestamp: "2026-01-01T00:00:00.000Z")
    Troubles.explain(&event, line: line, cores: frame.cores, now: 1_795_639_465)
    event.breadcrumbs = Breadcrumbs.make(ring.lines, count: options.breadcrumbs)
    _ = event.json()
    var story = HarakiriStory(frame: frame, now: 1_795_639_465)
    _ = story.absorb(line)
    _ = story.event(options: options, host: host, crumbs: [], eventID: "0123456789abcdef0123456789abcdef").0.json()
    return 0
}
