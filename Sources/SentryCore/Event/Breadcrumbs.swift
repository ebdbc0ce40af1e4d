// uWSGI's log lines before an event, as Sentry breadcrumbs: what led up to it.
// The daemon keeps the last lines it was handed (LogRing); a sender started by a
// `cmd:` alarm reads the tail of uWSGI's log file (`log_file=`). Each line becomes a
// breadcrumb with uWSGI's own time where the line carries one, a level inferred
// the way alarm levels are, category `uwsgi.log` (and scrubbed with the rest of the
// event, as Sentry scrubs breadcrumbs).
import Glibc

public enum Breadcrumbs {
    public static let category = "uwsgi.log"
    /// Sentry keeps at most 100 breadcrumbs; a line longer than this is cut.
    public static let maxCount = 100
    public static let maxLineLength = 1024
    public static let maxTotalBytes = 16 << 10

    /// The last `count` lines before the event, oldest first. `trigger`: the event's
    /// own line (an alarm's): the lines before its last appearance (a log file read
    /// a moment later holds lines logged after it too).
    public static func make(_ lines: [(text: String, received: Double)], count: Int, trigger: String? = nil,
                            crumbAt: ((Int) -> Breadcrumb)? = nil) -> [Breadcrumb] {
        var picked = lines[...]
        if let trigger {
            let own = stripDate(Stdin.text(Array(trigger.utf8)[...])).line
            if let at = picked.lastIndex(where: { stripDate(Stdin.text(Array($0.text.utf8)[...])).line == own }) {
                picked = picked[..<at]
            }
        }
        let last = picked.suffix(min(max(0, count), maxCount)).indices
        var out: [Breadcrumb] = []
        out.reserveCapacity(last.count)
        var bytes = 0
        for i in last.reversed() {
            let b = crumbAt?(i) ?? crumb(lines[i].text, received: lines[i].received)
            bytes += b.message.utf8.count
            if bytes > maxTotalBytes { break }
            out.append(b)
        }
        out.reverse()  // in place: a copy of each crumb was a third of this
        return out
    }

    /// One line as a breadcrumb.
    public static func crumb(_ line: String, received: Double) -> Breadcrumb {
        let (time, rest) = stripDate(line)
        let message = Event.clip(rest.replacingNewlines(), maxLineLength)
        return Breadcrumb(timestamp: time ?? requestTime(rest) ?? received, level: level(rest), category: category, message: message)
    }

    /// The level of a log line: uWSGI's known troubles as alarms get them; a
    /// request logged with a 5xx or 4xx status; words that say so.
    public static func level(_ line: String) -> Level {
        var lowered = line.asciiLowercased()  // once, for every word looked for
        return lowered.withUTF8 { b in
            let l = Grouping.Words(b)
            if let known = Grouping.inferLevel(lowered: l) { return known }
            if let status = requestStatus(line) { return status >= 500 ? .error : status >= 400 ? .warning : .info }
            if l.has(.traceback) || l.has(.error) || l.has(.exception) { return .error }
            if l.has(.warn) || l.has(.bangs) { return .warning }
            return .info
        }
    }

    /// `... (HTTP/1.1 502) ...` in uWSGI's request log line.
    static func requestStatus(_ line: String) -> Int? {
        guard line.find("=> generated") != nil, let at = line.find("(HTTP/") else { return nil }
        let rest = line[at.upperBound...].drop(while: { $0 != " " }).dropFirst()
        return Int(rest.prefix(while: { $0.isASCII && $0.isNumber }))
    }

    // MARK: uWSGI's dates (asctime, local time)

    /// `Wed Nov 25 20:44:25 2026 - rest` -> (its time, rest); (nil, line) without one.
    public static func stripDate(_ line: String) -> (time: Double?, line: String) {
        let u = Array(line.utf8)
        guard u.count >= 27, u[24] == 32, u[25] == 45, u[26] == 32, let t = asctime(u[0..<24]) else { return (nil, line) }
        return (t, String(decoding: u[27...], as: UTF8.self))
    }

