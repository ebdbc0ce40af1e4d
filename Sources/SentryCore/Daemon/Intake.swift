// The daemon's decisions on each frame, whether the loader wrote it on a lane or a
// `cmd:` alarm's sender handed it off through the spool: which options apply
// (OptionCache), what the frame says (an exception, an alarm line and what explains
// it, a hook's or a route's message, a harakiri's story, a death), then the gates
// (Sentry's rate limits in the project's Ledger, the storm budget), then the spool:
// every event is written there first, so nothing the daemon took is lost if it dies
// (when the spool will not take it, the dispatcher holds it in memory: `Store`).

public final class Intake {
    /// Where an envelope goes: the spool, then the dispatcher's queue (its project
    /// known). False: nothing could take it, and the caller counts the drop.
    /// `orderKey`: the envelope's sequence in the spool (a monitor's check-ins), or nil.
    public typealias Store = (_ envelope: [UInt8], _ eventID: String, _ category: DataCategory, _ dsn: DSN, _ at: Double,
                              _ orderKey: String?) -> Bool
    let store: Store
    let host: HostFacts
    let ledgers: Ledgers
    let options: OptionCache
    /// Log lines the loader forwards: the breadcrumbs of the next events.
    var ring: LogRing
    var budgets = Budgets()
    var stories: HarakiriStories
    var crashes: CrashStories
    var reports: ReportSchedule
    /// Source files, for the lines around exception frames.
    let sources = SourceContext()
    let installed = InstalledModules()
    /// The ELF files crashes named, read once (build ids, symbols).
    let elfFiles = ELFFiles()
    /// Sentry Logs records waiting for their envelope, and the trace of lines written
    /// while no request (or more than one) was in flight: the daemon's own, as an SDK's
    /// propagation context is its process's.
    var logs = LogBatch()
    var logCommon: (String, [UInt8])?
    let ownTrace = Trace.of(sentryTrace: nil, traceparent: nil, request: nil)
    /// The operator's transaction names, compiled, and the rules they came from (Tracing.swift).
    var traceRoutes: ([String], RouteNames)?
    /// The requests harakiri cut or a worker died in already made transactions (the last 64).
    var cutRequests: [String] = []
    public var uwsgiVersion: String?
    private var savedAt = StateDirectory.now()

    /// How long a harakiri's story waits for its worker's death, and counted drops for
    /// an event to ride on, before each goes out anyway. Tests shorten them.
    static let storyWait = System.environmentSeconds("UWSGI_SENTRY_STORY_WAIT") ?? 5
    static let reportDelay = System.environmentSeconds("UWSGI_SENTRY_REPORT_DELAY") ?? 10

    public init(defaults: String, host: HostFacts, ledgers: Ledgers, say: @escaping (String) -> Void, store: @escaping Store) {
        self.store = store; self.host = host; self.ledgers = ledgers
        options = OptionCache(defaults: defaults, say: say)
        ring = LogRing(capacity: options.options("").breadcrumbs)
        stories = HarakiriStories(wait: Intake.storyWait)
        crashes = CrashStories(wait: Intake.storyWait)
        reports = ReportSchedule(delay: Intake.reportDelay)
    }

    func once(_ text: String, key: String? = nil) { options.once(text, key: key) }

    // MARK: frames

    /// A log line: a breadcrumb of the next events, a harakiri story's, a Sentry Logs record.
    public func handle(line l: LoaderFrame.Line, now: Double) {
        let line = String(decoding: l.body, as: UTF8.self)
        ring.append(line, received: l.madeAt ?? now)  // when the master read it: the lane may hold lines a while
        if !stories.waiting.isEmpty { for part in line.split(separator: "\n") { stories.absorb(String(part)) } }
        log(line: line, l, now: now)
    }

