// Storm control. An alarm-log storm forks one sender per matching line, and uWSGI
// only folds identical consecutive lines. Across processes, each fingerprint (the
// grouping key) may send `count` events per `seconds`; the rest are dropped at
// once, before libcurl is loaded, and counted for a client report.

public enum Budget {
    /// The grouping key of an event: its fingerprint, else its exception's type and
    /// masked value, else its masked message.
    public static func key(_ e: Event) -> String {
        if !e.fingerprint.isEmpty {
            var key = ""
            for part in e.fingerprint { key += part + "\u{1f}" }
            return key
        }
        if let x = e.exception { return "exc:" + (x.type ?? "") + ":" + Grouping.mask(x.value ?? "") }
        return "msg:" + Grouping.mask(e.message ?? "")
    }

    /// Counts one event against the budget of `key`; false when it is spent.
    public static func allow(key: String, dsn: DSN, count: Int, seconds: Double, in state: StateDirectory,
                             now: Double = StateDirectory.now()) -> Bool {
        guard count > 0 else { return true }
        var allowed = true
        let ok = state.update("budget-" + StateDirectory.hash(dsn.stateKey + "|" + key)) { old in
            let fields = String(decoding: old, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
            var start = fields.count == 2 ? Double(fields[0]) ?? 0 : 0
            var used = fields.count == 2 ? Int(fields[1]) ?? 0 : 0
            if now - start >= seconds || now < start { start = now; used = 0 }
            allowed = used < count
            if allowed { used += 1 }
            return Array("\(start) \(used)\n".utf8)
        }
        return allowed || !ok  // a broken state directory must not silence alarms
    }
}
