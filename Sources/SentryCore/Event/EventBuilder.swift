// Options + message + host facts (+ uWSGI's exception packet) -> an Event that
// Sentry's own normaliser (Relay's StoreNormalizer) accepts with zero errors. Limits
// are applied here, not left to the server, so nothing is silently dropped by a
// strict validator.

extension Event {
    /// Builds the event; returns the problems met on the way (warnings, or fatal under --check).
    public static func build(options o: Options, message: String?, host: HostFacts, packet: ExceptionPacket? = nil,
                             eventID: String = System.randomEventID(), timestamp: String = System.now())
        -> (Event, [Options.Problem]) {
        var problems: [Options.Problem] = []
        var e = Event(eventID: eventID, timestamp: timestamp, host: host)
        // uWSGI's own date prefix says again what the event's timestamp says.
        let message = message.map { Breadcrumbs.stripDate($0).line }
        if let raw = o.level {
            if let level = Level(lenient: raw) { e.level = level }
            else { problems.append(.init(text: "level '\(raw)' is not one of fatal, error, warning, info, debug; using error")) }
        } else if let message, packet == nil, let level = Grouping.inferLevel(message) {
            e.level = level
        }
        if let raw = o.platform {
            if let platform = Platform.named(raw) { e.platform = platform }
            else { problems.append(.init(text: "platform '\(raw)' is not a Sentry platform; using other")) }
        }
        e.message = message.map { truncate($0, to: messageLimit) }
        e.logger = clip(o.logger ?? "uwsgi", 64)
        e.culprit = o.culprit.map { clip($0, 200) }
        e.transaction = o.transaction.map { clip($0, 200) }
        e.serverName = clip(o.serverName ?? host.hostName, 200)
        e.release = o.release.flatMap { sanitizeName($0, what: "release", limit: 200, &problems) }
        e.dist = o.dist.flatMap { sanitizeName($0, what: "dist", limit: 64, &problems) }
        // Sentry's SDKs say `production` when nobody said otherwise.
        e.environment = o.environment.flatMap { sanitizeName($0, what: "environment", limit: 64, &problems) } ?? "production"
        for tag in o.tags {
            guard let key = tagKey(tag.name) else {
                problems.append(.init(text: "tag key '\(tag.name)' is empty or has no usable characters; tag dropped"))
                continue
            }
            e.tags.append(Field(key, clip(tag.value.replacingNewlines(), 200)))
        }
        e.extra = o.extra.map { Field(clip($0.name, 200), clip($0.value, 16_384)) }
        e.fingerprint = o.fingerprint.map { clip($0, 200) }
        if e.fingerprint.isEmpty, packet == nil, o.exceptionType == nil, o.exceptionValue == nil, let message = e.message {
            // Same trouble, other pid/worker/address: one Sentry issue.
            e.fingerprint = [clip(Grouping.mask(message), 1024)]
        }
        e.user = o.user
        if o.exceptionType != nil || o.exceptionValue != nil {
            e.exception = ExceptionInfo(type: o.exceptionType.map { clip($0, 256) },
                                        value: o.exceptionValue.map { truncate($0, to: messageLimit) })
        }
        if let packet { e.apply(packet, options: o) }
        if e.exception == nil, let message = e.message, let crash = NativeBacktrace.parse(message) {
            e.exception = ExceptionInfo(type: "SIGSEGV", value: "uWSGI process \(crash.pid ?? "?") got Segmentation Fault",
                                        frames: crash.frames)
            e.backtraceLines = Grouping.lines(message)
        }
        return (e, problems)
    }

