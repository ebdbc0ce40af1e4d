// Sentry's rate limits, remembered across processes: after a 429 (or any answer
// carrying X-Sentry-Rate-Limits), the next process does not send in a limited
// category until the time has passed; it exits at once, without loading libcurl.

public struct RateLimit: Equatable {
    /// Empty: every category.
    public var categories: [DataCategory]
    public var seconds: Double
}

public enum RateLimits {
    /// `X-Sentry-Rate-Limits: 60:transaction:key, 2700:default;error;security:organization`
    public static func parse(_ header: String) -> [RateLimit] {
        var out: [RateLimit] = []
        for entry in header.split(separator: ",") {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
            guard let seconds = Double(parts.first ?? ""), seconds >= 0 else { continue }
            let categories = parts.count > 1 ? parts[1].split(separator: ";").map { String($0).trimmingSpaces() } : []
            out.append(RateLimit(categories: categories.filter { !$0.isEmpty }.map(DataCategory.init(rawValue:)), seconds: seconds))
        }
        return out
    }

    /// The limits an answer imposes: the header first, else (on 429) Retry-After, else 60 s.
    public static func from(_ r: HTTPResponse) -> [RateLimit] {
        if let header = r.header("x-sentry-rate-limits") {
            let limits = parse(header)
            if !limits.isEmpty || r.status != 429 { return limits }
        }
        guard r.status == 429 else { return [] }
        if let ra = r.header("retry-after"), let s = Double(ra.trimmingSpaces()), s >= 0 {
            return [RateLimit(categories: [], seconds: s)]
        }
        return [RateLimit(categories: [], seconds: 60)]
    }

    static func fileName(_ dsn: DSN) -> String { "ratelimit-" + dsn.stateKey }

    /// Remembers `limits` (until now + seconds), keeping later deadlines already known.
    public static func record(_ limits: [RateLimit], dsn: DSN, in state: StateDirectory, now: Double = StateDirectory.now()) {
        guard !limits.isEmpty else { return }
        state.update(fileName(dsn)) { old in
            var until = decode(old)
            for limit in limits {
                for category in limit.categories.isEmpty ? [""] : limit.categories.map(\.rawValue) {
                    until[category] = max(until[category] ?? 0, now + limit.seconds)
                }
            }
            var text = ""
            for (category, deadline) in until where deadline > now { text += "\(category.isEmpty ? "*" : category) \(Int(deadline.rounded(.up)))\n" }
            return Array(text.utf8)
        }
    }

    /// Seconds until `category` may be sent again; nil when it may be sent now.
    public static func blocked(_ category: DataCategory, dsn: DSN, in state: StateDirectory, now: Double = StateDirectory.now()) -> Double? {
        guard let bytes = state.read(fileName(dsn)) else { return nil }
        let until = decode(bytes)
        let deadline = max(until[""] ?? 0, until[category.rawValue] ?? 0)
        return deadline > now ? deadline - now : nil
    }

    static func decode(_ bytes: [UInt8]) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let p = line.split(separator: " ")
            guard p.count == 2, let t = Double(p[1]) else { continue }
            out[p[0] == "*" ? "" : String(p[0])] = t
        }
        return out
    }
}
