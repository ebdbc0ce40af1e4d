// One event: the option string and message (argv or stdin) or uWSGI's exception
// packet -> options -> event -> envelope -> the gates that stop it before the
// network (budget, remembered rate limits, hand-off) -> delivery.
import CurlHTTP

extension CLI {
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

        // Options. A problem is a warning (the alarm still goes out) unless --check;
        // either way it is said before anything else, so a typo explains what follows.
        var (options, problems) = Options.parse(handed.optionText)
        problems += handed.problems
        var stdinMessage = handed.stdinMessage
        if options.message == nil && stdinMessage == nil && !words.isEmpty && !uwsgiException {
            let input = Stdin.read()
            if input.source == .data { stdinMessage = Stdin.text(input.bytes[...]) }
        }
        let message = options.message ?? stdinMessage.flatMap { $0.isEmpty ? nil : $0 }
        if message == nil && options.exceptionType == nil && options.exceptionValue == nil && handed.packet == nil {
            say(problems)
            return usage("nothing to send: give message=..., pipe the message on stdin, or set exception_type/exception_value")
        }

        // The event and its envelope.
        let host = HostFacts.current()
        var (event, eventProblems) = Event.build(options: options, message: message, host: host, packet: handed.packet)
        problems += eventProblems
        if let line = message, handed.packet == nil, options.exceptionType == nil, options.exceptionValue == nil,
           tellStory(line, options: options, host: host, event: &event) && host.uwsgi != nil && !check {
            return .accepted  // a harakiri's first line, or its worker's death: part of one story
        }
        var dsn: DSN? = nil
        if let text = options.dsn {
            do { dsn = try DSN(parsing: text) } catch let e as DSN.ParseError {
                say(problems)
                return usage(e.description)
            } catch { return usage("invalid DSN") }
        } else if !dryRun {
            say(problems)
            return usage("no DSN: give dsn=... or set SENTRY_DSN")
        }
        say(problems)
        if check && !problems.isEmpty { return .usage }
        let envelope = Envelope.make(eventID: event.eventID, payload: event.json(), dsn: dsn)
        if dryRun {
            // What would be sent, but the key is never shown.
            System.write(1, dsn.map { Array(Redactor(dsn: $0)(String(decoding: envelope, as: UTF8.self)).utf8) } ?? envelope)
            return .accepted
        }
        guard let dsn else { return .usage }
        let sender = Sender(dsn: dsn, options: options, state: StateDirectory.forOptions(options))
        if let stop = gate(event, envelope: envelope, sender: sender) { return stop }
        return deliver(event, envelope: envelope, sender: sender, host: host)
    }

    /// What a `cmd:` alarm's line of uWSGI's says, added to its event (without the
    /// loader there is no daemon to hold the story: the state directory does).
    /// True when this line is no event of its own.
    func tellStory(_ line: String, options: Options, host: HostFacts, event: inout Event) -> Bool {
        let state = StateDirectory.forOptions(options)
        let now = StateDirectory.now()
        switch UWSGILine.parse(line) {
        case .harakiri(let wid, let pid, let attempt)?:
            if let state, !dryRun { HarakiriMarks.mark(wid: wid, pid: pid, attempt: attempt, in: state, now: now) }
            if dryRun { report("harakiri of worker \(wid) (pid \(pid)): its request line makes the event") }
            return true
        case .harakiriCore?:
            var story = HarakiriStory(wid: nil, pid: nil, attempt: 1, at: now)
            if let state, let m = HarakiriMarks.newest(in: state, now: now) { story.wid = m.wid; story.pid = m.pid; story.attempt = m.attempt }
            _ = story.absorb(line)
            (event, _) = story.event(options: options, host: host, crumbs: [], eventID: event.eventID)
        // A SIGKILL is how harakiri ends a worker: give its first line's sender time to mark it.
        case .workerDeath(_, let pid, let signal)? where state.map({ HarakiriMarks.marked(pid: pid, in: $0, wait: signal == 9 ? 2 : 0, now: now) }) ?? false:
            return !dryRun
        case .listenQueueFull? where options.statsServer != nil:
            // What the loader would have seen in the master, asked of uWSGI's stats server.
            var cores: [LoaderFrame.Core]?
            switch StatsServer.busyCores(at: options.statsServer ?? "", timeout: min(options.timeout, 2)) {
            case .success(let busy): cores = busy
            case .failure(let why): event.extra.append(Field("uwsgi_stats", "no list of busy workers: \(why)"))
            }
            Troubles.explain(&event, line: line, cores: cores, now: now)
        default:
            Troubles.explain(&event, line: line, cores: nil, now: now,
                             harakiri: { pid in state.map { HarakiriMarks.marked(pid: pid, in: $0, now: now) } ?? false })
        }
        for file in options.logFiles {
            let lines = Breadcrumbs.tail(of: file, lines: options.breadcrumbs)
            if lines.isEmpty { continue }
            event.breadcrumbs = Breadcrumbs.make(lines, count: options.breadcrumbs, trigger: line)
            break
        }
        return false
    }

    /// Problems with the options: warnings, or (--check) errors.
    func say(_ problems: [Options.Problem]) {
        for p in problems { System.diagnostic((check ? "" : "warning: ") + p.text) }
    }

    struct Exit: Error { var exit: ExitCode }

    /// The option string (argv words joined with spaces, or stdin's first line), the
    /// message from stdin, or (--uwsgi-exception) uWSGI's exception packet.
    func readInput(_ words: [String]) -> Result<Handed, Exit> {
        if uwsgiException {
            let input = Stdin.read()
            guard input.source == .data, !words.isEmpty || input.bytes.contains(10) else {
                return .failure(Exit(exit: usage("--uwsgi-exception: expected the option string and a packet on stdin")))
            }
            let nl = input.bytes.firstIndex(of: 10) ?? input.bytes.count
            var handed = Handed(optionText: words.isEmpty ? Stdin.text(input.bytes[..<nl]) : CLI.join(words))
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
            let input = Stdin.read()
            guard input.source == .data else {
                return .failure(Exit(exit: usage("no option string: give it as arguments or as the first line of stdin (see --help)")))
            }
            let (text, message) = Stdin.splitFirstLine(input.bytes)
            return .success(Handed(optionText: text, stdinMessage: message))
        }
        return .success(Handed(optionText: CLI.join(words)))
    }

    /// Before any network: counts handed up by the plugin, the storm budget,
    /// remembered rate limits, hand-off. Returns the exit code when the event stops here.
    func gate(_ event: Event, envelope: [UInt8], sender: Sender) -> ExitCode? {
        let id = event.eventID, category = event.category, options = sender.options
        sender.count(.backpressure, .default, quantity: droppedUpstream)
        // A person testing a DSN by hand (--check) is never budgeted.
        if !check, let state = sender.state,
           !Budget.allow(key: Budget.key(event), dsn: sender.dsn, count: options.budgetCount,
                         seconds: options.budgetSeconds, in: state) {
            sender.count(.backpressure, category)
            // Silent under uWSGI (one line per dropped alarm would feed the storm);
            // a person at a terminal is told why nothing arrived.
            if options.debug || System.isTerminal(2) {
                report("event \(id) dropped: over budget=\(options.budgetCount)/\(Seconds.whole(options.budgetSeconds)) for its fingerprint (budget=0 turns it off)")
            }
            return .overBudget
        }
        if let wait = sender.blocked(category) {
            sender.count(.ratelimitBackoff, category)
            System.diagnostic("event \(id) dropped: \(sender.dsn.origin) is rate-limiting \(category) events for \(Seconds.whole(wait)) more s")
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
    func deliver(_ event: Event, envelope: [UInt8], sender: Sender, host: HostFacts) -> ExitCode {
        let id = event.eventID, options = sender.options, redact = sender.redact
        let spool = options.spool.flatMap(Spool.init)
        let a = sender.attempt(envelope, category: event.category)
        if check {
            report("sending event \(id) to \(redact(a.request.url)) (DSN \(sender.dsn.masked), timeout \(options.timeout) s)")
        }
        if options.debug { debugRequest(a.request, redact) }
        let outcome = sender.settle(a, EasyHandle.perform(a.request), kept: spool != nil)
        if let r = outcome.response, options.debug || check { debugResponse(r, redact) }
        switch outcome {
        case .accepted:
            if check || (System.isTerminal(1) && host.uwsgi == nil) {
                System.write(1, sender.describe(outcome, eventID: id) + "\n")
            }
            return .accepted
        case .rateLimited:
            System.diagnostic(sender.describe(outcome, eventID: id))
            return .rateLimited
        case .rejected:
            System.diagnostic(sender.describe(outcome, eventID: id))
            return .rejected
        case .noAnswer, .localFailure:
            let what = sender.describe(outcome, eventID: id)
            if let dir = options.spool {
                if let spool, spool.write(envelope, eventID: id, category: event.category) != nil {
                    System.diagnostic("event \(id) spooled in \(dir): \(what)")
                    return .spooled
                }
                sender.count(.networkError, event.category)
                System.diagnostic("event \(id) lost: \(what), and spool \(dir) is not writable")
                return outcome.isLocal ? .internalError : .network
            }
            System.diagnostic(outcome.isLocal ? what : "event \(id) not delivered: \(what)")
            return outcome.isLocal ? .internalError : .network
        }
    }
}