    /// What uWSGI's exception packet says; the packet wins over exception_type/value
    /// (as in the old plugin), explicit options win for the rest.
    mutating func apply(_ p: ExceptionPacket, options o: Options) {
        let (type, module) = p.typeAndModule ?? (o.exceptionType ?? "Exception", nil)
        let value = (p.message ?? o.exceptionValue).map { Event.truncate($0, to: Event.messageLimit) }
        let facts = p.backtrace.facts
        let python = p.language == .python
        // Python frames are made here as sentry-python makes them; Ruby's came made.
        // Each library path ends in `/` once per event, not once per frame.
        let libraries = (facts?.libraryPaths ?? []).compactMap { $0.isEmpty ? nil : $0.hasSuffix("/") ? $0 : $0 + "/" }
        let frame = { (f: StackFrame) in python ? Event.python(f, libraries: libraries, locals: o.locals) : f }
        exception = ExceptionInfo(type: Event.clip(type, 256), value: value, module: module, frames: p.framesOldestFirst.map(frame))
        if !p.backtrace.chained.isEmpty { exception?.chainID = 0 }
        chained = p.backtrace.chained.map { x in
            var x = x
            x.type = x.type.map { Event.clip($0, 256) }
            x.value = x.value.map { Event.truncate($0, to: Event.messageLimit) }
            x.frames = x.frames.map(frame)
            return x
        }  // oldest (the deepest cause) first, as the capture sent them
        request = p.request
        trace = Trace.of(sentryTrace: p.vars.last(named: "HTTP_SENTRY_TRACE"), traceparent: p.vars.last(named: "HTTP_TRACEPARENT"),
                         request: facts?.request)
        runtime = facts?.runtime
        if let facts, !facts.modules.isEmpty { modules = facts.modules }
        if let id = facts?.threadID {  // as sentry-ruby says it: the exception's thread, the current one
            exception?.threadID = id
            thread = EventThread(id: id, name: nil, frames: [], registers: [])
        }
        argv = facts?.argv ?? []
        importPaths = facts?.importPaths ?? []
        if let wid = p.workerID { tags.append(Field("worker", wid)) }
        if let pid = p.pid { tags.append(Field("pid", pid)) }
        if o.serverName == nil, let node = p.node, !node.isEmpty { serverName = Event.clip(node, 200) }
        // A time before 1970 or after 9999 is no time uWSGI sent: keep ours.
        if let unix = p.unix, unix > 0, unix < 253_402_300_800 { timestamp = System.rfc3339(seconds: unix, milliseconds: 0) }
        if o.platform == nil {
            switch p.language {
            case .python: platform = "python"
            case .ruby: platform = "ruby"
            case .unknown: break
            }
        }
        if transaction == nil, let path = p.vars.last(named: "PATH_INFO"), !path.isEmpty {
            transaction = Event.clip(path, 200)
        }
        // Outside a request: where it ran, and what uWSGI called (a spooler task's
        // function and its arguments, a signal handler and its number...).
        if let kind = p.process {
            mechanism = "uwsgi.excepthook"
            tags.append(Field("uwsgi.process", Event.clip(kind, 32)))
            if let id = p.processID { tags.append(Field("uwsgi.\(Event.clip(kind, 32))", Event.clip(id, 32))) }
        }
        if let entry = p.entry, !entry.isEmpty {
            tags.append(Field("uwsgi.entry", Event.clip(entry, 200)))
            if transaction == nil { transaction = Event.clip(entry, 200) }
        }
        // The entry's arguments are in its frame's locals (scrubbed there); these say
        // what ran: a spooler task's file and function, a signal handler's number.
        for (name, value) in [("uwsgi.spooler_task", p.spoolerTask), ("uwsgi.spooler_function", p.spoolerFunction),
                              ("uwsgi.signal", p.signal), ("uwsgi.farm", p.farm)] {
            if let value, !value.isEmpty { tags.append(Field(name, Event.clip(value, 200))) }
        }
    }

