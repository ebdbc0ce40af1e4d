// uWSGI's own trouble lines (core/master.c, core/master_utils.c, the python
// plugin's tracebacker), read as data. Each parser takes the line as uWSGI wrote
// it, with or without the date prefix of uwsgi_log_verbose, and never trusts it.

public enum UWSGILine: Equatable {
    /// `DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ...`,
    /// `... died :( ...` (exited), `... MISTERIOUSLY killed by signal 9 ...`.
    case workerDeath(wid: Int, pid: Int, signal: Int?)
    /// `*** HARAKIRI ON WORKER 1 (pid: 4242, try: 1[, graceful: yes]) ***`.
    case harakiri(wid: Int, pid: Int, attempt: Int)
    /// `HARAKIRI [core 0] 127.0.0.1 - GET /slow since 1795639564`.
    case harakiriCore(core: Int, remote: String, method: String, uri: String, since: Int)
    /// `*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (2/2) ***`.
    case listenQueueFull(socket: String)
    /// `thread_id = MainThread filename = /app/x.py lineno = 7 function = slow line = time.sleep(9)`.
    case tracebackerFrame(thread: String, frame: StackFrame)

    public static func parse(_ raw: String) -> UWSGILine? {
        let line = Breadcrumbs.stripDate(raw).line.trimmingSpaces()
        if let at = line.find("DAMN ! worker ") { return death(String(line[at.upperBound...])) }
        if let at = line.find("*** HARAKIRI ON WORKER ") { return harakiri(String(line[at.upperBound...])) }
        if let at = line.find("HARAKIRI [core ") { return harakiriCore(String(line[at.upperBound...])) }
        if line.hasPrefix("thread_id = ") { return tracebacker(line) }
        if line.find("listen queue of socket") != nil && line.find("full") != nil {
            let socket = line.split(separator: "\"", omittingEmptySubsequences: false)
            return .listenQueueFull(socket: socket.count >= 3 ? String(socket[1]) : "")
        }
        return nil
    }

    /// The numbers after `label` (e.g. "pid: "), up to the first non-digit.
    static func number(after label: String, in s: String) -> Int? {
        guard let at = s.find(label) else { return nil }
        let digits = s[at.upperBound...].prefix(while: { $0 >= "0" && $0 <= "9" }).prefix(18)
        return Int(digits)
    }

    static func death(_ rest: String) -> UWSGILine? {
        let wid = Int(rest.prefix(while: { $0 >= "0" && $0 <= "9" }).prefix(9))
        guard let wid, let pid = number(after: "(pid: ", in: rest) else { return nil }
        return .workerDeath(wid: wid, pid: pid, signal: number(after: "killed by signal ", in: rest))
    }

    static func harakiri(_ rest: String) -> UWSGILine? {
        let wid = Int(rest.prefix(while: { $0 >= "0" && $0 <= "9" }).prefix(9))
        guard let wid, let pid = number(after: "(pid: ", in: rest) else { return nil }
        return .harakiri(wid: wid, pid: pid, attempt: number(after: "try: ", in: rest) ?? 1)
    }

    static func harakiriCore(_ rest: String) -> UWSGILine? {
        guard let core = Int(rest.prefix(while: { $0 >= "0" && $0 <= "9" }).prefix(9)), let close = rest.find("] "),
              let dash = rest.find(" - "), dash.lowerBound >= close.upperBound,
              let since = rest.lastRange(of: " since "), since.lowerBound >= dash.upperBound else { return nil }
        let remote = String(rest[close.upperBound..<dash.lowerBound])
        let request = rest[dash.upperBound..<since.lowerBound]
        guard let space = request.firstIndex(of: " ") else { return nil }
        // Seconds since the epoch: 11 digits reach the year 5138; more is no time at
        // all (0), not a number that overflows once it is made microseconds.
        let digits = rest[since.upperBound...].prefix(while: { $0 >= "0" && $0 <= "9" })
        let t = digits.count <= 11 ? Int(digits) ?? 0 : 0
        return .harakiriCore(core: core, remote: remote, method: String(request[..<space]),
                             uri: String(request[request.index(after: space)...]), since: t)
    }

    static func tracebacker(_ line: String) -> UWSGILine? {
        guard let f = line.find(" filename = "), let l = line.find(" lineno = "), let fn = line.find(" function = "),
              f.upperBound <= l.lowerBound, l.upperBound <= fn.lowerBound else { return nil }
        let thread = String(line[line.index(line.startIndex, offsetBy: 12)..<f.lowerBound])
        var frame = StackFrame(filename: String(line[f.upperBound..<l.lowerBound]))
        frame.lineno = Int(line[l.upperBound..<fn.lowerBound].prefix(18))
        let rest = String(line[fn.upperBound...])
        if let code = rest.find(" line = ") {
            frame.function = String(rest[..<code.lowerBound])
            let text = String(rest[code.upperBound...]).trimmingSpaces()
            frame.contextLine = text.isEmpty ? nil : text
        } else {
            frame.function = String(rest)
        }
        return .tracebackerFrame(thread: thread, frame: frame)
    }

    /// Linux's signal names (x86_64 numbering).
    public static func signalName(_ n: Int) -> String {
        let names = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
                     "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
                     "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
                     "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"]
        if n >= 1 && n <= names.count { return names[n - 1] }
        if n >= 34 && n <= 64 { return "SIGRTMIN+\(n - 34)" }
        return "signal \(n)"
    }
}
