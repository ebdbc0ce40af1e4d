import Glibc

// Options + message + host facts -> a Sentry event that Sentry's own normaliser
// (Relay's StoreNormalizer) accepts with zero errors. Limits are applied here, not
// left to the server, so nothing is silently dropped by a strict validator.

public struct StackFrame: Equatable {
    public var filename: String?
    public var function: String?
    public var lineno: Int?
    public var contextLine: String?
    /// Native frames (a segfault's backtrace): the object file and the address.
    public var package: String?
    public var instructionAddr: String?
    public init(filename: String? = nil, function: String? = nil, lineno: Int? = nil, contextLine: String? = nil) {
        self.filename = filename; self.function = function; self.lineno = lineno; self.contextLine = contextLine
    }
}

public struct ExceptionInfo: Equatable {
    public var type: String?
    public var value: String?
    public var module: String?
    public var frames: [StackFrame] = []
    public init(type: String?, value: String?, module: String? = nil, frames: [StackFrame] = []) {
        self.type = type; self.value = value; self.module = module; self.frames = frames
    }
}

public struct RequestInfo: Equatable {
    public var method: String?
    public var url: String?
    public var queryString: String?
    public var headers: [(String, String)] = []
    public var env: [(String, String)] = []
    public init() {}
    public static func == (a: RequestInfo, b: RequestInfo) -> Bool {
        a.method == b.method && a.url == b.url && a.queryString == b.queryString
            && a.headers.elementsEqual(b.headers, by: ==) && a.env.elementsEqual(b.env, by: ==)
    }
}

/// Facts about the machine and the caller, gathered once per process.
public struct HostFacts {
    public var hostName: String
    public var os: System.Uname
    /// Set when uWSGI started us (its environment carries UWSGI_RELOADS).
    public var uwsgi: (reloads: String, parentPID: Int, procName: String?)?

    public static func current() -> HostFacts {
        var facts = HostFacts(hostName: System.hostName(), os: System.uname(), uwsgi: nil)
        if let reloads = System.environment("UWSGI_RELOADS") {
            facts.uwsgi = (reloads, Int(getppid()), System.environment("UWSGI_ORIGINAL_PROC_NAME"))
        }
        return facts
    }
}

public struct Event {
    public static let sdkName = "uwsgi-sentry"
    public static let messageLimit = 8192

    public var eventID: String
    public var timestamp: String
    public var level = "error"
    public var platform = "other"
    public var message: String?
    public var logger, culprit, transaction, serverName, release, dist, environment: String?
    public var tags: [(String, String)] = []
    public var extra: [(String, String)] = []
    public var fingerprint: [String] = []
    public var user: [(String, String)] = []
    public var exception: ExceptionInfo?
    public var request: RequestInfo?
    /// A multi-line alarm message, one entry per line, shown as a list in `extra`.
    public var backtraceLines: [String] = []
    public var host: HostFacts

    public init(eventID: String, timestamp: String, host: HostFacts) {
        self.eventID = eventID; self.timestamp = timestamp; self.host = host
    }

    /// Sentry's rate-limit category for this event.
    public var category: String { exception == nil ? "default" : "error" }

    // MARK: building

    /// Builds the event; returns the problems met on the way (warnings, or fatal under --check).
    public static func build(options o: Options, message: String?, host: HostFacts, packet: ExceptionPacket? = nil,
                             eventID: String = System.randomEventID(), timestamp: String = System.now())
        -> (Event, [Options.Problem]) {
        var problems: [Options.Problem] = []
        var e = Event(eventID: eventID, timestamp: timestamp, host: host)
        if let raw = o.level {
            if let level = normalizeLevel(raw) { e.level = level }
            else { problems.append(.init(text: "level '\(raw)' is not one of fatal, error, warning, info, debug; using error")) }
        } else if let message, packet == nil, let level = Grouping.inferLevel(message) {
            e.level = level
        }
        if let raw = o.platform {
            if let platform = normalizePlatform(raw) { e.platform = platform }
            else { problems.append(.init(text: "platform '\(raw)' is not a Sentry platform; using other")) }
        }
        e.message = message.map { truncate($0, to: messageLimit) }
        e.logger = clip(o.logger ?? "uwsgi", 64)
        e.culprit = o.culprit.map { clip($0, 200) }
        e.transaction = o.transaction.map { clip($0, 200) }
        e.serverName = clip(o.serverName ?? host.hostName, 200)
        e.release = o.release.flatMap { sanitizeName($0, what: "release", limit: 200, &problems) }
        e.dist = o.dist.flatMap { sanitizeName($0, what: "dist", limit: 64, &problems) }
        e.environment = o.environment.flatMap { sanitizeName($0, what: "environment", limit: 64, &problems) }
        for (k, v) in o.tags {
            guard let key = tagKey(k) else {
                problems.append(.init(text: "tag key '\(k)' is empty or has no usable characters; tag dropped"))
                continue
            }
            e.tags.append((key, clip(v.replacingNewlines(), 200)))
        }
        e.extra = o.extra.map { (clip($0.0, 200), clip($0.1, 16_384)) }
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
        exception = ExceptionInfo(type: Event.clip(type, 256), value: value, module: module, frames: p.frames)
        request = p.request
        if let wid = p.workerID { tags.append(("worker", wid)) }
        if let pid = p.pid { tags.append(("pid", pid)) }
        if o.serverName == nil, let node = p.node, !node.isEmpty { serverName = Event.clip(node, 200) }
        if let unix = p.unix, unix > 0 { timestamp = System.rfc3339(seconds: unix, milliseconds: 0) }
        if o.platform == nil && p.isPython { platform = "python" }
        if transaction == nil, let path = p.vars.last(where: { $0.0 == "PATH_INFO" })?.1, !path.isEmpty {
            transaction = Event.clip(path, 200)
        }
    }

