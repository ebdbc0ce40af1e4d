// The harakiri story without the loader: uWSGI logs `*** HARAKIRI ON WORKER ...`,
// then `HARAKIRI [core N] ... since T` for each stuck request, then the worker's
// death; a `cmd:` alarm starts one sender per line. The first line leaves a mark in
// the state directory (worker, pid, try), the request line reads it into ONE event,
// and the death line of a marked pid is part of that story, not an issue of its own.
import Glibc

public enum HarakiriMarks {
    static let prefix = "harakiri-"
    /// How long a mark explains a request line or a death.
    static let lifetime = 60.0

    public static func mark(wid: Int, pid: Int, attempt: Int, in state: StateDirectory, now: Double = StateDirectory.now()) {
        state.atomicWrite(prefix + String(pid), Array("\(wid) \(pid) \(attempt) \(now)\n".utf8), durable: false)
    }

    /// The mark of `pid`, if uWSGI killed it by harakiri lately, waiting up to `wait`
    /// seconds for it: the senders of one harakiri's lines start in order but run
    /// at once, and on a busy host the death's may look before the first has written.
    public static func marked(pid: Int, in state: StateDirectory, wait: Double = 0, now: Double = StateDirectory.now()) -> Bool {
        let deadline = System.monotonic() + wait
        while true {
            if let m = read(prefix + String(pid), in: state), now - m.at < lifetime { return true }
            if System.monotonic() >= deadline { return false }
            usleep(20_000)
        }
    }

    /// The newest mark, waiting up to `wait` seconds for it: the sender of the mark's
    /// line was started a moment before ours and may not have written it yet.
    public static func newest(in state: StateDirectory, wait: Double = 2, now: Double = StateDirectory.now())
        -> (wid: Int, pid: Int, attempt: Int, at: Double)? {
        let deadline = System.monotonic() + wait
        while true {
            let marks = state.names().filter { $0.hasPrefix(prefix) }.compactMap { read($0, in: state) }
            if let m = marks.filter({ now - $0.at < lifetime && $0.at <= now + 1 + wait }).max(by: { $0.at < $1.at }) { return m }
            if System.monotonic() >= deadline { return nil }
            usleep(20_000)
        }
    }

    static func read(_ name: String, in state: StateDirectory) -> (wid: Int, pid: Int, attempt: Int, at: Double)? {
        guard let bytes = state.read(name) else { return nil }
        let f = String(decoding: bytes.prefix(200), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count == 4, let wid = Int(f[0]), let pid = Int(f[1]), let attempt = Int(f[2]),
              let at = Seconds.parse(f[3], cap: .greatestFiniteMagnitude) else { return nil }
        return (wid, pid, attempt, at)
    }
}
