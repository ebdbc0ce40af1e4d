// argv -> which command, with which flags. The commands live in their own files:
// SendCommand.swift (one event: input -> options -> event -> envelope -> gates ->
// delivery), FlushCommand.swift (flush, daemon) and MonitorCommand.swift (monitor).
// Quiet by design: under uWSGI our output IS the log, matched by alarm regexes.
// Success prints nothing (unless on a terminal or --check); a failure is one line
// on stderr starting with "uwsgi-sentry:".

public struct CLI {
    var check = false
    var dryRun = false
    /// Set by the `sentry` loader plugin: stdin is the option string, a newline, and
    /// uWSGI's raw exception packet.
    var uwsgiException = false
    /// `daemon --channel=FD --lines=FD`: the loader plugin's two lanes, events and log
    /// lines (plugin/sentry/channel.c); a negative FD is no lane.
    var channel: Int32?
    var lines: Int32?


    public static func main(_ args: [String]) -> Int32 {
        System.resetSignals(holdingStops: args.contains { $0.hasPrefix("--channel=") })
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
            case _ where flag.hasPrefix("--channel="):
                guard let fd = Int32(flag.dropFirst(10)), fd >= 0 else { return cli.usage("bad flag '\(flag)' (see --help)").rawValue }
                cli.channel = fd
            case _ where flag.hasPrefix("--lines="):
                guard let fd = Int32(flag.dropFirst(8)) else { return cli.usage("bad flag '\(flag)' (see --help)").rawValue }
                cli.lines = fd >= 0 ? fd : nil
            default:
                System.diagnostic("unknown flag '\(flag)' (see --help)")
                return ExitCode.usage.rawValue
            }
        }
        let words = Array(args[i...])
        if words.first == "monitor" { return cli.monitor(Array(words.dropFirst())) }
        if let command = words.first, command == "flush" || command == "daemon" {
            return cli.flush(Array(words.dropFirst()), daemon: command == "daemon").rawValue
        }
        return cli.run(words: words).rawValue
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
}
