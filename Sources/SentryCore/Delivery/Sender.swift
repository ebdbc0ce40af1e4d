// The bookkeeping around sending envelopes to one project, the same for a one-shot
// sender, `flush` and the daemon:
// - client reports ride along until an envelope carrying them is accepted;
// - every answer's rate limits are remembered (on a 2xx too);
// - whatever does not get through and is not kept is counted for a later report;
// - what is said about it is one line, with the DSN's key and secret masked.
import CurlHTTP

public struct Sender {
    public let options: Options
    /// Rate limits and client reports of this project.
    public let ledger: Ledger
    public let redact: Redactor
    public var dsn: DSN { ledger.dsn }

    public init(options: Options, ledger: Ledger) {
        self.options = options; self.ledger = ledger
        redact = Redactor(dsn: ledger.dsn)
    }

    /// A one-shot process's sender: its ledger writes through to the state directory.
    public init(dsn: DSN, options: Options, state: StateDirectory?) {
        self.init(options: options, ledger: Ledger(dsn: dsn, state: state))
    }

    /// Seconds Sentry asked us to wait before sending `category` again, or nil.
    public func blocked(_ category: DataCategory, now: Double = StateDirectory.now()) -> Double? {
        ledger.blocked(category, now: now)
    }

    /// Counts one dropped item for the next client report.
    public func count(_ reason: DiscardReason, _ category: DataCategory, quantity: Int = 1) {
        ledger.count(reason, category, quantity: quantity)
    }

    /// One envelope on its way, with the client reports it carries.
    public struct Attempt {
        public let request: HTTPRequest
        public let category: DataCategory
        let reports: [Discard]
    }

    /// The request for `envelope`, carrying the counts pending for this project.
    public func attempt(_ envelope: [UInt8], category: DataCategory) -> Attempt {
        let reports = ledger.take()
        let body = reports.isEmpty ? envelope : envelope + ClientReport.item(reports)
        return Attempt(request: Transport.request(envelope: body, dsn: dsn, options: options), category: category, reports: reports)
    }

    /// What the transfer's result means, recorded for later envelopes. `kept`: the
    /// caller keeps the envelope (a spool) when it is worth another try.
    public func settle(_ a: Attempt, _ result: Result<RawResponse, TransferError>, kept: Bool,
                       now: Double = StateDirectory.now()) -> Outcome {
        let outcome = Transport.classify(result, now: now)
        if let response = outcome.response { ledger.record(RateLimits.from(response, now: now), now: now) }
        if case .accepted = outcome { return outcome }
        ledger.giveBack(a.reports)
        switch outcome {
        case .rateLimited: break  // Sentry counts what it answers 429 to; counting it here too would count it twice
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
