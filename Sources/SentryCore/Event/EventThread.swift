// The thread an event happened in, as Sentry's `threads` interface (`crashed` and
// `current`, as sentry-ruby and sentry-native say it): a Ruby exception's, by its id;
// a crash's with its whole native stack, oldest first, and its registers. (The crash's
// exception shows the part that matters beside the Python frames, the C code the
// Python code called; this is all of it, from the worker's main loop down.)

public struct EventThread: Equatable {
    public var id: Int?
    public var name: String?
    public var frames: [StackFrame]
    public var registers: [Field]

    func write(into w: inout JSONWriter) {
        w.openObject("threads")
        w.openArray("values")
        w.openObject()
        if let id { w.int("id", id) }
        w.string("name", ifPresent: name)
        w.bool("crashed", true)
        w.bool("current", true)
        if !frames.isEmpty { Event.writeStacktrace(frames, registers: registers, &w) }
        w.closeObject()
        w.closeArray()
        w.closeObject()
    }
}
