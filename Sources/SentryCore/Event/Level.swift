/// Sentry's event levels: the only five that a strict validator accepts.
public enum Level: String, Equatable {
    case fatal, error, warning, info, debug

    /// Any case; `warn`, `critical` and syslog's names are mapped; nil for anything else.
    public init?(lenient raw: String) {
        switch raw.asciiLowercased().trimmingSpaces() {
        case "fatal", "critical", "crit", "emerg", "emergency", "alert", "panic": self = .fatal
        case "error", "err": self = .error
        case "warning", "warn": self = .warning
        case "info", "information", "notice", "log": self = .info
        case "debug", "trace": self = .debug
        default: return nil
        }
    }
}

/// Sentry's platforms; anything else is shown as `other`.
public enum Platform {
    public static let all: [String] = [
        "as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java",
        "javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby",
    ]

    /// The platform named by `raw` (any case), or nil when Sentry does not know it.
    public static func named(_ raw: String) -> String? {
        let p = raw.asciiLowercased().trimmingSpaces()
        return all.contains(p) ? p : nil
    }
}
