// The instance's options as the daemon reads them: its defaults (what the loader
// passes in UWSGI_SENTRY_OPTIONS), then each frame's own, parsed once per text; each
// DSN parsed once; every warning said once (a daemon must not write a line per event
// into the log it reads).

final class OptionCache {
    let defaults: String
    let say: (String) -> Void
    private var parsed: [String: Options] = [:]
    private var dsns: [String: DSN] = [:]
    private var said: Set<String> = []

    init(defaults: String, say: @escaping (String) -> Void) {
        self.defaults = defaults; self.say = say
    }

    /// The instance's threshold for Sentry Logs: every log line asks, and a copy of
    /// the options per line was a fifth of what a line cost the daemon.
    private(set) lazy var logsThreshold: LogLevel? = options("").logs

    /// The instance's defaults, then `text` (a frame's own options win).
    func options(_ text: String) -> Options {
        if let hit = parsed[text] { return hit }
        let combined = defaults.isEmpty ? text : text.isEmpty ? defaults : defaults + "," + text
        let (o, problems) = Options.parse(combined)
        for p in problems { once("warning: " + p.text) }
        if parsed.count > 256 { parsed.removeAll() }
        parsed[text] = o
        return o
    }

    /// The DSN the options name, parsed; nil (said once) when there is none or it is bad.
    func dsn(_ o: Options) -> DSN? {
        guard let text = o.dsn else { once("events dropped: no DSN (set SENTRY_DSN or sentry-dsn)"); return nil }
        if let d = dsns[text] { return d }
        do {
            let d = try DSN(parsing: text)
            if dsns.count > 64 { dsns.removeAll() }
            dsns[text] = d
            return d
        } catch {
            once("events dropped: \(error)")
            return nil
        }
    }

    /// Says `text` the first time `key` (by default the text itself) comes up.
    func once(_ text: String, key: String? = nil) {
        if said.insert(key ?? text).inserted && said.count < 1000 { say(text) }
    }
}
