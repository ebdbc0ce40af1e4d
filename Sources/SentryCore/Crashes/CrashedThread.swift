// The crashed thread's whole native stack, oldest first, with its registers:
// Sentry's `threads` interface. The exception shows the part of it that matters
// beside the Python frames (the C code the Python code called); this is all of it,
// from the worker's main loop down, for symbolication.

public struct CrashedThread: Equatable {
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
