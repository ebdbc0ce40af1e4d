// Delivering what the spool holds, oldest first, several transfers at once
// (libcurl's multi interface, `concurrency` at most), for the daemon and `flush`.
// Sentry's offline-caching rule: no answer keeps the envelope (with back-off);
// any HTTP answer is final. A server that gives no answer is probed with ONE
// transfer at a time until it answers again: a down Sentry costs one connection.
import CurlHTTP

public struct FlushResult: Equatable {
    public var delivered = 0
    public var rejected = 0
    public var rateLimited = 0
    public var kept = 0
    public var dropped = 0
    /// No answer stopped the work: the server is unreachable (and why).
    public var unreachable = false
    public var networkError: String?
}

public final class Dispatcher {
    let spool: Spool
    let options: Options
    let state: StateDirectory?
    let multi: MultiHandle
    let concurrency: Int
    let say: (String) -> Void
    /// Deliver envelopes still in back-off too (a manual flush after an outage).
    var force = false
    /// Say when an outage starts and when it ends (the daemon; a flush says it once, at the end).
    var announceOutages = true

    /// What waits, oldest first, and when each is due (absent: now).
    private var queue: [SpoolEntry] = []
    private var known: Set<String> = []
    private var dueAt: [String: Double] = [:]
    private var inFlight: [Int: (claimed: String, entry: SpoolEntry, attempt: Sender.Attempt, sender: Sender)] = [:]
    private var nextTag = 0
    private var senders: [String: Sender] = [:]

    /// No answer: nothing starts before this; then one transfer probes.
    private var pausedUntil = 0.0
    private var probing = true
    private var failures = 0
    /// An outage is said once when it starts and once when it ends.
    private(set) var down = false
    public private(set) var result = FlushResult()

    public init?(spool: Spool, options: Options, concurrency: Int, say: @escaping (String) -> Void) {
        guard let multi = MultiHandle(maxConnections: concurrency) else { return nil }
        var o = options
        if o.spool == nil { o.spool = spool.path }
        self.spool = spool; self.options = o; self.multi = multi; self.say = say
        self.concurrency = max(1, min(concurrency, 64))
        state = StateDirectory.forOptions(o)
    }

    func sender(for dsn: DSN) -> Sender {
        if let s = senders[dsn.publicDSN] { return s }
        let s = Sender(dsn: dsn, options: options, state: state)
        senders[dsn.publicDSN] = s
        return s
    }

    public var inFlightCount: Int { inFlight.count }
    public var waiting: Int { queue.count }

    // MARK: what there is to send

    /// Reads the spool again (claims of a dead flusher come back; the bounds drop
    /// the oldest, counted for a client report), picking up what others put there.
    public func rescan(now: Double = StateDirectory.now()) {
        spool.recoverStale()
        for e in spool.overBounds(maxCount: options.spoolMax, maxAge: options.spoolMaxAge, now: now) {
            if let dsn = spool.read(e).flatMap(Dispatcher.dsn(of:)) { sender(for: dsn).count(.cacheOverflow, e.category) }
            if spool.delete(e) { result.dropped += 1 }
            forget(e.name)
        }
        if result.dropped > 0 {
            say("dropped \(result.dropped) spooled event(s) over spool_max=\(options.spoolMax) or spool_max_age=\(Seconds.whole(options.spoolMaxAge)) s")
            result.dropped = 0
        }
        for e in spool.entries() where !known.contains(e.name) {
            add(e, due: e.attempt > 0 ? spool.due(e) : nil)
        }
    }

    /// An envelope the caller just wrote into the spool.
    public func enqueue(_ name: String) {
        if !known.contains(name), let e = SpoolEntry(name: name) { add(e, due: nil) }
    }

    private func add(_ e: SpoolEntry, due: Double?) {
        known.insert(e.name)
        if let due { dueAt[e.name] = due }
        // Names sort by creation time: new ones almost always go last.
        var i = queue.count
        while i > 0 && queue[i - 1].name > e.name { i -= 1 }
        queue.insert(e, at: i)
    }

    private func forget(_ name: String) {
        known.remove(name)
        dueAt.removeValue(forKey: name)
        if let i = queue.firstIndex(where: { $0.name == name }) { queue.remove(at: i) }
    }

    /// When the next envelope can start (nil: nothing waits, or every slot is busy and
    /// a finishing transfer will wake the caller: a due envelope must not make it spin).
    public func nextDue(now: Double) -> Double? {
        if queue.isEmpty || inFlight.count >= (probing ? 1 : concurrency) { return nil }
        if pausedUntil > now && !force { return pausedUntil }
        let monitorBusy = inFlight.values.contains { $0.entry.category == .monitor }
        var next: Double?
        for e in queue where !(monitorBusy && e.category == .monitor) {
            let d = dueAt[e.name] ?? now
            next = min(next ?? d, d)
            if d <= now { break }
        }
        return next
    }

