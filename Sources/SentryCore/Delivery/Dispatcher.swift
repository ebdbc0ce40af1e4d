// Delivering what the spool holds, oldest first, several transfers at once
// (libcurl's multi interface, `concurrency` at most), for the daemon and `flush`.
// Sentry's offline-caching rule: no answer keeps the envelope (with back-off);
// any HTTP answer is final. A server that gives no answer is probed with ONE
// transfer at a time until it answers again: a down Sentry costs one connection.
// Envelopes of one sequence (a monitor's check-ins) go one after another, oldest
// first; the rest go in parallel. When the spool will not take an envelope (a full
// disk, a read-only or vanished directory), it waits in memory, bounded, and is
// sent all the same: a host in trouble is exactly when Sentry should hear from it.
import CurlHTTP
import Glibc

public struct FlushResult: Equatable {
    public var delivered = 0
    public var rejected = 0
    public var rateLimited = 0
    public var kept = 0
    public var dropped = 0
    /// Left in the spool because Sentry asked us to wait, and the longest such wait.
    public var heldByLimit = 0
    public var limitWait = 0.0
    /// No answer stopped the work: the server is unreachable (and why).
    public var unreachable = false
    public var networkError: String?
}

public final class Dispatcher {
    let spool: Spool
    let options: Options
    let ledgers: Ledgers
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
    /// The project of each envelope the caller handed over (it knew it): read back
    /// from an envelope's header only for what was found in the spool.
    private var projectOf: [String: DSN] = [:]
    /// `claimed`: the spool's name for it while it is sent; nil for one held in memory.
    private var inFlight: [Int: (claimed: String?, entry: SpoolEntry, attempt: Sender.Attempt, sender: Sender)] = [:]
    private var nextTag = 0
    private var senders: [String: Sender] = [:]

    /// No answer: nothing starts before this; then one transfer probes.
    private var pausedUntil = 0.0
    var probing = true
    private var failures = 0
    /// An outage is said once when it starts and once when it ends.
    private(set) var down = false
    public private(set) var result = FlushResult()
    /// Sequences that a manual flush left behind in this pass (rate-limited): the rest
    /// of each waits for the next pass, not overtaking it.
    private var heldThisPass: Set<String> = []

    /// What the spool would not take, waiting in memory: at most this many envelopes
    /// and bytes (README, man page); more are dropped and counted as `queue_overflow`.
    public static let heldMax = 1000
    public static let heldMaxBytes = 16 << 20
    private var held: [String: (bytes: [UInt8], dsn: DSN)] = [:]
    public private(set) var heldBytes = 0
    public var heldCount: Int { held.count }
    /// When the spool last refused an envelope, while it does: said once when it starts,
    /// once when writes have worked again for `spoolCalm` seconds (not a line per event
    /// on a disk at the edge of full).
    private var spoolRefusedAt: Double?
    static let spoolCalm = 5.0
    /// Something was written to the spool since the caller last synced it.
    public var wroteToSpool = false
    /// The daemon's write-ahead file (State/Journal.swift): a new envelope that is in no
    /// sequence goes there instead of a spool file of its own, and is sent from memory.
    public var journal: Journal?
    private var journaled: [String: (bytes: [UInt8], dsn: DSN, offset: Int)] = [:]

    /// `ledgers`: the daemon's, shared with its Intake; `flush` passes its own.
    public init?(spool: Spool, options: Options, ledgers: Ledgers, say: @escaping (String) -> Void) {
        guard let multi = MultiHandle(maxConnections: options.concurrency) else { return nil }
        var o = options
        if o.spool == nil { o.spool = spool.path }
        self.spool = spool; self.options = o; self.ledgers = ledgers; self.multi = multi; self.say = say
        concurrency = max(1, min(options.concurrency, 64))
    }

    func sender(for dsn: DSN) -> Sender {
        if let s = senders[dsn.publicDSN] { return s }
        let s = Sender(options: options, ledger: ledgers.of(dsn))
        senders[dsn.publicDSN] = s
        return s
    }

    public var inFlightCount: Int { inFlight.count }
    var inFlightNames: [String] { inFlight.values.map(\.entry.name) }

    // MARK: what there is to send

