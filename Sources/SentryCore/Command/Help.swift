// `--help`. Kept in step with man/uwsgi-sentry.1 and README.md (tests check that
// every option key and exit code appears in all three).
public enum Help {
    public static let text = """
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
      dsn=URL              Sentry DSN, http(s)://KEY[:SECRET]@HOST[:PORT][/PREFIX]/PROJECT
                           (default: $SENTRY_DSN)
      message=TEXT         the message; otherwise read from stdin (at most 1 MiB)
      level=LEVEL          fatal, error, warning, info, debug (warn, critical accepted)
      logger=NAME          logger name
      platform=NAME        Sentry platform (default: other)
      culprit=TEXT         culprit (deprecated by Sentry; see transaction)
      transaction=TEXT     transaction name
      server_name=NAME     host name (default: this machine's host name)
      release=VERSION      release (default: $SENTRY_RELEASE)
      dist=NAME            distribution of the release
      environment=NAME     environment (default: $SENTRY_ENVIRONMENT)
      tags=K:V;K2:V2       tags
      extra=K:V;K2:V2      extra data
      fingerprint=A;B      grouping fingerprint
      user=id:42;email:E   user (id, username, email, ip_address, name; others go to data)
      exception_type=T     exception type
      exception_value=V    exception value
      timeout=SECONDS      bound on connect and the whole transfer (default: 5)
      no_verify[=BOOL]     do not verify the server's TLS certificate
      ca_file=PATH         also trust the CA certificates in PATH
      debug[=BOOL]         print the request and response on stderr (key masked)
      spool=DIR            keep events that get no HTTP answer in DIR (default: $UWSGI_SENTRY_SPOOL)
      mode=send|spool      spool: only write the envelope into the spool, for the daemon
                           (default: $UWSGI_SENTRY_MODE, else send)
      budget=N/SECONDS     at most N events per fingerprint per SECONDS, 0 = no limit (default: 10/60)
      state_dir=DIR        rate limits, budgets, client reports (default: $UWSGI_SENTRY_STATE,
                           else the spool, else /tmp/uwsgi-sentry-UID)
      spool_max=N          flush keeps at most N envelopes, dropping the oldest (default: 10000)
      spool_max_age=SECS   flush drops envelopes older than this (default: 604800, 7 days)
      breadcrumbs=N        how many log lines before an event become breadcrumbs (default: 30, at most 100)
      log_file=PATH        read those lines from the end of PATH (repeatable: the first that reads)
      stats=ADDR           uWSGI's stats server (HOST:PORT, a socket path, @abstract): a full listen
                           queue then lists what the workers were busy with (cmd: alarms)
      concurrency=N        the daemon's and flush's transfers at once (default: 8, at most 64)

    Monitor options (with `monitor`; the job always runs, our exit status is its):
      schedule=CRONTAB     "0 3 * * *" (escape commas: 0\\,30 * * * *), @daily..., or "10 minute"
      checkin_margin=MIN   minutes late before the check-in counts as missed
      max_runtime=MIN      minutes a run may take before it counts as failed
      timezone=TZ          the schedule's time zone (e.g. Europe/Paris)
      failure_issue_threshold=N, recovery_threshold=N
                           failed / ok runs in a row before an issue opens / resolves
      output_lines=N       the job's last N lines of output ride on a failed check-in's event

    Flags:
      --check              test a DSN by hand: every problem is fatal, report in full
      -n, --dry-run        print the envelope on stdout, send nothing
      --uwsgi-exception    stdin: the option string, then a uWSGI exception packet (tests, by hand)
      --dropped=N          N events dropped upstream, counted for a client report
      --channel=FD         (daemon, started by the sentry uWSGI plugin) read its frames on FD
      -h, --help           this text
      -V, --version        the version

    Exit codes:
      0  accepted by the server (HTTP 2xx), or --dry-run/--help/--version
      1  internal error (libcurl could not be loaded)
      2  usage error: bad flag, option string or DSN, nothing to send (or any problem under --check)
      3  network failure: no HTTP answer (refused, DNS, timeout, TLS, reset)
      4  rejected: HTTP answer other than 2xx and 429
      5  rate-limited: HTTP 429, or a rate limit Sentry set earlier is still running
      6  spooled: no HTTP answer, the event is kept in the spool
      7  over budget: storm control dropped the event (nothing printed)

    Proxies: libcurl's http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY.
    On success nothing is printed (unless on a terminal or with --check);
    a failure is one line on stderr starting with "uwsgi-sentry:".

    """
}
