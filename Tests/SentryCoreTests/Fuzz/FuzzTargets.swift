// What each fuzz target does with one input: shared by libFuzzer (`make fuzz` compiles
// this file with the core's sources and Fuzz/<target>.swift, an entry point of two
// lines, under AddressSanitizer) and by the unit tests, which replay every kept input
// of Fuzz/corpus/ through the same code (CorpusReplayTests.swift).
#if canImport(SentryCore)
@testable import SentryCore
#endif
import CurlHTTP
import SentryRing

enum FuzzTargets {
    static let all: [(name: String, run: ([UInt8]) -> Void)] = [
        ("dsn", dsn), ("frame", frame), ("options", options), ("packet", packet), ("response", response),
    ]

    static let host = HostFacts(hostName: "h", os: .init(sysname: "Linux", release: "6", version: "1", machine: "x"))
    static let eventID = "0123456789abcdef0123456789abcdef"
    static let timestamp = "2026-01-01T00:00:00.000Z"

    /// The DSN parser (and the masking of what it rejects).
    static func dsn(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let dsn = try DSN(parsing: text)
            // Whatever parses must be safe to put in a header line.
            let header = dsn.authHeader(client: "fuzz/1") + dsn.envelopeURL + dsn.publicDSN
            precondition(!header.utf8.contains(10) && !header.utf8.contains(13), "CR/LF in a header")
        } catch let e as DSN.ParseError {
            precondition(!e.description.utf8.contains(10), "newline in an error line")
        } catch {}
        _ = DSN.mask(text)
    }

    /// Frames from the loader plugin, and everything the daemon makes of them without
    /// touching the disk: uWSGI's trouble lines, breadcrumbs, the harakiri story, the
    /// workers' cores (from a frame or the stats server), the scrubber, the event JSON.
    static func frame(_ raw: [UInt8]) {
        let bytes = raw[...]
        let text = String(decoding: bytes, as: UTF8.self)
        // The bytes as a dead daemon's journal found in the spool: only whole records,
        // inside the bytes, each under a name the spool would list.
        for r in Journal.records(raw) {
            precondition(r.offset >= 0 && r.body.lowerBound > r.offset && r.body.upperBound <= raw.count, "a journal record outside its bytes")
            precondition(!r.name.contains("/") && (SpoolEntry(name: r.name) != nil || Spool.isFrameName(r.name)),
                         "a journal record named \(r.name)")
        }
        // The bytes as the log lines' ring the loader shares with the daemon (its head
        // and tail from the first 16 bytes, its records the rest): every record read
        // lies inside the ring, and reading ends.
        if raw.count > 16 + 8 {
            let size = UInt32(raw.count - 16)
            let ring = UnsafeMutableRawPointer.allocate(byteCount: Int(sentry_ring_header()) + Int(size), alignment: 8)
            defer { ring.deallocate() }
            let r = ring.bindMemory(to: sentry_ring.self, capacity: 1)
            r.pointee.magic = SENTRY_RING_MAGIC
            r.pointee.size = size
            r.pointee.head = raw[0..<8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            r.pointee.tail = raw[8..<16].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            let data = ring + Int(sentry_ring_header())
            raw[16...].withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var at = r.pointee.tail, got: UnsafePointer<UInt8>? = nil, n: UInt32 = 0, reads = 0
            while sentry_ring_next(r, size, &at, &got, &n) == 1 {
                let start = UnsafeRawPointer(got!) - UnsafeRawPointer(data)
                precondition(start >= 4 && start + Int(n) <= Int(size), "a ring record outside the ring")
                reads += 1
                precondition(reads <= Int(size) / 4, "reading the ring does not end")
            }
        }
        // The bytes as a log line too: every parser that reads one.
        _ = UWSGILine.parse(text)
        var ring = LogRing(capacity: 30)
        ring.append(text, received: 1)
        for crumb in Breadcrumbs.make(ring.lines, count: 30, trigger: text) {
            precondition(crumb.message.unicodeScalars.count <= Breadcrumbs.maxLineLength || crumb.message == Scrubber.filtered)
        }
        _ = Scrubber.message(text)
        _ = Scrubber.query(text)
        // ... and as a line of a harakiri's story.
        var told = HarakiriStory(wid: 1, pid: 1, attempt: 1, at: 1_795_639_465)
        if told.absorb(text) { _ = told.event(options: Options(), host: host, crumbs: [], eventID: eventID).0.json() }
        // ... and as what uWSGI's stats server says (a cmd: alarm asks it on a full listen queue).
        if let cores = try? StatsServer.cores(in: raw) {
            let full = "*** uWSGI listen queue of socket \"x\" (fd: 3) full !!! (2/2) ***"
            var (asked, _) = Event.build(options: Options(), message: full, host: host, packet: nil,
                                         eventID: eventID, timestamp: timestamp)
            Troubles.explain(&asked, line: full, cores: cores, now: 1_795_639_465)
            _ = asked.json()
        }
        // ... and as a line of uWSGI's log for Sentry Logs.
        if !LogRecord.skipped(line: text) { _ = LogRecord.line(text, at: 1_795_639_465, trace: Trace.of(sentryTrace: nil, traceparent: nil, request: nil)).json() }
        // A line's frame read on its own (the daemon's way for lines) says what decode says of it.
        if let line = LoaderFrame.line(bytes) {
            let whole = try? LoaderFrame.decode(bytes)
            precondition(whole?.kind == .log && whole?.line == line, "a line read alone differs from the frame decoded")
        }
        guard let frame = try? LoaderFrame.decode(bytes) else { return }
        let options = Options.parse(frame.options, environment: { _ in nil }).0
        // A request's record and a minute of sessions, from whatever the frame says.
        if let record = LogRecord.request(frame, options: options) {
            _ = record.json(common: LogRecord.common(release: options.release, environment: "production", serverName: "h"))
        }
        if let minute = frame.sessions, minute.refusal(now: 1_795_639_465) == nil { _ = minute.payload(release: "r", environment: "e") }
        let line = String(decoding: frame.body, as: UTF8.self)
        var (event, _) = Event.build(options: options, message: frame.kind == .exception ? nil : line, host: host,
                                     packet: frame.kind == .exception ? try? ExceptionPacket.decode(frame.body[...]) : nil,
                                     eventID: eventID, timestamp: timestamp)
        Troubles.explain(&event, line: line, cores: frame.cores, now: 1_795_639_465)
        event.breadcrumbs = Breadcrumbs.make(ring.lines, count: options.breadcrumbs)
        _ = event.json()
        var story = HarakiriStory(frame: frame, now: 1_795_639_465)
        _ = story.absorb(line)
        _ = story.event(options: options, host: host, crumbs: [], eventID: eventID).0.json()
        // ... and as a crash: the body as each item of a capture, the maps and the Python
        // stack parsed, the event built (with no maps: the files they name stay unread).
        var crash = CrashStory(frame: frame)
        for key in ["code", "addr", "tid", "crash_core", "registers", "stack", "python"] { _ = crash.frame.crash.take(key, line) }
        _ = ProcessMaps.objects(line)
        _ = PythonStack.frames(line)
        _ = crash.isOwnLine(line)
        crash.frame.crash.maps = ""
        crash.death = frame
        crash.endedBy = (frame.signal, frame.exitCode)
        _ = crash.event(options: options, host: host, crumbs: []).json()
    }

    /// The option-string grammar, options, and the event they build.
    static func options(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (options, _) = Options.parse(text, environment: { _ in nil })
        _ = KVList.pairs(text)
        _ = KVList.list(text)
        let (event, _) = Event.build(options: options, message: options.message ?? text, host: host,
                                     eventID: eventID, timestamp: timestamp)
        _ = event.json()
        _ = Grouping.mask(text)
        _ = NativeBacktrace.parse(text)
    }

    /// uWSGI exception packets, and the event built from one.
    static func packet(_ bytes: [UInt8]) {
        // Frames' locals are JSON text kept as text: the same bytes the tree would give.
        if let why = canonicalDifference(bytes) { fatalError("canonical JSON: \(why)") }
        Backtrace.knownFacts.forget()
        guard let packet = try? ExceptionPacket.decode(bytes[...]) else { return }
        // Read again, its facts remembered: the same packet.
        precondition((try? ExceptionPacket.decode(bytes[...])) == packet, "a packet read with its facts remembered differs")
        let (event, _) = Event.build(options: Options(), message: nil, host: host, packet: packet,
                                     eventID: eventID, timestamp: timestamp)
        _ = event.json()
    }

    /// What `JSONReader.canonical` writes differs from what JSONWriter writes of the
    /// tree `parse` builds (scrubbed or not), or one throws and the other does not.
    static func canonicalDifference(_ bytes: [UInt8]) -> String? {
        let tree = try? JSONReader.parse(bytes)
        let text = try? JSONReader.canonical(bytes)
        let scrubbed = try? JSONReader.canonical(bytes, rewrite: Event.scrubbing)
        guard let tree else { return text == nil && scrubbed == nil ? nil : "parse threw, canonical did not" }
        var plain = JSONWriter(), clean = JSONWriter()
        plain.value(nil, tree)
        clean.value(nil, Event.scrubbed(tree, name: nil))
        if text != plain.bytes { return "plain: \(String(decoding: text ?? [], as: UTF8.self)) != \(String(decoding: plain.bytes, as: UTF8.self))" }
        if scrubbed != clean.bytes { return "scrubbed: \(String(decoding: scrubbed ?? [], as: UTF8.self)) != \(String(decoding: clean.bytes, as: UTF8.self))" }
        // The locals' way: passed over as a member (`keepingRaw`), then scrubbed, or
        // written unscrubbed: the same bytes again.
        guard let member = (try? JSONReader.parse(Array(#"{"v":"#.utf8) + bytes + [125], keepingRaw: "v"))?["v"] else {
            return "a value parse reads was not passed over as a member"
        }
        if Event.scrubbed(member, name: nil) != .raw(clean.bytes) { return "passed over, then scrubbed: \(Event.scrubbed(member, name: nil))" }
        var unscrubbed = JSONWriter()
        unscrubbed.value(nil, member)
        if unscrubbed.bytes != plain.bytes { return "passed over, written: \(String(decoding: unscrubbed.bytes, as: UTF8.self))" }
        return nil
    }

    /// The response side. Everything a server (or a proxy in front of it) can send: the
    /// status, the header bytes (repeated and malformed X-Sentry-Rate-Limits,
    /// Retry-After as a number or an HTTP date, negative, huge), the body (reason and
    /// detail extraction, invalid UTF-8, control characters); and the state files
    /// those answers are remembered in.
    static func response(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
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
    }
}
