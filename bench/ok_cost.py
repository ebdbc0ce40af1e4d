"""`make bench`: what an ordinary request costs with the one line, request logging on
(issue 25's row: p50 of `/` with the one line vs the same uWSGI without the plugin).

The one line turns uWSGI's `log-master` on (every log line goes through the master,
which hands it to the daemon's ring of breadcrumbs), so the same uWSGI with only
`log-master = true` is measured too: what log-master costs uWSGI itself, and what the
plugin adds to it. Side by side, 2 workers each, the same app, request logging on
(a line per request), a sink answering at once: REQUESTS requests to `/` per instance
per run, one at a time on a new connection, the instances in interleaved batches.
"""
import os
import shutil
import sys

from faultserver import FaultServer
from measure import RUNS, heading, release_under_test, spread, start_warm, verdicts, version_of, interleaved
from support import ROOT, clean_env, percentile
from uwsgi_harness import UWSGI, plugin_dir

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "10000"))
BATCH = 500
BASE, MASTER, OURS = "without uwsgi-sentry", "log-master alone", "the one line (plugin = sentry, SENTRY_DSN)"


def one_run(run, work, prefix):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    sink = FaultServer(status=200)
    d = lambda n: os.path.join(work, "run%d-%d" % (run, n))
    instances = {
        BASE: UWSGI(d(0), [], env, request_logging=True),
        MASTER: UWSGI(d(1), ["log-master = true"], env, request_logging=True),
        OURS: UWSGI(d(2), ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry"], dict(env, SENTRY_DSN=sink.dsn()),
                    request_logging=True),
    }
    try:
        start_warm(instances, "/", 200)
        lat = interleaved(instances, "/", REQUESTS // BATCH, BATCH)
    finally:
        for u in instances.values():
            u.stop()
        sink.close()
    return {n: percentile(v, 50) for n, v in lat.items()}, {n: percentile(v, 99) for n, v in lat.items()}


def main():
    work = os.path.join(ROOT, ".work", "bench-ok")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    runs = [one_run(run, work, prefix) for run in range(RUNS)]
    heading("%s: %d requests to / per instance per run (interleaved batches of %d), request logging on, 2 workers each." % (
        version_of(prefix), REQUESTS, BATCH))
    print("| an ordinary request, logged | p50 | p99 | p50 vs without uwsgi-sentry | p50 vs log-master alone |")
    print("|---|---|---|---|---|")
    ratio = {}
    for name in (BASE, MASTER, OURS):
        ratio[name] = [p50[name] / p50[BASE] for p50, _ in runs]
        over_master = [p50[name] / p50[MASTER] for p50, _ in runs]
        print("| %s | %s | %s | %s | %s |" % (name, spread([p50[name] * 1e3 for p50, _ in runs], "%.3f", " ms"),
                                             spread([p99[name] * 1e3 for _, p99 in runs], "%.3f", " ms"),
                                             "-" if name == BASE else spread(ratio[name], "%.3f", "x"),
                                             spread(over_master, "%.3f", "x") if name == OURS else "-"))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([("the one line: / p50 <= 1.03x without uwsgi-sentry (median %.3fx)" % med(ratio[OURS]), med(ratio[OURS]) <= 1.03)])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
