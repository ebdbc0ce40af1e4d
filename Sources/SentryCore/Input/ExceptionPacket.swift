// uWSGI's exception packet (core/exceptions.c), as the `sentry` loader plugin hands
// it over: a bare sequence of `u16le keylen, key, u16le vallen, value`. `vars` is
// itself such a sequence (the request's CGI vars); `backtrace` is Backtrace.swift's.
// Every length is checked: a packet that lies about its lengths is an error, never
// a crash.

public struct ExceptionPacket: Equatable {
    public var vars: [Field] = []
    public var backtrace = Backtrace()
    /// The main exception's frames, as uWSGI's language plugin listed them.
    public var frames: [StackFrame] {
        get { backtrace.frames }
        set { backtrace.frames = newValue }
    }
    public var className: String?
    public var message: String?
    public var repr: String?
    public var unix: Int?
    public var workerID: String?
    public var pid: String?
    public var node: String?
    /// An exception no request carried (sentry_pyframes' sys.excepthook): the process
    /// it ran in (`worker`, `spooler`, `mule`, `master`) and its id, the entry uWSGI
    /// called (module.function), and what its arguments say: a spooler task's file and
    /// function, a signal handler's signal.
    public var process, processID, entry, spoolerTask, spoolerFunction, signal, farm: String?

    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init() {}

    /// An exception whose packet could not be decoded: still an exception in uWSGI,
    /// reported with what is known rather than lost.
    static func undecodable(_ error: Error) -> ExceptionPacket {
        var p = ExceptionPacket()
        p.className = "uWSGIException"
        p.message = "an exception whose packet could not be decoded: \(error)"
        return p
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> ExceptionPacket {
        var p = ExceptionPacket()
        for (key, value) in try pairs(bytes, what: "packet") {
            // Made only for the keys that want text: a body or a backtrace is kilobytes.
            var text: String { String(decoding: value, as: UTF8.self) }
            switch String(decoding: key, as: UTF8.self) {
            case "vars":
                p.vars = try pairs(value, what: "vars").map {
                    Field(String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self))
                }
            case "backtrace": p.backtrace = try Backtrace.decode(value)
            case "class": p.className = text
            case "msg": p.message = text
            case "repr": p.repr = text
            case "unix": p.unix = Int(text)
            case "wid": p.workerID = text
            case "pid": p.pid = text
            case "node": p.node = text
            case "process": p.process = text
            case "process_id": p.processID = text
            case "entry": p.entry = text
            case "spooler_task_name": p.spoolerTask = text
            case "ud_spool_func": p.spoolerFunction = text
            case "signal": p.signal = text
            case "farm": p.farm = text
            default: break  // `core` and whatever a later uWSGI adds
            }
        }
        return p
    }

    /// `u16le len, bytes` read at `offset`, or an error naming where the packet lied.
    private static func item(_ b: ArraySlice<UInt8>, _ offset: inout Int, what: String) throws -> ArraySlice<UInt8> {
        guard b.endIndex - offset >= 2 else {
            throw DecodeError(description: "\(what): truncated length at byte \(offset - b.startIndex)")
        }
        let len = Int(b[offset]) | Int(b[offset + 1]) << 8
        offset += 2
        guard b.endIndex - offset >= len else {
            throw DecodeError(description: "\(what): item of \(len) bytes at byte \(offset - b.startIndex) runs past the end")
        }
        defer { offset += len }
        return b[offset..<(offset + len)]
    }

    static func pairs(_ b: ArraySlice<UInt8>, what: String) throws -> [(ArraySlice<UInt8>, ArraySlice<UInt8>)] {
        var out: [(ArraySlice<UInt8>, ArraySlice<UInt8>)] = []
        var offset = b.startIndex
        while offset < b.endIndex {
            let key = try item(b, &offset, what: what)
            let value = try item(b, &offset, what: what)
            out.append((key, value))
        }
        return out
    }

    // MARK: the request (scrubbed with the rest of the event: Event/EventScrubbing.swift)

