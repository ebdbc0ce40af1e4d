// The daemon's side of the loader's frames: each becomes an envelope in the spool
// (written first, so nothing the daemon took is lost if it dies), after the
// decisions that live here, in Swift, once: options (the instance's defaults,
// then the frame's own), the storm budget (in memory, per fingerprint), remembered
// rate limits, breadcrumbs from the log lines the loader forwards, and the
// harakiri story (one event, its worker's death merged into it).

public final class Intake {
    let spool: Spool
    let defaults: String
    let host: HostFacts
    let say: (String) -> Void
    /// What goes to the spool is handed on (the dispatcher queues it).
    let enqueue: (String) -> Void

    var ring: LogRing
    private var budgets: [String: Budget.Window] = [:]
    private var parsed: [String: (Options, [Options.Problem])] = [:]
    /// Parsed DSNs and their state keys, by the DSN's text (a storm asks thousands of times).
    private var projects: [String: Project] = [:]
    /// Rate limits as last read from the state directory, per project and category:
    /// read at most once a second (what the dispatcher learns meanwhile holds the
    /// envelopes it would send anyway).
    private var limits: [String: (readAt: Double, blocked: Bool)] = [:]
    private var saidOnce: Set<String> = []
    /// Harakiri stories waiting for their worker's death (or a deadline).
    private var stories: [(story: HarakiriStory, crumbs: [Breadcrumb], deadline: Double)] = []
    /// Workers recently killed by harakiri: their death is part of that story.
    private var harakiriPIDs: [Int: Double] = [:]
    /// Workers seen dead before uWSGI reaped them (what they were serving, how they ended).
    private var deaths: [Int: (frame: LoaderFrame, at: Double)] = [:]
    /// Drops counted in memory, written to the state directory once a second.
    private var drops: [String: (dsn: DSN, counts: [Discard])] = [:]
    private var dropsFlushed = 0.0
    /// When counted drops go out on their own if no event has carried them by then.
    private var reportsDue: [String: (dsn: DSN, at: Double)] = [:]
    /// How long counts wait for an event to ride on: a storm's drops reach Sentry
    /// even when nothing follows the storm.
    static let reportDelay = 10.0
    public var uwsgiVersion: String?

    public init(spool: Spool, defaults: String, host: HostFacts, say: @escaping (String) -> Void, enqueue: @escaping (String) -> Void) {
        self.spool = spool; self.defaults = defaults; self.host = host; self.say = say; self.enqueue = enqueue
        let (o, _) = Options.parse(defaults)
        ring = LogRing(capacity: o.breadcrumbs)
    }

    /// The instance's defaults, then the frame's own options (the frame's win).
    func options(_ text: String) -> Options {
        if let hit = parsed[text] { return hit.0 }
        let combined = defaults.isEmpty ? text : text.isEmpty ? defaults : defaults + "," + text
        let result = Options.parse(combined)
        for p in result.1 { once("warning: " + p.text) }
        if parsed.count > 256 { parsed.removeAll() }
        parsed[text] = result
        return result.0
    }

    /// Says `text` the first time `key` (by default the text itself) comes up: a
    /// daemon must not write a line per event into the log it reads.
    func once(_ text: String, key: String? = nil) {
        if saidOnce.insert(key ?? text).inserted && saidOnce.count < 1000 { say(text) }
    }

    /// Where rate limits and counts live: the dispatcher's directory (this spool's
    /// `state`, unless the options or UWSGI_SENTRY_STATE say otherwise).
    func state(_ o: Options) -> StateDirectory? {
        var o = o
        if o.spool == nil { o.spool = spool.path }
        return StateDirectory.forOptions(o)
    }

    struct Project {
        let dsn: DSN
        let key: String  // dsn.stateKey, hashed once
    }

