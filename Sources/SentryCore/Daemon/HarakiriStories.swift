// The harakiri story as the daemon tells it, and the deaths that explain an event.
// A harakiri opens a story: uWSGI's harakiri hook (the loader's frame), or without
// the loader its `*** HARAKIRI ON WORKER` line; the lines that follow (the
// tracebacker's stack, `HARAKIRI [core N] ...`) join it; the worker's death ends it:
// ONE event (HarakiriStory makes it). Without the loader each line reaches us from a
// sender of its own, and senders started a moment apart can arrive in either order:
// a request line may come before its harakiri (it waits as a story of unknown
// worker, which the harakiri adopts), a SIGKILL's death line before the harakiri that
// explains it (it is held a moment). A worker the loader saw dead before uWSGI
// reaped it leaves what it was serving for its DAMN line's event.

struct HarakiriStories {
    /// A story waiting for its worker's death, or for its deadline.
    struct Waiting {
        var story: HarakiriStory
        /// The options of the frame that opened it (an old config's alarm has its own).
        var options: String
        /// The log lines before the harakiri, taken when it began.
        var crumbs: [Breadcrumb]
        var deadline: Double
    }

    /// A worker seen dead before it was reaped: the frame says what it was serving.
    struct Death {
        var frame: LoaderFrame
        var at: Double
    }

    /// A death line that may be part of a harakiri whose first line has not come yet.
    struct HeldDeath {
        var frame: LoaderFrame
        var pid: Int
        var deadline: Double
    }

    /// How long a story waits for its worker's death (and a death for its story)
    /// before it is told anyway.
    let wait: Double
    /// How long a harakiri explains a death, and a death waits for its line.
    static let memory = 60.0
    /// Once its worker died, how long a story still takes lines that were on their way.
    static let settle = 1.0

    private(set) var waiting: [Waiting] = []
    /// Workers killed by harakiri lately (pid -> when): their death is part of the story.
    private var killed: [Int: Double] = [:]
    private var deaths: [Int: Death] = [:]
    private var held: [HeldDeath] = []

    init(wait: Double) { self.wait = wait }

    /// A harakiri of worker `story.wid`: a new story, or the one its request line began.
    mutating func begin(_ story: HarakiriStory, options: String, crumbs: [Breadcrumb], now: Double) {
        if story.wid != nil, let i = waiting.firstIndex(where: { $0.story.wid == nil }) {
            waiting[i].story.wid = story.wid
            waiting[i].story.pid = story.pid
            waiting[i].story.attempt = story.attempt
            waiting[i].story.limit = waiting[i].story.limit ?? story.limit
        } else {
            waiting.append(Waiting(story: story, options: options, crumbs: crumbs, deadline: now + wait))
        }
        if let pid = story.pid {
            killed[pid] = now
            if let i = held.firstIndex(where: { $0.pid == pid }) { _ = died(pid: pid, signal: held.remove(at: i).frame.signalFromLine, now: now) }
        }
    }

    /// Gives a log line to the first story it belongs to; false when none took it.
    @discardableResult
    mutating func absorb(_ line: String) -> Bool {
        for i in waiting.indices where waiting[i].story.absorb(line) { return true }
        return false
    }

    func isHarakiri(pid: Int) -> Bool { killed[pid] != nil }

    /// A worker's death line: part of a harakiri's story (true), or news (false). The
    /// story is told a moment later, with any of its lines still on their way.
    mutating func died(pid: Int, signal: Int?, now: Double) -> Bool {
        guard killed[pid] != nil else { return false }
        if let i = waiting.firstIndex(where: { $0.story.pid == pid }) {
            waiting[i].story.killedBy = signal ?? 0
            waiting[i].deadline = min(waiting[i].deadline, now + Self.settle)
        }
        return true
    }

    /// Keeps a death line a moment, for a harakiri that may still be on its way.
    mutating func hold(_ frame: LoaderFrame, pid: Int, now: Double) {
        held.append(HeldDeath(frame: frame, pid: pid, deadline: now + wait))
    }

    mutating func sawDead(_ frame: LoaderFrame, now: Double) {
        if let pid = frame.pid { deaths[pid] = Death(frame: frame, at: now) }
    }

    /// What the loader saw of `pid` when it died, once.
    mutating func takeDeath(pid: Int) -> LoaderFrame? { deaths.removeValue(forKey: pid)?.frame }

    /// The stories to tell now: their time is up (a moment after their worker's
    /// death, or their whole wait), or `force`.
    mutating func due(now: Double, force: Bool) -> [Waiting] {
        let ready = waiting.filter { force || now >= $0.deadline }
        waiting.removeAll { force || now >= $0.deadline }
        killed = killed.filter { now - $0.value < Self.memory }
        deaths = deaths.filter { now - $0.value.at < Self.memory }
        return ready
    }

    /// Held deaths no harakiri claimed in time: news after all.
    mutating func released(now: Double, force: Bool) -> [LoaderFrame] {
        let ready = held.filter { force || now >= $0.deadline }.map(\.frame)
        held.removeAll { force || now >= $0.deadline }
        return ready
    }

    var nextDeadline: Double? { (waiting.map(\.deadline) + held.map(\.deadline)).min() }
}

extension LoaderFrame {
    /// The signal a death line (the frame's body) names.
    var signalFromLine: Int? {
        if case .workerDeath(_, _, let signal)? = UWSGILine.parse(Stdin.text(body[...])) { return signal }
        return nil
    }
}
