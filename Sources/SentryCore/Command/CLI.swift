// argv/stdin -> options -> event -> envelope -> transport, and what to say about it.
// Quiet by design: under uWSGI our output IS the log, matched by alarm regexes.
// Success prints nothing (unless on a terminal or --check); a failure is one line
// on stderr starting with "uwsgi-sentry:".

public enum ExitCode: Int32 {
    case accepted = 0
    case internalError = 1   // libcurl missing, cannot start a transfer
    case usage = 2           // bad flags, options, DSN, nothing to send; --check problems
    case network = 3         // no HTTP answer: refused, DNS, timeout, TLS, reset
    case rejected = 4        // HTTP answer other than 2xx/429
    case rateLimited = 5     // HTTP 429, or a remembered rate limit still running
    case spooled = 6         // no HTTP answer; the event is in the spool for `flush`
    case overBudget = 7      // storm control: this fingerprint spent its budget (silent)
}

public struct CLI {
    var check = false
    var dryRun = false
    /// Set by the `sentry` loader plugin: stdin is the option string, a newline, and
    /// uWSGI's raw exception packet.
    var uwsgiException = false
    /// Set by the `sentry` plugin's alarm engine: lines its in-process budget dropped
    /// since the last sender it started, counted here for a client report.
    var droppedUpstream = 0

    public static func main(_ args: [String]) -> Int32 {
        System.resetSignals()
        var cli = CLI()
        var i = 1
        flags: while i < args.count, args[i].hasPrefix("-"), args[i] != "-" {
            let flag = args[i]
            i += 1
            switch flag {
            case "--": break flags
            case "-h", "--help": System.write(1, Help.text); return ExitCode.accepted.rawValue
            case "-V", "--version": System.write(1, Version.client + "\n"); return ExitCode.accepted.rawValue
            case "--check": cli.check = true
            case "-n", "--dry-run": cli.dryRun = true
            case "--uwsgi-exception": cli.uwsgiException = true
            case _ where flag.hasPrefix("--dropped="):
                guard let n = Int(flag.dropFirst(10)), n >= 0 else {
                    System.diagnostic("bad flag '\(flag)' (see --help)")
                    return ExitCode.usage.rawValue
                }
                cli.droppedUpstream = n
            default:
                System.diagnostic("unknown flag '\(flag)' (see --help)")
                return ExitCode.usage.rawValue
            }
        }
        let words = Array(args[i...])
        if let command = words.first, command == "flush" || command == "daemon" {
            return cli.flush(Array(words.dropFirst()), daemon: command == "daemon").rawValue
        }
        return cli.run(words: words).rawValue
    }

    /// What the caller handed over, before any parsing of options.
    struct Handed {
        var optionText: String
        var stdinMessage: String?
        var packet: ExceptionPacket?
        var problems: [Options.Problem] = []
    }

    /// One event: input -> options -> event -> envelope -> (gates) -> delivery.
    func run(words: [String]) -> ExitCode {
        let handed: Handed
        switch readInput(words) {
        case .success(let h): handed = h
        case .failure(let code): return code.exit
        }

        // Options. A problem is a warning (the alarm still goes out) unless --check.
        var (options, problems) = Options.parse(handed.optionText)
        problems += handed.problems
        var stdinMessage = handed.stdinMessage
        if options.message == nil && stdinMessage == nil && !words.isEmpty && !uwsgiException {
            let input = Input.read()
            if input.source == .data { stdinMessage = Input.text(input.bytes[...]) }
        }
        let message = options.message ?? stdinMessage.flatMap { $0.isEmpty ? nil : $0 }
        if message == nil && options.exceptionType == nil && options.exceptionValue == nil && handed.packet == nil {
            return usage("nothing to send: give message=..., pipe the message on stdin, or set exception_type/exception_value")
        }

        // The event and its envelope.
        let host = HostFacts.current()
        let (event, eventProblems) = Event.build(options: options, message: message, host: host, packet: handed.packet)
        problems += eventProblems
        var dsn: DSN? = nil
        if let text = options.dsn {
            do { dsn = try DSN(parsing: text) } catch let e as DSN.ParseError { return usage(e.description) } catch { return usage("invalid DSN") }
        } else if !dryRun {
            return usage("no DSN: give dsn=... or set SENTRY_DSN")
        }
        if !problems.isEmpty {
            for p in problems { System.diagnostic((check ? "" : "warning: ") + p.text) }
            if check { return .usage }
        }
        let envelope = Envelope.make(eventID: event.eventID, payload: event.json(), dsn: dsn)
        if dryRun {
            // What would be sent, but the key is never shown.
            System.write(1, dsn.map { Array(Redactor(dsn: $0)(String(decoding: envelope, as: UTF8.self)).utf8) } ?? envelope)
            return .accepted
        }
        guard let dsn else { return .usage }
        let state = StateDirectory.forOptions(options)
        if let stop = gate(event, envelope: envelope, dsn: dsn, options: options, state: state) { return stop }
        return deliver(event, envelope: envelope, dsn: dsn, options: options, state: state, host: host)
    }

