// One event: the option string and message (argv or stdin) or uWSGI's exception
// packet -> options -> (a hand-off to the daemon, or) event -> envelope -> the gates
// that stop it before the network (budget, remembered rate limits) -> delivery.
import CurlHTTP

extension CLI {
    /// What the caller handed over, before any parsing of options.
    struct Handed {
        var optionText: String
        var stdinMessage: String?
        var packet: ExceptionPacket?
        /// The packet as it came, for a hand-off (the daemon decodes it again).
        var packetBytes: [UInt8] = []
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
        // Without the loader (mode=spool): the daemon makes the event, from what we hand it.
        if options.handOff && !dryRun {
            say(problems)
            if check && !problems.isEmpty { return .usage }
            if let handed = handOff(handed, message: message, options: options) { return handed }
            // The spool would not take it (a full disk): sent from here instead, as the daemon would.
        }

        // The event and its envelope.
        let host = HostFacts.current()
        var (event, eventProblems) = Event.build(options: options, message: message, host: host, packet: handed.packet)
        problems += eventProblems
        if handed.packet != nil { SourceContext().fill(&event); InstalledModules().fill(&event) }
        if let line = message, handed.packet == nil, options.exceptionType == nil, options.exceptionValue == nil {
            explain(line, options: options, host: host, event: &event)
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

    /// What a line of uWSGI's says, added to its event when it is sent from here (by
    /// hand, or a `cmd:` alarm that sends itself): a harakiri's request line makes a
    /// Harakiri event of its own; a full listen queue asks uWSGI's stats server
    /// (`stats=`) what the workers were busy with; the tail of the log file (`log_file=`)
    /// gives the breadcrumbs. The whole harakiri story (its worker, its death) is the
    /// daemon's, which a hand-off (mode=spool) reaches.
    func explain(_ line: String, options: Options, host: HostFacts, event: inout Event) {
        let now = StateDirectory.now()
        switch UWSGILine.parse(line) {
        case .harakiriCore?:
            var story = HarakiriStory(wid: nil, pid: nil, attempt: 1, at: now)
            _ = story.absorb(line)
            (event, _) = story.event(options: options, host: host, crumbs: [], eventID: event.eventID)
        case .listenQueueFull? where options.statsServer != nil:
            let asked = StatsServer.busyCores(for: options)
            if let why = asked.problem { event.extra.append(Field("uwsgi_stats", "no list of busy workers: \(why)")) }
            Troubles.explain(&event, line: line, cores: asked.cores, now: now)
        default:
            Troubles.explain(&event, line: line, cores: nil, now: now)
        }
        for file in options.logFiles {
            let lines = Breadcrumbs.tail(of: file, lines: options.breadcrumbs)
            if lines.isEmpty { continue }
            event.breadcrumbs = Breadcrumbs.make(lines, count: options.breadcrumbs, trigger: line)
            break
        }
    }

    /// mode=spool: what we were given goes to the daemon as a frame, as the loader
    /// would have written it: to the running daemon's socket, or (none answers) as a
    /// file in the spool; on a full listen queue, with what uWSGI's
    /// stats server said of the workers (the loader reads that in the master). nil:
    /// the spool would not take the frame (said in one line); the caller sends it itself.
    func handOff(_ handed: Handed, message: String?, options: Options) -> ExitCode? {
        guard let spool = options.spool.flatMap(Spool.init) else {
            return usage("mode=spool needs spool=DIR (or UWSGI_SENTRY_SPOOL): a directory of ours, private")
        }
        var fields: [(String, [UInt8])] = [("kind", Array((handed.packet != nil ? "exception" : "alarm").utf8)),
                                           ("options", Array(HandOffOptions.resolved(handed.optionText, options).utf8)),
                                           ("now_us", Array(String(System.nowMicros()).utf8)),
                                           ("from", Array("cmd".utf8)), ("id", Array(System.randomEventID().utf8))]
        if handed.packet != nil { fields.append(("body", handed.packetBytes)) }
        else if let line = handed.stdinMessage ?? (options.message == nil ? message : nil) { fields.append(("body", Array(line.utf8))) }
        fields.append(("cores_seen", [48]))
        if let line = message, case .listenQueueFull? = UWSGILine.parse(line), options.statsServer != nil {
            let asked = StatsServer.busyCores(for: options)
            if let cores = asked.cores {
                fields.removeLast()
                fields += cores.map { ("core", LoaderFrame.encode(core: $0)) }
            } else if let why = asked.problem {
                fields.append(("stats_error", Array(why.utf8)))
            }
        }
        let frame = LoaderFrame.encode(fields)
        if HandOffSocket.handOff(frame, spool: spool) { return .accepted }
        if case .failure(let why) = spool.handOff(frame) {
            System.diagnostic("not handed to the daemon: cannot write to \(spool.path) (\(why)); sending it from here")
            return nil
        }
        return .accepted
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
            handed.packetBytes = Array(body)
            do {
                handed.packet = try ExceptionPacket.decode(body)
            } catch {
                // Still an exception in uWSGI: report it rather than lose it.
                handed.problems.append(.init(text: "undecodable exception packet (\(error)); sending what is known"))
                handed.packet = ExceptionPacket.undecodable(error)
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

    /// Before any network: the storm budget, remembered rate limits. Returns the exit
    /// code when the event stops here.
    func gate(_ event: Event, envelope: [UInt8], sender: Sender) -> ExitCode? {
        let id = event.eventID, category = event.category, options = sender.options
        // A person testing a DSN by hand (--check) is never budgeted.
        if !check, let state = sender.ledger.state,
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
