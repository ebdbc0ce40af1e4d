// A harakiri, told as ONE fatal event: the request the worker was stuck on (from
// the loader's hook, or from uWSGI's `HARAKIRI [core N] ...` line), how long it ran
// against the limit, the worker, and, when py-tracebacker is set, the Python stack
// of the stuck thread as the exception's frames. The worker death that follows is
// part of the story (it is merged, not sent), and the event groups per endpoint.

public struct HarakiriStory {
    public var wid: Int?
    public var pid: Int?
    public var attempt: Int = 1
    public var limit: Int?
    /// When uWSGI decided (seconds since the epoch).
    public var at: Double
    public var cores: [LoaderFrame.Core] = []
    /// The tracebacker's frames, per thread, in the order they came.
    public var threads: [(name: String, frames: [StackFrame])] = []
    /// The signal the worker died of, once its death line came.
    public var killedBy: Int?
    /// The uWSGI version (the loader says), for `graceful`.
    public var uwsgiVersion: String?
    /// The event's id: that of the frame that opened the story.
    public var eventID = System.randomEventID()

    public init(frame f: LoaderFrame, now: Double) {
        wid = f.wid; pid = f.pid; attempt = f.harakiriTry ?? 1; limit = f.harakiriLimit; cores = f.cores
        at = f.madeAt ?? now
    }

    public init(wid: Int?, pid: Int?, attempt: Int, at: Double) {
        self.wid = wid; self.pid = pid; self.attempt = attempt; self.at = at
    }

    /// Takes a log line that belongs to this harakiri; false for any other line.
    public mutating func absorb(_ line: String) -> Bool {
        switch UWSGILine.parse(line) {
        case .tracebackerFrame(let thread, let frame)?:
            if let i = threads.firstIndex(where: { $0.name == thread }) { threads[i].frames.append(frame) }
            else { threads.append((thread, [frame])) }
            return true
        case .harakiriCore(let core, let remote, let method, let uri, let since)?:
            // What the loader did not see (the cmd: path), or saw torn.
            if !cores.contains(where: { $0.core == core && $0.uri == uri }) {
                cores.append(LoaderFrame.Core(wid: wid, core: core, pid: pid, startMicros: Int64(since) * 1_000_000,
                                              method: method, uri: uri, remote: remote))
            }
            return true
        case .workerDeath(_, let deadPID, let signal)? where deadPID == pid:
            killedBy = signal ?? 0
            return true
        default:
            let l = Breadcrumbs.stripDate(line).line
            return l.hasPrefix("*** uWSGI Python tracebacker output ***") || l.find("HARAKIRI !!! ") != nil
                || l.find("*** HARAKIRI ON WORKER") != nil || l.hasPrefix("HARAKIRI: -- ")
        }
    }

    /// The stuck thread: the first one the tracebacker listed that is not itself.
    var stuckFrames: [StackFrame] {
        threads.first(where: { $0.name != "uWSGITraceBacker" && !$0.frames.isEmpty })?.frames ?? []
    }

    public func event(options o: Options, host: HostFacts, crumbs: [Breadcrumb], eventID: String = System.randomEventID())
        -> (Event, [Options.Problem]) {
        let core = cores.first
        let method = core?.method ?? "?"
        let path = Troubles.path(core?.uri ?? "")
        let ran = core?.startMicros.map { at - Double($0) / 1e6 }.flatMap { $0.isFinite && $0 >= 0 && $0 < 1e7 ? $0 : nil }
        var value = core == nil ? "a request" : "\(method) \(path)"
        if let ran { value += " ran \(Double(Int(ran * 10)) / 10) s" }
        if let limit, limit > 0 { value += ", over harakiri = \(limit) s" }
        value += " (worker \(wid.map(String.init) ?? "?"), pid \(pid.map(String.init) ?? "?"))"
        var opts = o
        if opts.level == nil { opts.level = "fatal" }
        if opts.exceptionType == nil { opts.exceptionType = "Harakiri" }
        if opts.exceptionValue == nil { opts.exceptionValue = value }
        var (e, problems) = Event.build(options: opts, message: nil, host: host, eventID: eventID,
                                        timestamp: System.rfc3339(seconds: Seconds.whole(at.rounded(.down)), milliseconds: 0))
        e.mechanism = "uwsgi.harakiri"
        e.exception?.frames = stuckFrames
        if !stuckFrames.isEmpty && o.platform == nil { e.platform = "python" }
        if let core {
            e.request = Troubles.request(core)
            e.trace = core.trace
        }
        if e.transaction == nil && core != nil { e.transaction = Event.clip(path, 200) }
        if o.fingerprint.isEmpty {
            // One issue per endpoint, not one for every harakiri in the app.
            e.fingerprint = ["uwsgi-harakiri", method, Event.clip(Grouping.mask(path), 1024)]
        }
        var uwsgi: [Field] = []
        if let wid { uwsgi.append(Field("worker", String(wid))); e.tags.append(Field("worker", String(wid))) }
        if let pid { uwsgi.append(Field("pid", String(pid))) }
        uwsgi.append(Field("harakiri_try", String(attempt)))
        if let limit { uwsgi.append(Field("harakiri_limit", "\(limit) s")) }
        if let ran { uwsgi.append(Field("request_running_for", "\(Double(Int(ran * 10)) / 10) s")) }
        if let graceful { uwsgi.append(Field("graceful", graceful ? "yes" : "no")) }
        if let killedBy { uwsgi.append(Field("then", killedBy == 0 ? "the worker exited" : "the worker was killed by \(UWSGILine.signalName(killedBy))")) }
        e.contexts.append(NamedContext(name: "uwsgi", fields: uwsgi))
        if cores.count > 1 {
            e.contexts.append(NamedContext(name: "uwsgi_workers", fields: cores.map {
                Field("worker \($0.wid ?? 0) core \($0.core ?? 0)", Troubles.endpoint($0))
            }))
        }
        e.breadcrumbs = crumbs
        return (e, problems)
    }

    /// uWSGI >= 2.0.30 tries a graceful harakiri first (its log says `graceful: yes`).
    var graceful: Bool? {
        guard let v = uwsgiVersion else { return nil }
        let parts = v.split(separator: ".").map { Int($0.prefix(while: { $0 >= "0" && $0 <= "9" })) ?? 0 }
        guard parts.count >= 3 else { return nil }
        let atLeast2030 = parts[0] > 2 || (parts[0] == 2 && (parts[1] > 0 || parts[2] >= 30))
        return atLeast2030 ? attempt == 1 : nil
    }
}
