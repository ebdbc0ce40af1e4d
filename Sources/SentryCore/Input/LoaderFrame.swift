// A frame from the `sentry` loader plugin (plugin/sentry/channel.c): "USF1", then
// items of u8 key length, key, u32le value length, value. The loader captures and
// forwards; every byte of it is checked here (a frame that lies about a length is
// an error, never a crash), and fuzzed.

import Glibc

public struct LoaderFrame: Equatable {
    public enum Kind: String {
        case exception, alarm, hook, route, harakiri, log
        /// A worker seen dead before the master reaped it, with what it was serving.
        case death
        /// What the lanes refused since the last tally (the master's cycle).
        case tally
        /// How the requests of a minute ended (release health).
        case sessions
        /// A request as it ended (sentry-logs): a record for Sentry Logs.
        case request
        /// A sampled request as it ended (sentry-traces): a transaction.
        case transaction
        /// A check-in of the app's own cron (sentry_pyframes).
        case checkin
        /// A spooler task, timed (sentry_pyframes, with sentry-traces).
        case task
        /// A worker's crash, captured in the crashing thread (crash/crash.c).
        case crash
    }

    /// What a core of a worker was serving when the frame was made.
    public struct Core: Equatable {
        public var wid: Int?
        public var core: Int?
        public var pid: Int?
        /// When the request started, in microseconds since the epoch.
        public var startMicros: Int64?
        public var method: String?
        public var uri: String?
        public var remote: String?
        /// The request's variables as uWSGI keeps them (harakiri, a death): its trace headers.
        public var vars: [Field] = []

        /// The trace of the request this core was serving.
        var trace: Trace? {
            guard let pid, let core, let startMicros, startMicros > 0 else { return nil }
            return Trace.of(sentryTrace: vars.last(named: "HTTP_SENTRY_TRACE"), traceparent: vars.last(named: "HTTP_TRACEPARENT"),
                            request: Trace.Request(pid: pid, core: core, startMicros: startMicros))
        }
    }

    public var kind: Kind
    public var options: String = ""
    public var body: [UInt8] = []
    /// Events the lanes refused since the last tally: exceptions, and the rest.
    public var droppedErrors = 0
    public var dropped = 0
    /// Log lines the lines lane refused since the last tally, and their bytes.
    public var linesDropped = 0
    public var linesDroppedBytes = 0
    /// Requests the sampling left out, and transactions the lines lane refused, since the last tally.
    public var unsampled = 0
    public var tracesDropped = 0
    /// When the loader made the frame, in microseconds since the epoch.
    public var nowMicros: Int64?
    /// The same in seconds: the moment the master looked, for "running for".
    public var madeAt: Double? { nowMicros.map { Double($0) / 1e6 } }
    /// The event's timestamp: when the frame was made (a hand-off may be read much
    /// later), else now. A time uWSGI could not have sent (before 1970, after 9999) is now.
    var timestamp: String {
        guard let us = nowMicros, us > 0, us < 253_402_300_800_000_000 else { return System.now() }
        return System.rfc3339(seconds: Int(us / 1_000_000), milliseconds: Int(us % 1_000_000 / 1000))
    }
    public var wid: Int?
    public var pid: Int?
    public var harakiriTry: Int?
    public var harakiriLimit: Int?
    /// How a dead worker ended: its exit code, or the signal that killed it.
    public var exitCode: Int?
    public var signal: Int?
    public var cores: [Core] = []
    /// A `crash` frame's capture.
    public var crash = CrashCapture()
    /// Whether anyone looked at the cores: the loader always does; a `cmd:` alarm's
    /// sender only when uWSGI's stats server answered (else `statsError` says why).
    public var coresSeen = true
    public var statsError: String?
    /// Handed off by a `cmd:` alarm's sender (through the spool), not written by the loader.
    public var handedOff = false
    /// The frame's own id (an event's): read twice (a daemon killed in between), it
    /// makes the same event, with the same event id, which Sentry keeps once.
    public var id: String?

    /// A `request` frame's request, as it ended.
    public var method, uri, remote: String?
    public var status, responseSize: Int?
    /// An exception escaped the app during it.
    public var crashed = false

    /// A `transaction` frame's request: when it ended (microseconds), its variables,
    /// the sample rate as configured and the trace's sample_rand (6 decimals) with
    /// where it came from (`baggage`, the incoming `trace` id, or `ours`).
    public var endMicros: Int64?
    public var vars: [Field] = []
    public var sampleRate, sampleRand, randFrom: String?

    /// A `sessions` frame's minute and counts.
    public var sessionMinute: Int?
    public var sessionCounts: [SessionEnd: Int] = [:]
    public var sessions: SessionMinute? { sessionMinute.map { SessionMinute(started: $0, counts: sessionCounts) } }

    /// The request a worker's frame (a route's) was written in, and its trace headers.
    public var request: Trace.Request?
    public var sentryTrace, traceparent: String?
    var trace: Trace? {
        request == nil && sentryTrace == nil && traceparent == nil ? nil
            : Trace.of(sentryTrace: sentryTrace, traceparent: traceparent, request: request)
    }

