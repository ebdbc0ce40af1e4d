// `uwsgi-sentry monitor SLUG [OPTION-STRING] -- COMMAND [ARGS...]`: a job under
// Sentry Crons. The job ALWAYS runs, at once, whatever Sentry does: the check-ins go
// out while it runs (in_progress) and after it ends (ok or error, with the duration),
// each bounded by `timeout`; what gets no answer goes to the spool, in order. Our
// exit status is the job's (128 + N for a signal, as the shell says). stdin, stdout
// and stderr are the job's own unless output_lines asks for its last lines; the
// signals uWSGI and operators send (TERM, INT, HUP, QUIT) are passed on to it.
import CurlHTTP
import Glibc

@_silgen_name("signalfd")
private func signalfd(_ fd: Int32, _ mask: UnsafePointer<sigset_t>, _ flags: Int32) -> Int32

extension CLI {
    func monitor(_ words: [String]) -> Int32 {
        guard let dashes = words.firstIndex(of: "--"), dashes + 1 < words.count, let rawSlug = words.first, dashes >= 1 else {
            return usage("monitor: usage: uwsgi-sentry monitor SLUG [OPTION-STRING] -- COMMAND [ARGS...]").rawValue
        }
        let command = Array(words[(dashes + 1)...])
        let (options, problems) = Options.parse(CLI.join(Array(words[1..<dashes])))
        for p in problems { System.diagnostic("monitor \(rawSlug): warning: " + p.text) }
        let slug = CheckIn.slugify(rawSlug)
        if slug == nil { System.diagnostic("monitor: '\(Event.clip(rawSlug, 60))' has no letter or digit to make a slug of: the job runs, no check-in is sent") }
        var dsn: DSN? = nil
        if let text = options.dsn { dsn = try? DSN(parsing: text) }
        if options.dsn != nil && dsn == nil { System.diagnostic("monitor \(rawSlug): invalid DSN: the job runs, no check-in is sent") }
        var run = MonitorRun(slug: slug ?? "", options: options, sender: (slug != nil ? dsn : nil).map {
            Sender(dsn: $0, options: options, state: StateDirectory.forOptions(options))
        })
        return run.run(command)
    }
}

struct MonitorRun {
    let slug: String
    let options: Options
    let sender: Sender?
    let checkInID = System.randomEventID()
    let traceID = System.randomEventID()
    var spooledOne = false
    var output: [String] = []

    init(slug: String, options: Options, sender: Sender?) {
        self.slug = slug; self.options = options; self.sender = sender
    }

    mutating func run(_ command: [String]) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        // SIGCHLD too: the job's end is a read on the same descriptor.
        for s in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let signals = signalfd(-1, &mask, Int32(O_NONBLOCK | O_CLOEXEC))
        defer { if signals >= 0 { close(signals) } }

        let started = System.monotonic()
        var pipes: [(fd: Int32, to: Int32)] = []  // read ends of the job's stdout and stderr (output_lines only)
        let spawned = spawn(command, capture: options.outputLines > 0, pipes: &pipes)
        guard case .success(let pid) = spawned else {
            if case .failure(let e) = spawned { System.diagnostic("monitor \(slug): cannot run '\(Event.clip(command[0], 200))': \(e.text)") }
            finishCheckIns(ok: false, duration: 0, reason: "could not start")
            if case .failure(let e) = spawned { return e.code == ENOENT ? 127 : 126 }
            return 126
        }
        let multi = sender != nil ? MultiHandle(maxConnections: 2) : nil
        var inProgress: (tag: Int, attempt: Sender.Attempt, envelope: [UInt8])? = nil
        if let sender, let multi { inProgress = start(checkIn(.inProgress, duration: nil, config: true), sender, multi, tag: 1) }