    public func handle(_ f: LoaderFrame, now: Double) {
        if f.dropped + f.droppedErrors > 0, let dsn = options.dsn(options.options("")) {
            count(.queueOverflow, .default, f.dropped, dsn, now: now)
            count(.queueOverflow, .error, f.droppedErrors, dsn, now: now)
        }
        if f.linesDropped > 0, let dsn = options.dsn(options.options("")), options.options("").logs != nil {
            count(.queueOverflow, .logItem, f.linesDropped, dsn, now: now)  // whatever their level: at most too many
            count(.queueOverflow, .logByte, f.linesDroppedBytes, dsn, now: now)
        }
        countTraces(f, now: now)
        switch f.kind {
        case .tally:
            break  // its counts, above, are all it carries
        case .transaction:
            transaction(f, now: now)
        case .checkin:
            checkIn(f, now: now)
        case .task:
            task(f, now: now)
        case .sessions:
            if let minute = f.sessions { sessions(minute, now: now) }
        case .log:
            handle(line: f.line, now: now)
        case .request:
            logRequest(f, now: now)
        case .crash:
            crashes.begin(CrashStory(frame: f), now: now)
        case .death:
            stories.sawDead(f, now: now)
            if let pid = f.pid { crashes.died(pid: pid, signal: f.signal, exit: f.exitCode, frame: f, now: now) }
            cutTransactions(f, ended: .internalError, now: now)
        case .harakiri:
            cutTransactions(f, ended: .deadlineExceeded, now: now)
            var story = HarakiriStory(frame: f, now: now)
            story.eventID = f.eventID
            story.uwsgiVersion = uwsgiVersion
            stories.begin(story, options: "", crumbs: ring.breadcrumbs(count: options.options("").breadcrumbs), now: now)
        case .exception:
            let o = options.options(f.options)
            let packet: ExceptionPacket
            do { packet = try ExceptionPacket.decode(f.body[...]) } catch {
                once("warning: undecodable exception packet (\(error)); sending what is known")
                packet = ExceptionPacket.undecodable(error)
            }
            if let sdk = packet.backtrace.facts?.sdk, !o.reportOwnSDK {
                once("exceptions of an app that runs its own Sentry SDK (\(sdk)) are left to it; "
                     + "sentry-exceptions = always (own_sdk=report) reports them here too", key: "own sdk")
                return
            }
            let (e, _) = Event.build(options: o, message: nil, host: host, packet: packet, eventID: f.eventID, timestamp: f.timestamp)
            submit(e, o, now: now, at: f.madeAt) { e in
                e.breadcrumbs = self.crumbs(o, trigger: nil)
                self.sources.fill(&e)
                self.installed.fill(&e)
            }
        case .alarm where !f.body.isEmpty:
            alarm(f, now: now)
        case .alarm, .hook, .route:
            // A hand-off with no line of its own is a message, as a hook's is.
            let o = options.options(f.options)
            guard o.message != nil || o.exceptionType != nil || o.exceptionValue != nil else {
                once("warning: a \(f.kind.rawValue) event without message= (or exception_type/exception_value) was dropped")
                return
            }
            var (e, _) = Event.build(options: o, message: o.message, host: host, eventID: f.eventID, timestamp: f.timestamp)
            e.trace = f.trace
            submit(e, o, now: now, at: f.madeAt) { $0.breadcrumbs = self.crumbs(o, trigger: nil) }
        }
    }

    /// An alarm's line. A harakiri's lines and its worker's death are its story (the
    /// loader's hook opens it; without the loader, the first line does); any other
    /// line is an event, with what the loader saw (the cores) to explain it.
    /// `mayHold`: a hand-off's SIGKILL may wait for a harakiri still on its way.
    func alarm(_ f: LoaderFrame, now: Double, mayHold: Bool = true) {
        let o = options.options(f.options)
        let line = Stdin.text(f.body[...])
        var seen = f
        var exitCode: Int?
        // uWSGI's own backtrace of a crash the loader captured: part of that crash's story.
        if let pid = NativeBacktrace.parse(line)?.pid.flatMap({ Int($0) }), crashes.isCrash(pid: pid, now: now) { return }
        switch UWSGILine.parse(line) {
        case .harakiri(let wid, let pid, let attempt)?:
            guard !stories.isHarakiri(pid: pid) else { return }
            var story = HarakiriStory(wid: wid, pid: pid, attempt: attempt, at: f.madeAt ?? now)
            story.uwsgiVersion = uwsgiVersion
            story.eventID = f.eventID
            stories.begin(story, options: f.options, crumbs: crumbs(o, trigger: line), now: now)
            return
        case .harakiriCore?:
            if stories.absorb(line) { return }
            var story = HarakiriStory(wid: nil, pid: nil, attempt: 1, at: f.madeAt ?? now)
            story.eventID = f.eventID
            _ = story.absorb(line)
            stories.begin(story, options: f.options, crumbs: crumbs(o, trigger: line), now: now)
            return
        case .workerDeath(_, let pid, let signal)?:
            if stories.died(pid: pid, signal: signal, now: now) { return }
            if crashes.died(pid: pid, signal: signal, exit: nil, frame: nil, now: now) { return }
            if mayHold && f.handedOff && signal == 9 {
                stories.hold(f, pid: pid, now: now)
                return
            }
            if let death = stories.takeDeath(pid: pid) {
                seen = death  // what it was serving when it died; its successor has cleared them since
                exitCode = death.exitCode
            }
        default:
            break
        }
        var (e, _) = Event.build(options: o, message: line, host: host, eventID: f.eventID, timestamp: f.timestamp)
        if let exitCode { e.contexts.append(NamedContext(name: "uwsgi", fields: [Field("exit_code", String(exitCode))])) }
        if let why = f.statsError { e.extra.append(Field("uwsgi_stats", "no list of busy workers: \(why)")) }
        // "Running for" as of the moment the master looked, not when this daemon got round to it.
        Troubles.explain(&e, line: line, cores: seen.coresSeen ? seen.cores : nil, now: seen.madeAt ?? now,
                         harakiri: { self.stories.isHarakiri(pid: $0) })
        submit(e, o, now: now, at: f.madeAt) { $0.breadcrumbs = self.crumbs(o, trigger: line) }
    }