    /// The event id of the event this frame makes: from its id, else a fresh one.
    var eventID: String { id.map(System.eventID(from:)) ?? System.randomEventID() }

    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(kind: Kind) { self.kind = kind }

    public static let magic: [UInt8] = Array("USF1".utf8)

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> LoaderFrame {
        guard bytes.starts(with: magic) else { throw DecodeError(description: "not a loader frame (no USF1)") }
        var kind: Kind?
        var f = LoaderFrame(kind: .log)
        var requestPID: Int?, requestCore: Int?, requestStart: Int64?
        for (key, value) in try items(bytes.dropFirst(magic.count)) {
            // Made only for the keys that want text: a body or a backtrace is kilobytes.
            var text: String { String(decoding: value, as: UTF8.self) }
            switch key {
            case "kind":
                // A log line is most frames: known without comparing it to every kind.
                guard let k = value.elementsEqual("log".utf8) ? .log : Kind(rawValue: text) else { throw DecodeError(description: "unknown kind '\(text.prefix(20))'") }
                kind = k
            case "options": f.options = text
            case "body": f.body = Array(value)
            case "dropped": f.dropped = max(0, Int(text) ?? 0)
            case "dropped_errors": f.droppedErrors = max(0, Int(text) ?? 0)
            case "lines_dropped": f.linesDropped = max(0, Int(text) ?? 0)
            case "lines_dropped_bytes": f.linesDroppedBytes = max(0, Int(text) ?? 0)
            case "unsampled": f.unsampled = max(0, Int(text) ?? 0)
            case "traces_dropped": f.tracesDropped = max(0, Int(text) ?? 0)
            case "end_us": f.endMicros = Int64(text)
            case "vars": f.vars = LoaderFrame.vars(value)
            case "rate": f.sampleRate = text
            case "rand": f.sampleRand = text
            case "rand_from": f.randFrom = text
            case "now_us": f.nowMicros = Int64(text)
            case "wid": f.wid = Int(text)
            case "pid": f.pid = Int(text)
            case "try": f.harakiriTry = Int(text)
            case "limit": f.harakiriLimit = Int(text)
            case "exit": f.exitCode = Int(text)
            case "signal": f.signal = Int(text)
            case "core": f.cores.append(try core(value))
            case "cores_seen": f.coresSeen = text != "0"
            case "stats_error": f.statsError = text
            case "from": f.handedOff = text == "cmd"
            case "id": f.id = text
            case "req_pid": requestPID = Int(text)
            case "req_core": requestCore = Int(text)
            case "req_start_us": requestStart = Int64(text)
            case "HTTP_SENTRY_TRACE": f.sentryTrace = text
            case "HTTP_TRACEPARENT": f.traceparent = text
            case "method": f.method = text
            case "uri": f.uri = text
            case "remote": f.remote = text
            case "status": f.status = Int(text)
            case "size": f.responseSize = Int(text).map { max(0, $0) }
            case "exception": f.crashed = text == "1"
            case "minute": f.sessionMinute = Int(text)
            case "exited", "errored", "crashed", "abnormal":
                f.sessionCounts[SessionEnd(rawValue: key)!] = max(0, Int(text) ?? 0)
            default: _ = f.crash.take(key, text)  // else what a later loader adds
            }
        }
        guard let kind else { throw DecodeError(description: "a frame without a kind") }
        f.kind = kind
        if let pid = requestPID, let core = requestCore, let start = requestStart, start > 0 {
            f.request = Trace.Request(pid: pid, core: core, startMicros: start)
        }
        return f
    }

    /// A log line's frame, read without making a LoaderFrame: lines are most frames
    /// (a traceback is a dozen), and the whole frame's making and unmaking was most of
    /// what a line cost the daemon. Nil for anything else (another kind, a key a line
    /// does not carry): `decode` reads that, and makes the same `Line` of a line.
    public static func line(_ bytes: ArraySlice<UInt8>) -> Line? {
        guard bytes.starts(with: magic) else { return nil }
        var line = Line()
        var isLine = false, pid: Int?, core: Int?, start: Int64?
        var i = bytes.startIndex + magic.count
        while i < bytes.endIndex {
            let klen = Int(bytes[i])
            i += 1
            guard bytes.endIndex - i >= klen + 4 else { return nil }
            let key = bytes[i..<(i + klen)]
            i += klen
            let vlen = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            i += 4
            guard bytes.endIndex - i >= vlen else { return nil }
            let value = bytes[i..<(i + vlen)]
            i += vlen
            func named(_ k: StaticString) -> Bool {  // compared as memory: a generic elementsEqual was most of a line's reading
                key.count == k.utf8CodeUnitCount && key.withUnsafeBytes { $0.count == 0 || memcmp($0.baseAddress!, k.utf8Start, $0.count) == 0 }
            }
            if named("kind") {
                guard value.elementsEqual("log".utf8) else { return nil }
                isLine = true
            } else if named("body") {
                line.body = value
            } else if named("now_us") {
                line.nowMicros = decimal(value)
            } else if named("req_pid") {
                pid = decimal(value).map(Int.init)
            } else if named("req_core") {
                core = decimal(value).map(Int.init)
            } else if named("req_start_us") {
                start = decimal(value)
            } else if named("HTTP_SENTRY_TRACE") {
                line.sentryTrace = String(decoding: value, as: UTF8.self)
            } else if named("HTTP_TRACEPARENT") {
                line.traceparent = String(decoding: value, as: UTF8.self)
            } else {
                return nil
            }
        }
        guard isLine else { return nil }
        if let pid, let core, let start, start > 0 { line.request = Trace.Request(pid: pid, core: core, startMicros: start) }
        return line
    }

