// Event -> the JSON payload of an envelope's event item, written by hand with
// JSONWriter (JSONEncoder alone costs ~1.75 M instructions at start-up), after the
// scrubbing stage (EventScrubbing.swift): there is no other way to write an event.

extension Event {
    public func json() -> [UInt8] { scrubbed().writtenAsIs() }

    private func writtenAsIs() -> [UInt8] {
        var w = JSONWriter()
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
        w.string("server_name", ifPresent: serverName)
        w.string("release", ifPresent: release)
        w.string("dist", ifPresent: dist)
        w.string("environment", ifPresent: environment)
        if !tags.isEmpty { w.fields("tags", tags) }
        if !extra.isEmpty || !backtraceLines.isEmpty {
            w.openObject("extra")
            for f in extra { w.string(f.name, f.value) }
            if !backtraceLines.isEmpty {
                w.openArray("backtrace"); for line in backtraceLines { w.string(nil, line) }; w.closeArray()
            }
            w.closeObject()
        }
        if !fingerprint.isEmpty {
            w.openArray("fingerprint"); for f in fingerprint { w.string(nil, f) }; w.closeArray()
        }
        if !user.isEmpty { writeUser(&w) }
        if let exception { writeException(exception, &w) }
        if let request { writeRequest(request, &w) }
        if !breadcrumbs.isEmpty { writeBreadcrumbs(&w) }
        w.openObject("contexts")
        w.openObject("os")
        w.string("type", "os")
        w.string("name", host.os.sysname)
        w.string("version", host.os.release)
        w.string("build", host.os.version)
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
        for c in contexts where c.name != "uwsgi" && c.name != "os" && c.name != "type" {
            w.openObject(c.name)
            w.string("type", c.name)
            for f in c.fields { w.string(f.name, f.value) }
            w.closeObject()
        }
        w.closeObject()
        w.openObject("sdk"); w.string("name", Event.sdkName); w.string("version", Version.current); w.closeObject()
        w.closeObject()
        return w.bytes
    }

    private func writeUser(_ w: inout JSONWriter) {
        let known = ["id", "username", "email", "ip_address", "name"]
        w.openObject("user")
        for f in user where known.contains(f.name) { w.string(f.name, f.value) }
        let data = user.filter { !known.contains($0.name) }
        if !data.isEmpty { w.fields("data", data) }
        w.closeObject()
    }

    private func writeException(_ x: ExceptionInfo, _ w: inout JSONWriter) {
        w.openObject("exception")
        w.openArray("values")
        w.openObject()
        w.string("type", ifPresent: x.type)
        w.string("value", ifPresent: x.value)
        w.string("module", ifPresent: x.module)
        if !x.frames.isEmpty {
            w.openObject("stacktrace")
            w.openArray("frames")
            for f in x.frames {
                w.openObject()
                w.string("filename", ifPresent: f.filename)
                w.string("abs_path", ifPresent: f.filename)
                w.string("function", ifPresent: f.function)
                if let l = f.lineno { w.int("lineno", l) }
                w.string("context_line", ifPresent: f.contextLine)
                w.string("package", ifPresent: f.package)
                w.string("instruction_addr", ifPresent: f.instructionAddr)
                w.closeObject()
            }
            w.closeArray()
            w.closeObject()
        }
        w.openObject("mechanism"); w.string("type", mechanism); w.bool("handled", false); w.closeObject()
        w.closeObject()
        w.closeArray()
        w.closeObject()
    }

    private func writeBreadcrumbs(_ w: inout JSONWriter) {
        w.openObject("breadcrumbs")
        w.openArray("values")
        for b in breadcrumbs {
            w.openObject()
            let whole = Seconds.whole(b.timestamp.rounded(.down))
            let millis = Seconds.whole(((b.timestamp - Double(whole)) * 1000).rounded(.down))
            w.string("timestamp", System.rfc3339(seconds: whole, milliseconds: min(999, max(0, millis))))
            w.string("type", "default")
            w.string("category", b.category)
            w.string("level", b.level.rawValue)
            w.string("message", b.message)
            w.closeObject()
        }
        w.closeArray()
        w.closeObject()
    }

    private func writeRequest(_ r: RequestInfo, _ w: inout JSONWriter) {
        w.openObject("request")
        w.string("method", ifPresent: r.method)
        w.string("url", ifPresent: r.url)
        w.string("query_string", ifPresent: r.queryString)
        if !r.headers.isEmpty { w.fields("headers", r.headers) }
        if !r.env.isEmpty { w.fields("env", r.env) }
        w.closeObject()
    }
}
