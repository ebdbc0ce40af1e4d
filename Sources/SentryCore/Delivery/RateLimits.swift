// Sentry's rate limits: what an answer says (X-Sentry-Rate-Limits, Retry-After, a
// 429), and the state file that remembers them across processes (a Ledger keeps
// them): after a 429 the next process does not send in a limited category until
// the time has passed; it exits at once, without loading libcurl.
// Every number here comes from the network or from a file: parsed by Seconds
// (non-finite rejected, capped at a day, as sentry-native does).

public struct RateLimit: Equatable {
    /// Empty: every category.
    public var categories: [DataCategory]
    public var seconds: Double
}

public enum RateLimits {
    /// What a 429 without any usable header means (Sentry's rule).
    public static let defaultSeconds = 60.0

    /// `X-Sentry-Rate-Limits: 60:transaction:key, 2700:default;error;security:organization`.
    /// Entries whose time is not a finite number >= 0 are skipped; category names
    /// that could not be stored safely ([a-z0-9_] only) are skipped.
    public static func parse(_ header: String) -> [RateLimit] {
        var out: [RateLimit] = []
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard let first = parts.first, let seconds = Seconds.parse(first) else { continue }
            var categories: [DataCategory] = []
            if parts.count > 1 {
                for name in parts[1].split(separator: ";") {
                    let c = DataCategory(rawValue: String(name).trimmingSpaces().asciiLowercased())
                    if c.isWellFormed { categories.append(c) }
                }
                // Every named category was unusable: not "all categories".
                if categories.isEmpty && !String(parts[1]).trimmingSpaces().isEmpty { continue }
            }
            out.append(RateLimit(categories: categories, seconds: seconds))
        }
        return out
    }

    /// `Retry-After`: seconds, or an HTTP date (RFC 9110 IMF-fixdate); nil when neither.
    public static func retryAfter(_ value: String, now: Double) -> Double? {
        if let s = Seconds.parse(value) { return s }
        guard let date = parseHTTPDate(value) else { return nil }
        return min(Seconds.serverCap, max(0, date - now))
    }

    /// The limits an answer imposes: every X-Sentry-Rate-Limits header first, else
    /// (on 429) Retry-After, else 60 s. Also read on a 2xx (Sentry may send it there).
    public static func from(_ r: HTTPResponse, now: Double = StateDirectory.now()) -> [RateLimit] {
        let headers = r.headers(named: "x-sentry-rate-limits")
        if !headers.isEmpty {
            var limits: [RateLimit] = []
            for h in headers { limits += parse(h) }
            if !limits.isEmpty || r.status != 429 { return limits }
        }
        guard r.status == 429 else { return [] }
        if let ra = r.header("retry-after"), let s = retryAfter(ra, now: now) {
            return [RateLimit(categories: [], seconds: s)]
        }
        return [RateLimit(categories: [], seconds: defaultSeconds)]
    }

    static func fileName(_ dsn: DSN) -> String { "ratelimit-" + dsn.stateKey }

    /// Remembers `limits` (until now + seconds), keeping later deadlines already known.
    public static func record(_ limits: [RateLimit], dsn: DSN, in state: StateDirectory, now: Double = StateDirectory.now()) {
        guard !limits.isEmpty else { return }
        state.update(fileName(dsn)) { old in
            var until = decode(old, now: now)
            for limit in limits {
                let deadline = now + min(limit.seconds, Seconds.serverCap)
                for category in limit.categories.isEmpty ? [""] : limit.categories.map(\.rawValue) {
                    until[category] = max(until[category] ?? 0, deadline)
                }
            }
            var text = ""
            // Milliseconds: whole seconds rounded up would make a 60 s limit say 61.
            for (category, deadline) in until where deadline > now {
                text += "\(category.isEmpty ? "*" : category) \(Seconds.decimal(deadline))\n"
            }
            return Array(text.utf8)
        }
    }

    /// The file's `category deadline` lines. A deadline further away than the cap
    /// (a clock that jumped back, a file someone edited) is taken as now + cap.
    static func decode(_ bytes: [UInt8], now: Double) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let p = line.split(separator: " ")
            guard p.count == 2, let t = Seconds.parse(p[1], cap: .greatestFiniteMagnitude) else { continue }
            out[p[0] == "*" ? "" : String(p[0])] = min(t, now + Seconds.serverCap)
        }
        return out
    }

    // MARK: HTTP dates

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` -> seconds since the epoch; nil for anything else.
    static func parseHTTPDate(_ text: String) -> Double? {
        let words = text.trimmingSpaces().split(separator: " ")
        guard words.count == 6, words[0].hasSuffix(","), words[5] == "GMT",
              words[1].utf8.count == 2, let day = Int(words[1]), (1...31).contains(day),
              let month = months.firstIndex(of: String(words[2])),
              words[3].utf8.count == 4, let year = Int(words[3]), (1970...9999).contains(year) else { return nil }
        let hms = words[4].split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, hms.allSatisfy({ $0.utf8.count == 2 }),
              let h = Int(hms[0]), let m = Int(hms[1]), let s = Int(hms[2]), h < 24, m < 60, s < 61 else { return nil }
        return Double(System.daysFromCivil(year: year, month: month + 1, day: day) * 86_400 + h * 3600 + m * 60 + s)
    }
}
