// Numbers of seconds that come from outside: a server's Retry-After or
// X-Sentry-Rate-Limits, a state file, an option. `Int(_:)` traps on NaN, on the
// infinities and on anything beyond Int's range, so none of them ever reaches it
// unchecked: they are parsed here (non-finite rejected, absurd ones clamped) and
// turned into whole numbers only through `whole(_:)`.

public enum Seconds {
    /// The longest wait a server can impose on us: a day, as sentry-native caps a rate limit.
    public static let serverCap = 86_400.0

    /// A finite number >= 0 in `text`, clamped to `cap`; nil for anything else
    /// (NaN, inf, negative, not a number). "1e20" and a 20-digit integer are finite
    /// and come back as `cap`.
    public static func parse<S: StringProtocol>(_ text: S, cap: Double = serverCap) -> Double? {
        let t = String(text).trimmingSpaces()
        // Only plain decimal notation: Double("0x1p4"), "nan" or "infinity" are not seconds.
        guard !t.isEmpty, t.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 101 || $0 == 69 || $0 == 43 || $0 == 45 }),
              let value = Double(t), value.isFinite, value >= 0 else { return nil }
        return min(value, cap)
    }

    /// `value` rounded up to a whole number (of seconds, or of milliseconds) for a
    /// message, a file time or a name: never traps (NaN is 0; beyond +/-1e15, some
    /// 31,000 years in milliseconds, it is clamped).
    public static func whole(_ value: Double) -> Int {
        guard !value.isNaN else { return 0 }
        let bound = 1e15
        return Int(min(bound, max(-bound, value)).rounded(.up))
    }

    /// `value` (finite and >= 0, else 0) with three decimals, never in exponent
    /// notation: a duration in JSON, a deadline in a state file.
    public static func decimal(_ value: Double) -> String {
        let ms = whole((max(0, value.isFinite ? value : 0) * 1000).rounded(.down))
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
