/// Sentry's rate-limit and client-report categories. A struct rather than an enum:
/// a server may name categories we do not send (replay, profile, attachment...), and
/// a limit on one of them must be kept and compared, not dropped.
public struct DataCategory: RawRepresentable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// An event without an exception (a log line, an alarm, a hook's message).
    public static let `default` = DataCategory(rawValue: "default")
    /// An event with an exception.
    public static let error = DataCategory(rawValue: "error")
    /// Release health: a session (an aggregate counts each session it holds).
    public static let session = DataCategory(rawValue: "session")
    /// Sentry Logs: each record, and their bytes.
    public static let logItem = DataCategory(rawValue: "log_item")
    public static let logByte = DataCategory(rawValue: "log_byte")
    /// A cron check-in.
    public static let monitor = DataCategory(rawValue: "monitor")
    /// A transaction, and the spans it holds (itself included), for rate limits and client reports.
    public static let transaction = DataCategory(rawValue: "transaction")
    public static let span = DataCategory(rawValue: "span")
    /// The SDK's own items (client reports), which Sentry never rate-limits.
    public static let `internal` = DataCategory(rawValue: "internal")

    public var description: String { rawValue }

    /// A category name as it may appear in a state file or a spool file name:
    /// [a-z0-9_] only, so it can never break a line format or a path.
    public var isWellFormed: Bool {
        !rawValue.isEmpty && rawValue.utf8.count <= 32
            && rawValue.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }
}

/// Why the client dropped something (Sentry's client-report reasons).
public enum DiscardReason: String, CaseIterable {
    case queueOverflow = "queue_overflow"
    case cacheOverflow = "cache_overflow"
    case bufferOverflow = "buffer_overflow"
    case ratelimitBackoff = "ratelimit_backoff"
    case networkError = "network_error"
    case sampleRate = "sample_rate"
    case beforeSend = "before_send"
    case eventProcessor = "event_processor"
    case backpressure
    case sendError = "send_error"
    case internalSDKError = "internal_sdk_error"
    case insufficientData = "insufficient_data"
}
