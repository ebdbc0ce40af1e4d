// Every key of the option string, once: its name, the value it takes, its default and
// what it means in one line. `--help` is printed from this table, Options.parse
// accepts exactly its keys, and a test holds the README's and the man page's rows
// to it word for word. It is written as the documentation reads: `[group]`, then one
// row per key, `key | value | default | meaning` (`-`: none; a flag's value is `-`).

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
    static let text = #"""
    [event]
    dsn | URL | $SENTRY_DSN | http(s)://KEY[:SECRET]@HOST[:PORT][/PREFIX]/PROJECT; the secret is optional; IPv6 as [::1]
    message | TEXT | stdin | the message (logentry.formatted), cut at 8192 characters with a visible marker
    level | LEVEL | error, or what uWSGI's own line says | fatal, error, warning, info, debug, any case; warn, critical, err, notice... mapped
    logger | NAME | uwsgi | the logger
    platform | NAME | other | a Sentry platform (python, c, ...)
    culprit | TEXT | - | culprit (deprecated by Sentry, still shown)
    transaction | TEXT | - | transaction
    server_name | NAME | the host name | the server's name
    release | VERSION | $SENTRY_RELEASE | release
    dist | NAME | - | distribution of the release
    environment | NAME | $SENTRY_ENVIRONMENT, else production | environment
    tags | K:V;K2:V2 | - | tags (keys and values within Sentry's 200-character limits)
    extra | K:V;K2:V2 | - | extra data
    fingerprint | A;B | the message, numbers masked | grouping fingerprint ({{ default }} allowed)
    user | id:42;email:E | - | user: id, username, email, ip_address, name; other keys go to user.data
    exception_type | T | - | an exception of this type (mechanism uwsgi, unhandled)
    exception_value | V | - | the exception's value
    locals | - | true | keep the local variables of exception frames (scrubbed); false drops them
    own_sdk | skip|report | skip | an exception of an app that runs its own Sentry SDK: left to it (skip), or reported here too
    logs | LEVEL | off | under the loader (sentry-logs sets it): uWSGI's log lines and requests at LEVEL or above as Sentry Logs
    send_default_pii | - | false | also send what identifies a person: the client's address in request log records
    traces | RATE | off | under the loader (sentry-traces sets it): the sample rate of what the daemon samples (requests harakiri cut or a worker died in, spooler tasks)
    traces_route | RULE | - | under the loader (sentry-traces-route sets it): "REGEX NAME", a transaction whose path matches REGEX is named NAME (repeatable)
    [delivery]
    timeout | SECONDS | 5 | bounds connect and the whole transfer; fractions allowed
    no_verify | - | false | do not verify the server's TLS certificate
    ca_file | PATH | - | also trust the CA certificates in PATH (the system CAs stay trusted)
    debug | - | false | print the request and the answer on stderr, key and secret masked
    spool | DIR | $UWSGI_SENTRY_SPOOL, else under uWSGI the instance's private spool | where what gets no HTTP answer waits
    mode | send|spool | $UWSGI_SENTRY_MODE, else send | spool: hand the event to the daemon (its socket, else a frame file in the spool) and exit
    budget | N/SECONDS | 10/60 | storm control: at most N events per fingerprint per SECONDS; 0 = none
    state_dir | DIR | $UWSGI_SENTRY_STATE, else SPOOL/state, else /tmp/uwsgi-sentry-UID | rate limits, budgets and counts of dropped events
    spool_max | N | 10000 | flush and daemon keep at most N envelopes, dropping the oldest
    spool_max_age | SECONDS | 604800 | flush and daemon drop envelopes older than this
    breadcrumbs | N | 30 | log lines before an event as breadcrumbs, at most 100
    log_file | PATH | - | without the loader, read those lines from the end of PATH (repeatable: the first that reads)
    stats | ADDR | - | uWSGI's stats server (HOST:PORT, a socket path, @abstract): without the loader, what each worker was busy with when the listen queue filled
    concurrency | N | 8 | transfers at once for daemon and flush, at most 64
    [monitor]
    schedule | CRONTAB | - | "0 3 * * *" (escape commas: 0\,30 * * * *), @daily..., or "10 minute"
    checkin_margin | MIN | - | minutes late before a check-in counts as missed
    max_runtime | MIN | - | minutes a run may take before it counts as failed
    timezone | TZ | - | the schedule's time zone (Europe/Paris)
    failure_issue_threshold | N | - | failed runs in a row before an issue opens
    recovery_threshold | N | - | ok runs in a row before the issue resolves
    output_lines | N | 0 | the job's last N lines of output ride on a failed run's event
    """#

    /// Parsed over the text's bytes: every option string's parse asks `isKey`, and the
    /// same parse with String.Index steps cost 2 M instructions at each start.
    public static let all: [OptionSpec] = {
        var out: [OptionSpec] = []
        var group = OptionSpec.Group.event
        let bytes = Array(text.utf8)
        func str(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 10 { end += 1 }
            var i = start
            while i < end && bytes[i] == 32 { i += 1 }  // the literal's indentation
            defer { start = end + 1 }
            guard i < end else { continue }
            if bytes[i] == 91, bytes[end - 1] == 93, let g = OptionSpec.Group(rawValue: str((i + 1)..<(end - 1))) { group = g; continue }
            var f: [String] = []
            var from = i
            var j = i
            while f.count < 3 && j + 3 <= end {  // the meaning (last) may hold anything
                if bytes[j] == 32 && bytes[j + 1] == 124 && bytes[j + 2] == 32 { f.append(str(from..<j)); j += 3; from = j } else { j += 1 }
            }
            f.append(str(from..<end))
            guard f.count == 4 else { continue }
            out.append(OptionSpec(key: f[0], value: f[1] == "-" ? nil : f[1], byDefault: f[2] == "-" ? "" : f[2],
                                  meaning: f[3], group: group))
        }
        return out
    }()

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
