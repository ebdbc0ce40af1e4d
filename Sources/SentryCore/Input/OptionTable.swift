// Every key of the option string, once: its name, the value it takes, its default and
// what it means in one line. `--help` is printed from this table, Options.parse
// accepts exactly its keys, and a test holds the README's and the man page's rows
// to it word for word.

public struct OptionSpec {
    public enum Group: String { case event, delivery, monitor }
    public let key: String
    /// What the value looks like in `--help` ("URL", "K:V;K2:V2"); nil for a flag,
    /// which may be bare or `=BOOL`.
    public let value: String?
    /// The default as the documentation says it; "" when there is none.
    public let byDefault: String
    public let meaning: String
    public let group: Group

    /// `dsn=URL`, `no_verify[=BOOL]`.
    public var usage: String { value.map { key + "=" + $0 } ?? key + "[=BOOL]" }
}

public enum OptionTable {
    public static let all: [OptionSpec] = [
        .init(key: "dsn", value: "URL", byDefault: "$SENTRY_DSN",
              meaning: "http(s)://KEY[:SECRET]@HOST[:PORT][/PREFIX]/PROJECT; the secret is optional; IPv6 as [::1]", group: .event),
        .init(key: "message", value: "TEXT", byDefault: "stdin",
              meaning: "the message (logentry.formatted), cut at 8192 characters with a visible marker", group: .event),
        .init(key: "level", value: "LEVEL", byDefault: "error, or what uWSGI's own line says",
              meaning: "fatal, error, warning, info, debug, any case; warn, critical, err, notice... mapped", group: .event),
        .init(key: "logger", value: "NAME", byDefault: "uwsgi", meaning: "the logger", group: .event),
        .init(key: "platform", value: "NAME", byDefault: "other", meaning: "a Sentry platform (python, c, ...)", group: .event),
        .init(key: "culprit", value: "TEXT", byDefault: "", meaning: "culprit (deprecated by Sentry, still shown)", group: .event),
        .init(key: "transaction", value: "TEXT", byDefault: "", meaning: "transaction", group: .event),
        .init(key: "server_name", value: "NAME", byDefault: "the host name", meaning: "the server's name", group: .event),
        .init(key: "release", value: "VERSION", byDefault: "$SENTRY_RELEASE", meaning: "release", group: .event),
        .init(key: "dist", value: "NAME", byDefault: "", meaning: "distribution of the release", group: .event),
        .init(key: "environment", value: "NAME", byDefault: "$SENTRY_ENVIRONMENT", meaning: "environment", group: .event),
        .init(key: "tags", value: "K:V;K2:V2", byDefault: "",
              meaning: "tags (keys and values within Sentry's 200-character limits)", group: .event),
        .init(key: "extra", value: "K:V;K2:V2", byDefault: "", meaning: "extra data", group: .event),
        .init(key: "fingerprint", value: "A;B", byDefault: "the message, numbers masked",
              meaning: "grouping fingerprint ({{ default }} allowed)", group: .event),
        .init(key: "user", value: "id:42;email:E", byDefault: "",
              meaning: "user: id, username, email, ip_address, name; other keys go to user.data", group: .event),
        .init(key: "exception_type", value: "T", byDefault: "",
              meaning: "an exception of this type (mechanism uwsgi, unhandled)", group: .event),
        .init(key: "exception_value", value: "V", byDefault: "", meaning: "the exception's value", group: .event),
        .init(key: "timeout", value: "SECONDS", byDefault: "5",
              meaning: "bounds connect and the whole transfer; fractions allowed", group: .delivery),
        .init(key: "no_verify", value: nil, byDefault: "false", meaning: "do not verify the server's TLS certificate", group: .delivery),
        .init(key: "ca_file", value: "PATH", byDefault: "",
              meaning: "also trust the CA certificates in PATH (the system CAs stay trusted)", group: .delivery),
        .init(key: "debug", value: nil, byDefault: "false",
              meaning: "print the request and the answer on stderr, key and secret masked", group: .delivery),
        .init(key: "spool", value: "DIR", byDefault: "$UWSGI_SENTRY_SPOOL, else under uWSGI the instance's private spool",
              meaning: "where what gets no HTTP answer waits", group: .delivery),
        .init(key: "mode", value: "send|spool", byDefault: "$UWSGI_SENTRY_MODE, else send",
              meaning: "spool: hand the event to the daemon through the spool and exit", group: .delivery),
        .init(key: "budget", value: "N/SECONDS", byDefault: "10/60",
              meaning: "storm control: at most N events per fingerprint per SECONDS; 0 = none", group: .delivery),
        .init(key: "state_dir", value: "DIR", byDefault: "$UWSGI_SENTRY_STATE, else SPOOL/state, else /tmp/uwsgi-sentry-UID",
              meaning: "rate limits, budgets and counts of dropped events", group: .delivery),
        .init(key: "spool_max", value: "N", byDefault: "10000",
              meaning: "flush and daemon keep at most N envelopes, dropping the oldest", group: .delivery),
        .init(key: "spool_max_age", value: "SECONDS", byDefault: "604800",
              meaning: "flush and daemon drop envelopes older than this", group: .delivery),
        .init(key: "breadcrumbs", value: "N", byDefault: "30", meaning: "log lines before an event as breadcrumbs, at most 100",
              group: .delivery),
        .init(key: "log_file", value: "PATH", byDefault: "",
              meaning: "without the loader, read those lines from the end of PATH (repeatable: the first that reads)", group: .delivery),
        .init(key: "stats", value: "ADDR", byDefault: "",
              meaning: "uWSGI's stats server (HOST:PORT, a socket path, @abstract): without the loader, "
                  + "what each worker was busy with when the listen queue filled", group: .delivery),
        .init(key: "concurrency", value: "N", byDefault: "8", meaning: "transfers at once for daemon and flush, at most 64",
              group: .delivery),
        .init(key: "schedule", value: "CRONTAB", byDefault: "",
              meaning: "\"0 3 * * *\" (escape commas: 0\\,30 * * * *), @daily..., or \"10 minute\"", group: .monitor),
        .init(key: "checkin_margin", value: "MIN", byDefault: "", meaning: "minutes late before a check-in counts as missed",
              group: .monitor),
        .init(key: "max_runtime", value: "MIN", byDefault: "", meaning: "minutes a run may take before it counts as failed",
              group: .monitor),
        .init(key: "timezone", value: "TZ", byDefault: "", meaning: "the schedule's time zone (Europe/Paris)", group: .monitor),
        .init(key: "failure_issue_threshold", value: "N", byDefault: "",
              meaning: "failed runs in a row before an issue opens", group: .monitor),
        .init(key: "recovery_threshold", value: "N", byDefault: "", meaning: "ok runs in a row before the issue resolves",
              group: .monitor),
        .init(key: "output_lines", value: "N", byDefault: "0",
              meaning: "the job's last N lines of output ride on a failed run's event", group: .monitor),
    ]

    /// Whether `key` is an option at all.
    static func isKey(_ key: String) -> Bool { all.contains { $0.key == key } }

    /// The `--help` rows of one group: `  key=VALUE    meaning (default: D)`.
    public static func helpRows(_ group: OptionSpec.Group) -> String {
        var out = ""
        for o in all where o.group == group {
            let usage = o.usage
            let text = o.meaning + (o.byDefault.isEmpty ? "" : " (default: \(o.byDefault))")
            if usage.utf8.count < 23 {
                out += "  " + usage + String(repeating: " ", count: 23 - usage.utf8.count) + text + "\n"
            } else {
                out += "  " + usage + "\n" + String(repeating: " ", count: 25) + text + "\n"
            }
        }
        return out
    }
}
