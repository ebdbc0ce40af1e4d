// The crashes the daemon is telling: a crash frame opens a story; uWSGI's own
// backtrace text of that pid (alarm-segfault) and its death (the master's frame,
// the DAMN line) join it; a moment after the death, or after `wait` if no death
// comes, it is told as ONE event. Without a capture (the lane was full, a crash
// outside a worker) nothing here takes those lines: they are events as before.

struct CrashStories {
    struct Waiting {
        var story: CrashStory
        var deadline: Double
    }

    let wait: Double
    /// Once the worker died, how long the story still takes lines on their way.
    static let settle = 1.0
    /// How long a told crash still claims its worker's lines.
    static let memory = 60.0

    private(set) var waiting: [Waiting] = []
    private var told: [Int: Double] = [:]

    init(wait: Double) { self.wait = wait }

    mutating func begin(_ story: CrashStory, now: Double) {
        waiting.append(Waiting(story: story, deadline: now + wait))
    }

    func isCrash(pid: Int, now: Double) -> Bool { waiting.contains { $0.story.pid == pid } || wasTold(pid, now: now) }

    private func wasTold(_ pid: Int, now: Double) -> Bool { told[pid].map { now - $0 < Self.memory } ?? false }

    /// The master saw the worker dead (its frame: the cores), or uWSGI said so (its
    /// DAMN line): the story is told a moment later. True when the death was a crash's.
    @discardableResult
    mutating func died(pid: Int, signal: Int?, exit: Int?, frame: LoaderFrame?, now: Double) -> Bool {
        guard let i = waiting.firstIndex(where: { $0.story.pid == pid }) else { return wasTold(pid, now: now) }
        if let frame { waiting[i].story.death = frame }
        waiting[i].story.endedBy = (signal, exit)
        waiting[i].deadline = min(waiting[i].deadline, now + Self.settle)
        return true
    }

    mutating func due(now: Double, force: Bool) -> [Waiting] {
        let ready = waiting.filter { force || now >= $0.deadline }
        waiting.removeAll { force || now >= $0.deadline }
        for w in ready { if let pid = w.story.pid { told[pid] = now } }
        told = told.filter { now - $0.value < Self.memory }
        return ready
    }

    var nextDeadline: Double? { waiting.map(\.deadline).min() }
}
