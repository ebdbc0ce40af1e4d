// `uwsgi-sentry daemon`: one long-lived sender per uWSGI instance, and its loop.
// - `daemon --channel=3 --lines=4`: started and supervised by the `sentry` loader
//   plugin, which hands it every event as a frame on fd 3 and every log line on fd 4
//   (a write, not a fork), or, from the master, in the lines' ring in shared memory
//   (fd 5, UWSGI_SENTRY_RING; Input/LineRing.swift);
// - `daemon [DIR]`: for uWSGI's attach-daemon, taking what `cmd:` alarms hand off
//   into the spool (mode=spool): frames (State/HandOff.swift) and envelopes.
// Either way it answers hand-offs on its socket in the spool (State/HandOffSocket.swift).
// Either way the spool is the one queue: a frame becomes an envelope there first,
// then transfers (several at once) take envelopes from it, so a daemon that dies
// loses nothing it took.
//
// Why the loop is here, one thread and one wait: the daemon has six things to wait
// for (the lanes, the hand-off socket, inotify on the spool, signals as a descriptor,
// libcurl's sockets and timers), all of them descriptors or deadlines. libcurl's curl_multi_poll takes
// extra descriptors, so the whole daemon waits in ONE call: no thread to
// synchronise, nothing to wake, and at nice +10 it uses the CPU only when one of
// them has something for it. CurlHTTP only performs that wait; what to do when it
// returns is decided here.
import Glibc

@_silgen_name("signalfd")
private func signalfd(_ fd: Int32, _ mask: UnsafePointer<sigset_t>, _ flags: Int32) -> Int32
@_silgen_name("syncfs")
private func syncfs(_ fd: Int32) -> Int32

public enum Daemon {
    /// A frame is at most what the loader's lane carries (its send buffer).
    static let maxFrame = 4 << 20

    /// How long log lines may wait in their lane between two reads (see the loop).
    static let linesBatch = 0.02
    /// How long frames may wait in the events lane between two reads.
    static let eventsBatch = 0.01

    /// How much nicer than uWSGI the daemon runs: in a burst it gets the CPU the
    /// workers leave, never theirs (what it cannot take meanwhile waits in the lane
    /// and the spool, or is counted if the lane fills).
    static let niceness: Int32 = 10

