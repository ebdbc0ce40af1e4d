// A worker's crash, told as ONE fatal event: the loader's capture from the crashing
// thread (CrashCapture), and the master's view of the death that followed (the
// request the crashing core was serving, its trace; how the worker ended). The
// exception's frames are the Python stack, oldest first, then the native frames of
// the C code it called down to the crashing instruction; the thread's whole native
// stack, the registers and every loaded ELF object (build ids read from the files)
// ride along for Sentry to symbolicate. uWSGI's own backtrace text and its DAMN
// line for this worker are part of the story (CrashStories), not events of their own.

import Glibc

public struct CrashStory {
    public var frame: LoaderFrame
    /// What the master saw of the worker when it died (its cores), once it did.
    public var death: LoaderFrame?
    /// How the worker ended, once its death was seen.
    public var endedBy: (signal: Int?, exit: Int?)?

    public init(frame: LoaderFrame) { self.frame = frame }

    public var pid: Int? { frame.pid }

    public func event(options o: Options, host: HostFacts, crumbs: [Breadcrumb], files: ELFFiles = ELFFiles()) -> Event {
        let c = frame.crash
        let signal = CrashSignal(number: frame.signal ?? 0, code: c.code)
        let stack = c.crashStack
        let (images, native) = CrashStory.symbolicate(stack, maps: c.maps, files: files)
        let python = c.python.map(PythonStack.frames) ?? []
        // Newest first: the native frames above the interpreter are the C code Python called.
        let runtime = native.firstIndex { ($0.package.map(CrashStory.isPythonRuntime) ?? false) }
        let called = python.isEmpty ? native : Array(native[..<(runtime ?? native.count)])
        let frames = python + called.reversed()

        var opts = o
        if opts.level == nil { opts.level = "fatal" }
        if opts.exceptionType == nil { opts.exceptionType = signal.name }
        if opts.exceptionValue == nil { opts.exceptionValue = signal.description + CrashStory.site(python.last(where: { $0.inApp == true }) ?? python.last ?? called.first) }
        var (e, _) = Event.build(options: opts, message: nil, host: host, eventID: frame.eventID, timestamp: frame.timestamp)
        e.mechanism = "signalhandler"
        e.exception?.frames = frames
        e.exception?.signal = signal
        if stack.first == c.pc { e.exception?.registers = c.registers }
        if o.platform == nil { e.platform = python.isEmpty ? "native" : "python" }
        e.thread = EventThread(id: c.tid, name: frame.wid.map { "uWSGI worker \($0)" + (c.core.map { " core \($0)" } ?? "") },
                                        frames: native.reversed(), registers: c.registers)
        e.images = images
        var uwsgi: [Field] = []
        if let wid = frame.wid { uwsgi.append(Field("worker", String(wid))); e.tags.append(Field("worker", String(wid))) }
        if let pid = frame.pid { uwsgi.append(Field("pid", String(pid))) }
        if let core = c.core { uwsgi.append(Field("core", String(core))) }
        if let a = c.faultAddress, [4, 7, 8, 11].contains(signal.number) { uwsgi.append(Field("fault_address", NativeAddress.hex(a))) }
        if python.isEmpty && c.python == nil { uwsgi.append(Field("python_stack", "none (not a Python thread, or no CPython dumper)")) }
        if let ended = endedBy {
            uwsgi.append(Field("then", ended.signal.map { "the worker died of \(UWSGILine.signalName($0))" }
                                  ?? "the worker exited with code \(ended.exit ?? 0)"))
        }
        e.tags.append(Field("signal", signal.name))
        e.contexts.append(NamedContext(name: "uwsgi", fields: uwsgi))
        if let core = servedCore {
            e.request = Troubles.request(core)
            e.trace = core.trace
            if e.transaction == nil { e.transaction = Event.clip(Troubles.path(core.uri ?? ""), 200) }
        }
        e.breadcrumbs = crumbs
        return e
    }

    /// uWSGI's own lines of this crash (its handler's backtrace, the worker's death and
    /// respawn): the event says all of it better, they are no breadcrumbs of it.
    func isOwnLine(_ line: String) -> Bool {
        guard let pid else { return false }
        if NativeBacktrace.frame(line) != nil || line == "*** end of backtrace ***" { return true }
        switch UWSGILine.parse(line) {
        case .workerDeath(_, let dead, _)?: return dead == pid
        default: break
        }
        return line.hasPrefix("!!! uWSGI process \(pid) got ") || line == "*** backtrace of \(pid) ***"
            || (line.hasPrefix("Respawned uWSGI worker ") && frame.wid.map { line.hasPrefix("Respawned uWSGI worker \($0) ") } == true)
    }

    /// The request the crashing core was serving, as the master saw it.
    var servedCore: LoaderFrame.Core? {
        let cores = (death?.cores ?? []).filter { $0.uri != nil && ($0.startMicros ?? 0) > 0 }
        if let core = frame.crash.core, let c = cores.first(where: { $0.core == core }) { return c }
        return cores.count == 1 ? cores[0] : nil
    }

    /// " in level_three (app.py:31)": where the crash happened, for the event's title.
    static func site(_ f: StackFrame?) -> String {
        guard let f, let function = f.function else { return "" }
        if let file = f.filename, let line = f.lineno, f.platform == "python" { return " in \(function) (\(file):\(line))" }
        return " in \(function)"
    }

    static func isPythonRuntime(_ path: String) -> Bool {
        (path.split(separator: "/").last ?? "").hasPrefix("libpython")
    }

    /// The loaded objects as debug images, and each address (newest first) as a
    /// native frame: its object, and its function where the object's symbols say.
    /// A return address is looked up one byte back (the call, not what follows it).
    static func symbolicate(_ stack: [UInt64], maps: String, files known: ELFFiles) -> ([DebugImage], [StackFrame]) {
        var images: [DebugImage] = []
        var files: [Int: ELFFile] = [:]
        for o in ProcessMaps.objects(maps) {
            let holdsFrame = stack.contains { $0 >= o.start && $0 < o.end }
            var st = stat()
            // A file replaced since it was loaded (an upgrade) is not the one that crashed.
            let same = stat(o.path, &st) == 0 && UInt64(st.st_ino) == o.inode
            guard same, let elf = known.file(o.path, inode: o.inode, symbols: holdsFrame) else { continue }
            if holdsFrame { files[images.count] = elf }
            images.append(DebugImage(codeFile: o.path, imageAddr: o.start, imageSize: o.end - o.start, buildID: elf.buildID))
        }
        let frames = stack.enumerated().map { (k, address) -> StackFrame in
            var f = StackFrame()
            f.platform = "native"
            f.instructionAddr = NativeAddress.hex(address)
            if let i = images.firstIndex(where: { $0.contains(address) }) {
                f.package = images[i].codeFile
                if let elf = files[i] {
                    f.function = elf.function(at: (k == 0 ? address : address - 1) - images[i].imageAddr + elf.baseVaddr)
                }
            }
            return f
        }
        return (images, frames)
    }
}
