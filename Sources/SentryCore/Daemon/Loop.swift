// `uwsgi-sentry daemon`: one long-lived sender per uWSGI instance.
// - `daemon --channel=3`: started and supervised by the `sentry` loader plugin,
//   which hands it every event as a frame on fd 3 (a write, not a fork);
// - `daemon [DIR]`: for uWSGI's attach-daemon, delivering what `cmd:` alarms hand
//   off into the spool (mode=spool).
// Either way the spool is the one queue: a frame becomes an envelope there first,
// then transfers (several at once) take envelopes from it, so a daemon that dies
// loses nothing it took. One thread, one poll: the channel, inotify on the spool,
// signals (signalfd) and libcurl's sockets.
import Glibc

@_silgen_name("signalfd")
private func signalfd(_ fd: Int32, _ mask: UnsafePointer<sigset_t>, _ flags: Int32) -> Int32
@_silgen_name("syncfs")
private func syncfs(_ fd: Int32) -> Int32

public enum Daemon {
    /// A frame is at most what the loader's channel carries (its send buffer).
    static let maxFrame = 4 << 20

    /// How much nicer than uWSGI the daemon runs: in a burst it gets the CPU the
    /// workers leave, never theirs (what it cannot take meanwhile waits in the channel
    /// and the spool, or is counted if the channel fills).
    static let niceness: Int32 = 10

    public static func run(spool: Spool, options: Options, channel: Int32?, say: @escaping (String) -> Void) -> Int32 {
        _ = nice(niceness)
        guard let dispatcher = Dispatcher(spool: spool, options: options, concurrency: options.concurrency, say: say) else {
            say("cannot load libcurl.so.4 (install libcurl4)")
            return 1
        }
        var wrote = false
        let intake = channel.map { _ in
            Intake(spool: spool, defaults: System.environment("UWSGI_SENTRY_OPTIONS") ?? "", host: HostFacts.current(), say: say,
                   enqueue: { dispatcher.enqueue($0); wrote = true })
        }
        intake?.uwsgiVersion = System.environment("UWSGI_SENTRY_UWSGI_VERSION")
        if let intake { dispatcher.settled = { intake.forgetLimits() } }

        // Signals arrive as reads on a descriptor, never as a flag a handler sets.
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let signals = signalfd(-1, &mask, Int32(O_NONBLOCK | O_CLOEXEC))
        let watch = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if watch >= 0 { _ = inotify_add_watch(watch, spool.path, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)) }
        let spoolFD = open(spool.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { for fd in [signals, watch, spoolFD] where fd >= 0 { close(fd) } }
        if let channel { _ = fcntl(channel, F_SETFL, fcntl(channel, F_GETFL) | O_NONBLOCK) }

        let parent = getppid()
        var channelOpen = channel != nil
        var stopping = false
        var lastRescan = 0.0, lastSync = 0.0
        var buffer = [UInt8](repeating: 0, count: maxFrame)
        while true {
            let now = StateDirectory.now()
            if now - lastRescan >= 30 { dispatcher.rescan(now: now); lastRescan = now }
            if !stopping { dispatcher.startDue(now: now) }
            var wait = 1.0
            if let d = dispatcher.nextDue(now: now) { wait = min(wait, d - now) }
            if let d = intake?.nextDeadline { wait = min(wait, d - now) }
            var fds: [Int32] = [signals, watch]
            if channelOpen, let channel { fds.append(channel) }
            let readable = dispatcher.run(waitingOn: fds.filter { $0 >= 0 }, timeoutMs: Int32(max(0, min(1, wait)) * 1000))
            if readable.contains(signals) {
                var info = [UInt8](repeating: 0, count: 128)
                while info.withUnsafeMutableBytes({ read(signals, $0.baseAddress, $0.count) }) > 0 {}
                stopping = true
            }
            if let channel, let intake, channelOpen, readable.contains(channel) {
                channelOpen = drain(channel, into: intake, buffer: &buffer)
                if !channelOpen { stopping = true }  // uWSGI is gone or reloading: finish and go
            }
            if readable.contains(watch) { readWatch(watch, dispatcher) }
            let later = StateDirectory.now()
            intake?.tick(now: later, force: stopping)
            if wrote && (later - lastSync >= 1 || stopping) { _ = syncfs(spoolFD); wrote = false; lastSync = later }
            if getppid() != parent { stopping = true }
            if stopping {
                if let channel, let intake, channelOpen { _ = drain(channel, into: intake, buffer: &buffer); intake.tick(now: later, force: true) }
                finish(dispatcher, within: min(3, options.timeout))
                if wrote { _ = syncfs(spoolFD) }
                return 0
            }
        }
    }

    /// Takes every frame waiting on the channel; false once the loader's end is closed.
    static func drain(_ channel: Int32, into intake: Intake, buffer: inout [UInt8]) -> Bool {
        for _ in 0..<4096 {
            let n = buffer.withUnsafeMutableBytes { recv(channel, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 {
                // An empty record, or the end: only a hang-up says it is the end.
                var p = pollfd(fd: channel, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 0) > 0 && p.revents & Int16(POLLHUP) != 0 { return false }
                intake.once("warning: a frame from the loader could not be read (empty); dropped, and any like it", key: "unreadable frame")
                continue
            }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            let now = StateDirectory.now()
            do {
                intake.handle(try LoaderFrame.decode(buffer[0..<n]), now: now)
            } catch {
                intake.once("warning: a frame from the loader could not be read (\(error)); dropped, and any like it", key: "unreadable frame")
            }
        }
        return true
    }

    /// New envelopes others put in the spool (a `cmd:` alarm's hand-off).
    static func readWatch(_ watch: Int32, _ dispatcher: Dispatcher) {
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            var i = 0
            while i + 16 <= n {
                let len = Int(buf[i + 12]) | Int(buf[i + 13]) << 8 | Int(buf[i + 14]) << 16 | Int(buf[i + 15]) << 24
                let nameBytes = buf[(i + 16)..<min(n, i + 16 + len)].prefix(while: { $0 != 0 })
                let name = String(decoding: nameBytes, as: UTF8.self)
                if name.hasSuffix(".envelope") && !name.hasPrefix(".") { dispatcher.enqueue(name) }
                i += 16 + len
            }
        }
    }

    /// Sends what is due and lets the transfers end, for at most `seconds`; what is
    /// left stays in the spool for the next start.
    static func finish(_ dispatcher: Dispatcher, within seconds: Double) {
        let deadline = System.monotonic() + seconds
        while System.monotonic() < deadline {
            dispatcher.startDue()
            if dispatcher.inFlightCount == 0 { return }
            _ = dispatcher.run(waitingOn: [], timeoutMs: 100)
        }
    }
}
