// Sentry's default data scrubbing (Scrubber.swift's rules) as ONE stage of the
// pipeline: the builders and parsers keep what they were given, and the finished
// event is scrubbed here, once, when it becomes JSON (Event.json() writes only what
// this returns). Every path goes through it: the daemon's events, a one-shot
// sender's, a cron job's error event, a harakiri's story. What it covers is what
// Relay's default rules cover in the fields we fill: the message and exception
// values (a message's rules), and, as data fields, extra, user, the request's query,
// headers (the User-Agent stays whole, as Sentry leaves it) and variables, the
// breadcrumbs, our contexts (not `trace`: ids are not data), and frames' variables.

extension Event {
    /// The event as it may leave the host.
    public func scrubbed() -> Event {
        var e = self
        e.message = message.map { Event.truncate(Scrubber.message($0), to: Event.messageLimit) }
        e.exception = exception.map { x in
            var x = x
            x.value = x.value.map { Event.truncate(Scrubber.message($0), to: Event.messageLimit) }
            return x
        }
        e.extra = extra.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        e.user = user.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
        if var r = request {
            r.queryString = r.queryString.map(Scrubber.query)
            r.headers = r.headers.map { $0.name == "User-Agent" ? $0 : Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
            r.env = r.env.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) }
            e.request = r
        }
        e.breadcrumbs = breadcrumbs.map { b in
            var b = b
            b.message = Scrubber.field(name: nil, b.message)
            return b
        }
        e.contexts = contexts.map { c in
            c.name == "trace" ? c : NamedContext(name: c.name, fields: c.fields.map { Field($0.name, Scrubber.field(name: $0.name, $0.value)) })
        }
        return e
    }
}
