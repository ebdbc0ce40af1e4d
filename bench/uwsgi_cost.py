"""`make bench`: what one event costs the request that raises it, and what one log
line costs the host.

Three uWSGI instances of one app side by side, 2 workers each: without
uwsgi-sentry; `plugin = sentry` with `exception-handler = sentry:dsn=...`; and
`plugin = sentry` with the `sentry:` route action on the same failing endpoint. Sentry answers every request after 0.3 s. Requests go
one at a time to the failing endpoint, the instances in interleaved batches, and
the added p50 is the difference to the instance without uwsgi-sentry.

Then the breadcrumbs: 20,000 ordinary log lines (not matching any alarm) go through
the instance without uwsgi-sentry and through one with `plugin = sentry` and
SENTRY_DSN (the one-line set-up: every log line goes to the daemon's ring), and the
CPU time uWSGI's master and the daemon spent on them, per line, is read from /proc.
Each run starts fresh instances; figures are medians of the runs, min to max.
"""
import os
import shutil
import subprocess
import sys
import time

from faultserver import FaultServer
from measure import RUNS, burst, cpu_seconds, get, machine, release_under_test, spread, verdicts
from support import ROOT, clean_env, percentile
from uwsgi_harness import UWSGI, plugin_dir

BATCHES = int(os.environ.get("BENCH_BATCHES", "5"))
PER_BATCH = int(os.environ.get("BENCH_PER_BATCH", "200"))
LOG_LINES = 20_000


def one_run(run, work, prefix, sink):
    # The DSN in the handler's and the route's own options, not in the environment:
    # each instance reports through exactly one path, and the same lines work on 0.1.0.
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    loader = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry"]
    configs = {
        "without uwsgi-sentry": [],
        "exception handler": loader + ["exception-handler = sentry:dsn=" + sink.dsn()],
        "sentry: route action": loader + ["route = ^/value sentry:dsn=%s,message=route ${REQUEST_URI}" % sink.dsn()],
    }
    instances = {name: UWSGI(os.path.join(work, "run%d-%d" % (run, i)), lines, env)
                 for i, (name, lines) in enumerate(configs.items())}
    try:
        for u in instances.values():
            u.start()
        time.sleep(1)
        for u in instances.values():
            for _ in range(50):
                get(u.port, "/value?warmup")
        lat = {name: [] for name in instances}
        n = 0
        for _ in range(BATCHES):
            for name, u in instances.items():
                for _ in range(PER_BATCH):
                    n += 1
                    lat[name].append(get(u.port, "/value?bench-%d" % n))
        p50 = {name: percentile(v, 50) for name, v in lat.items()}
        p99 = {name: percentile(v, 99) for name, v in lat.items()}

        # Breadcrumbs: every line goes from the master to the daemon's ring.
        crumbs = UWSGI(os.path.join(work, "run%d-crumbs" % run), loader, dict(env, SENTRY_DSN=sink.dsn()))
        instances["one line"] = crumbs.start()
        time.sleep(1)
        per_line = {}
        for name in ("without uwsgi-sentry", "one line"):
            u = instances[name]
            time.sleep(1)
            before = {pid: cpu_seconds(pid) for pid in u.pids() if pid != u.proc.pid}
            before_master = cpu_seconds(u.proc.pid)
            burst(u.port, ["/storm?%d" % (LOG_LINES // 200)] * 200, 100)
            time.sleep(1)
            master = cpu_seconds(u.proc.pid) - before_master
            others = sum(cpu_seconds(pid) - before[pid] for pid in u.pids() if pid in before and pid != u.proc.pid
                         and not is_worker(pid))
            per_line[name] = (master + others) / LOG_LINES
    finally:
        for u in instances.values():
            u.stop()
    return p50, p99, per_line


def is_worker(pid):
    """uWSGI's workers run the app; the daemon is `uwsgi-sentry`."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return not f.read().split(b"\0")[0].endswith(b"uwsgi-sentry")


def main():
    work = os.path.join(ROOT, ".work", "bench-uwsgi")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    sink = FaultServer(status=200, delay=0.3)
    runs = []
    try:
        for run in range(RUNS):
            runs.append(one_run(run, work, prefix, sink))
    finally:
        sink.close()
    names = list(runs[0][0])
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    base = "without uwsgi-sentry"
    print("%s: %d requests each to a failing endpoint per run (%d interleaved batches); Sentry answers after 0.3 s." % (
        version, BATCHES * PER_BATCH, BATCHES))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    print("| uWSGI | p50 | p99 | added p50 |")
    print("|---|---|---|---|")
    added = {}
    for name in names:
        added[name] = [(p50[name] - p50[base]) * 1e3 for p50, _, _ in runs]
        print("| %s | %s | %s | %s |" % (name, spread([r[0][name] * 1e3 for r in runs], unit=" ms"),
                                          spread([r[1][name] * 1e3 for r in runs], unit=" ms"),
                                          "-" if name == base else spread(added[name], "%+.3f", " ms")))
    print()
    print("| %d log lines | CPU per line: uWSGI's master + the daemon |" % LOG_LINES)
    print("|---|---|")
    crumbs = {}
    for name in ("without uwsgi-sentry", "one line"):
        crumbs[name] = [r[2][name] * 1e6 for r in runs]
        print("| %s | %s |" % ("plugin = sentry (breadcrumbs on)" if name != base else name, spread(crumbs[name], "%.1f", " us")))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([("%s adds <= 0.2 ms at p50 (median %+.3f ms)" % (name, med(added[name])), med(added[name]) <= 0.2)
                   for name in names if name != base])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
