// Option string -> typed options. Every key of the old plugin, plus what current
// Sentry users expect. A problem here never loses an alarm: it becomes a warning and
// a sensible default, unless --check asked for every problem to be fatal.

public struct Options {
    public var dsn: String?
    public var level: String?
    public var logger: String?
    public var message: String?
    public var platform: String?
    public var culprit: String?
    public var serverName: String?
    public var release: String?
    public var exceptionType: String?
    public var exceptionValue: String?
    public var noVerify = false
    public var debug = false
    public var tags: [Field] = []
    public var extra: [Field] = []
    public var timeout: Double = Options.defaultTimeout
    public var environment: String?
    public var dist: String?
    public var transaction: String?
    public var fingerprint: [String] = []
    public var user: [Field] = []
    public var caFile: String?
    /// Where an event goes when Sentry cannot be reached (and what `mode=spool` fills).
    public var spool: String?
    public var stateDir: String?
    /// `send` (default) or `spool`: hand the envelope to the spool and exit, for the daemon.
    public var handOff = false
    /// Storm control: at most `budgetCount` events per fingerprint per `budgetSeconds`.
    public var budgetCount = 10
    public var budgetSeconds = 60.0
    public var spoolMax = 10_000
    public var spoolMaxAge = 7 * 86_400.0
    /// How many log lines before an event ride along as breadcrumbs (daemon, log_file).
    public var breadcrumbs = 30
    /// Log files whose last lines become breadcrumbs (a `cmd:` alarm, by hand): the
    /// first that can be read. A `%(logto)` uWSGI left unresolved (no such option) is skipped.
    public var logFiles: [String] = []
    /// `traces_route=REGEX NAME`: transaction names (sentry-traces-route).
    public var tracesRoutes: [String] = []
    /// `traces=RATE`: sentry-traces' rate, for the requests the worker never finished.
    public var traces: String?
    /// uWSGI's stats server (`stats=%(stats)` in the cmd: snippet), read on a full
    /// listen queue for what the workers were busy with. Unresolved `%(stats)`: none.
    public var statsServer: String?
    /// The daemon's and flush's transfers at once.
    public var concurrency = 8
    /// `monitor`: the monitor's schedule and settings, sent with the first check-in.
    public var schedule: CheckIn.Schedule?
    public var checkinMargin, maxRuntime, failureIssueThreshold, recoveryThreshold: Int?
    public var timezone: String?
    /// `monitor`: how many of the job's last output lines an error event carries (0: none, output untouched).
    public var outputLines = 0
    /// Exception frames keep their local variables (scrubbed).
    public var locals = true
    /// An exception of an app that runs its own Sentry SDK: its SDK reports it (skip),
    /// or we do as well (report).
    public var reportOwnSDK = false
    /// Under the loader: uWSGI's log lines and requests at this level or above become
    /// Sentry Logs records; nil: none.
    public var logs: LogLevel?
    /// Personal data Sentry's SDKs send only when allowed (a log record's client address).
    public var sendDefaultPII = false

    /// Seconds for connect plus the whole transfer, when `timeout=` is absent.
    public static let defaultTimeout = 5.0
    /// The longest storm-budget window and spool age an option may ask for.
    public static let maxBudgetWindow = 7 * 86_400.0
    public static let maxSpoolAge = 365 * 86_400.0

    public init() {}

    /// A problem found while reading options: a warning normally, fatal under --check.
    public struct Problem: Equatable, CustomStringConvertible {
        public var text: String
        public var description: String { text }
    }

