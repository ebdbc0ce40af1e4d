// `uwsgi-sentry daemon [DIR]`, for uWSGI's attach-daemon: a flush pass whenever the
// spool changes (inotify), over one reused connection, until uWSGI stops it.
import Glibc

/// Set by the signal handler; read by the daemon loop.
private var stopSignal: Int32 = 0

public enum Daemon {
    /// Runs until SIGTERM/SIGINT/SIGHUP/SIGQUIT or until its parent (uWSGI) is gone.
    /// An outage is said once when it starts and once when it ends, not every pass.
    public static func run(_ flusher: Flusher) -> Int32 {
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGQUIT] {
            signal(sig) { s in stopSignal = s }
        }
        let parent = getppid()
        let watch = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if watch >= 0 { _ = inotify_add_watch(watch, flusher.spool.path, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)) }
        defer { if watch >= 0 { close(watch) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var down = false
        while stopSignal == 0 && getppid() == parent {
            let r = flusher.pass()
            if r.unreachable && !down { flusher.say("\(r.networkError ?? "no answer"); keeping events in \(flusher.spool.path)") }
            if !r.unreachable && down && r.delivered > 0 { flusher.say("Sentry answers again: delivered \(r.delivered) spooled event(s)") }
            if r.unreachable || r.delivered > 0 { down = r.unreachable }
            // Unreachable: wait before trying again; otherwise wake on a new file.
            let wait: Int32 = r.unreachable ? 5000 : 1000
            var p = pollfd(fd: watch, events: Int16(POLLIN), revents: 0)
            let deadline = System.monotonic() + Double(wait) / 1000
            repeat {
                let left = Int32(max(0, (deadline - System.monotonic()) * 1000))
                if watch < 0 { usleep(UInt32(left) * 1000); break }
                if poll(&p, 1, min(left, 500)) > 0 {
                    while buffer.withUnsafeMutableBytes({ read(watch, $0.baseAddress, $0.count) }) > 0 {}
                    if !r.unreachable { break }
                }
            } while stopSignal == 0 && getppid() == parent && System.monotonic() < deadline
        }
        return 0
    }
}