    // MARK: sending

    /// Starts what is due, up to the concurrency (one while probing a silent server).
    public func startDue(now: Double = StateDirectory.now()) {
        if now < pausedUntil && !force { return }
        let limit = probing ? 1 : concurrency
        var i = 0
        while inFlight.count < limit && i < queue.count {
            let e = queue[i]
            if !force, let d = dueAt[e.name], d > now { i += 1; continue }
            // Check-ins one at a time, in order: Sentry must see a run's in_progress before its ok.
            if e.category == .monitor && inFlight.values.contains(where: { $0.entry.category == .monitor }) { i += 1; continue }
            queue.remove(at: i)
            start(e, now: now)
        }
    }

    private func start(_ e: SpoolEntry, now: Double) {
        guard let claimed = spool.claim(e) else { forget(e.name); return }  // another flusher has it
        guard let envelope = spool.read(claimed: claimed), let dsn = Dispatcher.dsn(of: envelope) else {
            say("removed \(e.name): not a readable envelope")
            spool.remove(claimed: claimed)
            forget(e.name)
            return
        }
        let sender = sender(for: dsn)
        if let wait = sender.blocked(e.category, now: now) {
            // Not now: Sentry asked us to wait. It stays, due when the limit ends.
            spool.release(claimed: claimed, e, failed: false, due: now + wait)
            dueAt[e.name] = now + wait
            add(e, due: now + wait)
            result.kept += 1
            return
        }
        let attempt = sender.attempt(envelope, category: e.category)
        if attempt.reports.isEmpty && Envelope.isReportCarrier(envelope) {
            spool.remove(claimed: claimed)  // an event took the counts first: nothing to carry
            forget(e.name)
            return
        }
        nextTag += 1
        if let failure = multi.start(attempt.request, tag: nextTag) {
            settle(e, claimed: claimed, sender: sender, outcome: sender.settle(attempt, .failure(failure), kept: true))
            return
        }
        inFlight[nextTag] = (claimed, e, attempt, sender)
    }

    /// Moves transfers on, waiting up to `timeoutMs` for them or for `fds`; returns
    /// the readable fds.
    public func run(waitingOn fds: [Int32], timeoutMs: Int32) -> [Int32] {
        let (finished, readable) = multi.run(waitingOn: fds, timeoutMs: timeoutMs)
        for (tag, r) in finished {
            guard let t = inFlight.removeValue(forKey: tag) else { continue }
            settle(t.entry, claimed: t.claimed, sender: t.sender, outcome: t.sender.settle(t.attempt, r, kept: true))
        }
        return readable
    }

    /// Called after each answer (or its absence) is recorded: what it taught about
    /// rate limits is in the state directory now.
    public var settled: (() -> Void)?

    private func settle(_ e: SpoolEntry, claimed: String, sender: Sender, outcome: Outcome) {
        defer { settled?() }
        let now = StateDirectory.now()
        known.remove(e.name)
        dueAt.removeValue(forKey: e.name)
        switch outcome {
        case .accepted, .rateLimited, .rejected:
            spool.remove(claimed: claimed)
            if case .accepted = outcome { result.delivered += 1 }
            else {
                if case .rateLimited = outcome { result.rateLimited += 1 } else { result.rejected += 1 }
                say(sender.describe(outcome, eventID: e.eventID))
            }
            if down && announceOutages { say("Sentry answers again (\(sender.dsn.origin)); sending what was kept") }
            down = false; probing = false; failures = 0; pausedUntil = 0
        case .noAnswer, .localFailure:
            let local = outcome.isLocal
            let due = local ? now + 5 : now + Spool.backoff(e.attempt)
            spool.release(claimed: claimed, e, failed: !local, due: due)
            var next = e
            if !local { next.attempt += 1; next.name = SpoolEntry.name(createdMillis: e.createdMillis, eventID: e.eventID, category: e.category, attempt: next.attempt) }
            add(next, due: due)
            result.kept += 1
            result.unreachable = true
            result.networkError = sender.describe(outcome, eventID: e.eventID)
            if !down && announceOutages { say("\(result.networkError!); keeping events in \(spool.path)") }
            down = true; probing = true; failures += 1
            pausedUntil = now + min(60, 5 * Double(1 << min(failures - 1, 4)))
        }
    }

    /// The DSN an envelope was meant for (its header's `dsn`, which has no secret).
    static func dsn(of envelope: [UInt8]) -> DSN? {
        let header = String(decoding: envelope.prefix(while: { $0 != 10 }).prefix(4096), as: UTF8.self)
        return Transport.jsonStringField("dsn", in: header).flatMap { try? DSN(parsing: $0) }
    }
}
