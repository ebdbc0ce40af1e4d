// A request as Sentry's trace view and Insights read it: one transaction per
// sampled request, shaped as sentry-python's WSGI integration sends a server
// request's (`sentry_sdk/tracing.py` Transaction.finish, `integrations/wsgi.py`),
// made from what uWSGI itself knows: its start and end of the request, the status,
// the response's size, who served it, the request's variables. Its span is the
// request's own (Trace.of): the request's error events, log records and harakiri
// carry the same trace and point at it.
//
// No child spans: uWSGI takes two times per request (its start and its end) and
// nothing between them (not when the app returned, not when the first byte was
// written), so any span inside would be made up. A request harakiri cut ends as
// `deadline_exceeded`, one a worker died in as `internal_error`, when the master
// saw it end.

public struct Transaction {
    public enum Source: String { case url, route, task }

    public var eventID: String
    public var name: String
    public var source: Source
    /// Seconds since the epoch.
    public var start: Double
    public var end: Double
    public var trace: Trace
    public var status: SpanStatus
    public var httpStatus: Int?
    public var method: String?
    public var responseSize: Int?
    public var worker, pid, core: Int?
    public var crashed = false
    public var queueMillis: Double?
    public var request: RequestInfo?
    public var release: String?
    public var environment = "production"
    public var serverName: String?
    public var sampling: SamplingContext?
    /// What kind of work: a server request, or (Queue.swift) a spooler task.
    public var op = "http.server"
    public var origin = "auto.http.uwsgi"
    /// More of `contexts.trace.data` (a task's messaging attributes).
    public var data: [Field] = []

    /// What a transaction is made of: a request as the worker finished it (a
    /// `transaction` frame), or as the master last saw it (a core of a harakiri or a
    /// death frame: no status, no size; `status` says how it ended).
    public struct Served {
        public var request: Trace.Request
        public var endMicros: Int64
        public var vars: [Field]
        public var status: Int?
        public var responseSize: Int?
        public var wid: Int?
        public var crashed = false
        public var ended: SpanStatus?
        public var sampleRate, sampleRand, randFrom: String?

        public init(_ f: LoaderFrame) {
            request = f.request ?? Trace.Request(pid: 0, core: 0, startMicros: 0)
            endMicros = f.endMicros ?? 0
            vars = f.vars; status = f.status; responseSize = f.responseSize; wid = f.wid; crashed = f.crashed
            sampleRate = f.sampleRate; sampleRand = f.sampleRand; randFrom = f.randFrom
        }

        public init?(core c: LoaderFrame.Core, end: Int64, ended: SpanStatus, rate: String, decision: Sampling.Decision) {
            guard let pid = c.pid, let core = c.core, let start = c.startMicros else { return nil }
            request = Trace.Request(pid: pid, core: core, startMicros: start)
            endMicros = end
            vars = c.vars
            if vars.last(named: "REQUEST_METHOD") == nil, let m = c.method { vars.append(Field("REQUEST_METHOD", m)) }
            if vars.last(named: "REQUEST_URI") == nil, let u = c.uri { vars.append(Field("REQUEST_URI", u)) }
            wid = c.wid
            self.ended = ended
            sampleRate = rate; sampleRand = decision.rand; randFrom = decision.from
        }
    }

    /// The transaction of a `transaction` frame; nil when the frame lacks the request's
    /// times (hostile or torn: said by the caller).
    public static func of(_ f: LoaderFrame, routes: RouteNames?, options o: Options, publicKey: String,
                          release: String?, environment: String, serverName: String) -> Transaction? {
        guard f.request != nil, f.endMicros != nil else { return nil }
        return of(Served(f), routes: routes, publicKey: publicKey, release: release, environment: environment, serverName: serverName)
    }

