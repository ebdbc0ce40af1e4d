// When counted drops go out on their own: `delay` after the first count of a
// project, if no event has carried them by then, in an envelope of their own (a
// storm's drops reach Sentry even when nothing follows the storm).

struct ReportSchedule {
    struct Due {
        var dsn: DSN
        var at: Double
    }

    let delay: Double
    private var due: [String: Due] = [:]

    init(delay: Double) { self.delay = delay }

    /// Something was counted for `dsn`: its report is due `delay` from now, unless one is already.
    mutating func note(_ dsn: DSN, now: Double) {
        let key = dsn.stateKey
        if due[key] == nil { due[key] = Due(dsn: dsn, at: now + delay) }
    }

    /// The projects whose report is due (all of them with `force`).
    mutating func take(now: Double, force: Bool) -> [DSN] {
        let ready = due.values.filter { force || now >= $0.at }.map(\.dsn)
        due = due.filter { !(force || now >= $0.value.at) }
        return ready
    }

    var next: Double? { due.values.map(\.at).min() }
}
