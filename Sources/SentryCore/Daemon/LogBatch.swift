// Sentry Logs records wait here as SDKs batch them (sentry-python's _log_batcher.py):
// at most 100 to an envelope, sent when 100 are waiting or 5 s after the first came,
// at most 1,000 waiting; a record that finds no room is dropped and counted.

struct LogBatch {
    static let perEnvelope = 100
    static let maxWaiting = 1000
    static let interval = System.environmentSeconds("UWSGI_SENTRY_LOG_INTERVAL") ?? 5

    /// Each record's JSON.
    private(set) var waiting: [[UInt8]] = []
    private var since: Double?

    /// Adds `record`; false when there is no room (the caller counts it).
    mutating func add(_ record: [UInt8], now: Double) -> Bool {
        guard waiting.count < LogBatch.maxWaiting else { return false }
        if waiting.isEmpty { since = now }
        waiting.append(record)
        return true
    }

    /// When the waiting records are due, if any are waiting.
    var deadline: Double? {
        guard let since else { return nil }
        return waiting.count >= LogBatch.perEnvelope ? since : since + LogBatch.interval
    }

    /// The envelopes' worth of records that are due (all, with `force`).
    mutating func take(now: Double, force: Bool = false) -> [[[UInt8]]] {
        guard let due = deadline, force || due <= now else { return [] }
        var out: [[[UInt8]]] = []
        while waiting.count >= LogBatch.perEnvelope || (!waiting.isEmpty && (force || (since ?? now) + LogBatch.interval <= now)) {
            out.append(Array(waiting.prefix(LogBatch.perEnvelope)))
            waiting.removeFirst(min(LogBatch.perEnvelope, waiting.count))
        }
        since = waiting.isEmpty ? nil : now
        return out
    }
}