    /// A log line as the loader forwards it, with when the master read it and the
    /// request in flight then (sentry-logs).
    public struct Line: Equatable {
        public var body: ArraySlice<UInt8> = []
        public var nowMicros: Int64?
        public var request: Trace.Request?
        public var sentryTrace, traceparent: String?
        public var madeAt: Double? { nowMicros.map { Double($0) / 1e6 } }
        var trace: Trace? {
            request == nil && sentryTrace == nil && traceparent == nil ? nil
                : Trace.of(sentryTrace: sentryTrace, traceparent: traceparent, request: request)
        }
    }

    /// A line read by `decode`.
    var line: Line {
        Line(body: body[...], nowMicros: nowMicros, request: request, sentryTrace: sentryTrace, traceparent: traceparent)
    }

    /// An optionally signed decimal as Int64 parses it (no String made): nil where it would be.
    static func decimal(_ b: ArraySlice<UInt8>) -> Int64? {
        var i = b.startIndex
        var negative = false
        if i < b.endIndex, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { negative = b[i] == UInt8(ascii: "-"); i += 1 }
        guard i < b.endIndex else { return nil }
        var n: Int64 = 0
        while i < b.endIndex {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (r, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            n = r
            i += 1
        }
        return n
    }

    static func core(_ bytes: ArraySlice<UInt8>) throws -> Core {
        var c = Core()
        for (key, value) in try items(bytes) {
            // Made only for the keys that want text: a body or a backtrace is kilobytes.
            var text: String { String(decoding: value, as: UTF8.self) }
            switch key {
            case "wid": c.wid = Int(text)
            case "core": c.core = Int(text)
            case "pid": c.pid = Int(text)
            case "start_us": c.startMicros = Int64(text)
            case "method": c.method = text
            case "uri": c.uri = text
            case "remote": c.remote = text
            case "vars": c.vars = vars(value)
            default: break
            }
        }
        return c
    }

    /// A request's variables (uWSGI's `u16le keylen, key, u16le vallen, value`); none when malformed.
    static func vars(_ bytes: ArraySlice<UInt8>) -> [Field] {
        (try? ExceptionPacket.pairs(bytes, what: "vars"))?.map {
            Field(String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self))
        } ?? []
    }

    /// `u8 keylen, key, u32le vallen, value` until the end.
    static func items(_ b: ArraySlice<UInt8>) throws -> [(String, ArraySlice<UInt8>)] {
        var out: [(String, ArraySlice<UInt8>)] = []
        out.reserveCapacity(8)  // a log line's frame has 3 or 4; grown from empty, it was a third of reading one
        var i = b.startIndex
        while i < b.endIndex {
            let klen = Int(b[i])
            i += 1
            guard b.endIndex - i >= klen + 4 else { throw DecodeError(description: "truncated item at byte \(i - b.startIndex)") }
            let key = String(decoding: b[i..<(i + klen)], as: UTF8.self)
            i += klen
            let vlen = Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24
            i += 4
            guard b.endIndex - i >= vlen else {
                throw DecodeError(description: "item '\(key.prefix(20))' of \(vlen) bytes runs past the end")
            }
            out.append((key, b[i..<(i + vlen)]))
            i += vlen
        }
        return out
    }

    /// Encodes a frame (the loader's format): a `cmd:` alarm's hand-off, tests, fuzzing seeds.
    public static func encode(_ fields: [(String, [UInt8])]) -> [UInt8] { magic + itemBytes(fields) }

    /// A core's item, as the loader writes it.
    public static func encode(core c: Core) -> [UInt8] {
        var fields: [(String, [UInt8])] = []
        func add(_ k: String, _ v: String?) { if let v { fields.append((k, Array(v.utf8))) } }
        add("wid", c.wid.map(String.init)); add("core", c.core.map(String.init)); add("pid", c.pid.map(String.init))
        add("start_us", c.startMicros.map { String($0) }); add("method", c.method); add("uri", c.uri); add("remote", c.remote)
        return itemBytes(fields)
    }

    /// `u8 keylen, key, u32le vallen, value` for each field.
    static func itemBytes(_ fields: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (k, v) in fields {
            let key = Array(k.utf8.prefix(255))
            out.append(UInt8(key.count))
            out += key
            let n = UInt32(truncatingIfNeeded: v.count)
            out += [UInt8(n & 0xff), UInt8(n >> 8 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 24)]
            out += v
        }
        return out
    }
}
