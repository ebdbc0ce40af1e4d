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
            ClientReport.record(.backpressure, category: .default, quantity: droppedUpstream, dsn: dsn, in: state)
        }
        if let state, !Budget.allow(key: Budget.key(event), dsn: dsn, count: options.budgetCount,
                                    seconds: options.budgetSeconds, in: state) {
            ClientReport.record(.backpressure, category: category, dsn: dsn, in: state)
            if options.debug || check { report("event \(id) dropped: over budget=\(options.budgetCount)/\(Int(options.budgetSeconds)) for its fingerprint") }
            return .overBudget
        }
        if let state, let wait = RateLimits.blocked(category, dsn: dsn, in: state) {
            ClientReport.record(.ratelimitBackoff, category: category, dsn: dsn, in: state)
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
            if let state { ClientReport.record(.ratelimitBackoff, category: category, dsn: dsn, in: state) }
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
            if let state { ClientReport.record(.networkError, category: category, dsn: dsn, in: state) }
            System.diagnostic("event \(id) not delivered: no answer from \(dsn.origin): \(redact(text))")
            return .network
        case .libraryMissing:
            System.diagnostic("event \(id) not delivered: cannot load libcurl.so.4 (install libcurl4)")
            return .internalError
        }
    }
}