    func project(_ o: Options) -> Project? {
        guard let text = o.dsn else { once("events dropped: no DSN (set SENTRY_DSN or sentry-dsn)"); return nil }
        if let p = projects[text] { return p }
        do {
            let d = try DSN(parsing: text)
            let p = Project(dsn: d, key: d.stateKey)
            if projects.count > 64 { projects.removeAll() }
            projects[text] = p
            return p
        } catch {
            once("events dropped: \(error)")
            return nil
        }
    }

    // MARK: frames

    public func handle(_ f: LoaderFrame, now: Double) {
        if f.dropped > 0, let p = project(options("")) { count(.queueOverflow, .default, f.dropped, p) }
        switch f.kind {
        case .log:
            let line = String(decoding: f.body, as: UTF8.self)
            ring.append(line, received: now)
            for part in line.split(separator: "\n") { absorb(String(part), now: now) }
        case .death:
            if let pid = f.pid { deaths[pid] = (f, now) }
        case .harakiri:
            var story = HarakiriStory(frame: f, now: now)
            story.uwsgiVersion = uwsgiVersion
            let o = options("")
            stories.append((story, ring.breadcrumbs(count: o.breadcrumbs), now + 5))
            if let pid = f.pid { harakiriPIDs[pid] = now }
        case .exception:
            let o = options(f.options)
            let packet: ExceptionPacket
            do { packet = try ExceptionPacket.decode(f.body[...]) } catch {
                once("warning: undecodable exception packet (\(error)); sending what is known")
                var p = ExceptionPacket()
                p.className = "uWSGIException"
                p.message = "an exception whose packet could not be decoded: \(error)"
                packet = p
            }
            let (e, _) = Event.build(options: o, message: nil, host: host, packet: packet)
            submit(e, o, now: now, crumbs: { self.ring.breadcrumbs(count: o.breadcrumbs) })
        case .alarm:
            let o = options(f.options)
            let line = Stdin.text(f.body[...])
            if case .workerDeath(_, let pid, let signal)? = UWSGILine.parse(line), harakiriPIDs[pid] != nil {
                if let i = stories.firstIndex(where: { $0.story.pid == pid }) { stories[i].story.killedBy = signal ?? 0 }
                return  // part of the harakiri's story, not an issue of its own
            }
            var (e, _) = Event.build(options: o, message: line, host: host)
            var seen = f
            if case .workerDeath(_, let pid, _)? = UWSGILine.parse(line), let death = deaths.removeValue(forKey: pid) {
                seen = death.frame  // what it was serving when it died; its successor has cleared them since
                if let code = death.frame.exitCode { e.contexts.append(NamedContext(name: "uwsgi", fields: [Field("exit_code", String(code))])) }
            }
            // "Running for" as of the moment the master looked, not when this daemon got round to it.
            Troubles.explain(&e, line: line, cores: seen.cores, now: seen.madeAt ?? now, harakiri: { self.harakiriPIDs[$0] != nil })
            submit(e, o, now: now, crumbs: { self.ring.breadcrumbs(count: o.breadcrumbs, trigger: line) })
        case .hook, .route:
            let o = options(f.options)
            guard o.message != nil || o.exceptionType != nil || o.exceptionValue != nil else {
                once("warning: a \(f.kind.rawValue) event without message= (or exception_type/exception_value) was dropped")
                return
            }
            let (e, _) = Event.build(options: o, message: o.message, host: host)
            submit(e, o, now: now, crumbs: { self.ring.breadcrumbs(count: o.breadcrumbs) })
        }
    }

    /// A log line that may belong to a harakiri waiting for its end.
    private func absorb(_ line: String, now: Double) {
        for i in stories.indices { if stories[i].story.absorb(line) { break } }
    }