    /// Parses `text` (the old plugin's grammar), then fills absent options from the
    /// environment (SENTRY_DSN, SENTRY_RELEASE, SENTRY_ENVIRONMENT).
    public static func parse(_ text: String, environment env: (String) -> String? = System.environment)
        -> (Options, [Problem]) {
        var o = Options()
        var problems: [Problem] = []
        var sawMode = false
        func flag(_ item: KVItem) -> Bool {
            guard let v = item.value?.asciiLowercased(), !v.isEmpty else { return true }
            switch v {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default:
                problems.append(Problem(text: "\(item.key)=\(v) is not a boolean (use 1/0, true/false); taken as true"))
                return true
            }
        }
        for item in KVList.parse(text) {
            // An empty value means "not set" (`level=` behaves as if absent).
            let value: String? = (item.value?.isEmpty ?? true) ? nil : item.value
            let raw = item.rawValue ?? ""
            switch item.key {
            case "no_verify": o.noVerify = flag(item); continue
            case "debug": o.debug = flag(item); continue
            case "locals": o.locals = flag(item); continue
            case "send_default_pii": o.sendDefaultPII = flag(item); continue
            default: break
            }
            guard OptionTable.isKey(item.key) else {
                let shown = item.key.isEmpty ? "(empty key)" : "'\(Event.clip(item.key, 60))'"
                problems.append(Problem(text: "unknown option \(shown), did you mean '\(nearestKey(to: item.key))'?"))
                continue
            }
            guard let value else { continue }
            switch item.key {
            case "dsn": o.dsn = value
            case "message": o.message = value
            case "level": o.level = value
            case "logger": o.logger = value
            case "platform": o.platform = value
            case "culprit": o.culprit = value
            case "transaction": o.transaction = value
            case "server_name": o.serverName = value
            case "release": o.release = value
            case "dist": o.dist = value
            case "environment": o.environment = value
            case "exception_type": o.exceptionType = value
            case "exception_value": o.exceptionValue = value
            case "ca_file": o.caFile = value
            case "spool": o.spool = value
            case "state_dir": o.stateDir = value
            case "own_sdk":
                switch value {
                case "skip": o.reportOwnSDK = false
                case "report": o.reportOwnSDK = true
                default: problems.append(Problem(text: "own_sdk=\(value) is not skip or report; using skip"))
                }
            case "logs":
                if value == "off" { o.logs = nil }
                else if let l = LogLevel(option: value) { o.logs = l }
                else { problems.append(Problem(text: "logs=\(value) is not trace, debug, info, warning, error, fatal or off; no logs")) }
            case "mode":
                sawMode = true
                switch value {
                case "send": o.handOff = false
                case "spool": o.handOff = true
                default: problems.append(Problem(text: "mode=\(value) is not send or spool; using send"))
                }
            case "budget":
                let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
                if value == "0" || value == "off" {
                    o.budgetCount = 0
                } else if parts.count == 2, let n = Int(parts[0]), n >= 0,
                          let t = Seconds.parse(parts[1], cap: .greatestFiniteMagnitude), t > 0, t <= Options.maxBudgetWindow {
                    o.budgetCount = n; o.budgetSeconds = t
                } else {
                    problems.append(Problem(text: "budget=\(value) is not COUNT/SECONDS with SECONDS in (0, \(Seconds.whole(Options.maxBudgetWindow))] (or 0 for none); using 10/60"))
                }
            case "breadcrumbs":
                if let n = Int(value), n >= 0, n <= Breadcrumbs.maxCount { o.breadcrumbs = n }
                else { problems.append(Problem(text: "breadcrumbs=\(value) is not a count in [0, \(Breadcrumbs.maxCount)]; using \(o.breadcrumbs)")) }
            case "log_file": if !value.hasPrefix("%(") { o.logFiles.append(value) }
            case "traces_route": o.tracesRoutes.append(value)
            case "traces":
                if let r = Double(value), r >= 0, r <= 1 { o.traces = value }
                else { problems.append(Problem(text: "traces=\(value) is not a rate from 0 to 1; no transactions of cut requests")) }
            case "stats": if !value.hasPrefix("%("), !value.isEmpty { o.statsServer = value }
            case "schedule":
                if let s = CheckIn.schedule(value) { o.schedule = s }
                else { problems.append(Problem(text: "schedule=\(value) is neither a crontab (0 3 * * *; escape commas: 0\\,30 * * * *) nor an interval (10 minute)")) }
            case "checkin_margin", "max_runtime", "failure_issue_threshold", "recovery_threshold":
                // Sentry takes whole numbers (minutes, or check-ins) only: a fraction would reject the check-in.
                guard let n = Int(value), n >= 0, n <= 1_000_000 else {
                    problems.append(Problem(text: "\(item.key)=\(value) is not a whole number (minutes or check-ins); left out"))
                    continue
                }
                switch item.key {
                case "checkin_margin": o.checkinMargin = n
                case "max_runtime": o.maxRuntime = n
                case "failure_issue_threshold": o.failureIssueThreshold = n
                default: o.recoveryThreshold = n
                }
            case "timezone":
                if value.utf8.count <= 64, value.utf8.allSatisfy({ DSN.isAlnum($0) || "_/+-".utf8.contains($0) }) { o.timezone = value }
                else { problems.append(Problem(text: "timezone=\(value) is not a tz database name (Europe/Berlin); left out")) }
            case "output_lines":
                if let n = Int(value), n >= 0, n <= 1000 { o.outputLines = n }
                else { problems.append(Problem(text: "output_lines=\(value) is not a count in [0, 1000]; using 0")) }
            case "concurrency":
                if let n = Int(value), n >= 1, n <= 64 { o.concurrency = n }
                else { problems.append(Problem(text: "concurrency=\(value) is not a count in [1, 64]; using \(o.concurrency)")) }
            case "spool_max":
                if let n = Int(value), n > 0 { o.spoolMax = n }
                else { problems.append(Problem(text: "spool_max=\(value) is not a positive count; using \(o.spoolMax)")) }
            case "spool_max_age":
                if let t = Seconds.parse(value, cap: .greatestFiniteMagnitude), t > 0, t <= Options.maxSpoolAge { o.spoolMaxAge = t }
                else { problems.append(Problem(text: "spool_max_age=\(value) is not a number of seconds in (0, \(Seconds.whole(Options.maxSpoolAge))]; using \(Seconds.whole(o.spoolMaxAge))")) }
            // List options accumulate when repeated; scalars: the last one wins.
            case "tags": o.tags += KVList.pairs(raw)
            case "extra": o.extra += KVList.pairs(raw)
            case "user": o.user += KVList.pairs(raw)
            case "fingerprint": o.fingerprint += KVList.list(raw)
            case "timeout":
                if let t = Seconds.parse(value, cap: .greatestFiniteMagnitude), t > 0, t <= 3600 {
                    o.timeout = t
                } else {
                    problems.append(Problem(text: "timeout=\(value) is not a number of seconds in (0, 3600]; using \(Options.defaultTimeout)"))
                }
            default: break
            }
        }
        if o.dsn == nil { o.dsn = env("SENTRY_DSN").flatMap { $0.isEmpty ? nil : $0 } }
        if o.release == nil { o.release = env("SENTRY_RELEASE").flatMap { $0.isEmpty ? nil : $0 } }
        if o.environment == nil { o.environment = env("SENTRY_ENVIRONMENT").flatMap { $0.isEmpty ? nil : $0 } }
        if o.spool == nil { o.spool = env("UWSGI_SENTRY_SPOOL").flatMap { $0.isEmpty ? nil : $0 } }
        // Started for a uWSGI instance (its loader, or sentry.ini's cmd: alarms): its private spool.
        if o.spool == nil, let instance = env("UWSGI_SENTRY_INSTANCE"), !instance.isEmpty { o.spool = Spool.instancePath(instance) }
        if !sawMode, env("UWSGI_SENTRY_MODE") == "spool" { o.handOff = true }
        return (o, problems)
    }

    /// The known key closest to `key` by edit distance, for "did you mean".
    public static func nearestKey(to key: String) -> String {
        var best = OptionTable.all[0].key, bestDistance = Int.max
        for candidate in OptionTable.all.map(\.key) {
            let d = editDistance(Array(key.asciiLowercased().utf8), Array(candidate.utf8))
            if d < bestDistance { best = candidate; bestDistance = d }
        }
        return best
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            if b.isEmpty { previous = current; continue }
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
