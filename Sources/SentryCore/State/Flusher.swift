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

public struct Flusher {
    let spool: Spool
    let options: Options
    /// Rate limits and client reports: the same directory the senders use.
    let state: StateDirectory
    let handle: EasyHandle
    /// Deliver envelopes still in back-off too (a manual flush after an outage).
    var force: Bool
    let say: (String) -> Void

    public init?(spool: Spool, options: Options, force: Bool, say: @escaping (String) -> Void) {
        guard let handle = EasyHandle() else { return nil }
        var o = options
        if o.spool == nil { o.spool = spool.path }
        self.spool = spool; self.options = o; self.handle = handle; self.force = force; self.say = say
        state = StateDirectory.forOptions(o) ?? spool.dir
    }

    /// One pass over the spool, oldest first.
    public func pass() -> FlushResult {
        var result = FlushResult()
        spool.recoverStale()
        for e in spool.overBounds(maxCount: options.spoolMax, maxAge: options.spoolMaxAge) {
            // Counted for the project it was meant for, then gone.
            if let dsn = spool.read(e).flatMap(Flusher.dsn(of:)) {
                ClientReport.record(.cacheOverflow, category: e.category, dsn: dsn, in: state)
            }
            if spool.delete(e) { result.dropped += 1 }
        }
        if result.dropped > 0 { say("dropped \(result.dropped) spooled event(s) over spool_max=\(options.spoolMax) or spool_max_age=\(Int(options.spoolMaxAge)) s") }
        let now = StateDirectory.now()
        for e in spool.entries() {
            if !force && !spool.isDue(e, now: now) { result.kept += 1; continue }
            guard let claimed = spool.claim(e) else { continue }  // another flusher has it
            guard let envelope = spool.read(claimed: claimed), let dsn = Flusher.dsn(of: envelope) else {
                say("removed \(e.name): not a readable envelope")
                spool.remove(claimed: claimed)
                continue
            }
            if let wait = RateLimits.blocked(e.category, dsn: dsn, in: state) {
                // Not now: Sentry asked us to wait. It stays, due when the limit ends.
                spool.release(claimed: claimed, e, failed: false, due: now + wait)
                result.kept += 1
                continue
            }
            let reports = ClientReport.take(dsn: dsn, in: state)
            let body = reports.isEmpty ? envelope : envelope + ClientReport.item(reports)
            var request = Transport.request(envelope: body, dsn: dsn, options: options)
            request.timeout = options.timeout
            switch Transport.send(request, using: handle) {
            case .accepted(let r):
                RateLimits.record(RateLimits.from(r), dsn: dsn, in: state)
                spool.remove(claimed: claimed)
                result.delivered += 1
            case .rateLimited(let r, let seconds):
                RateLimits.record(RateLimits.from(r), dsn: dsn, in: state)
                ClientReport.record(.ratelimitBackoff, category: e.category, dsn: dsn, in: state)
                spool.remove(claimed: claimed)
                result.rateLimited += 1
                say("event \(e.eventID) dropped: \(dsn.origin) is rate-limiting (HTTP 429), retry after \(Int(seconds)) s")
            case .rejected(let r):
                RateLimits.record(RateLimits.from(r), dsn: dsn, in: state)
                spool.remove(claimed: claimed)
                result.rejected += 1
                say("event \(e.eventID) rejected by \(dsn.origin): HTTP \(r.status): \(Transport.reason(r))")
            case .networkFailure(let text):
                ClientReport.restore(reports, dsn: dsn, in: state)
                spool.release(claimed: claimed, e, failed: true, due: StateDirectory.now() + Spool.backoff(e.attempt))
                result.kept += 1
                result.unreachable = true
                result.networkError = "no answer from \(dsn.origin) (\(text))"
                return result  // the server is down: do not try every envelope
            case .libraryMissing:
                spool.release(claimed: claimed, e, failed: false, due: now)
                result.unreachable = true
                return result
            }
        }
        return result
    }

    /// The DSN an envelope was meant for (its header's `dsn`, which has no secret).
    static func dsn(of envelope: [UInt8]) -> DSN? {
        let header = String(decoding: envelope.prefix(while: { $0 != 10 }), as: UTF8.self)
        return Transport.jsonStringField("dsn", in: header).flatMap { try? DSN(parsing: $0) }
    }
}
