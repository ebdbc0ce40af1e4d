// Event -> the JSON payload of an envelope's event item, written by hand with
// JSONWriter (JSONEncoder alone costs ~1.75 M instructions at start-up), after the
// scrubbing stage (EventScrubbing.swift): there is no other way to write an event.

extension Event {
    public func json() -> [UInt8] { scrubbed().writtenAsIs() }

    private func writtenAsIs() -> [UInt8] {
        var w = JSONWriter(capacity: 16 << 10)  // an exception event with locals: ~18 KB
        w.openObject()
        w.string("event_id", eventID)
        w.string("timestamp", timestamp)
        w.string("level", level.rawValue)
        w.string("platform", platform)
        if let message {
            w.openObject("logentry"); w.string("formatted", message); w.closeObject()
        }
        w.string("logger", ifPresent: logger)
        w.string("culprit", ifPresent: culprit)
        w.string("transaction", ifPresent: transaction)
        // uWSGI names requests by their URL: a transaction we set is one.
        if transaction != nil && exception != nil && request != nil { w.openObject("transaction_info"); w.string("source", "url"); w.closeObject() }
        w.string("server_name", ifPresent: serverName)
        w.string("release", ifPresent: release)
        w.string("dist", ifPresent: dist)
        w.string("environment", ifPresent: environment)
        if !tags.isEmpty { w.fields("tags", tags) }
        if !extra.isEmpty || !backtraceLines.isEmpty || !argv.isEmpty {
            w.openObject("extra")
            for f in extra { w.string(f.name, f.value) }
            if !argv.isEmpty { w.openArray("sys.argv"); for a in argv { w.string(nil, a) }; w.closeArray() }
            if !backtraceLines.isEmpty {
                w.openArray("backtrace"); for line in backtraceLines { w.string(nil, line) }; w.closeArray()
            }
            w.closeObject()
        }
        if !fingerprint.isEmpty {
            w.openArray("fingerprint"); for f in fingerprint { w.string(nil, f) }; w.closeArray()
        }
        if !user.isEmpty { writeUser(&w) }
        if let exception { writeExceptions(chained + [exception], &w) }
        if let thread { thread.write(into: &w) }
        if !images.isEmpty { DebugImage.write(images, into: &w) }
        request?.write(into: &w)
        if !breadcrumbs.isEmpty { writeBreadcrumbs(&w) }
        if !modules.isEmpty { w.members(Event.modulesJSON(modules)) }
        w.openObject("contexts")
        w.openObject("os")
        w.string("type", "os")
        w.string("name", host.os.sysname)
        w.string("version", host.os.release)
        w.string("build", host.os.version)
        w.string("kernel_version", host.os.version)
        w.closeObject()
        // Every piece of the uwsgi context, once per name (the last one said wins).
        var ours: [Field] = []
        for f in contexts.filter({ $0.name == "uwsgi" }).flatMap(\.fields) {
            if let i = ours.firstIndex(where: { $0.name == f.name }) { ours[i] = f } else { ours.append(f) }
        }
        if host.uwsgi != nil { ours.removeAll { ["type", "reloads", "parent_pid", "original_proc_name"].contains($0.name) } }
        if host.uwsgi != nil || !ours.isEmpty {
            w.openObject("uwsgi")
            w.string("type", "uwsgi")
            if let u = host.uwsgi {
                w.string("reloads", u.reloads)
                // 1 when the loader plugin started us (double fork): no information.
                if u.parentPID > 1 { w.int("parent_pid", u.parentPID) }
                w.string("original_proc_name", ifPresent: u.procName)
            }
            for f in ours { w.string(f.name, f.value) }
            w.closeObject()
        }
        if let trace {
            Event.writeContext("trace", [("trace_id", trace.traceID), ("span_id", trace.spanID),
                                         ("parent_span_id", trace.parentSpanID)], &w)
        }
        if let runtime {
            Event.writeContext("runtime", [("name", runtime.name), ("version", runtime.version), ("build", runtime.build)], &w)
        }
        for c in contexts where !["uwsgi", "os", "type", "trace", "runtime"].contains(c.name) || (c.name == "trace" && trace == nil) {
            w.openObject(c.name)
            w.string("type", c.name)
            for f in c.fields { w.string(f.name, f.value) }
            w.closeObject()
        }
        w.closeObject()
        w.openObject("sdk")
        w.string("name", Event.sdkName)
        w.string("version", Version.current)
        w.openArray("packages")
        w.openObject(); w.string("name", "github:" + Event.sdkName); w.string("version", Version.current); w.closeObject()
        w.closeArray()
        w.openArray("integrations"); w.string(nil, "uwsgi"); w.closeArray()
        w.closeObject()
        w.closeObject()
        return w.bytes
    }

    /// A context: its `type` (its name), then the fields that are there.
    private static func writeContext(_ name: String, _ fields: [(String, String?)], _ w: inout JSONWriter) {
        w.openObject(name)
        w.string("type", name)
        for (key, value) in fields { w.string(key, ifPresent: value) }
        w.closeObject()
    }

