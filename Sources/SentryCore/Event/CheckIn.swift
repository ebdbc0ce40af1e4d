// A cron check-in for Sentry Crons: a `check_in` envelope item. Shaped by the rules
// Sentry's ingestion applies (Relay's relay-monitors, `process_check_in`): a slug of
// at most 50 characters (we slugify: lowercase, digits, `-` and `_`), an environment
// of at most 64, `schedule` required in `monitor_config`, margins, runtimes and
// thresholds whole numbers of minutes (u64: a fraction would reject the whole item),
// an interval's unit one of year, month, week, day, hour, minute.

public struct CheckIn {
    public enum Status: String { case inProgress = "in_progress", ok, error }

    public enum Schedule: Equatable {
        case crontab(String)
        case interval(Int, String)
    }

    public struct MonitorConfig: Equatable {
        public var schedule: Schedule
        public var checkinMargin: Int?
        public var maxRuntime: Int?
        public var timezone: String?
        public var failureIssueThreshold: Int?
        public var recoveryThreshold: Int?
    }

    public var checkInID: String
    public var slug: String
    public var status: Status
    public var duration: Double?
    public var environment: String?
    public var release: String?
    public var config: MonitorConfig?
    /// The trace the run belongs to; its error event carries the same, so Sentry links them.
    public var traceID: String

    public static let slugLimit = 50

    /// `Nightly Report!` -> `nightly-report`: what Sentry accepts as a monitor slug.
    public static func slugify(_ raw: String) -> String? {
        var out: [UInt8] = []
        for b in raw.utf8 {
            let c = b >= 65 && b <= 90 ? b + 32 : b
            if (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 { out.append(c) }
            else if c == 45 || c == 32 || c == 46 || c == 47 { if out.last != 45 && !out.isEmpty { out.append(45) } }
        }
        while out.last == 45 { out.removeLast() }
        let slug = String(decoding: out.prefix(slugLimit), as: UTF8.self)
        return slug.isEmpty ? nil : slug
    }

    /// `0 3 * * *` (five crontab fields, or @hourly/@daily/@weekly/@monthly/@yearly) or
    /// `10 minute` / `10 minutes` (an interval); nil for anything else.
    public static func schedule(_ raw: String) -> Schedule? {
        let words = raw.split(separator: " ").map(String.init)
        if words.count == 1, ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"].contains(words[0]) {
            return .crontab(words[0])
        }
        if words.count == 2, let n = Int(words[0]), n > 0 {
            let unit = words[1].hasSuffix("s") ? String(words[1].dropLast()) : words[1]
            if ["year", "month", "week", "day", "hour", "minute"].contains(unit) { return .interval(n, unit) }
            return nil
        }
        guard words.count == 5, words.allSatisfy({ w in !w.isEmpty && w.utf8.allSatisfy { DSN.isAlnum($0) || "*,-/".utf8.contains($0) } })
        else { return nil }
        return .crontab(words.joined(separator: " "))
    }

    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.openObject()
        w.string("check_in_id", checkInID)
        w.string("monitor_slug", slug)
        w.string("status", status.rawValue)
        if let duration { w.number("duration", duration) }
        w.string("environment", ifPresent: environment)
        w.string("release", ifPresent: release)
        if let c = config {
            w.openObject("monitor_config")
            w.openObject("schedule")
            switch c.schedule {
            case .crontab(let value): w.string("type", "crontab"); w.string("value", value)
            case .interval(let n, let unit): w.string("type", "interval"); w.int("value", n); w.string("unit", unit)
            }
            w.closeObject()
            if let v = c.checkinMargin { w.int("checkin_margin", v) }
            if let v = c.maxRuntime { w.int("max_runtime", v) }
            w.string("timezone", ifPresent: c.timezone)
            if let v = c.failureIssueThreshold { w.int("failure_issue_threshold", v) }
            if let v = c.recoveryThreshold { w.int("recovery_threshold", v) }
            w.closeObject()
        }
        w.openObject("contexts"); w.openObject("trace"); w.string("trace_id", traceID); w.closeObject(); w.closeObject()
        w.closeObject()
        return w.bytes
    }
}
