// What the daemon makes of how requests end and of uWSGI's log stream, besides events:
// release health (a minute of sessions from the loader) and Sentry Logs (a record per
// request frame and per log line at the `logs=` level or above, batched by LogBatch).
// Both go to the spool (or memory: Intake.Store) like events and pass Sentry's rate limits for their categories.

extension Intake {
    /// A minute of release health: to the spool, as one `sessions` item, when there is
    /// a release to count for (the loader counts none without one; a release taken out
    /// of the options since is said once).
    func sessions(_ minute: SessionMinute, now: Double) {
        let o = options.options("")
        guard let dsn = options.dsn(o) else { return }
        let (release, environment) = releaseAndEnvironment(o)
        guard let release else {
            once("release health: no release (SENTRY_RELEASE or release= in sentry-options), so no sessions are sent", key: "no release")
            return
        }
        if let why = minute.refusal(now: now) {
            // Relay would refuse it: it waited too long in our queue (or a frame lied).
            once("release health: a minute of sessions was not sent (\(why))", key: "sessions refused")
            count(.queueOverflow, .session, minute.total, dsn, now: now)
            return
        }
        if ledgers.of(dsn).blocked(.session, now: now) != nil {
            count(.ratelimitBackoff, .session, minute.total, dsn, now: now)
            return
        }
        let envelope = Envelope.item(type: "sessions", payload: minute.payload(release: release, environment: environment), dsn: dsn)
        if !store(envelope, System.randomEventID(), .session, dsn, now, nil) { count(.queueOverflow, .session, minute.total, dsn, now: now) }
    }

    /// The release and environment as events carry them (EventBuilder's rules).
    func releaseAndEnvironment(_ o: Options) -> (String?, String) {
        var problems: [Options.Problem] = []
        return (o.release.flatMap { Event.sanitizeName($0, what: "release", limit: 200, &problems) },
                o.environment.flatMap { Event.sanitizeName($0, what: "environment", limit: 64, &problems) } ?? "production")
    }

    // MARK: Sentry Logs

    /// A line of uWSGI's log, with the trace of the request in flight when it was written.
    func log(line: String, _ f: LoaderFrame.Line, now: Double) {
        guard let threshold = options.logsThreshold, !LogRecord.skipped(line: line) else { return }
        let o = options.options("")
        let r = LogRecord.line(line, at: f.madeAt ?? now, trace: f.trace ?? ownTrace)
        if r.level >= threshold { keep(r, o, request: f.request, now: now) }
    }

    /// A request as it ended (the loader sends those at the level or above).
    func logRequest(_ f: LoaderFrame, now: Double) {
        let o = options.options("")
        guard let threshold = o.logs, let r = LogRecord.request(f, options: o), r.level >= threshold else { return }
        keep(r, o, request: f.request, now: now)
    }

    private func keep(_ record: LogRecord, _ o: Options, request: Trace.Request?, now: Double) {
        guard let dsn = options.dsn(o) else { return }
        var r = record
        r.identify(request)
        let json = r.json(common: commonAttributes(o))
        if !logs.add(json, now: now) {
            count(.queueOverflow, .logItem, 1, dsn, now: now)
            count(.queueOverflow, .logByte, json.count, dsn, now: now)
        }
        flushLogs(now: now)
    }

    /// Every record's release, environment, server and SDK, written once per options.
    private func commonAttributes(_ o: Options) -> [UInt8] {
        let key = (o.release ?? "") + "\u{0}" + (o.environment ?? "") + "\u{0}" + (o.serverName ?? "")
        if let (k, bytes) = logCommon, k == key { return bytes }
        let (release, environment) = releaseAndEnvironment(o)
        let bytes = LogRecord.common(release: release, environment: environment, serverName: Event.clip(o.serverName ?? host.hostName, 200))
        logCommon = (key, bytes)
        return bytes
    }

    /// Due batches, an envelope each, to the spool; what Sentry asked us to hold back is counted.
    func flushLogs(now: Double, force: Bool = false) {
        let batches = logs.take(now: now, force: force)
        guard !batches.isEmpty, let dsn = options.dsn(options.options("")) else { return }
        for records in batches {
            let bytes = records.reduce(0) { $0 + $1.count }
            if ledgers.of(dsn).blocked(.logItem, now: now) != nil {
                count(.ratelimitBackoff, .logItem, records.count, dsn, now: now)
                count(.ratelimitBackoff, .logByte, bytes, dsn, now: now)
                continue
            }
            if !store(Envelope.logs(records, dsn: dsn), System.randomEventID(), .logItem, dsn, now, nil) {
                count(.queueOverflow, .logItem, records.count, dsn, now: now)
                count(.queueOverflow, .logByte, bytes, dsn, now: now)
            }
        }
    }
}
