// The few operating-system facts an event needs, read straight from libc.
// No Foundation: Date/UUID/ProcessInfo cost milliseconds of start-up per event.
import Glibc

// glibc's getrandom(2) wrapper; its header is not part of the Glibc module map.
@_silgen_name("getrandom")
private func getrandom(_ buffer: UnsafeMutableRawPointer?, _ length: Int, _ flags: UInt32) -> Int

public enum System {
    /// Writes all of `bytes` to `fd`, tolerating what uWSGI's log sockets do to a
    /// child: EINTR, EAGAIN (non-blocking SOCK_SEQPACKET under log-master) and EPIPE.
    /// Output is best effort: a full or closed log must never fail the send.
    public static func write(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            var stalls = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN && stalls < 20 {
                    stalls += 1
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 50)
                    continue
                }
                return
            }
        }
    }

    public static func write(_ fd: Int32, _ text: String) { write(fd, Array(text.utf8)) }

    /// One line on stderr. Every diagnostic the tool prints goes through here, so each
    /// starts with the prefix the shipped `not-alarm-log` rule matches (loop guard).
    public static func diagnostic(_ text: String) {
        write(2, "uwsgi-sentry: " + text.replacingNewlines() + "\n")
    }

    public static func environment(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    /// A number of seconds from the environment (tests shorten the daemon's waits),
    /// or nil when it is absent or not a number.
    static func environmentSeconds(_ name: String) -> Double? {
        environment(name).flatMap { Seconds.parse($0, cap: 3600) }
    }

    /// 16 bytes from the kernel's random source, as a UUIDv4 in 32 lowercase hex digits.
    public static func randomEventID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let got = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress, 16, 0) }
        if got != 16 {
            // getrandom only fails on ancient kernels; /dev/urandom is the same source.
            let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, 16) }
                close(fd)
            }
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return hex(bytes)
    }

    /// A UUIDv4-shaped event id derived from `text`: the same text, the same id.
    /// (Two FNV-1a hashes of it, for 128 bits; uniqueness, not secrecy, is the point.)
    public static func eventID(from text: String) -> String {
        // Both hashes in one pass, the id written in place (the daemon makes a trace's
        // and a span's id this way for every event).
        var a: UInt64 = 0xcbf29ce484222325, b: UInt64 = 0x84222325cbf29ce4
        for c in text.utf8 {
            a = (a ^ UInt64(c)) &* 0x100000001b3
            b = (b ^ UInt64(c)) &* 0x100000001b3
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { bytes in
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * i)); bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * i)) }
            bytes[6] = (bytes[6] & 0x0f) | 0x40
            bytes[8] = (bytes[8] & 0x3f) | 0x80
            return hex(UnsafeBufferPointer(bytes))
        }
    }

    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBufferPointer(hex) }

    static func hex(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = hexDigits[Int(b >> 4)]
                out[2 * i + 1] = hexDigits[Int(b & 15)]
            }
            return bytes.count * 2
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Current UTC time as RFC 3339 with milliseconds, e.g. 2026-11-24T20:51:41.343Z.
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return rfc3339(seconds: Int(ts.tv_sec), milliseconds: Int(ts.tv_nsec / 1_000_000))
    }

    /// UTC by arithmetic (Howard Hinnant's civil_from_days): glibc's gmtime_r reads
    /// /etc/localtime on first use, a cost on every start for nothing.
    public static func rfc3339(seconds: Int, milliseconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secs = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        if year >= 0, year <= 9999, milliseconds >= 0, milliseconds <= 999 {
            // Written in place: every event's breadcrumbs are ~30 of these (the string
            // concatenation below cost the daemon ~6% of its instructions per event).
            return String(unsafeUninitializedCapacity: 24) { b in
                func put(_ value: Int, _ at: Int, _ width: Int) {
                    var v = value
                    for i in stride(from: width - 1, through: 0, by: -1) { b[at + i] = UInt8(48 + v % 10); v /= 10 }
                }
                put(year, 0, 4); b[4] = 45; put(month, 5, 2); b[7] = 45; put(day, 8, 2); b[10] = 84
                put(secs / 3600, 11, 2); b[13] = 58; put(secs / 60 % 60, 14, 2); b[16] = 58; put(secs % 60, 17, 2)
                b[19] = 46; put(milliseconds, 20, 3); b[23] = 90
                return 24
            }
        }
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
            + "T" + pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
            + "." + pad(milliseconds, 3) + "Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    public static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(cString: buf)
    }

    public struct Uname { public var sysname, release, version, machine: String }

    public static func uname() -> Uname {
        var u = utsname()
        _ = Glibc.uname(&u)
        func field<T>(_ value: inout T) -> String {
            withUnsafePointer(to: &value) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
        return Uname(sysname: field(&u.sysname), release: field(&u.release),
                     version: field(&u.version), machine: field(&u.machine))
    }

    /// uWSGI's alarm thread hands its children a mask with SIGTERM, SIGALRM and ~58
    /// more blocked; a sender that inherits it could not be stopped. SIGPIPE is
    /// ignored so a closed log or socket is an error code, not a death.
    /// `holdingStops`: the loader's daemon, started with SIGTERM, SIGINT, SIGHUP and
    /// SIGQUIT blocked, keeps them so until its loop reads them from a signalfd (one
    /// that came while it started is a stop, after it read what waits for it).
    public static func resetSignals(holdingStops: Bool = false) {
        var mask = sigset_t()
        sigemptyset(&mask)
        if holdingStops { for s in stopSignals { sigaddset(&mask, s) } }
        sigprocmask(SIG_SETMASK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// What stops the daemon (read from its signalfd).
    public static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Microseconds since the epoch, as uWSGI and the loader write times (integer
    /// arithmetic: no Double to round or clamp).
    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec / 1000)
    }

    /// Seconds on the monotonic clock, for deadlines.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A failed system call's errno, with the text the operator reads ("No space left on device").
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { String(cString: strerror(code)) }
}
