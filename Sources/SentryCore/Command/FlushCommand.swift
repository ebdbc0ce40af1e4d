// `flush [DIR]` and `daemon [DIR]`: deliver what the spool keeps.

extension CLI {
    /// `flush [DIR] [OPTIONS]` and `daemon [DIR] [OPTIONS]`.
    func flush(_ words: [String], daemon: Bool) -> ExitCode {
        var rest = words[...]
        var dir: String? = nil
        if let first = rest.first, !first.contains("=") { dir = first; rest = rest.dropFirst() }
        let (options, problems) = Options.parse(CLI.join(Array(rest)))
        for p in problems { System.diagnostic((check ? "" : "warning: ") + p.text) }
        if check && !problems.isEmpty { return .usage }
        guard let path = dir ?? options.spool else {
            return usage("\(daemon ? "daemon" : "flush"): give the spool directory (or set UWSGI_SENTRY_SPOOL)")
        }
        guard let spool = Spool(path) else { return usage("\(path) is not a directory of ours, private (0700)") }
        guard let flusher = Flusher(spool: spool, options: options, force: !daemon, say: { System.diagnostic($0) }) else {
            System.diagnostic("cannot load libcurl.so.4 (install libcurl4)")
            return .internalError
        }
        if daemon { return Daemon.run(flusher) == 0 ? .accepted : .internalError }
        let r = flusher.pass()
        if let error = r.networkError { System.diagnostic("\(error); \(r.kept) event(s) stay in \(path)") }
        if check || System.isTerminal(1) {
            System.write(1, "flushed \(path): \(r.delivered) delivered, \(r.rejected) rejected, \(r.rateLimited) rate-limited, \(r.kept) kept, \(r.dropped) dropped by the bounds\n")
        }
        return r.unreachable ? .network : .accepted
    }
}