    /// `[Wed Nov 25 20:44:25 2026]` anywhere (uWSGI's request log line).
    static func requestTime(_ line: String) -> Double? {
        guard line.hasPrefix("[pid: "), let open = line.find("} ["), let close = line[open.upperBound...].firstIndex(of: "]") else { return nil }
        let inner = Array(line[open.upperBound..<close].utf8)
        return inner.count == 24 ? asctime(inner[...]) : nil
    }

    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// `Www Mmm dd hh:mm:ss yyyy` (24 bytes; the day may be space-padded), local time.
    static func asctime(_ b: ArraySlice<UInt8>) -> Double? {
        let s = String(decoding: b, as: UTF8.self)
        let parts = s.split(separator: " ")
        guard parts.count == 5, days.contains(String(parts[0])), let month = RateLimits.months.firstIndex(of: String(parts[1])),
              let day = Int(parts[2]), (1...31).contains(day), let year = Int(parts[4]), (1970...9999).contains(year) else { return nil }
        let hms = parts[3].split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let m = Int(hms[1]), let sec = Int(hms[2]), h < 24, m < 60, sec < 61 else { return nil }
        guard (0..<24).contains(h), (0..<60).contains(m), (0...60).contains(sec) else { return localTime(year, month, day, h, m, sec) }
        // The hour's start once per hour: glibc's mktime looks at the zone's file again on
        // every call (a stat of /etc/localtime and a parse), which made a line's date
        // most of what its breadcrumb cost the daemon (CPU time; callgrind counts no
        // system calls). A zone whose clocks change at other than a whole hour is off by
        // that change for the rest of that hour.
        let key = ((year * 12 + month) * 32 + day) * 24 + h
        if let (known, start) = hourStart, known == key { return start + Double(m * 60 + sec) }
        guard let start = localTime(year, month, day, h, 0, 0) else { return nil }
        hourStart = (key, start)
        return start + Double(m * 60 + sec)
    }

    /// The hour last converted (its key) and its start. Tests that change the zone forget it.
    static var hourStart: (Int, Double)?

    /// mktime's answer: uWSGI writes local time, mktime reads the same zone.
    private static func localTime(_ year: Int, _ month: Int, _ day: Int, _ h: Int, _ m: Int, _ sec: Int) -> Double? {
        var tm = Glibc.tm()
        tm.tm_year = Int32(year - 1900); tm.tm_mon = Int32(month); tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(h); tm.tm_min = Int32(m); tm.tm_sec = Int32(sec); tm.tm_isdst = -1
        let t = mktime(&tm)
        return t == -1 ? nil : Double(t)
    }

    // MARK: the tail of a log file (the `cmd:` path and by-hand use)

    /// The last lines of `path` (at most 64 KiB are read from its end).
    public static func tail(of path: String, lines count: Int) -> [(text: String, received: Double)] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return [] }
        let size = Int(st.st_size)
        let start = max(0, size - 65_536)
        guard lseek(fd, off_t(start), SEEK_SET) >= 0 else { return [] }
        var bytes = StateDirectory.readAll(fd, limit: 65_536)
        if start > 0, let nl = bytes.firstIndex(of: 10) { bytes.removeFirst(nl + 1) }  // a cut first line
        let now = StateDirectory.now()
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").suffix(max(0, count) + 1).map { (String($0), now) }
    }
}

/// The daemon's memory of recent log lines: bounded in count and bytes.
public struct LogRing {
    public private(set) var lines: [(text: String, received: Double)] = []
    /// Each line's breadcrumb, made the first time an event takes it: in a burst of
    /// events every line rides along with many, and is read (its date, its level),
    /// scrubbed and written as JSON once.
    private var made: [Breadcrumb?] = []
    private var bytes = 0
    public let capacity: Int

    public init(capacity: Int) { self.capacity = max(0, min(capacity, Breadcrumbs.maxCount)) }

    public mutating func append(_ line: String, received: Double) {
        guard capacity > 0 else { return }
        // uWSGI hands a multi-line record (a traceback printed at once) as one: each of
        // its lines, without its line ending ("\r\n" too), empty ones left out. Cut as
        // bytes: as Characters (a line ending removed one at a time, a search for a
        // newline) it was most of what a log line cost the daemon.
        var text = line
        text.withUTF8 { b in
            eachLine(of: b) { r in
                var end = r.upperBound
                while end > r.lowerBound && b[end - 1] == 13 { end -= 1 }
                guard end > r.lowerBound else { return true }
                // A record of one line (most are) is kept as the String it came as.
                let part = r.lowerBound == 0 && end == b.count ? line
                    : String(decoding: UnsafeBufferPointer(rebasing: b[r.lowerBound..<end]), as: UTF8.self)
                let clipped = Event.clip(part, Breadcrumbs.maxLineLength)
                lines.append((clipped, received))
                made.append(nil)
                bytes += clipped.utf8.count
                return true
            }
        }
        while lines.count > capacity || bytes > Breadcrumbs.maxTotalBytes * 2 {
            bytes -= lines.removeFirst().text.utf8.count
            made.removeFirst()
        }
    }

    /// `Breadcrumbs.make` over the ring, each line's breadcrumb made once.
    public mutating func breadcrumbs(count: Int, trigger: String? = nil) -> [Breadcrumb] {
        var made = self.made
        self.made = []  // one owner while the closure fills it (no copy per write)
        defer { self.made = made }
        let lines = self.lines
        return Breadcrumbs.make(lines, count: count, trigger: trigger, crumbAt: { i in
            if let b = made[i] { return b }
            let b = Breadcrumbs.crumb(lines[i].text, received: lines[i].received).scrubbedAndWritten()
            made[i] = b
            return b
        })
    }
}
