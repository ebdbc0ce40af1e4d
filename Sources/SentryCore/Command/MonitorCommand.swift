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
        // The name's id only has to be unique. The monitor's check-ins are one sequence in
        // the spool: delivered one after another, oldest first, whatever the concurrency.
        let order = category == .monitor ? SpoolEntry.orderKey(slug) : nil
        if let dir = options.spool, let spool = Spool(dir),
           spool.write(envelope, eventID: System.randomEventID(), category: category, orderKey: order) != nil {
            spooledOne = spooledOne || category == .monitor
            System.diagnostic("monitor \(slug): no answer from \(sender.dsn.origin); kept in \(dir)")
            return
        }
        sender.count(.networkError, category)
        System.diagnostic("monitor \(slug): no answer from \(sender.dsn.origin); \(category == .monitor ? "check-in" : "event") lost (no spool)")
    }
}
