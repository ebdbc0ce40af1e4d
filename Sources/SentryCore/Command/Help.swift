// `--help`: the usage, the option rows printed from OptionTable, the flags and the
// exit codes (tests hold README.md and man/uwsgi-sentry.1 to the same rows).
public enum Help {
    public static var text: String { """
    usage: uwsgi-sentry [--check] [--dry-run] OPTION-STRING...
           uwsgi-sentry [--check] [--dry-run] < FILE   (first line: option string; rest: message)
           uwsgi-sentry flush [DIR] [OPTION-STRING]     deliver what is spooled, oldest first
           uwsgi-sentry daemon [DIR] [OPTION-STRING]    the same, watching DIR until stopped, several at once
           uwsgi-sentry monitor SLUG [OPTION-STRING] -- COMMAND [ARGS...]
                                                        run a cron job under Sentry Crons (check-ins)
           uwsgi-sentry --help | --version

    Sends one event to Sentry, built from the old uwsgi-sentry plugin's option string:
      key=value,key=value,...   (a backslash escapes the next character; words after
                                 the flags are joined with single spaces)

    Options:
    \(OptionTable.helpRows(.event))\
    \(OptionTable.helpRows(.delivery))
    Monitor options (with `monitor`; the job always runs, our exit status is its):
    \(OptionTable.helpRows(.monitor))
    Flags:
      --check              test a DSN by hand: every problem is fatal, report in full
      -n, --dry-run        print the envelope on stdout, send nothing
      --uwsgi-exception    a testing aid: stdin is the option string, then a uWSGI exception packet
      --channel=FD, --lines=FD
                           (daemon, started by the sentry uWSGI plugin) its events and log lines
      -h, --help           this text
      -V, --version        the version

    Exit codes:
      0  accepted by the server (HTTP 2xx), or --dry-run/--help/--version
      1  internal error: libcurl could not be loaded or refused an option, or the spool cannot be written
      2  usage error: bad flag, option string or DSN, nothing to send (or any problem under --check)
      3  network failure: no HTTP answer (refused, DNS, timeout, TLS, reset)
      4  rejected: HTTP answer other than 2xx and 429
      5  rate-limited: HTTP 429, or a rate limit Sentry set earlier is still running
         (flush: what the limit covers stays in the spool)
      6  spooled: no HTTP answer, the event is kept in the spool
      7  over budget: storm control dropped the event (one line on a terminal, nothing under uWSGI)

    Proxies: libcurl's http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY.
    On success nothing is printed (unless on a terminal or with --check);
    a failure is one line on stderr starting with "uwsgi-sentry:".

    """ }
}