    struct Exit: Error { var exit: ExitCode }

    /// The option string (argv words joined with spaces, or stdin's first line), the
    /// message from stdin, or (--uwsgi-exception) uWSGI's exception packet.
    func readInput(_ words: [String]) -> Result<Handed, Exit> {
        if uwsgiException {
            let input = Input.read()
            guard input.source == .data, !words.isEmpty || input.bytes.contains(10) else {
                return .failure(Exit(exit: usage("--uwsgi-exception: expected the option string and a packet on stdin")))
            }
            let nl = input.bytes.firstIndex(of: 10) ?? input.bytes.count
            var handed = Handed(optionText: words.isEmpty ? Input.text(input.bytes[..<nl]) : CLI.join(words))
            let body = words.isEmpty ? input.bytes[min(nl + 1, input.bytes.count)...] : input.bytes[...]
            do {
                handed.packet = try ExceptionPacket.decode(body)
            } catch {
                // Still an exception in uWSGI: report it rather than lose it.
                handed.problems.append(.init(text: "undecodable exception packet (\(error)); sending what is known"))
                var p = ExceptionPacket()
                p.className = "uWSGIException"
                p.message = "an exception whose packet could not be decoded: \(error)"
                handed.packet = p
            }
            return .success(handed)
        }
        if words.isEmpty {
            let input = Input.read()
            guard input.source == .data else {
                return .failure(Exit(exit: usage("no option string: give it as arguments or as the first line of stdin (see --help)")))
            }
            let (text, message) = Input.splitFirstLine(input.bytes)
            return .success(Handed(optionText: text, stdinMessage: message))
        }
        return .success(Handed(optionText: CLI.join(words)))
    }

    /// Before any network: counts handed up by the plugin, the storm budget,
    /// remembered rate limits, hand-off. Returns the exit code when the event stops here.
    func gate(_ event: Event, envelope: [UInt8], dsn: DSN, options: Options, state: StateDirectory?) -> ExitCode? {
        let id = event.eventID, category = event.category
        if let state, droppedUpstream > 0 {
            ClientReport.record("backpressure", category: "default", quantity: droppedUpstream, dsn: dsn, in: state)
        }
        if let state, !Budget.allow(key: Budget.key(event), dsn: dsn, count: options.budgetCount,
                                    seconds: options.budgetSeconds, in: state) {
            ClientReport.record("backpressure", category: category, dsn: dsn, in: state)
            if options.debug || check { report("event \(id) dropped: over budget=\(options.budgetCount)/\(Int(options.budgetSeconds)) for its fingerprint") }
            return .overBudget
        }
        if let state, let wait = RateLimits.blocked(category, dsn: dsn, in: state) {
            ClientReport.record("ratelimit_backoff", category: category, dsn: dsn, in: state)
            System.diagnostic("event \(id) dropped: \(dsn.origin) is rate-limiting \(category) events for \(Int(wait.rounded(.up))) more s")
            return .rateLimited
        }
        if options.handOff {
            guard let spool = options.spool.flatMap(Spool.init) else {
                return usage("mode=spool needs spool=DIR (or UWSGI_SENTRY_SPOOL): a directory of ours, private")
            }
            guard spool.write(envelope, eventID: id, category: category) != nil else {
                System.diagnostic("event \(id) not spooled: cannot write to \(spool.path)")
                return .internalError
            }
            return .accepted
        }
        return nil
    }