    public static func of(_ s: Served, routes: RouteNames?, publicKey: String, release: String?, environment: String,
                          serverName: String) -> Transaction? {
        let request = s.request
        // In Double: both come from a frame (hostile); their Int64 difference may overflow.
        let start = Double(request.startMicros) / 1e6, end = Double(s.endMicros) / 1e6
        guard start > 0, end >= start, end - start < 1e7, end < 253_402_300_800 else { return nil }
        let trace = Trace.of(sentryTrace: s.vars.last(named: "HTTP_SENTRY_TRACE"), traceparent: s.vars.last(named: "HTTP_TRACEPARENT"),
                             request: request)
        let uri = s.vars.last(named: "REQUEST_URI") ?? s.vars.last(named: "PATH_INFO") ?? "/"
        let path = Event.clip(String(uri.prefix { $0 != "?" }), 2048)
        let routed = routes?.name(of: path)
        let status = s.status ?? 0
        var t = Transaction(eventID: System.eventID(from: "transaction|" + request.key), name: routed ?? (path.isEmpty ? "/" : path),
                            source: routed != nil ? .route : .url, start: start, end: end, trace: trace,
                            status: s.ended ?? (s.crashed && status < 500 ? .internalError : SpanStatus(httpStatus: status)))
        t.httpStatus = s.status
        t.method = s.vars.last(named: "REQUEST_METHOD").map { Event.clip($0, 16) }
        t.responseSize = s.responseSize
        t.worker = s.wid; t.pid = request.pid; t.core = request.core
        t.crashed = s.crashed
        t.queueMillis = QueueTime.millis(header: s.vars.last(named: "HTTP_X_REQUEST_START"), start: start)
        t.request = RequestInfo(vars: s.vars)
        t.release = release; t.environment = environment; t.serverName = serverName
        t.sampling = SamplingContext.of(baggage: s.vars.last(named: "HTTP_BAGGAGE"), traceID: trace.traceID, publicKey: publicKey,
                                        sampleRate: s.sampleRate ?? "1", sampleRand: s.sampleRand ?? "0",
                                        decidedUpstream: trace.sampled != nil && s.vars.last(named: "HTTP_SENTRY_TRACE") != nil
                                            && s.randFrom != "baggage",
                                        release: release, environment: environment,
                                        transaction: routed != nil ? t.name : nil)
        return t
    }

    /// The payload, scrubbed as an error event's request is.
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.openObject()
        w.string("event_id", eventID)
        w.string("type", "transaction")
        w.string("platform", "other")
        w.string("transaction", name)
        w.openObject("transaction_info"); w.string("source", source.rawValue); w.closeObject()
        w.micros("start_timestamp", start)
        w.micros("timestamp", end)
        w.string("environment", environment)
        w.string("release", ifPresent: release)
        w.string("server_name", ifPresent: serverName)
        w.openObject("contexts")
        w.openObject("trace")
        w.string("trace_id", trace.traceID)
        w.string("span_id", trace.spanID)
        w.string("parent_span_id", ifPresent: trace.parentSpanID)
        w.string("op", op)
        w.string("origin", origin)
        w.string("status", status.rawValue)
        w.openObject("data")
        w.string("sentry.op", op)
        w.string("sentry.origin", origin)
        for f in data { w.string(f.name, f.value) }
        w.string("sentry.source", source.rawValue)
        if let method { w.string("http.request.method", method) }
        if let httpStatus { w.int("http.response.status_code", httpStatus) }
        if let responseSize { w.int("http.response.body.size", responseSize) }
        if let queueMillis { w.number("http.server.request.time_in_queue", queueMillis) }
        if let worker { w.int("uwsgi.worker", worker) }
        if let pid { w.int("uwsgi.pid", pid) }
        if let core { w.int("uwsgi.core", core) }
        if crashed { w.bool("uwsgi.exception", true) }
        w.closeObject()
        w.closeObject()
        if let httpStatus { w.openObject("response"); w.int("status_code", httpStatus); w.closeObject() }
        w.closeObject()
        if let httpStatus { w.openObject("tags"); w.string("http.status_code", String(httpStatus)); w.closeObject() }
        request?.scrubbed().write(into: &w)
        w.openArray("spans"); w.closeArray()
        w.openObject("sdk"); w.string("name", Event.sdkName); w.string("version", Version.current); w.closeObject()
        w.closeObject()
        return w.bytes
    }

    /// Its envelope: the event id, the sampling context in the `trace` header.
    public func envelope(dsn: DSN, sentAt: String = System.now()) -> [UInt8] {
        Envelope.make(eventID: eventID, payload: json(), dsn: dsn, sentAt: sentAt, type: "transaction") { w in
            self.sampling?.write(into: &w)
        }
    }
}
