// A spooler task as Sentry's Queues insights read it: a `queue.process` transaction
// (sentry_pyframes times the task in the spooler and sends `{"task", "function",
// "spooler", "start", "end", "status", "parent", "pid"}`). `parent` is the request
// that spooled it ("PID CORE START_US", its sentry-trace and traceparent,
// tab-separated: it rode in the task's arguments): the task continues that request's
// trace, a child of its span. Sampled by the worker's rule against that trace (so
// every task of one trace is decided alike); a task spooled outside a request starts
// a trace of its own.

extension Transaction {
    public static func task(_ body: JSONValue, rate: String, publicKey: String, release: String?, environment: String,
                            serverName: String) -> (Transaction, Sampling.Decision)? {
        guard case .number(let start)? = body["start"], case .number(let end)? = body["end"], start > 0, end >= start,
              end - start < 1e7, end < 253_402_300_800 else { return nil }
        let file = body["task"]?.string.map { Event.clip($0, 200) } ?? ""
        let parts = (body["parent"]?.string ?? "").split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let who = parts.first?.split(separator: " ").compactMap { Int64($0) } ?? []
        let request = who.count == 3 && who[2] > 0 ? Trace.Request(pid: Int(who[0]), core: Int(who[1]), startMicros: who[2]) : nil
        let sentryTrace = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
        let traceparent = parts.count > 2 && !parts[2].isEmpty ? parts[2] : nil
        let parent: Trace? = request.map { Trace.of(sentryTrace: sentryTrace, traceparent: traceparent, request: $0) }
        let own = Trace.of(sentryTrace: nil, traceparent: nil, request: nil)
        let span = String(System.eventID(from: "task|" + file + "|" + String(start)).prefix(16))
        let trace = Trace(traceID: parent?.traceID ?? own.traceID, spanID: span, parentSpanID: parent?.spanID, sampled: nil)
        // The upstream's flag, if the request had one; else the trace's own rand.
        let decision = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", sentryTrace ?? "\(trace.traceID)-\(span)")],
                                       rate: Double(rate) ?? 0)
        let function = body["function"]?.string.map { Event.clip($0, 200) }
        var t = Transaction(eventID: System.eventID(from: "task|" + file + "|" + String(start) + "|event"),
                            name: function ?? (file.isEmpty ? "spooler task" : file), source: .task, start: start, end: end,
                            trace: trace, status: body["status"]?.string.flatMap(SpanStatus.init(rawValue:)) ?? .ok)
        t.op = "queue.process"
        t.origin = "auto.queue.uwsgi"
        t.data = [Field("messaging.system", "uwsgi"), Field("messaging.message.id", file)]
        if let dir = body["spooler"]?.string, !dir.isEmpty { t.data.append(Field("messaging.destination.name", Event.clip(dir, 200))) }
        if case .number(let pid)? = body["pid"], pid > 0, pid < 1e9 { t.pid = Int(pid) }
        t.release = release; t.environment = environment; t.serverName = serverName
        t.sampling = SamplingContext.of(baggage: nil, traceID: trace.traceID, publicKey: publicKey, sampleRate: rate,
                                        sampleRand: decision.rand, decidedUpstream: sentryTrace != nil && decision.from != "baggage",
                                        release: release, environment: environment, transaction: t.name)
        return (t, decision)
    }
}