    /// Reads the spool again (claims of a dead flusher come back; the bounds drop
    /// the oldest, counted for a client report), picking up what others put there.
    public func rescan(now: Double = StateDirectory.now()) {
        spool.recoverStale()
        for e in spool.overBounds(maxCount: options.spoolMax, maxAge: options.spoolMaxAge, now: now) {
            if let dsn = projectOf[e.name] ?? spool.read(e).flatMap(Envelope.dsn(of:)) { sender(for: dsn).count(.cacheOverflow, e.category) }
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

    /// Puts a new envelope in the spool and queues it; when the spool will not take
    /// it (made again if it was removed), it waits in memory within the bounds and
    /// goes all the same. False: neither could take it (the caller counts the drop).
    /// `orderKey`: its sequence (a monitor's check-ins), as `Spool.put` takes it.
    @discardableResult
    public func store(_ envelope: [UInt8], eventID: String, category: DataCategory, dsn: DSN,
                      orderKey key: String? = nil, at: Double = StateDirectory.now()) -> Bool {
        // Not while Sentry gives no answer: then it waits as a spool file, within the
        // spool's bounds, as before.
        if let journal, !down, key == nil, category != .monitor {
            let name = SpoolEntry.name(createdMillis: Seconds.whole((at * 1000).rounded(.down)), eventID: eventID,
                                       category: category, attempt: 0)
            if !known.contains(name), let offset = journal.append(name: name, envelope) {
                journaled[name] = (envelope, dsn, offset)
                took(now: StateDirectory.now())
                enqueue(name, dsn: dsn)
                return true
            }
        }
        var written = spool.put(envelope, eventID: eventID, category: category, orderKey: key, durable: false, at: at)
        if case .failure(let why) = written, why.code == ENOENT, spool.recreate() {
            written = spool.put(envelope, eventID: eventID, category: category, orderKey: key, durable: false, at: at)
        }
        let now = StateDirectory.now()
        switch written {
        case .success(let name):
            took(now: now)
            enqueue(name, dsn: dsn)
            return true
        case .failure(let why):
            if spoolRefusedAt == nil {
                say("the spool \(spool.path) refuses envelopes (\(why)): sending them from memory, at most \(Dispatcher.heldMax) or \(Dispatcher.heldMaxBytes >> 20) MiB waiting; beyond that they are dropped and counted")
            }
            spoolRefusedAt = now
            guard held.count < Dispatcher.heldMax, heldBytes + envelope.count <= Dispatcher.heldMaxBytes else { return false }
            let name = SpoolEntry.name(createdMillis: Seconds.whole((at * 1000).rounded(.down)), eventID: eventID,
                                       category: category, attempt: 0, orderKey: key)
            held[name] = (envelope, dsn)
            heldBytes += envelope.count
            enqueue(name, dsn: dsn)
            return true
        }
    }

    /// The spool (or the journal in it) took an envelope: said once it has for a while
    /// after refusing.
    private func took(now: Double) {
        wroteToSpool = true
        if let last = spoolRefusedAt, now - last >= Dispatcher.spoolCalm {
            say("the spool \(spool.path) takes envelopes again (\(held.count) still wait in memory)")
            spoolRefusedAt = nil
        }
    }

    /// At a stop: what waits in memory is lost with the process; it is counted
    /// (`queue_overflow`) so that Sentry hears of it. Returns how many.
    @discardableResult
    public func abandonHeld() -> Int {
        let n = held.count
        for (name, h) in held { sender(for: h.dsn).count(.queueOverflow, SpoolEntry(name: name)?.category ?? .default) }
        held.removeAll()
        heldBytes = 0
        if n > 0 { say("\(n) envelope(s) waiting in memory were dropped at the stop (the spool \(spool.path) would not take them); counted") }
        return n
    }

    /// At a stop: what waits in the journal goes into the spool proper, where the next
    /// daemon or a flush finds it as any envelope; the journal goes once it is empty
    /// (what the spool would not take stays in it, recovered by the next scan).
    public func spillJournal(now: Double = StateDirectory.now()) {
        spillWaiting(now: now)
        journal?.closeIfDone()
    }

    /// What waits in the journal and is not being sent, into the spool proper (a stop;
    /// an outage, so that what waits for Sentry is in the spool, within its bounds).
    private func spillWaiting(now: Double) {
        guard let journal else { return }
        let sending = Set(inFlight.values.map(\.entry.name))
        for (name, j) in journaled where !sending.contains(name) && spool.keep(name, j.bytes, due: dueAt[name] ?? now) {
            journaled.removeValue(forKey: name)
            journal.done(at: j.offset)
            wroteToSpool = true
        }
    }

    /// An envelope the caller just wrote into the spool, and its project when known.
    public func enqueue(_ name: String, dsn: DSN? = nil) {
        guard !known.contains(name), let e = SpoolEntry(name: name) else { return }
        if let dsn { projectOf[name] = dsn }
        add(e, due: nil)
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
        projectOf.removeValue(forKey: name)
        if let i = queue.firstIndex(where: { $0.name == name }) { queue.remove(at: i) }
    }

    /// When the next envelope can start (nil: nothing waits, or every slot is busy and
    /// a finishing transfer will wake the caller: a due envelope must not make it spin).
    public func nextDue(now: Double) -> Double? {
        if queue.isEmpty || inFlight.count >= (probing ? 1 : concurrency) { return nil }
        if pausedUntil > now && !force { return pausedUntil }
        // Only the oldest waiting envelope of a sequence can be next, and none of one in flight.
        var sequences = Set(inFlight.values.compactMap(\.entry.sequence))
        var next: Double?
        for e in queue {
            if let s = e.sequence { if sequences.contains(s) { continue }; sequences.insert(s) }
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
        // A sequence one envelope at a time, oldest first (Sentry must see a run's
        // in_progress before its ok): one in flight, or an older one not due yet, holds
        // back the rest of its sequence.
        var holding = Set(inFlight.values.compactMap(\.entry.sequence)).union(heldThisPass)
        var i = 0
        while inFlight.count < limit && i < queue.count {
            let e = queue[i]
            if let s = e.sequence, holding.contains(s) { i += 1; continue }
            if let s = e.sequence { holding.insert(s) }
            if !force, let d = dueAt[e.name], d > now { i += 1; continue }
            queue.remove(at: i)
            start(e, now: now)
        }
    }

    private func start(_ e: SpoolEntry, now: Double) {
        var claimed: String? = nil
        var envelope: [UInt8]? = held[e.name]?.bytes ?? journaled[e.name]?.bytes
        if envelope == nil {
            guard let c = spool.claim(e) else { forget(e.name); return }  // another flusher has it
            claimed = c
            envelope = spool.read(claimed: c)
        }
        guard let envelope, let dsn = projectOf[e.name] ?? Envelope.dsn(of: envelope) else {
            say("removed \(e.name): not a readable envelope")
            done(e, claimed)
            forget(e.name)
            return
        }
        let sender = sender(for: dsn)
        if let wait = sender.blocked(e.category, now: now) {
            // Not now: Sentry asked us to wait. It stays, due when the limit ends; a
            // manual flush (which ignores due times) is done with it for this pass.
            putBack(e, claimed, failed: false, due: now + wait)
            result.kept += 1
            result.heldByLimit += 1
            result.limitWait = max(result.limitWait, wait)
            if force {
                if let s = e.sequence { heldThisPass.insert(s) }
                forget(e.name)
            } else { add(e, due: now + wait) }
            return
        }
        let attempt = sender.attempt(envelope, category: e.category)
        if attempt.reports.isEmpty && Envelope.isReportCarrier(envelope) {
            done(e, claimed)  // an event took the counts first: nothing to carry
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

    /// Delivered, or final: gone from the spool (or from memory).
    private func done(_ e: SpoolEntry, _ claimed: String?) {
        if let claimed { spool.remove(claimed: claimed); return }
        if let j = journaled.removeValue(forKey: e.name) { journal?.done(at: j.offset); return }
        if let h = held.removeValue(forKey: e.name) { heldBytes -= h.bytes.count }
    }

    /// Back to wait until `due`; `failed` counts a delivery attempt. One held in memory
    /// goes to the spool if it has room again (a daemon that dies then loses nothing).
    private func putBack(_ e: SpoolEntry, _ claimed: String?, failed: Bool, due: Double) {
        if let claimed { spool.release(claimed: claimed, e, failed: failed, due: due); return }
        let next = failed ? e.renamed(attempt: e.attempt + 1) : e
        if let j = journaled.removeValue(forKey: e.name) {
            // A retry waits in the spool proper; until it is there the record stays pending.
            if spool.keep(next.name, j.bytes, due: due) {
                journal?.done(at: j.offset)
                wroteToSpool = true
            } else {
                journaled[next.name] = j
            }
            return
        }
        guard let h = held.removeValue(forKey: e.name) else { return }
        if spool.keep(next.name, h.bytes, due: due) {
            heldBytes -= h.bytes.count
            wroteToSpool = true
        } else {
            held[next.name] = h
        }
    }

    private func settle(_ e: SpoolEntry, claimed: String?, sender: Sender, outcome: Outcome) {
        let now = StateDirectory.now()
        known.remove(e.name)
        dueAt.removeValue(forKey: e.name)
        let project = projectOf.removeValue(forKey: e.name)
        switch outcome {
        case .accepted, .rateLimited, .rejected:
            done(e, claimed)
            switch outcome {
            case .accepted: result.delivered += 1
            case .rateLimited(_, let wait):
                result.rateLimited += 1
                result.limitWait = max(result.limitWait, wait)
                // A flush sums a limit up in one line at the end; the daemon says each.
                if announceOutages { say(sender.describe(outcome, eventID: e.eventID)) }
            default:
                result.rejected += 1
                say(sender.describe(outcome, eventID: e.eventID))
            }
            if down && announceOutages { say("Sentry answers again (\(sender.dsn.origin)); sending what was kept") }
            down = false; probing = false; failures = 0; pausedUntil = 0
        case .noAnswer, .localFailure:
            let local = outcome.isLocal
            let due = local ? now + 5 : now + Spool.backoff(e.attempt)
            putBack(e, claimed, failed: !local, due: due)
            var next = e
            if !local { next = e.renamed(attempt: e.attempt + 1) }
            if let project { projectOf[next.name] = project }
            add(next, due: due)
            result.kept += 1
            result.unreachable = true
            result.networkError = sender.describe(outcome, eventID: e.eventID)
            if !down && announceOutages { say("\(result.networkError!); keeping events in \(spool.path)") }
            if !down { spillWaiting(now: now) }
            down = true; probing = true; failures += 1
            pausedUntil = now + min(60, Spool.backoffBase * Double(1 << min(failures - 1, 4)))
        }
    }
}
