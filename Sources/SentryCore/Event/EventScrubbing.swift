// Sentry's default data scrubbing (Scrubber.swift's rules) as ONE stage of the
// pipeline: the builders and parsers keep what they were given, and the finished
// event is scrubbed here, once, when it becomes JSON (Event.json() writes only what
// this returns). Every path goes through it: the daemon's events, a one-shot
// sender's, a cron job's error event, a harakiri's story. What it covers is what
// Relay's default rules cover in the fields we fill: the message and exception
// values (a message's rules), and, as data fields, extra, user, the request's query,
// headers (the User-Agent stays whole, as Sentry leaves it) and variables, the
// breadcrumbs, our contexts (not `trace`: ids are not data), and frames' variables
// (by name and by value, all the way down).

extension Event {
    /// The event as it may leave the host.
    public func scrubbed() -> Event {
        var e = self
        e.message = message.map { Event.truncate(Scrubber.message($0), to: Event.messageLimit) }
        e.exception = exception.map(Event.scrubbed)
        e.chained = chained.map(Event.scrubbed)
        e.extra = extra.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        e.user = user.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        e.argv = argv.map { Scrubber.field(name: nil, $0) }
        e.request = request?.scrubbed()
        e.breadcrumbs = breadcrumbs.map { b in
            if b.written != nil { return b }  // made scrubbed (the daemon's ring)
            var b = b
            b.message = Scrubber.field(name: nil, b.message)
            return b
        }
        e.contexts = contexts.map { c in
            c.name == "trace" ? c : NamedContext(name: c.name, fields: c.fields.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) })
        }
        return e
    }

    /// An exception's value as a message is scrubbed; its frames' locals as data.
    static func scrubbed(_ x: ExceptionInfo) -> ExceptionInfo {
        var x = x
        x.value = x.value.map { Event.truncate(Scrubber.message($0), to: Event.messageLimit) }
        x.frames = x.frames.map { f in
            var f = f
            f.vars = f.vars.map { scrubbed($0, name: nil) }
            return f
        }
        return x
    }

    static let scrubbing = JSONReader.Rewrite(string: { s in
        let t = Scrubber.field(name: nil, s)
        return t == s ? nil : t
    }, filters: { Scrubber.keyIsSecret(bytes: $0) }, filtered: Scrubber.filtered,
       keeps: { $0.isEmpty || Scrubber.cannotMatch(bytes: $0, asField: true) })

    /// A local (or what it holds): a credential-like name filters its whole value; a
    /// string is a data field; containers are scrubbed all the way down.
    static func scrubbed(_ v: JSONValue, name: String?) -> JSONValue {
        if let name, Scrubber.keyIsSecret(name) { return .string(Scrubber.filtered) }
        switch v {
        case .string(let s): return .string(Scrubber.field(name: nil, s))
        case .array(let items): return .array(items.map { scrubbed($0, name: nil) })
        case .object(let members): return .object(members.map { ($0.0, scrubbed($0.1, name: $0.0)) })
        case .raw(let text), .unchecked(let text):
            // The same rules over the text, in one pass that also reads it as JSON (what
            // came as locals was only passed over); text that is not JSON leaves nothing
            // of itself.
            return (try? JSONReader.canonical(text, rewrite: scrubbing)).map(JSONValue.raw) ?? .string(Scrubber.filtered)
        default: return v
        }
    }
}
