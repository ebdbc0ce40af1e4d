// Delivering what is spooled, one pass, oldest first, over one reused connection:
// `uwsgi-sentry flush [DIR]`, and each pass of the daemon (Daemon.swift).
// Sentry's offline-caching rule: a network failure keeps the envelope (with
// back-off); any HTTP answer is final (2xx delivered, anything else reported).
import CurlHTTP

public struct FlushResult: Equatable {
    public var delivered = 0
    public var rejected = 0
    public var rateLimited = 0
    public var kept = 0
    public var dropped = 0
    /// A network failure stopped the pass: the server is unreachable (and why).
    public var unreachable = false
    public var networkError: String?
}

public final class Flusher {
    let spool: Spool
    let options: Options
    /// Rate limits and client reports: the same directory the senders use.
    let state: StateDirectory?
    let handle: EasyHandle
    /// Deliver envelopes still in back-off too (a manual flush after an outage).
    var force: Bool
    let say: (String) -> Void
    /// One Sender per project the spool holds envelopes for.
    private var senders: [String: Sender] = [:]

    public init?(spool: Spool, options: Options, force: Bool, say: @escaping (String) -> Void) {
        guard let handle = EasyHandle() else { return nil }
        var o = options
        if o.spool == nil { o.spool = spool.path }
        self.spool = spool; self.options = o; self.handle = handle; self.force = force; self.say = say
        state = StateDirectory.forOptions(o)
    }

    func sender(for dsn: DSN) -> Sender {
        if let s = senders[dsn.publicDSN] { return s }
        let s = Sender(dsn: dsn, options: options, state: state)
        senders[dsn.publicDSN] = s
        return s
    }

    /// One pass over the spool, oldest first.
    public func pass() -> FlushResult {
        var result = FlushResult()
        spool.recoverStale()
        for e in spool.overBounds(maxCount: options.spoolMax, maxAge: options.spoolMaxAge) {
            // Counted for the project it was meant for, then gone.
            if let dsn = spool.read(e).flatMap(Flusher.dsn(of:)) { sender(for: dsn).count(.cacheOverflow, e.category) }
            if spool.delete(e) { result.dropped += 1 }
        }
        if result.dropped > 0 {
            say("dropped \(result.dropped) spooled event(s) over spool_max=\(options.spoolMax) or spool_max_age=\(Seconds.whole(options.spoolMaxAge)) s")
        }
        let now = StateDirectory.now()
        for e in spool.entries() {
            if !force && !spool.isDue(e, now: now) { result.kept += 1; continue }
            guard let claimed = spool.claim(e) else { continue }  // another flusher has it
            guard let envelope = spool.read(claimed: claimed), let dsn = Flusher.dsn(of: envelope) else {
                say("removed \(e.name): not a readable envelope")
                spool.remove(claimed: claimed)
                continue
            }
            let sender = sender(for: dsn)
            if let wait = sender.blocked(e.category, now: now) {
                // Not now: Sentry asked us to wait. It stays, due when the limit ends.
                spool.release(claimed: claimed, e, failed: false, due: now + wait)
                result.kept += 1
                continue
            }
            let outcome = sender.send(envelope, category: e.category, using: handle, kept: true)
            switch outcome {
            case .accepted:
                spool.remove(claimed: claimed)
                result.delivered += 1
            case .rateLimited:
                spool.remove(claimed: claimed)
                result.rateLimited += 1
                say(sender.describe(outcome, eventID: e.eventID))
            case .rejected:
                spool.remove(claimed: claimed)
                result.rejected += 1
                say(sender.describe(outcome, eventID: e.eventID))
            case .noAnswer, .localFailure:
                let local = outcome.isLocal
                spool.release(claimed: claimed, e, failed: !local, due: local ? now : StateDirectory.now() + Spool.backoff(e.attempt))
                result.kept += 1
                result.unreachable = true
                result.networkError = sender.describe(outcome, eventID: e.eventID)
                return result  // the server is down (or we cannot send): do not try every envelope
            }
        }
        return result
    }

    /// The DSN an envelope was meant for (its header's `dsn`, which has no secret).
    static func dsn(of envelope: [UInt8]) -> DSN? {
        let header = String(decoding: envelope.prefix(while: { $0 != 10 }).prefix(4096), as: UTF8.self)
        return Transport.jsonStringField("dsn", in: header).flatMap { try? DSN(parsing: $0) }
    }
}