        var status: Int32 = 0
        var exited = false
        var buffers: [Int32: [UInt8]] = [:]
        while !exited || !pipes.isEmpty || (multi?.running ?? 0) > 0 {
            let fds = [signals] + pipes.map(\.fd)
            var readable: [Int32] = []
            if let multi {
                let r = multi.run(waitingOn: fds.filter { $0 >= 0 }, timeoutMs: 200)
                readable = r.readable
                for f in r.finished where f.tag == inProgress?.tag {
                    if let ip = inProgress, let sender, sender.settle(ip.attempt, f.result, kept: options.spool != nil).isRetryable {
                        keep(ip.envelope, .monitor, sender)
                    }
                }
            } else {
                readable = poll(fds.filter { $0 >= 0 }, timeoutMs: 200)
            }
            if readable.contains(signals) { forwardSignals(signals, to: pid) }
            for p in pipes where readable.contains(p.fd) {
                if !pump(p.fd, to: p.to, into: &buffers[p.fd, default: []]) { close(p.fd); pipes.removeAll { $0.fd == p.fd } }
            }
            if !exited && waitpid(pid, &status, WNOHANG) == pid { exited = true }
        }
        let duration = System.monotonic() - started
        let code = exitCode(status)
        for (_, rest) in buffers where !rest.isEmpty { remember(rest) }
        finishCheckIns(ok: code == 0, duration: duration, reason: describe(status))
        return code
    }

    // MARK: the job

    struct SpawnError: Error { var code: Int32; var text: String }

    func spawn(_ command: [String], capture: Bool, pipes: inout [(fd: Int32, to: Int32)]) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var writeEnds: [Int32] = []
        // Ours close after the spawn; the job's copies (dup2) stay, the originals go at exec (CLOEXEC).
        defer { for fd in writeEnds { close(fd) } }
        if capture {
            for target in [Int32(1), 2] {
                var p: [Int32] = [0, 0]
                guard pipe(&p) == 0 else { continue }
                for fd in p { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                posix_spawn_file_actions_adddup2(&actions, p[1], target)
                pipes.append((p[0], target))
                writeEnds.append(p[1])
            }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attr, &none)       // the job gets no blocked signal of ours
        posix_spawnattr_setsigdefault(&attr, &defaults) // nor our ignored SIGPIPE
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, command[0], &actions, &attr, &argv, environ)
        if rc != 0 {
            for p in pipes { close(p.fd) }
            pipes.removeAll()
            return .failure(SpawnError(code: rc, text: String(cString: strerror(rc))))
        }
        return .success(pid)
    }

    /// Passes uWSGI's and the operator's signals on to the job (not those a terminal
    /// sent to the whole group: the job has its own copy of those).
    func forwardSignals(_ fd: Int32, to pid: pid_t) {
        var info = [UInt8](repeating: 0, count: 128)  // struct signalfd_siginfo
        while info.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 128) }) == 128 {
            let signo = Int32(info[0]) | Int32(info[1]) << 8
            let code = Int32(bitPattern: UInt32(info[8]) | UInt32(info[9]) << 8 | UInt32(info[10]) << 16 | UInt32(info[11]) << 24)
            if signo == SIGCHLD { continue }
            if code != 0x80 { kill(pid, signo) }  // SI_KERNEL: from the terminal, to every process of the group
        }
    }

    /// Copies what the job wrote through (it must still reach uWSGI's log) and keeps
    /// the last lines. False at the end of its output.
    mutating func pump(_ fd: Int32, to target: Int32, into pending: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        guard n > 0 else { return false }
        System.write(target, Array(chunk[0..<n]))
        pending += chunk[0..<n]
        while let nl = pending.firstIndex(of: 10) {
            remember(Array(pending[..<nl]))
            pending.removeFirst(nl + 1)
        }
        if pending.count > 4096 { remember(pending); pending.removeAll() }
        return true
    }

    mutating func remember(_ line: [UInt8]) {
        output.append(Event.clip(String(decoding: line, as: UTF8.self), Breadcrumbs.maxLineLength))
        if output.count > options.outputLines { output.removeFirst(output.count - options.outputLines) }
    }

    func poll(_ fds: [Int32], timeoutMs: Int32) -> [Int32] {
        var p = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard Glibc.poll(&p, nfds_t(p.count), timeoutMs) > 0 else { return [] }
        return p.filter { $0.revents != 0 }.map(\.fd)
    }

    func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit code \((status >> 8) & 0xff)" : "killed by \(UWSGILine.signalName(Int(signal)))"
    }

    // MARK: check-ins

    func checkIn(_ status: CheckIn.Status, duration: Double?, config: Bool) -> CheckIn {
        var problems: [Options.Problem] = []
        let environment = options.environment.flatMap { Event.sanitizeName($0, what: "environment", limit: 64, &problems) }
        let release = options.release.flatMap { Event.sanitizeName($0, what: "release", limit: 200, &problems) }
        var monitorConfig: CheckIn.MonitorConfig? = nil
        if config, let schedule = options.schedule {
            monitorConfig = CheckIn.MonitorConfig(schedule: schedule, checkinMargin: options.checkinMargin, maxRuntime: options.maxRuntime,
                                                  timezone: options.timezone, failureIssueThreshold: options.failureIssueThreshold,
                                                  recoveryThreshold: options.recoveryThreshold)
        }
        return CheckIn(checkInID: checkInID, slug: slug, status: status, duration: duration, environment: environment,
                       release: release, config: monitorConfig, traceID: traceID)
    }

    mutating func start(_ c: CheckIn, _ sender: Sender, _ multi: MultiHandle, tag: Int) -> (Int, Sender.Attempt, [UInt8])? {
        let envelope = Envelope.checkIn(payload: c.json(), dsn: sender.dsn)
        if let wait = sender.blocked(.monitor) {
            sender.count(.ratelimitBackoff, .monitor)
            System.diagnostic("monitor \(slug): check-in dropped: \(sender.dsn.origin) is rate-limiting for \(Seconds.whole(wait)) more s")
            return nil
        }
        let a = sender.attempt(envelope, category: .monitor)
        if let failure = multi.start(a.request, tag: tag) {
            if sender.settle(a, .failure(failure), kept: options.spool != nil).isRetryable { keep(envelope, .monitor, sender) }
            return nil
        }
        return (tag, a, envelope)
    }

    /// The closing check-in (and, on failure, the error event with the job's last
    /// lines), sent at once unless an earlier check-in of this run waits in the spool:
    /// then behind it, in order.
    mutating func finishCheckIns(ok: Bool, duration: Double, reason: String) {
        guard let sender else { return }
        var items: [(envelope: [UInt8], category: DataCategory)] = []
        items.append((Envelope.checkIn(payload: checkIn(ok ? .ok : .error, duration: duration, config: false).json(), dsn: sender.dsn), .monitor))
        if !ok && options.outputLines > 0 { items.append((errorEvent(reason: reason, sender: sender), .default)) }
        for item in items {
            if spooledOne && item.category == .monitor { keep(item.envelope, item.category, sender); continue }
            if let wait = sender.blocked(item.category) {
                sender.count(.ratelimitBackoff, item.category)
                System.diagnostic("monitor \(slug): dropped: \(sender.dsn.origin) is rate-limiting for \(Seconds.whole(wait)) more s")
                continue
            }
            let outcome = sender.send(item.envelope, category: item.category, kept: options.spool != nil)
            switch outcome {
            case .accepted: break
            case .noAnswer, .localFailure: keep(item.envelope, item.category, sender)
            default: System.diagnostic("monitor \(slug): " + sender.describe(outcome, eventID: checkInID))
            }
        }
    }

    /// The job failed: an error event with its last lines as breadcrumbs, in the
    /// check-ins' trace (Sentry links the two), tagged with the monitor's slug.
    func errorEvent(reason: String, sender: Sender) -> [UInt8] {
        var o = options
        o.message = "cron job \(slug) failed: \(reason)"
        if o.level == nil { o.level = "error" }
        var (e, _) = Event.build(options: o, message: o.message, host: HostFacts.current())
        e.tags.append(Field("monitor.slug", slug))
        e.contexts.append(NamedContext(name: "monitor", fields: [Field("slug", slug), Field("check_in_id", checkInID)]))
        e.contexts.append(NamedContext(name: "trace", fields: [Field("trace_id", traceID), Field("span_id", String(traceID.prefix(16)))]))
        let now = StateDirectory.now()
        e.breadcrumbs = output.map { Breadcrumb(timestamp: now, level: Breadcrumbs.level($0), category: "job.output",
                                                 message: $0) }
        return Envelope.make(eventID: e.eventID, payload: e.json(), dsn: sender.dsn)
    }

    /// No answer: into the spool (check-ins in order), or counted as lost.
    mutating func keep(_ envelope: [UInt8], _ category: DataCategory, _ sender: Sender) {
        // The name's id only has to be unique: two check-ins of one run may land in one millisecond.
        if let dir = options.spool, let spool = Spool(dir), spool.write(envelope, eventID: System.randomEventID(), category: category) != nil {
            spooledOne = spooledOne || category == .monitor
            System.diagnostic("monitor \(slug): no answer from \(sender.dsn.origin); kept in \(dir)")
            return
        }
        sender.count(.networkError, category)
        System.diagnostic("monitor \(slug): no answer from \(sender.dsn.origin); \(category == .monitor ? "check-in" : "event") lost (no spool)")
    }
}
