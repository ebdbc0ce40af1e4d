// Storm control: each fingerprint (the grouping key) may send `count` events per
// `seconds`; the rest are dropped at once and counted for a client report. The
// window is Budget.Window, one implementation: the daemon keeps its windows in
// memory (Daemon/Budgets.swift); one-shot senders (by hand, a cmd: alarm that sends
// itself) share theirs across processes here, one small file per fingerprint
// (`budget-<hash>`: window start, count, window), swept away at most once an hour
// once their window has ended.
import Glibc

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

    static let prefix = "budget-"
    static let sweepMarker = "budget-sweep"

    /// Counts one event against the budget of `key`; false when it is spent.
    public static func allow(key: String, dsn: DSN, count: Int, seconds: Double, in state: StateDirectory,
                             now: Double = StateDirectory.now()) -> Bool {
        guard count > 0 else { return true }
        var allowed = true
        let ok = state.update(prefix + StateDirectory.hash(dsn.stateKey + "|" + key)) { old in
            var w = Window(old) ?? Window(start: now, used: 0, seconds: seconds)
            allowed = w.take(count: count, seconds: seconds, now: now)
            return w.bytes
        }
        sweepIfDue(state, now: now)
        return allowed || !ok  // a broken state directory must not silence alarms
    }

    /// One fingerprint's window, as its file holds it: `start used seconds`.
    struct Window {
        var start: Double
        var used: Int
        var seconds: Double

        init(start: Double, used: Int, seconds: Double) {
            self.start = start; self.used = used; self.seconds = seconds
        }

        /// nil for anything that is not three sane numbers (a file from an older
        /// version, a torn write, someone's edit): a fresh window then.
        init?(_ bytes: [UInt8]) {
            let f = String(decoding: bytes.prefix(200), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard f.count == 3, let start = Seconds.parse(f[0], cap: .greatestFiniteMagnitude), let used = Int(f[1]), used >= 0,
                  let seconds = Seconds.parse(f[2], cap: Options.maxBudgetWindow) else { return nil }
            self.init(start: start, used: used, seconds: seconds)
        }

        func hasEnded(at now: Double) -> Bool { now - start >= seconds || now < start }

        /// One event against the window (a new one when it has ended); false when
        /// `count` are spent already.
        mutating func take(count: Int, seconds: Double, now: Double) -> Bool {
            if hasEnded(at: now) { self = Window(start: now, used: 0, seconds: seconds) }
            guard used < count else { return false }
            used += 1
            return true
        }

        var bytes: [UInt8] { Array("\(start) \(used) \(seconds)\n".utf8) }
    }

    /// Removes the files of windows that have ended, at most once an hour (the
    /// marker file's time says when the last sweep ran): a long-lived host sees
    /// many fingerprints, and one file each must not pile up forever.
    static func sweepIfDue(_ state: StateDirectory, now: Double) {
        var st = stat()
        let marker = state.file(sweepMarker)
        if stat(marker, &st) == 0 && Double(st.st_mtim.tv_sec) > now - 3600 { return }
        let fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { futimens(fd, nil); close(fd) }
        for name in state.names() where name.hasPrefix(prefix) && name != sweepMarker {
            state.update(name, create: false) { old in
                if let w = Window(old), !w.hasEnded(at: now) { return nil }
                unlink(state.file(name))  // under our lock: a writer waiting on it starts afresh
                return nil
            }
        }
    }
}