    /// `warn`, `critical` and any case are accepted; nil for anything else.
    public static func normalizeLevel(_ raw: String) -> String? {
        switch raw.asciiLowercased().trimmingSpaces() {
        case "fatal", "critical", "crit", "emerg", "emergency", "alert", "panic": return "fatal"
        case "error", "err": return "error"
        case "warning", "warn": return "warning"
        case "info", "information", "notice", "log": return "info"
        case "debug", "trace": return "debug"
        default: return nil
        }
    }

    public static let platforms: [String] = [
        "as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java",
        "javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby",
    ]

    public static func normalizePlatform(_ raw: String) -> String? {
        let p = raw.asciiLowercased().trimmingSpaces()
        return platforms.contains(p) ? p : nil
    }

    /// Cuts to `limit` characters (Unicode scalars, as Sentry counts), ending with a
    /// visible marker so a reader knows the text was longer.
    public static func truncate(_ s: String, to limit: Int) -> String {
        let scalars = s.unicodeScalars
        guard scalars.count > limit else { return s }
        let marker = "\n[... truncated by uwsgi-sentry: \(scalars.count) characters in all]"
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(limit - marker.unicodeScalars.count))
        return String(out) + marker
    }

    /// Silent cut for short identifiers (logger, culprit, tag values).
    static func clip(_ s: String, _ limit: Int) -> String {
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

    // MARK: JSON

    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.openObject()
        w.string("event_id", eventID)
        w.string("timestamp", timestamp)
        w.string("level", level)
        w.string("platform", platform)
        if let message {
            w.openObject("logentry"); w.string("formatted", message); w.closeObject()
        }
        w.string("logger", ifPresent: logger)
        w.string("culprit", ifPresent: culprit)
        w.string("transaction", ifPresent: transaction)
        w.string("server_name", ifPresent: serverName)
        w.string("release", ifPresent: release)
        w.string("dist", ifPresent: dist)
        w.string("environment", ifPresent: environment)
        if !tags.isEmpty { w.stringMap("tags", tags) }
        if !extra.isEmpty || !backtraceLines.isEmpty {
            w.openObject("extra")
            for (k, v) in extra { w.string(k, v) }
            if !backtraceLines.isEmpty {
                w.openArray("backtrace"); for line in backtraceLines { w.string(nil, line) }; w.closeArray()
            }
            w.closeObject()
        }
        if !fingerprint.isEmpty {
            w.openArray("fingerprint"); for f in fingerprint { w.string(nil, f) }; w.closeArray()
        }
        if !user.isEmpty { writeUser(&w) }
        if let exception { writeException(exception, &w) }
        if let request { writeRequest(request, &w) }
        w.openObject("contexts")
        w.openObject("os")
        w.string("type", "os")
        w.string("name", host.os.sysname)
        w.string("version", host.os.release)
        w.string("build", host.os.version)
        w.closeObject()
        if let u = host.uwsgi {
            w.openObject("uwsgi")
            w.string("type", "uwsgi")
            w.string("reloads", u.reloads)
            // 1 when the loader plugin started us (double fork): no information.
            if u.parentPID > 1 { w.int("parent_pid", u.parentPID) }
            w.string("original_proc_name", ifPresent: u.procName)
            w.closeObject()
        }
        w.closeObject()
        w.openObject("sdk"); w.string("name", Event.sdkName); w.string("version", Version.current); w.closeObject()
        w.closeObject()
        return w.bytes
    }

    private func writeUser(_ w: inout JSONWriter) {
        let known = ["id", "username", "email", "ip_address", "name"]
        w.openObject("user")
        for (k, v) in user where known.contains(k) { w.string(k, v) }
        let data = user.filter { !known.contains($0.0) }
        if !data.isEmpty { w.stringMap("data", data) }
        w.closeObject()
    }

    private func writeException(_ x: ExceptionInfo, _ w: inout JSONWriter) {
        w.openObject("exception")
        w.openArray("values")
        w.openObject()
        w.string("type", ifPresent: x.type)
        w.string("value", ifPresent: x.value)
        w.string("module", ifPresent: x.module)
        if !x.frames.isEmpty {
            w.openObject("stacktrace")
            w.openArray("frames")
            for f in x.frames {
                w.openObject()
                w.string("filename", ifPresent: f.filename)
                w.string("abs_path", ifPresent: f.filename)
                w.string("function", ifPresent: f.function)
                if let l = f.lineno { w.int("lineno", l) }
                w.string("context_line", ifPresent: f.contextLine)
                w.string("package", ifPresent: f.package)
                w.string("instruction_addr", ifPresent: f.instructionAddr)
                w.closeObject()
            }
            w.closeArray()
            w.closeObject()
        }
        w.openObject("mechanism"); w.string("type", "uwsgi"); w.bool("handled", false); w.closeObject()
        w.closeObject()
        w.closeArray()
        w.closeObject()
    }

    private func writeRequest(_ r: RequestInfo, _ w: inout JSONWriter) {
        w.openObject("request")
        w.string("method", ifPresent: r.method)
        w.string("url", ifPresent: r.url)
        w.string("query_string", ifPresent: r.queryString)
        if !r.headers.isEmpty { w.stringMap("headers", r.headers) }
        if !r.env.isEmpty { w.stringMap("env", r.env) }
        w.closeObject()
    }
}
