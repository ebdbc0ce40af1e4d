// How long a request waited before uWSGI took it: the proxy's `X-Request-Start`
// (nginx: `uwsgi_param HTTP_X_REQUEST_START "t=${msec}";`) against uWSGI's own start
// of the request. The forms sentry-ruby accepts (`capture_queue_time`): `t=` or bare,
// in seconds, milliseconds or microseconds (told apart by magnitude). A time in the
// future (clocks apart) or an hour or more before is no measurement: nothing.

public enum QueueTime {
    /// Milliseconds between `header`'s time and `start` (seconds since the epoch).
    public static func millis(header: String?, start: Double) -> Double? {
        guard var text = header?.trimmingSpaces() else { return nil }
        if text.hasPrefix("t=") { text = String(text.dropFirst(2)) }
        guard !text.isEmpty, text.utf8.count <= 24, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 }),
              text.utf8.filter({ $0 == 46 }).count <= 1, let value = Double(text), value.isFinite else { return nil }
        let seconds = value >= 1e15 ? value / 1e6 : value >= 1e12 ? value / 1e3 : value
        let waited = (start - seconds) * 1000
        guard waited >= 0, waited < 3_600_000 else { return nil }
        return (waited * 1000).rounded() / 1000
    }
}