    /// The log lines before an event: the loader's, or (a `cmd:` hand-off, with no lane
    /// of lines) the tail of uWSGI's log file that the options name.
    func crumbs(_ o: Options, trigger: String?) -> [Breadcrumb] {
        if !ring.lines.isEmpty || o.logFiles.isEmpty { return ring.breadcrumbs(count: o.breadcrumbs, trigger: trigger) }
        for file in o.logFiles {
            let lines = Breadcrumbs.tail(of: file, lines: o.breadcrumbs)
            if !lines.isEmpty { return Breadcrumbs.make(lines, count: o.breadcrumbs, trigger: trigger) }
        }
        return []
    }

    // MARK: time

    /// Time passes: harakiri stories whose worker died (or whose time is up) are told;
    /// counts that no event carried go out on their own; counts are saved.
    public func tick(now: Double, force: Bool = false) {
        for s in stories.due(now: now, force: force) {
            let o = options.options(s.options)
            submit(s.story.event(options: o, host: host, crumbs: s.crumbs, eventID: s.story.eventID).0, o, now: now)
        }
        for death in stories.released(now: now, force: force) { alarm(death, now: now, mayHold: false) }
        for c in crashes.due(now: now, force: force) {
            let o = options.options(c.story.frame.options)
            // The log lines as of now: what the worker wrote as it died (an assert's
            // message) has come, by the lines lane; uWSGI's own lines of it are left out.
            let crumbs = ring.breadcrumbs(count: o.breadcrumbs + 80).filter { !c.story.isOwnLine($0.message) }.suffix(o.breadcrumbs)
            submit(c.story.event(options: o, host: host, crumbs: Array(crumbs), files: elfFiles), o, now: now, at: c.story.frame.madeAt) {
                self.sources.fill(&$0)
            }
        }
        // A carrier that finds nothing left to carry (an event took the counts) is not sent.
        for dsn in reports.take(now: now, force: force) {
            _ = store(Envelope.reportCarrier(dsn: dsn), System.randomEventID(), .internal, dsn, now, nil)
        }
        flushLogs(now: now, force: force)
        budgets.sweep(now: now)
        if force || now - savedAt >= 5 {
            ledgers.save()
            savedAt = now
        }
    }

    /// When the next story or report is due, if any.
    public var nextDeadline: Double? { [stories.nextDeadline, crashes.nextDeadline, reports.next, logs.deadline].compactMap { $0 }.min() }

    // MARK: the gates, then the spool

    /// `finish` (breadcrumbs, source lines) runs only for an event that passes the
    /// gates: in a storm, the budget drops thousands of events a second and each costs
    /// no more than its key. `at`: when it happened (the frame's time), for the
    /// spool's order and age.
    func submit(_ e: Event, _ o: Options, now: Double, at: Double? = nil, finish: ((inout Event) -> Void)? = nil) {
        guard let dsn = options.dsn(o) else { return }
        let ledger = ledgers.of(dsn)
        if ledger.blocked(e.category, now: now) != nil {
            count(.ratelimitBackoff, e.category, 1, dsn, now: now)  // Sentry asked us to back off, not to queue
            return
        }
        guard budgets.allow(dsn.stateKey + "|" + Budget.key(e), count: o.budgetCount, seconds: o.budgetSeconds, now: now) else {
            count(.backpressure, e.category, 1, dsn, now: now)
            return
        }
        var e = e
        finish?(&e)
        let envelope = Envelope.make(eventID: e.eventID, payload: e.json(), dsn: dsn)
        if !store(envelope, e.eventID, e.category, dsn, at ?? now, nil) { count(.queueOverflow, e.category, 1, dsn, now: now) }
    }

    func count(_ reason: DiscardReason, _ category: DataCategory, _ n: Int, _ dsn: DSN, now: Double) {
        guard n > 0 else { return }
        ledgers.of(dsn).count(reason, category, quantity: n)
        reports.note(dsn, now: now)
    }
}