    public static func run(spool: Spool, options: Options, channel: Int32?, lines: Int32? = nil, ring: LineRing? = nil,
                           say: @escaping (String) -> Void) -> Int32 {
        _ = nice(niceness)
        var o = options
        if o.spool == nil { o.spool = spool.path }
        let ledgers = Ledgers(state: StateDirectory.forOptions(o), inMemory: true)
        guard let dispatcher = Dispatcher(spool: spool, options: o, ledgers: ledgers, say: say) else {
            say("cannot load libcurl.so.4 (install libcurl4)")
            return 1
        }
        dispatcher.journal = Journal(spool.dir)
        let intake = Intake(defaults: channel != nil ? System.environment("UWSGI_SENTRY_OPTIONS") ?? "" : "",
                            host: HostFacts.current(), ledgers: ledgers, say: say,
                            store: { dispatcher.store($0, eventID: $1, category: $2, dsn: $3, orderKey: $5, at: $4) })
        intake.uwsgiVersion = System.environment("UWSGI_SENTRY_UWSGI_VERSION")

        // Signals arrive as reads on a descriptor, never as a flag a handler sets.
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in System.stopSignals { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let signals = signalfd(-1, &mask, Int32(O_NONBLOCK | O_CLOEXEC))
        // Renames only: every writer of the spool (hand-offs, spool files, flush) writes
        // a temporary file and renames it into place. Watching closes too woke the
        // daemon for its own journal, twice per event; a file copied in by hand is
        // found by the next rescan.
        let watch = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if watch >= 0 { _ = inotify_add_watch(watch, spool.path, UInt32(IN_MOVED_TO)) }
        let spoolFD = open(spool.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let handOffs = HandOffSocket(listeningIn: spool)
        let takeHandOffs = { (limit: Int, buffer: inout [UInt8]) in
            handOffs?.receive(into: &buffer, limit: limit) {
                if takeHandedOff($0, answer: $1, intake, journal: dispatcher.journal) { dispatcher.wroteToSpool = true }
            }
        }
        defer {
            for fd in [signals, watch, spoolFD] where fd >= 0 { close(fd) }
            handOffs?.close()
        }
        for fd in [channel, lines].compactMap({ $0 }) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        let parent = getppid()
        var channelOpen = channel != nil
        var linesOpen = lines != nil && channel != nil
        var stopping = false
        var lastRescan = -Double.infinity, lastSync = 0.0
        // Both lanes are read in batches (see Batch): log lines every `linesBatch` at
        // most, and an event's lines always before it; events every `eventsBatch` (the
        // lane holds megabytes; a frame waits there, still the lane's).
        var lineBatch = Batch(every: linesBatch), eventBatch = Batch(every: eventsBatch)
        var buffer = [UInt8](repeating: 0, count: maxFrame)
        while true {
            let now = StateDirectory.now()
            if now - lastRescan >= 30 {
                // What others put in the spool while nobody watched: hand-offs (a dead
                // daemon's journal may hold some), then envelopes.
                spool.recoverStale()
                for name in spool.handedOff() { takeFrame(name, spool, intake) }
                dispatcher.rescan(now: now)
                lastRescan = now
            }
            if !stopping { dispatcher.startDue(now: now) }
            var wait = 1.0
            if let d = dispatcher.nextDue(now: now) { wait = min(wait, d - now) }
            if let d = intake.nextDeadline { wait = min(wait, d - now) }
            var fds: [Int32] = [signals, watch, handOffs?.fd ?? -1]
            if channelOpen, let channel, eventBatch.waitsOn(now: now, wait: &wait) { fds.append(channel) }
            // The ring is asked for a wake only now that the loop waits on the lane for
            // one; lines already there need no wait.
            var ringWaits = false
            if linesOpen, let lines, lineBatch.waitsOn(now: now, wait: &wait) {
                fds.append(lines)
                if let ring, ring.arm() { ringWaits = true; wait = 0 }
            }
            // Rounded up: a wait cut to 0 ms short of a deadline spins until it comes.
            let readable = dispatcher.run(waitingOn: fds.filter { $0 >= 0 }, timeoutMs: Int32((max(0, min(1, wait)) * 1000).rounded(.up)))
            if readable.contains(signals) {
                var info = [UInt8](repeating: 0, count: 128)
                while info.withUnsafeMutableBytes({ read(signals, $0.baseAddress, $0.count) }) > 0 {}
                stopping = true
            }
            let eventsWoke = channelOpen && (channel.map(readable.contains) ?? false)
            // The lines before the events: a line logged before an event is its breadcrumb.
            if let lines, linesOpen, readable.contains(lines) || eventsWoke || ringWaits {
                linesOpen = drainLines(lines, ring, into: intake, buffer: &buffer)
                if readable.contains(lines) || ringWaits { lineBatch.woke() }
            }
            if let channel, eventsWoke {
                channelOpen = drain(channel, into: intake, buffer: &buffer, untilSpooled: true)
                eventBatch.woke()
                if !channelOpen { stopping = true }  // uWSGI is gone or reloading: finish and go
            }
            if let handOffs, readable.contains(handOffs.fd) { takeHandOffs(64, &buffer) }
            if readable.contains(watch) { readWatch(watch, spool, dispatcher, intake) }
            let later = StateDirectory.now()
            intake.tick(now: later, force: stopping)
            dispatcher.journal?.writeMarks(now: later, due: true)
            if dispatcher.wroteToSpool && (later - lastSync >= 1 || stopping) {
                _ = syncfs(spoolFD)
                dispatcher.wroteToSpool = false
                lastSync = later
            }
            if getppid() != parent { stopping = true }
            if stopping {
                if let lines, linesOpen { _ = drainLines(lines, ring, into: intake, buffer: &buffer) }
                if let channel, channelOpen { _ = drain(channel, into: intake, buffer: &buffer, untilSpooled: true) }
                takeHandOffs(4096, &buffer)
                intake.tick(now: later, force: true)
                finish(dispatcher, within: min(3, options.timeout))
                dispatcher.spillJournal()
                dispatcher.abandonHeld()
                ledgers.save()
                if dispatcher.wroteToSpool { _ = syncfs(spoolFD) }
                return 0
            }
        }
    }

    /// A lane read in batches: after a wake for it, it is left out of the wait for
    /// `every` seconds, and what came meanwhile is read at once. Woken per line, the
    /// daemon spent a third of its CPU per line going to sleep and waking (perf, a log
    /// storm): a wake per request line on an ordinary day, per frame in a burst.
    struct Batch {
        let every: Double
        private var quietUntil = 0.0

        init(every: Double) { self.every = every }

        /// Whether the loop waits on the lane now; if not, `wait` ends when it should.
        func waitsOn(now: Double, wait: inout Double) -> Bool {
            if now >= quietUntil { return true }
            wait = min(wait, quietUntil - now)
            return false
        }

        mutating func woke() { quietUntil = StateDirectory.now() + every }
    }

    /// Takes every frame waiting on a lane; false once the loader's end is closed.
    /// `untilSpooled` (the events lane): a frame is read in place (MSG_PEEK) and taken
    /// off the lane only once it is handled, i.e. in the spool: a daemon killed in
    /// between leaves it to the next one, which makes the same event of it (its id).
    static func drain(_ lane: Int32, into intake: Intake, buffer: inout [UInt8], untilSpooled: Bool = false) -> Bool {
        let flags = Int32(MSG_DONTWAIT) | (untilSpooled ? Int32(MSG_PEEK) : 0)
        for _ in 0..<4096 {
            let n = buffer.withUnsafeMutableBytes { recv(lane, $0.baseAddress, $0.count, flags) }
            if n < 0 { return errno == EAGAIN || errno == EINTR }
            if n == 0 {
                // An empty record, or the end: only a hang-up says it is the end.
                var p = pollfd(fd: lane, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 0) > 0 && p.revents & Int16(POLLHUP) != 0 && !hasRecord(lane) { return false }
                intake.once("warning: a frame from the loader could not be read (empty); dropped, and any like it", key: "unreadable frame")
            } else if !LineRing.isWake(buffer[0..<n]) {
                take(buffer[0..<n], intake)
            }
            if untilSpooled {
                var byte: UInt8 = 0
                _ = recv(lane, &byte, 1, Int32(MSG_DONTWAIT))  // a record is taken whole, whatever is read of it
            }
        }
        return true
    }

    /// The lines: the lane's records (transactions, lines of other processes, wakes),
    /// then the ring's. False once the loader's end of the lane is closed.
    static func drainLines(_ lane: Int32, _ ring: LineRing?, into intake: Intake, buffer: inout [UInt8]) -> Bool {
        ring?.disarm()
        let open = drain(lane, into: intake, buffer: &buffer)
        let sane = ring?.drain { record in
            guard record.count <= buffer.count else { return }  // the ring's records are at most half of 1 MiB
            buffer.withUnsafeMutableBytes { $0.copyMemory(from: record) }
            take(buffer[0..<record.count], intake)
        }
        if sane == false { intake.once("warning: the log lines' ring made no sense; what was in it is dropped", key: "ring") }
        return open
    }

    /// Whether a record (even an empty one) waits: after a hang-up, what is queued is still read.
    static func hasRecord(_ lane: Int32) -> Bool {
        var n: Int32 = 0
        return ioctl(lane, UInt(FIONREAD), &n) == 0 && n > 0
    }

    /// One frame, from a lane or a hand-off: the Intake's, or said once when unreadable.
    static func take(_ bytes: ArraySlice<UInt8>, _ intake: Intake) {
        if let line = LoaderFrame.line(bytes) { return intake.handle(line: line, now: StateDirectory.now()) }
        do {
            intake.handle(try LoaderFrame.decode(bytes), now: StateDirectory.now())
        } catch {
            intake.once("warning: a frame from the loader could not be read (\(error)); dropped, and any like it", key: "unreadable frame")
        }
    }

    /// A frame from the hand-off socket: in the journal first, as a frame file would be
    /// in the spool, so that its sender can go while the event is made; the record is
    /// done once it is. Without a journal (or room in it), not answered here: the socket
    /// answers once the event is made. True when the journal was written.
    @discardableResult
    static func takeHandedOff(_ frame: ArraySlice<UInt8>, answer: () -> Void, _ intake: Intake, journal: Journal?) -> Bool {
        let offset = journal?.append(name: Spool.frameName(), Array(frame))
        if offset != nil { answer() }
        take(frame, intake)
        if let offset { journal?.done(at: offset) }
        return offset != nil
    }

    static func takeFrame(_ name: String, _ spool: Spool, _ intake: Intake) {
        _ = spool.take(frame: name) { take($0[...], intake) }
    }

    /// What others just put in the spool: a `cmd:` alarm's frame, or an envelope.
    static func readWatch(_ watch: Int32, _ spool: Spool, _ dispatcher: Dispatcher, _ intake: Intake) {
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            var i = 0
            while i + 16 <= n {
                let len = Int(buf[i + 12]) | Int(buf[i + 13]) << 8 | Int(buf[i + 14]) << 16 | Int(buf[i + 15]) << 24
                let nameBytes = buf[(i + 16)..<min(n, i + 16 + len)].prefix(while: { $0 != 0 })
                let name = String(decoding: nameBytes, as: UTF8.self)
                if !name.hasPrefix(".") {
                    if name.hasSuffix(".envelope") { dispatcher.enqueue(name) }
                    else if name.hasSuffix(Spool.frameSuffix) { takeFrame(name, spool, intake) }
                }
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