    private func writeUser(_ w: inout JSONWriter) {
        let known = ["id", "username", "email", "ip_address", "name"]
        w.openObject("user")
        for f in user where known.contains(f.name) { w.string(f.name, f.value) }
        let data = user.filter { !known.contains($0.name) }
        if !data.isEmpty { w.fields("data", data) }
        w.closeObject()
    }

    /// Oldest first, the main exception last: Sentry's order.
    private func writeExceptions(_ all: [ExceptionInfo], _ w: inout JSONWriter) {
        w.openObject("exception")
        w.openArray("values")
        for x in all {
            w.openObject()
            w.string("type", ifPresent: x.type)
            w.string("value", ifPresent: x.value)
            w.string("module", ifPresent: x.module)
            if let thread = x.threadID { w.int("thread_id", thread) }
            if !x.frames.isEmpty { Event.writeStacktrace(x.frames, registers: x.registers, &w) }
            w.openObject("mechanism")
            w.string("type", x.chainID.map { $0 > 0 ? "chained" : mechanism } ?? mechanism)
            w.bool("handled", false)
            if let signal = x.signal { signal.write(into: &w) }
            if let id = x.chainID {
                w.int("exception_id", id)
                if let parent = x.parentID { w.int("parent_id", parent) }
                w.string("source", ifPresent: x.source)
            }
            w.closeObject()
            w.closeObject()
        }
        w.closeArray()
        w.closeObject()
    }

    /// `"stacktrace": {"frames": [...], "registers": {...}}`, oldest frame first.
    static func writeStacktrace(_ frames: [StackFrame], registers: [Field], _ w: inout JSONWriter) {
        w.openObject("stacktrace")
        w.openArray("frames")
        for f in frames { writeFrame(f, &w) }
        w.closeArray()
        if !registers.isEmpty { w.fields("registers", registers) }
        w.closeObject()
    }

    private static func writeFrame(_ f: StackFrame, _ w: inout JSONWriter) {
        w.openObject()
        w.string("platform", ifPresent: f.platform)
        w.string("filename", ifPresent: f.filename)
        w.string("abs_path", ifPresent: f.absPath ?? f.filename)
        w.string("module", ifPresent: f.module)
        w.string("function", ifPresent: f.function)
        if let l = f.lineno { w.int("lineno", l) }
        if !f.preContext.isEmpty { w.openArray("pre_context"); for l in f.preContext { w.string(nil, l) }; w.closeArray() }
        w.string("context_line", ifPresent: f.contextLine)
        if !f.postContext.isEmpty { w.openArray("post_context"); for l in f.postContext { w.string(nil, l) }; w.closeArray() }
        if let inApp = f.inApp { w.bool("in_app", inApp) }
        if let vars = f.vars { w.value("vars", vars) }
        w.string("package", ifPresent: f.package)
        w.string("instruction_addr", ifPresent: f.instructionAddr)
        w.closeObject()
    }

    /// `"modules":{...}`, written once for as long as the installed modules are the
    /// same (InstalledModules hands every event of a burst the same list: compared, it
    /// is one check of identity).
    static func modulesJSON(_ modules: [Field]) -> [UInt8] {
        if let (known, json) = writtenModules, known == modules { return json }
        var w = JSONWriter()
        w.openObject()
        w.fields("modules", modules)
        w.closeObject()
        let json = Array(w.bytes.dropFirst().dropLast())
        writtenModules = (modules, json)
        return json
    }

    private static var writtenModules: ([Field], [UInt8])?

    private func writeBreadcrumbs(_ w: inout JSONWriter) {
        w.openObject("breadcrumbs")
        w.openArray("values")
        for b in breadcrumbs {
            if let written = b.written { w.element(written) } else { b.write(into: &w) }
        }
        w.closeArray()
        w.closeObject()
    }
}

extension Breadcrumb {
    func write(into w: inout JSONWriter) {
        w.openObject()
        let whole = Seconds.whole(timestamp.rounded(.down))
        let millis = Seconds.whole(((timestamp - Double(whole)) * 1000).rounded(.down))
        w.string("timestamp", System.rfc3339(seconds: whole, milliseconds: min(999, max(0, millis))))
        w.string("type", "default")
        w.string("category", category)
        w.string("level", level.rawValue)
        w.string("message", message)
        w.closeObject()
    }

    /// Scrubbed as an event scrubs it, and its JSON made: what the ring keeps.
    func scrubbedAndWritten() -> Breadcrumb {
        var b = self
        b.message = Scrubber.field(name: nil, message)
        var w = JSONWriter(capacity: 128 + b.message.utf8.count)
        b.write(into: &w)
        b.written = w.bytes
        return b
    }

}

extension RequestInfo {
    /// `"request": {...}`, as an error event and a transaction carry it.
    func write(into w: inout JSONWriter) {
        w.openObject("request")
        w.string("method", ifPresent: method)
        w.string("url", ifPresent: url)
        w.string("query_string", ifPresent: queryString)
        if !headers.isEmpty { w.fields("headers", headers) }
        if !env.isEmpty { w.fields("env", env) }
        w.closeObject()
    }
}
