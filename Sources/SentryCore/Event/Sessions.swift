// Release health: one minute's request sessions, as the loader counted them, made into
// Sentry's `sessions` item (request mode, aggregates). Relay's rules: a release is
// required; `started` on a minute, not older than 5 days nor more than 60 s ahead;
// counts are non-negative integers and zero ones are left out.

/// How a request (a session) ended. Exactly one per request.
public enum SessionEnd: String, CaseIterable {
    case exited, errored, crashed, abnormal
}

public struct SessionMinute: Equatable {
    /// The minute's start, in seconds since the epoch (a multiple of 60).
    public var started: Int
    public var counts: [SessionEnd: Int]

    public init(started: Int, counts: [SessionEnd: Int]) {
        // From a frame: bounded to 1970...9999 first (Int.min minus its remainder traps).
        let bounded = Swift.min(Swift.max(0, started), 253_402_300_740)
        self.started = bounded - bounded % 60
        self.counts = counts.filter { $0.value > 0 }
    }

    public var total: Int { counts.values.reduce(0, +) }

    /// Why Relay would refuse this minute at `now`, if it would.
    public func refusal(now: Double) -> String? {
        if total == 0 { return "no sessions" }
        if Double(started) < now - 5 * 86400 { return "older than 5 days" }
        if Double(started) > now + 60 { return "in the future" }
        return nil
    }

    /// `{"aggregates":[{"started":..., "exited":N, ...}],"attrs":{"release":...,"environment":...}}`
    public func payload(release: String, environment: String) -> [UInt8] {
        var w = JSONWriter(capacity: 200)
        w.openObject()
        w.openArray("aggregates")
        w.openObject()
        w.string("started", System.rfc3339(seconds: started, milliseconds: 0))
        for end in SessionEnd.allCases { if let n = counts[end] { w.int(end.rawValue, n) } }
        w.closeObject()
        w.closeArray()
        w.openObject("attrs")
        w.string("release", release)
        w.string("environment", environment)
        w.closeObject()
        w.closeObject()
        return w.bytes
    }
}
