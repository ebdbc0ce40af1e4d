// The trace an event belongs to (`contexts.trace`): the one its request came with,
// `sentry-trace: TRACEID-SPANID[-SAMPLED]` or W3C `traceparent: 00-TRACEID-SPANID-FLAGS`
// (the upstream's span is the parent), else one of the request's own. Either way every
// event of one request (its exception, a route's event, its harakiri, its worker's
// death) has the same trace and span: they are derived from what identifies the
// request, who served it since when (the worker's pid, the core, the start in
// microseconds), which the loader reads wherever it is.

public struct Trace: Equatable {
    public var traceID: String
    /// The request's own span.
    public var spanID: String
    /// The upstream's span, when the request came with one.
    public var parentSpanID: String?
    public var sampled: Bool?

    /// Who served a request since when: the same in the worker and in the master.
    public struct Request: Equatable {
        public var pid: Int
        public var core: Int
        public var startMicros: Int64
        var key: String { "\(pid)/\(core)/\(startMicros)" }
    }

    /// The trace of a request from its headers (as uWSGI passes them, HTTP_SENTRY_TRACE,
    /// HTTP_TRACEPARENT) and its identity; a fresh one when neither is there.
    public static func of(sentryTrace: String?, traceparent: String?, request: Request?) -> Trace {
        let incoming = sentryTrace.flatMap(parseSentryTrace) ?? traceparent.flatMap(parseTraceparent)
        let span = String(System.eventID(from: "span|" + (request?.key ?? incoming?.trace ?? System.randomEventID())).prefix(16))
        if let incoming {
            return Trace(traceID: incoming.trace, spanID: span, parentSpanID: incoming.span, sampled: incoming.sampled)
        }
        let trace = request.map { System.eventID(from: "trace|" + $0.key) } ?? System.randomEventID()
        return Trace(traceID: trace, spanID: span, parentSpanID: nil, sampled: nil)
    }

    /// `TRACEID-SPANID[-SAMPLED]`.
    static func parseSentryTrace(_ raw: String) -> (trace: String, span: String, sampled: Bool?)? {
        let parts = raw.trimmingSpaces().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, isID(parts[0], 32), isID(parts[1], 16) else { return nil }
        let sampled: Bool? = parts.count == 3 ? (parts[2] == "1" ? true : parts[2] == "0" ? false : nil) : nil
        if parts.count == 3 && sampled == nil { return nil }
        return (parts[0], parts[1], sampled)
    }

    /// `VERSION-TRACEID-PARENTID-FLAGS` (W3C): version `ff` is invalid; a later
    /// version may add fields after these.
    static func parseTraceparent(_ raw: String) -> (trace: String, span: String, sampled: Bool?)? {
        let parts = raw.trimmingSpaces().asciiLowercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff", parts[0].utf8.allSatisfy(DSN.isHex),
              parts[0] != "00" || parts.count == 4, isID(parts[1], 32), isID(parts[2], 16),
              parts[3].utf8.count == 2, let flags = UInt8(parts[3], radix: 16) else { return nil }
        return (parts[1], parts[2], flags & 1 == 1)
    }

    /// `count` lowercase hex digits, not all zero (zero ids are invalid in both formats).
    static func isID(_ s: String, _ count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) } && s.utf8.contains { $0 != 48 }
    }
}
