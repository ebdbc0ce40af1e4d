// Sentry Logs: one record of uWSGI's log stream, as Relay's OurLog reads it
// (relay-event-schema/src/protocol/ourlog): `timestamp` (float seconds), `trace_id`,
// `level` (`warn`, not `warning`), `body`, typed `attributes`. A request becomes a
// structured record named by OpenTelemetry's conventions; a line of uWSGI's log keeps
// its text and gets its level from it. Both are scrubbed as events are.

public enum LogLevel: Int, Comparable, CaseIterable {
    case trace = 1, debug, info, warn, error, fatal

    /// The protocol's name.
    public var name: String { ["trace", "debug", "info", "warn", "error", "fatal"][rawValue - 1] }

    /// `sentry-logs = LEVEL`, `logs=LEVEL`: warning or warn.
    public init?(option: String) {
        let v = option.asciiLowercased()
        guard let l = LogLevel.allCases.first(where: { $0.name == v }) ?? (v == "warning" ? .warn : nil) else { return nil }
        self = l
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    /// A line of uWSGI's log, by its text: a segfault is fatal; harakiri, a death or an
    /// error (a traceback) an error; uWSGI's `*** WARNING` and the like a warning.
    static func of(line: String) -> LogLevel {
        // One lowercased copy of the bytes and a byte search: this runs for every line.
        let lower = line.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        func has(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard lower.count >= w.count else { return false }
            var i = 0
            while i <= lower.count - w.count {
                if lower[i] == w[0] {
                    var j = 1
                    while j < w.count && lower[i + j] == w[j] { j += 1 }
                    if j == w.count { return true }
                }
                i += 1
            }
            return false
        }
        if has("segmentation fault") || has("floating point exception") { return .fatal }
        if has("harakiri") || has("damn !") || has("error:") || has(" error ") || has("traceback (most recent call last)")
            || has("exception:") { return .error }
        if has("*** warning") || has("warning:") || has("!!!") { return .warn }
        return .info
    }
}

public struct LogRecord {
    public enum Value {
        case string(String), integer(Int), double(Double), boolean(Bool)
    }

    public var timestamp: Double
    public var trace: Trace
    public var level: LogLevel
    public var body: String
    public var attributes: [(String, Value)] = []

    /// Whether the line is uWSGI's text line of a request (a structured record says
    /// it), ours (`[sentry] ...`, `uwsgi-sentry: ...`), or nothing: never a record.
    static func skipped(line: String) -> Bool {
        var text = line
        if let dash = line.find(" - "), line[..<dash.lowerBound].utf8.count <= 32 { text = String(line[dash.upperBound...]) }
        return text.allSatisfy { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" } || text.hasPrefix("[sentry]")
            || line.has("uwsgi-sentry: ") || (text.hasPrefix("[pid: ") && text.has(" => generated "))
    }

    /// A line of uWSGI's log, with the trace of the request in flight when it was written
    /// (`trace`: else the daemon's own).
    static func line(_ text: String, at time: Double, trace: Trace) -> LogRecord {
        var body = Substring(text)
        while body.last == "\n" || body.last == "\r" { body = body.dropLast() }
        return LogRecord(timestamp: time, trace: trace, level: .of(line: String(body)), body: Scrubber.message(Event.clip(String(body), 8192)))
    }

    /// A request: method, path and status in the body; its facts as OpenTelemetry names them.
    static func request(_ f: LoaderFrame, options o: Options) -> LogRecord? {
        guard let status = f.status, let end = f.nowMicros else { return nil }
        let method = Event.clip(f.method ?? "", 16)
        let uri = f.uri ?? ""
        let path = String(uri.prefix { $0 != "?" }), query = uri.contains("?") ? String(uri.drop { $0 != "?" }.dropFirst()) : ""
        // In Double: both times come from a frame (hostile), their Int64 difference may overflow.
        let seconds = f.request.map { (Double(end) - Double($0.startMicros)) / 1e6 }.flatMap { $0 >= 0 && $0 < 1e9 ? $0 : nil }
        let ms = seconds.map { " in " + String(Double(Int(($0 * 1e4).rounded())) / 10) + " ms" } ?? ""
        let level: LogLevel = f.crashed || status >= 500 ? .error : status >= 400 ? .warn : .info
        let what = f.crashed ? "raised an exception (\(status))" : String(status)
        var r = LogRecord(timestamp: Double(end) / 1e6, trace: f.trace ?? Trace.of(sentryTrace: nil, traceparent: nil, request: nil),
                          level: level, body: Scrubber.message(Event.clip("\(method) \(path) \(what)\(ms)", 8192)))
        r.attributes = [("http.request.method", .string(method)), ("url.path", .string(Scrubber.message(Event.clip(path, 2048)))),
                        ("http.response.status_code", .integer(status))]
        if !query.isEmpty { r.attributes.append(("url.query", .string(Scrubber.query(Event.clip(query, 2048))))) }
        if let size = f.responseSize { r.attributes.append(("http.response.body.size", .integer(size))) }
        if let seconds { r.attributes.append(("http.server.request.duration", .double(seconds))) }
        if f.crashed { r.attributes.append(("uwsgi.exception", .boolean(true))) }
        if o.sendDefaultPII, let remote = f.remote, !remote.isEmpty { r.attributes.append(("client.address", .string(remote))) }
        if let wid = f.wid { r.attributes.append(("uwsgi.worker", .integer(wid))) }
        return r
    }

    /// The attributes every record carries, as Sentry's SDKs send them: written once
    /// (they are the same for every record of an instance), appended to each.
    static func common(release: String?, environment: String, serverName: String) -> [UInt8] {
        var w = JSONWriter(capacity: 300)
        w.openObject()
        var all: [(String, Value)] = [("sentry.origin", .string("auto.log.uwsgi")), ("sentry.environment", .string(environment)),
                                      ("sentry.sdk.name", .string(Event.sdkName)), ("sentry.sdk.version", .string(Version.current)),
                                      ("server.address", .string(serverName))]
        if let release { all.append(("sentry.release", .string(release))) }
        write(all, into: &w)
        w.closeObject()
        return Array(w.bytes.dropFirst().dropLast())
    }

    /// The request's identity, when it has one (a line written while it was in flight).
    mutating func identify(_ request: Trace.Request?) {
        if let request { attributes += [("uwsgi.pid", .integer(request.pid)), ("uwsgi.core", .integer(request.core))] }
    }

    static func write(_ attributes: [(String, Value)], into w: inout JSONWriter) {
        for (key, value) in attributes {
            w.openObject(key)
            switch value {
            case .string(let s): w.string("value", s); w.string("type", "string")
            case .integer(let n): w.int("value", n); w.string("type", "integer")
            case .double(let d): w.micros("value", d); w.string("type", "double")
            case .boolean(let b): w.bool("value", b); w.string("type", "boolean")
            }
            w.closeObject()
        }
    }

    /// The record's JSON, with `common` (see `common`) among its attributes.
    public func json(common: [UInt8] = []) -> [UInt8] {
        var w = JSONWriter(capacity: 512 + body.utf8.count)
        w.openObject()
        w.micros("timestamp", timestamp)
        w.string("trace_id", trace.traceID)
        if trace.spanID.utf8.count == 16 { w.string("span_id", trace.spanID) }
        w.string("level", level.name)
        w.string("body", body)
        w.openObject("attributes")
        LogRecord.write(attributes, into: &w)
        w.members(common)
        w.closeObject()
        w.closeObject()
        return w.bytes
    }
}