    /// Time passes: harakiri stories whose worker died (or whose time is up) are told;
    /// counted drops reach the state directory.
    public func tick(now: Double, force: Bool = false) {
        var kept: [(story: HarakiriStory, crumbs: [Breadcrumb], deadline: Double)] = []
        for s in stories {
            if force || s.story.killedBy != nil || now >= s.deadline {
                let o = options("")
                let (e, _) = s.story.event(options: o, host: host, crumbs: s.crumbs)
                submit(e, o, now: now)
            } else {
                kept.append(s)
            }
        }
        stories = kept
        harakiriPIDs = harakiriPIDs.filter { now - $0.value < 60 }
        deaths = deaths.filter { now - $0.value.at < 60 }
        if force || now - dropsFlushed >= 1 { flushDrops(now: now) }
        for (key, due) in reportsDue where force || now >= due.at {
            reportsDue.removeValue(forKey: key)
            let carrier = Envelope.reportCarrier(dsn: due.dsn)
            if let name = spool.write(carrier, eventID: System.randomEventID(), category: .internal, durable: false) { enqueue(name) }
        }
        if budgets.count > 10_000 { budgets = budgets.filter { !$0.value.hasEnded(at: now) } }
    }

    /// When a waiting story is due, if any.
    public var nextDeadline: Double? { (stories.map(\.deadline) + reportsDue.values.map(\.at)).min() }

    // MARK: the gates, then the spool

    /// `crumbs` are made only for an event that passes the gates: in a storm, the
    /// budget drops thousands of events a second and each costs no more than its key.
    func submit(_ e: Event, _ o: Options, now: Double, crumbs: (() -> [Breadcrumb])? = nil) {
        guard let p = project(o) else { return }
        let dsn = p.dsn
        if isBlocked(e.category, p, o, now: now) {
            count(.ratelimitBackoff, e.category, 1, p)  // Sentry asked us to back off, not to queue
            return
        }
        if o.budgetCount > 0 {
            let key = p.key + "|" + Budget.key(e)
            var w = budgets[key] ?? Budget.Window(start: now, used: 0, seconds: o.budgetSeconds)
            if w.hasEnded(at: now) { w = Budget.Window(start: now, used: 0, seconds: o.budgetSeconds) }
            guard w.used < o.budgetCount else { count(.backpressure, e.category, 1, p); return }
            w.used += 1
            budgets[key] = w
        }
        var e = e
        if let crumbs { e.breadcrumbs = crumbs() }
        // Counted drops go out with this envelope, not a second later.
        if !drops.isEmpty { flushDrops(now: now) }
        let envelope = Envelope.make(eventID: e.eventID, payload: e.json(), dsn: dsn)
        guard let name = spool.write(envelope, eventID: e.eventID, category: e.category, durable: false) else {
            once("events dropped: cannot write to the spool \(spool.path)")
            count(.queueOverflow, e.category, 1, p)
            return
        }
        enqueue(name)
    }

    /// The dispatcher has an answer: a limit it carried must count from the next event on.
    public func forgetLimits() { limits.removeAll(keepingCapacity: true) }

    func isBlocked(_ category: DataCategory, _ p: Project, _ o: Options, now: Double) -> Bool {
        let key = p.key + "|" + category.rawValue
        if let hit = limits[key], now - hit.readAt < 1 { return hit.blocked }
        let blocked = state(o).flatMap { RateLimits.blocked(category, dsn: p.dsn, in: $0, now: now) } != nil
        if limits.count > 256 { limits.removeAll() }
        limits[key] = (now, blocked)
        return blocked
    }

    func count(_ reason: DiscardReason, _ category: DataCategory, _ n: Int, _ p: Project) {
        var entry = drops[p.key] ?? (p.dsn, [])
        if let i = entry.counts.firstIndex(where: { $0.reason == reason && $0.category == category }) { entry.counts[i].quantity += n }
        else { entry.counts.append(Discard(reason: reason, category: category, quantity: n)) }
        drops[p.key] = entry
    }

    func flushDrops(now: Double) {
        dropsFlushed = now
        guard !drops.isEmpty, let state = state(options("")) else { return }
        for (key, entry) in drops {
            ClientReport.restore(entry.counts, dsn: entry.dsn, in: state)
            if reportsDue[key] == nil { reportsDue[key] = (entry.dsn, now + Intake.reportDelay) }
        }
        drops.removeAll()
    }
}