    /// Sends the envelope (with the drops counted so far, as a client report) and
    /// says what happened; without an HTTP answer the envelope goes to the spool.
    func deliver(_ event: Event, envelope: [UInt8], dsn: DSN, options: Options, state: StateDirectory?,
                 host: HostFacts) -> ExitCode {
        let id = event.eventID, category = event.category
        let reports = state.map { ClientReport.take(dsn: dsn, in: $0) } ?? []
        let redact = Redactor(dsn: dsn)
        let body = reports.isEmpty ? envelope : envelope + ClientReport.item(reports)
        let request = Transport.request(envelope: body, dsn: dsn, options: options)
        if check {
            report("sending event \(id) to \(redact(request.url)) (DSN \(dsn.masked), timeout \(options.timeout) s)")
        }
        if options.debug { debugRequest(request, redact) }
        let delivery = Transport.send(request)
        if let state, let response = delivery.response {
            RateLimits.record(RateLimits.from(response), dsn: dsn, in: state)
        }
        switch delivery {
        case .accepted(let r):
            if options.debug || check { debugResponse(r, redact) }
            if check || (System.isTerminal(1) && host.uwsgi == nil) {
                System.write(1, "event \(id) accepted by \(dsn.origin) (project \(dsn.projectID), HTTP \(r.status))\n")
            }
            return .accepted
        case .rateLimited(let r, let seconds):
            if options.debug || check { debugResponse(r, redact) }
            if let state { ClientReport.record("ratelimit_backoff", category: category, dsn: dsn, in: state) }
            System.diagnostic("event \(id) dropped: \(dsn.origin) is rate-limiting (HTTP 429), retry after \(Int(seconds)) s")
            return .rateLimited
        case .rejected(let r):
            if options.debug || check { debugResponse(r, redact) }
            System.diagnostic("event \(id) rejected by \(dsn.origin): HTTP \(r.status): \(redact(Transport.reason(r)))")
            return .rejected
        case .networkFailure(let text):
            if let state { ClientReport.restore(reports, dsn: dsn, in: state) }
            if let dir = options.spool {
                if let spool = Spool(dir), spool.write(envelope, eventID: id, category: category) != nil {
                    System.diagnostic("event \(id) spooled in \(dir): no answer from \(dsn.origin): \(redact(text))")
                    return .spooled
                }
                System.diagnostic("event \(id) lost: no answer from \(dsn.origin) (\(redact(text))) and spool \(dir) is not writable")
                return .network
            }
            if let state { ClientReport.record("network_error", category: category, dsn: dsn, in: state) }
            System.diagnostic("event \(id) not delivered: no answer from \(dsn.origin): \(redact(text))")
            return .network
        case .libraryMissing:
            System.diagnostic("event \(id) not delivered: cannot load libcurl.so.4 (install libcurl4)")
            return .internalError
        }
    }

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

    /// argv words joined with single spaces (a plain loop: the generic
    /// joined(separator:) resolves types at run time, a cost on every start).
    static func join(_ words: [String]) -> String {
        var out = words.first ?? ""
        for word in words.dropFirst() { out += " " + word }
        return out
    }

    func usage(_ text: String) -> ExitCode {
        System.diagnostic(text)
        return .usage
    }

    func report(_ text: String) { System.diagnostic(text) }

    func debugRequest(_ r: HTTPRequest, _ redact: Redactor) {
        System.diagnostic("debug: > POST \(redact(r.url))")
        for h in r.headers { System.diagnostic("debug: > \(redact(h))") }
        for line in String(decoding: r.body, as: UTF8.self).split(separator: "\n") {
            System.diagnostic("debug: > \(redact(String(line)))")
        }
    }

    func debugResponse(_ r: HTTPResponse, _ redact: Redactor) {
        System.diagnostic("debug: < HTTP \(r.status)")
        for (k, v) in r.headers { System.diagnostic("debug: < \(k): \(redact(v))") }
        for line in r.body.split(separator: "\n") { System.diagnostic("debug: < \(redact(String(line)))") }
    }
}

/// Replaces the DSN's key and secret wherever they would be printed.
struct Redactor {
    let secrets: [(String, String)]
    init(dsn: DSN) {
        var s = [(dsn.publicKey, DSN.maskKey(dsn.publicKey))]
        if let secret = dsn.secretKey { s.append((secret, "****")) }
        secrets = s
    }
    func callAsFunction(_ text: String) -> String {
        var out = text
        for (secret, mask) in secrets { out = out.replacingAll(secret, with: mask) }
        return out
    }
}