    /// HTTP_X_FORWARDED_FOR -> X-Forwarded-For.
    static func headerName<S: Sequence>(_ cgi: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        var upper = true
        for c in cgi {
            if c == UInt8(ascii: "_") { out.append(UInt8(ascii: "-")); upper = true; continue }
            let lower = c >= 65 && c <= 90 ? c + 32 : c
            out.append(upper && lower >= 97 && lower <= 122 ? lower - 32 : lower)
            upper = false
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var request: RequestInfo? { RequestInfo(vars: vars) }
}

extension RequestInfo {
    /// The request a uWSGI request's variables describe (an exception's, a
    /// transaction's): method, url without its query, the query, the headers (named as
    /// HTTP names them) and the rest as env. As given: scrubbing is `scrubbed()`'s.
    public init?(vars: [Field]) {
        guard !vars.isEmpty else { return nil }
        func v(_ k: String) -> String? { vars.last(named: k).flatMap { $0.isEmpty ? nil : $0 } }
        var r = RequestInfo()
        r.method = v("REQUEST_METHOD")
        let https = v("HTTPS").map { $0.asciiLowercased() == "on" || $0 == "1" } ?? false
        let scheme = v("UWSGI_SCHEME") ?? v("REQUEST_SCHEME") ?? (https ? "https" : "http")
        var host = v("HTTP_HOST") ?? v("SERVER_NAME") ?? "localhost"
        if v("HTTP_HOST") == nil, let port = v("SERVER_PORT"), port != (scheme == "https" ? "443" : "80") {
            host += ":" + port
        }
        var path = v("REQUEST_URI") ?? v("PATH_INFO") ?? "/"
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        r.url = scheme + "://" + host + path
        r.queryString = vars.last(named: "QUERY_STRING")
        for field in vars {
            let k = field.name, value = field.value
            if k.hasPrefix("HTTP_") {
                r.headers.append(Field(ExceptionPacket.headerName(k.utf8.dropFirst(5)), value))
            } else if k == "CONTENT_TYPE" || k == "CONTENT_LENGTH" {
                r.headers.append(Field(ExceptionPacket.headerName(k.utf8), value))
            } else if k != "REQUEST_URI" && k != "QUERY_STRING" && k != "PATH_INFO" {
                r.env.append(Field(k, value))
            }
        }
        self = r
    }

    /// As it may leave the host: the query, headers (the User-Agent stays whole, as
    /// Sentry leaves it) and variables scrubbed as data.
    public func scrubbed() -> RequestInfo {
        var r = self
        r.queryString = queryString.map(Scrubber.query)
        r.headers = headers.map { $0.name == "User-Agent" ? $0 : Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        r.env = env.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        return r
    }
}

extension ExceptionPacket {

    /// Which language plugin fed uWSGI's exception subsystem. The packet does not
    /// say; its shape does: Python writes `module.Class` names, a `Class: msg` repr
    /// and `.py` frames; Ruby (the rack plugin) `A::B` names, a `msg (Class)` repr
    /// and `.rb`/`.ru` frames. (uWSGI's psgi plugin feeds no exceptions.)
    public enum Language { case python, ruby, unknown }

    public var language: Language {
        if let runtime = backtrace.facts?.runtime?.name { return runtime == "ruby" ? .ruby : .python }  // our own capture says
        let files = frames.compactMap(\.filename)
        if files.contains(where: { $0.hasSuffix(".rb") || $0.hasSuffix(".ru") }) { return .ruby }
        if files.contains(where: { $0.hasSuffix(".py") }) || (className?.hasPrefix("builtins.") ?? false) { return .python }
        if let c = className, let m = message, let r = repr {
            if r == "\(m) (\(c))" || c.find("::") != nil { return .ruby }
            if r == "\(c): \(m)" || r == c { return .python }
        }
        return .unknown
    }

    /// Oldest first, as Sentry wants them: Ruby's backtrace (and so uWSGI's packet)
    /// lists the raising frame first; Python's lists it last, and so do our own
    /// captures (sentry_pyframes, sentry_rbframes: they say their facts).
    public var framesOldestFirst: [StackFrame] { language == .ruby && backtrace.facts == nil ? frames.reversed() : frames }

    /// `builtins.ValueError` -> (ValueError, nil); `app.errors.Boom` -> (Boom, app.errors).
    /// Ruby names (`Shop::PaymentError`) stay whole.
    public var typeAndModule: (String, String?)? {
        guard let c = className, !c.isEmpty else { return nil }
        if language == .ruby {  // `Shop::PaymentError` stays whole; its namespace is the module, as sentry-ruby says
            let parts = c.split(separator: ":", omittingEmptySubsequences: true)
            return (c, parts.count > 1 ? parts.dropLast().joined(separator: "::") : nil)
        }
        guard let dot = c.lastIndex(of: ".") else { return (c, nil) }
        let module = String(c[..<dot])
        return (String(c[c.index(after: dot)...]), module == "builtins" ? nil : module)
    }
}
