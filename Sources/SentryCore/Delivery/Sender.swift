// The bookkeeping around sending envelopes to one project, the same for a one-shot
// sender, `flush` and the daemon:
// - client reports ride along until an envelope carrying them is accepted;
// - every answer's rate limits are remembered (on a 2xx too);
// - whatever does not get through and is not kept is counted for a later report;
// - what is said about it is one line, with the DSN's key and secret masked.
import CurlHTTP

public struct Sender {
    public let dsn: DSN
    public let options: Options
    /// Rate limits and client reports; nil when there is no usable state directory.
    public let state: StateDirectory?
    public let redact: Redactor

    public init(dsn: DSN, options: Options, state: StateDirectory?) {
        self.dsn = dsn; self.options = options; self.state = state
        redact = Redactor(dsn: dsn)
    }

    /// Seconds Sentry asked us to wait before sending `category` again, or nil.
    public func blocked(_ category: DataCategory, now: Double = StateDirectory.now()) -> Double? {
        state.flatMap { RateLimits.blocked(category, dsn: dsn, in: $0, now: now) }
    }

    /// Counts one dropped item for the next client report.
    public func count(_ reason: DiscardReason, _ category: DataCategory, quantity: Int = 1) {
        if let state, quantity > 0 { ClientReport.record(reason, category: category, quantity: quantity, dsn: dsn, in: state) }
    }

    /// One envelope on its way, with the client reports it carries.
    public struct Attempt {
        public let request: HTTPRequest
        public let category: DataCategory
        let reports: [Discard]
    }

    /// The request for `envelope`, carrying the counts pending for this project.
    public func attempt(_ envelope: [UInt8], category: DataCategory) -> Attempt {
        let reports = state.map { ClientReport.take(dsn: dsn, in: $0) } ?? []
        let body = reports.isEmpty ? envelope : envelope + ClientReport.item(reports)
        return Attempt(request: Transport.request(envelope: body, dsn: dsn, options: options), category: category, reports: reports)
    }

    /// What the transfer's result means, recorded for later envelopes. `kept`: the
    /// caller keeps the envelope (a spool) when it is worth another try.
    public func settle(_ a: Attempt, _ result: Result<RawResponse, TransferError>, kept: Bool,
                       now: Double = StateDirectory.now()) -> Outcome {
        let outcome = Transport.classify(result, now: now)
        guard let state else { return outcome }
        if let response = outcome.response {
            RateLimits.record(RateLimits.from(response, now: now), dsn: dsn, in: state, now: now)
        }
        if case .accepted = outcome { return outcome }
        ClientReport.restore(a.reports, dsn: dsn, in: state)
        switch outcome {
        case .rateLimited: count(.ratelimitBackoff, a.category)
        case .rejected: count(.sendError, a.category)
        case .noAnswer: if !kept { count(.networkError, a.category) }
        case .localFailure: if !kept { count(.internalSDKError, a.category) }
        case .accepted: break
        }
        return outcome
    }

    /// attempt + transfer + settle, on `handle` (a flusher's reused connection) or a new one.
    public func send(_ envelope: [UInt8], category: DataCategory, using handle: EasyHandle? = nil, kept: Bool) -> Outcome {
        let a = attempt(envelope, category: category)
        return settle(a, handle?.perform(a.request) ?? EasyHandle.perform(a.request), kept: kept)
    }

    /// What happened to event `id`, in one printable line (key and secret masked).
    public func describe(_ outcome: Outcome, eventID id: String) -> String {
        switch outcome {
        case .accepted(let r):
            return "event \(id) accepted by \(dsn.origin) (project \(dsn.projectID), HTTP \(r.status))"
        case .rateLimited(_, let seconds):
            return "event \(id) dropped: \(dsn.origin) is rate-limiting (HTTP 429), retry after \(Seconds.whole(seconds)) s"
        case .rejected(let r):
            return "event \(id) rejected by \(dsn.origin): HTTP \(r.status): \(redact(Transport.reason(r)))"
        case .noAnswer(let text):
            return "no answer from \(dsn.origin): \(redact(text.replacingNewlines()))"
        case .localFailure(let text):
            return "event \(id) not sent: \(redact(text.replacingNewlines()))"
        }
    }
}