    /// A Python frame as sentry-python makes it: the file relative to its package
    /// (`pkg/mod.py`, a top-level module's basename), in_app unless it lies in the
    /// interpreter's libraries or a site-/dist-packages directory, its locals (unless
    /// `locals=false`).
    /// `libraries`: the interpreter's library paths, each ending in `/`.
    static func python(_ f: StackFrame, libraries: [String], locals: Bool) -> StackFrame {
        var f = f
        if !locals { f.vars = nil }
        guard let abs = f.absPath, abs.hasPrefix("/") else { return f }
        if let module = f.module, !module.isEmpty, !module.hasPrefix("__main__") {
            // As bytes, over the strings' own storage: split into Characters (grapheme
            // breaking over the whole path) it was ~30,000 instructions a frame, and
            // split as a generic UTF8View still a third of what a frame cost.
            var path = abs, name = module
            f.filename = path.withUTF8 { p in
                name.withUTF8 { m in
                    let parts = runs(p, UInt8(ascii: "/"))
                    let last = parts.last.map { UnsafeBufferPointer(rebasing: p[$0]).elementsEqual("__init__.py".utf8) } ?? false
                    let depth = runs(m, UInt8(ascii: ".")).count + (last ? 1 : 0)
                    var out: [UInt8] = []
                    out.reserveCapacity(p.count)
                    for r in parts.suffix(depth) {
                        if !out.isEmpty { out.append(UInt8(ascii: "/")) }
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: p[r]))
                    }
                    return String(decoding: out, as: UTF8.self)
                }
            }
        }
        let outside = abs.find("/site-packages/") != nil || abs.find("/dist-packages/") != nil
            || libraries.contains { abs.hasPrefix($0) }
        f.inApp = !outside
        return f
    }

    /// The non-empty runs of bytes between `separator`s (what `split` keeps), as offsets.
    static func runs(_ b: UnsafeBufferPointer<UInt8>, _ separator: UInt8) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        for i in 0...b.count where i == b.count || b[i] == separator {
            if i > start { out.append(start..<i) }
            start = i + 1
        }
        return out
    }

    /// Cuts to `limit` characters (Unicode scalars, as Sentry counts), ending with a
    /// visible marker so a reader knows the text was longer.
    public static func truncate(_ s: String, to limit: Int) -> String {
        // No more bytes than the limit: no more scalars either (counting them walks the string).
        if s.utf8.count <= limit { return s }
        let scalars = s.unicodeScalars
        guard scalars.count > limit else { return s }
        let marker = "\n[... truncated by uwsgi-sentry: \(scalars.count) characters in all]"
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(limit - marker.unicodeScalars.count))
        return String(out) + marker
    }

    /// Silent cut for short identifiers (logger, culprit, tag values).
    static func clip(_ s: String, _ limit: Int) -> String {
        if s.utf8.count <= limit { return s }
        let scalars = s.unicodeScalars
        guard scalars.count > limit else { return s }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(limit))
        return String(out)
    }

    /// Sentry tag keys: at most 200 of [A-Za-z0-9_.:-]; anything else becomes `_`.
    static func tagKey(_ raw: String) -> String? {
        let key = String(decoding: raw.trimmingSpaces().utf8.map {
            DSN.isAlnum($0) || "_.:-".utf8.contains($0) ? $0 : UInt8(ascii: "_")
        }, as: UTF8.self)
        guard !key.isEmpty, key.utf8.contains(where: { $0 != UInt8(ascii: "_") }) else { return nil }
        return clip(key, 200)
    }

    /// release, dist and environment: Sentry rejects `/`, `\`, newlines and tabs in them.
    static func sanitizeName(_ raw: String, what: String, limit: Int, _ problems: inout [Options.Problem]) -> String? {
        let bad: [UInt8] = [10, 13, 9, 47, 92]
        var value = raw.trimmingSpaces()
        if value.utf8.contains(where: { bad.contains($0) || $0 < 32 }) {
            value = String(decoding: value.utf8.map { bad.contains($0) || $0 < 32 ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            problems.append(.init(text: "\(what) may not contain '/', '\\', tabs or newlines; sent as '\(value)'"))
        }
        if value.isEmpty || value == "." || value == ".." || value.asciiLowercased() == "latest" {
            problems.append(.init(text: "\(what) '\(raw)' is not allowed by Sentry; left out"))
            return nil
        }
        return clip(value, limit)
    }
}
