// The daemon's side of sentry-traces: a sampled request's frame becomes a
// transaction (Traces/), behind Sentry's rate limits for transactions and spans,
// into the spool like every event; so does a request the worker never finished
// (harakiri cut it, or the worker died in it), sampled here by the worker's rule. What the sampling left out and what the lines
// lane refused are counted for client reports, as SDKs count them (a transaction
// and its one span each: ours have no child spans).

extension Intake {
    func transaction(_ f: LoaderFrame, now: Double) {
        let o = options.options("")
        guard let dsn = options.dsn(o) else { return }
        let ledger = ledgers.of(dsn)
        if ledger.blocked(.transaction, now: now) != nil || ledger.blocked(.span, now: now) != nil {
            countTransactions(.ratelimitBackoff, 1, dsn, now: now)
            return
        }
        let (release, environment) = releaseAndEnvironment(o)
        guard let t = Transaction.of(f, routes: routeNames(o), options: o, publicKey: dsn.publicKey, release: release,
                                     environment: environment, serverName: Event.clip(o.serverName ?? host.hostName, 200)) else {
            once("warning: a request's transaction without its times was dropped, and any like it", key: "untimed transaction")
            countTransactions(.insufficientData, 1, dsn, now: now)
            return
        }
        send(t, dsn, at: at(f, now), now: now)
    }

    /// The requests a harakiri cut or a worker died in (the frame's cores): each ends
    /// as `ended` when the master saw it end; once, though both frames come for a
    /// harakiri'd worker.
    func cutTransactions(_ f: LoaderFrame, ended: SpanStatus, now: Double) {
        let o = options.options("")
        guard let rateText = o.traces, let rate = Double(rateText), let dsn = options.dsn(o), let end = f.nowMicros else { return }
        for c in f.cores {
            let decision = Sampling.decide(vars: c.vars, rate: rate)
            guard let served = Transaction.Served(core: c, end: end, ended: ended, rate: rateText, decision: decision),
                  !cutRequests.contains(served.request.key) else { continue }
            cutRequests.append(served.request.key)
            if cutRequests.count > 64 { cutRequests.removeFirst() }
            guard decision.sampled else { countTransactions(.sampleRate, 1, dsn, now: now); continue }
            let (release, environment) = releaseAndEnvironment(o)
            guard let t = Transaction.of(served, routes: routeNames(o), publicKey: dsn.publicKey, release: release,
                                         environment: environment, serverName: Event.clip(o.serverName ?? host.hostName, 200)) else { continue }
            if ledgers.of(dsn).blocked(.transaction, now: now) != nil { countTransactions(.ratelimitBackoff, 1, dsn, now: now); continue }
            send(t, dsn, at: Double(end) / 1e6, now: now)
        }
    }

    private func send(_ t: Transaction, _ dsn: DSN, at: Double, now: Double) {
        if !store(t.envelope(dsn: dsn), t.eventID, .transaction, dsn, at, nil) { countTransactions(.queueOverflow, 1, dsn, now: now) }
    }

    /// A spooler task, timed in the spooler: a `queue.process` transaction (Traces/Queue.swift).
    func task(_ f: LoaderFrame, now: Double) {
        let o = options.options("")
        guard let rate = o.traces, let dsn = options.dsn(o), let body = try? JSONReader.parse(f.body) else { return }
        let (release, environment) = releaseAndEnvironment(o)
        guard let (t, decision) = Transaction.task(body, rate: rate, publicKey: dsn.publicKey, release: release, environment: environment,
                                                   serverName: Event.clip(o.serverName ?? host.hostName, 200)) else {
            once("warning: a spooler task's transaction without its times was dropped, and any like it", key: "untimed task")
            return
        }
        guard decision.sampled else { countTransactions(.sampleRate, 1, dsn, now: now); return }
        if ledgers.of(dsn).blocked(.transaction, now: now) != nil { countTransactions(.ratelimitBackoff, 1, dsn, now: now); return }
        send(t, dsn, at: t.end, now: now)
    }

    /// A tally's counts: left out by the sampling, refused by the lines lane.
    func countTraces(_ f: LoaderFrame, now: Double) {
        guard f.unsampled + f.tracesDropped > 0, let dsn = options.dsn(options.options("")) else { return }
        countTransactions(.sampleRate, f.unsampled, dsn, now: now)
        countTransactions(.queueOverflow, f.tracesDropped, dsn, now: now)
    }

    func countTransactions(_ reason: DiscardReason, _ n: Int, _ dsn: DSN, now: Double) {
        count(reason, .transaction, n, dsn, now: now)
        count(reason, .span, n, dsn, now: now)
    }

    private func at(_ f: LoaderFrame, _ now: Double) -> Double { f.endMicros.map { Double($0) / 1e6 } ?? now }

    /// The operator's route names (`traces_route=REGEX NAME`), compiled once per option
    /// set; rules that do not compile are said once.
    private func routeNames(_ o: Options) -> RouteNames? {
        guard !o.tracesRoutes.isEmpty else { return nil }
        if let (rules, names) = traceRoutes, rules == o.tracesRoutes { return names }
        let names = RouteNames(o.tracesRoutes)
        for p in names.problems { once("sentry-traces-route: \(p); ignored", key: "route " + p) }
        traceRoutes = (o.tracesRoutes, names)
        return names
    }
}
