// `flush [DIR]` and `daemon [DIR]`: deliver what the spool keeps.

extension CLI {
    /// `flush [DIR] [OPTIONS]` and `daemon [DIR] [OPTIONS]` (`daemon --channel=FD`:
    /// the loader's, with the instance's spool unless sentry-spool names one).
    func flush(_ words: [String], daemon: Bool) -> ExitCode {
        var rest = words[...]
        var dir: String? = nil
        if let first = rest.first, !first.contains("=") { dir = first; rest = rest.dropFirst() }
        let (options, problems) = Options.parse(CLI.join(Array(rest)))
        for p in problems { System.diagnostic((check ? "" : "warning: ") + p.text) }
        if check && !problems.isEmpty { return .usage }
        guard let path = dir ?? options.spool ?? (channel != nil ? Spool.instancePath() : nil) else {
            return usage("\(daemon ? "daemon" : "flush"): give the spool directory (or set UWSGI_SENTRY_SPOOL)")
        }
        guard let spool = Spool(path) else { return usage("\(path) is not a directory of ours, private (0700)") }
        if daemon {
            let ring = channel != nil ? LineRing.fromEnvironment() : nil
            return Daemon.run(spool: spool, options: options, channel: channel, lines: lines, ring: ring,
                              say: { System.diagnostic($0) }) == 0 ? .accepted : .internalError
        }
        var o = options
        if o.spool == nil { o.spool = spool.path }
        let ledgers = Ledgers(state: StateDirectory.forOptions(o), inMemory: false)
        guard let d = Dispatcher(spool: spool, options: o, ledgers: ledgers, say: { System.diagnostic($0) }) else {
            System.diagnostic("cannot load libcurl.so.4 (install libcurl4)")
            return .internalError
        }
        d.force = true  // a manual flush ignores back-off
        d.announceOutages = false
        // Hand-offs no daemon took (cmd: alarms while it was down): made into events first.
        let intake = Intake(defaults: "", host: HostFacts.current(), ledgers: ledgers, say: { System.diagnostic($0) },
                            store: { d.store($0, eventID: $1, category: $2, dsn: $3, orderKey: $5, at: $4) })
        spool.recoverStale()  // a dead daemon's journal may hold hand-offs
        for name in spool.handedOff() { Daemon.takeFrame(name, spool, intake) }
        intake.tick(now: StateDirectory.now(), force: true)
        d.rescan()
        while true {
            if !d.result.unreachable { d.startDue() }
            if d.inFlightCount == 0 { break }
            _ = d.run(waitingOn: [], timeoutMs: 200)
        }
        d.abandonHeld()
        let r = d.result
        let kept = spool.entries().count
        if r.unreachable, let error = r.networkError { System.diagnostic("\(error); \(kept) event(s) stay in \(path)") }
        else if r.heldByLimit > 0 || r.rateLimited > 0 {
            // One line for the whole pass: what the limit cost, what it keeps.
            let wait = "\(Seconds.whole(r.limitWait)) more s"
            switch (r.rateLimited, r.heldByLimit) {
            case (let n, 0): System.diagnostic("\(n) event(s) dropped: Sentry is rate-limiting for \(wait)")
            case (0, let m): System.diagnostic("\(m) event(s) stay in \(path): Sentry is rate-limiting them for \(wait)")
            case (let n, let m): System.diagnostic("\(n) event(s) dropped and \(m) stay in \(path): Sentry is rate-limiting them for \(wait)")
            }
        }
        if check || System.isTerminal(1) {
            System.write(1, "flushed \(path): \(r.delivered) delivered, \(r.rejected) rejected, \(r.rateLimited) rate-limited, \(kept) kept\n")
        }
        return r.unreachable ? .network : r.heldByLimit > 0 || r.rateLimited > 0 ? .rateLimited : .accepted
    }
}
