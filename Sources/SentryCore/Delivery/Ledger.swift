// What one project (a DSN) has told us and what we dropped for it: the rate limits
// Sentry set, per category, and the counts of discarded items waiting to ride on an
// envelope as a client report.
//
// A one-shot process writes through to the state directory at once (the next
// process reads it there). The daemon keeps one Ledger per project in memory, and
// its Intake (which drops) and its Dispatcher (which sends, and learns limits) share
// it: nothing goes through a file to come back. What must outlive the daemon or be
// seen by others is written out: a limit at once, counts when it stops and every
// few seconds while it runs.

public final class Ledger {
    public let dsn: DSN
    let state: StateDirectory?
    let inMemory: Bool
    /// Category ("" = every category) -> until when (seconds since the epoch).
    private var limits: [String: Double] = [:]
    private var counts: [Discard] = []
    /// When the daemon last looked on disk for what other processes counted.
    private var diskLookedAt = -Double.infinity

    /// `inMemory`: the daemon's (see above); else every change goes to the state
    /// directory at once.
    public init(dsn: DSN, state: StateDirectory?, inMemory: Bool = false, now: Double = StateDirectory.now()) {
        self.dsn = dsn; self.state = state; self.inMemory = inMemory
        if let bytes = state?.read(RateLimits.fileName(dsn)) { limits = RateLimits.decode(bytes, now: now) }
    }

    /// Seconds Sentry asked us to wait before sending `category` again, or nil.
    public func blocked(_ category: DataCategory, now: Double = StateDirectory.now()) -> Double? {
        let deadline = max(limits[""] ?? 0, limits[category.rawValue] ?? 0)
        return deadline > now ? deadline - now : nil
    }

    /// Remembers what an answer imposed, here and (for every process) on disk.
    public func record(_ new: [RateLimit], now: Double = StateDirectory.now()) {
        guard !new.isEmpty else { return }
        for limit in new {
            let deadline = now + min(limit.seconds, Seconds.serverCap)
            for category in limit.categories.isEmpty ? [""] : limit.categories.map(\.rawValue) {
                limits[category] = max(limits[category] ?? 0, deadline)
            }
        }
        if let state { RateLimits.record(new, dsn: dsn, in: state, now: now) }
    }

    /// Counts `quantity` items dropped for `reason`.
    public func count(_ reason: DiscardReason, _ category: DataCategory, quantity: Int = 1) {
        guard quantity > 0 else { return }
        if inMemory { counts = Discard.merged(counts, [Discard(reason: reason, category: category, quantity: quantity)]) }
        else if let state { ClientReport.record(reason, category: category, quantity: quantity, dsn: dsn, in: state) }
    }

    /// Whether counts wait in memory for an envelope to carry them.
    public var hasCounts: Bool { !counts.isEmpty }

    /// Every count waiting for this project, ours and what other processes left on
    /// disk, for the envelope about to go; `giveBack` them if it does not get through.
    /// The daemon looks on disk at most once a second (an open per envelope, for a
    /// file that is almost never there, was ~1% of its CPU in a burst): what a `cmd:`
    /// sender or a flush counted rides on an envelope a second later at most.
    public func take(now: Double = StateDirectory.now()) -> [Discard] {
        let mine = counts
        counts = []
        guard let state, !inMemory || now - diskLookedAt >= 1 else { return mine }
        diskLookedAt = now
        return Discard.merged(mine, ClientReport.take(dsn: dsn, in: state))
    }

    public func giveBack(_ taken: [Discard]) {
        if inMemory { counts = Discard.merged(counts, taken) }
        else if let state { ClientReport.restore(taken, dsn: dsn, in: state) }
    }

    /// Counts held in memory go to disk, where the next envelope to this project (of
    /// this daemon or the next) takes them.
    public func save() {
        guard inMemory, !counts.isEmpty, let state else { return }
        // A full disk keeps them here, for the next envelope or the next save.
        if ClientReport.restore(counts, dsn: dsn, in: state) { counts = [] }
    }
}

/// A process's ledgers, one per project: the daemon's Intake and Dispatcher share
/// them (in memory); `flush` writes through.
public final class Ledgers {
    let state: StateDirectory?
    let inMemory: Bool
    private var byProject: [String: Ledger] = [:]

    public init(state: StateDirectory?, inMemory: Bool) { self.state = state; self.inMemory = inMemory }

    public func of(_ dsn: DSN) -> Ledger {
        let key = dsn.stateKey
        if let l = byProject[key] { return l }
        let l = Ledger(dsn: dsn, state: state, inMemory: inMemory)
        byProject[key] = l
        return l
    }

    /// Every ledger's counts to disk (the daemon stops, or a few seconds passed).
    public func save() { for l in byProject.values { l.save() } }
}

extension Discard {
    /// `a` and `b` added up per (reason, category), in the order first seen.
    static func merged(_ a: [Discard], _ b: [Discard]) -> [Discard] {
        var out = a
        for d in b {
            if let i = out.firstIndex(where: { $0.reason == d.reason && $0.category == d.category }) { out[i].quantity += d.quantity }
            else { out.append(d) }
        }
        return out
    }
}
