// Storm budgets in the daemon's memory: one Budget.Window per project and
// fingerprint (the window itself is State/Budget.swift's, shared with one-shot
// senders). A restarted daemon starts them afresh.

struct Budgets {
    private var windows: [String: Budget.Window] = [:]

    /// One event of `key` against its budget; false when it is spent. count 0: no budget.
    mutating func allow(_ key: String, count: Int, seconds: Double, now: Double) -> Bool {
        guard count > 0 else { return true }
        var w = windows[key] ?? Budget.Window(start: now, used: 0, seconds: seconds)
        let allowed = w.take(count: count, seconds: seconds, now: now)
        windows[key] = w
        return allowed
    }

    /// A long-lived daemon sees many fingerprints: ended windows go once there are many.
    mutating func sweep(now: Double) {
        if windows.count > 10_000 { windows = windows.filter { !$0.value.hasEnded(at: now) } }
    }
}
