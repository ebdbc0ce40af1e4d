"""`make bench`: what an exception costs the request that raises it, beside
sentry-python; what 1,000 distinct exceptions become; what one log line costs.

Side by side, 2 workers each, the same app: without any reporting; the one-line
set-up (`plugin = sentry`, SENTRY_DSN: frames, source, scrubbed locals, chain,
trace); the same with `sentry-locals = false`; a `sentry:` route action on the
failing endpoint; and sentry-python (sentry-sdk from PyPI, its WSGI middleware,
enable-threads as its docs ask). Each sends to a sink of its own that answers after
0.3 s. Requests go one at a time to the failing endpoint, the instances in
interleaved batches; "added" is the difference to the instance without reporting.

Delivery: 1,000 exceptions of 1,000 distinct kinds at 200/s into the one-line
set-up and into sentry-python, one after the other, and how many reach the sink
within 90 s.

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
from measure import RUNS, start_warm, burst, cpu_seconds, interleaved, letters, machine, release_under_test, spread, verdicts
from support import ROOT, clean_env, envelope_items, percentile
from uwsgi_harness import UWSGI, plugin_dir, sdk_app

BATCHES = int(os.environ.get("BENCH_BATCHES", "5"))
PER_BATCH = int(os.environ.get("BENCH_PER_BATCH", "200"))
LOG_LINES = 20_000
DISTINCT = 1000
RATE = 200
BASE, OURS, THEIRS = "without reporting", "uwsgi-sentry, one line", "sentry-python 2.x"


def delivered(sink, tag):
    return sum(1 for e in envelope_items(list(sink.requests), "event")
               if any(("boom from " + tag) in (x.get("value") or "") for x in e.get("exception", {}).get("values", [])))


def one_run(run, work, prefix):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    loader = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry"]
    sinks = {}

    def sink(name):
        sinks[name] = FaultServer(status=200, delay=0.3)
        return sinks[name].dsn()

    d = lambda key: os.path.join(work, "run%d-%s" % (run, key))
    instances = {
        BASE: UWSGI(d("none"), [], env),
        OURS: UWSGI(d("ours"), loader, dict(env, SENTRY_DSN=sink(OURS))),
        "one line, sentry-locals = false": UWSGI(d("nolocals"), loader + ["sentry-locals = false"],
                                                 dict(env, SENTRY_DSN=sink("nolocals"))),
        "sentry: route action": UWSGI(d("route"), loader + ["route = ^/value sentry:dsn=%s,message=route ${REQUEST_URI}" % sink("route")], env),
        THEIRS: sdk_app(d("sdk"), sink(THEIRS), env=env, workers=2),
    }
    try:
        start_warm(instances, "/value?warmup", 50)
        time.sleep(2)
        lat = interleaved(instances, "/value?bench-%d", BATCHES, PER_BATCH)
        p50 = {name: percentile(v, 50) for name, v in lat.items()}
        p99 = {name: percentile(v, 99) for name, v in lat.items()}

        # Delivery: distinct kinds, one instance at a time.
        got, after = {}, {}
        for name in (OURS, THEIRS):
            tag = "r%dd%s" % (run, name.split()[0][0])
            burst(instances[name].port, ["/value?%s%s" % (tag, letters(i)) for i in range(DISTINCT)], RATE)
            ended, last, stable = time.monotonic(), -1, time.monotonic()
            while time.monotonic() - ended < 90:
                got[name] = delivered(sinks[name], tag)
                if got[name] >= DISTINCT:
                    break
                if got[name] != last:
                    last, stable = got[name], time.monotonic()
                elif time.monotonic() - stable > 15:
                    break  # nothing more is coming
                time.sleep(0.5)
            after[name] = time.monotonic() - ended

        # Breadcrumbs: every line goes from the master to the daemon's ring.
        per_line = {}
        for name in (BASE, OURS):
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
        for s in sinks.values():
            s.close()
    return p50, p99, per_line, got, after


def is_worker(pid):
    """uWSGI's workers run the app; the daemon is `uwsgi-sentry`."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return not f.read().split(b"\0")[0].endswith(b"uwsgi-sentry")


def main():
    work = os.path.join(ROOT, ".work", "bench-uwsgi")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    runs = [one_run(run, work, prefix) for run in range(RUNS)]
    names = list(runs[0][0])
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    print("%s: %d requests each to a failing endpoint per run (%d interleaved batches); each sink answers after 0.3 s." % (
        version, BATCHES * PER_BATCH, BATCHES))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    print("| a request that raises | p50 | p99 | added p50 | added p99 |")
    print("|---|---|---|---|---|")
    added50, added99 = {}, {}
    for name in names:
        added50[name] = [(r[0][name] - r[0][BASE]) * 1e3 for r in runs]
        added99[name] = [(r[1][name] - r[1][BASE]) * 1e3 for r in runs]
        print("| %s | %s | %s | %s | %s |" % (name, spread([r[0][name] * 1e3 for r in runs], unit=" ms"),
                                               spread([r[1][name] * 1e3 for r in runs], unit=" ms"),
                                               "-" if name == BASE else spread(added50[name], "%+.3f", " ms"),
                                               "-" if name == BASE else spread(added99[name], "%+.3f", " ms")))
    print()
    print("| %d distinct exceptions at %d/s | delivered | all delivered after (s) |" % (DISTINCT, RATE))
    print("|---|---|---|")
    for name in (OURS, THEIRS):
        counts = [r[3][name] for r in runs]
        times = ["%.1f" % r[4][name] if r[3][name] >= DISTINCT else "never" for r in runs]
        print("| %s | %s | %s |" % (name, ", ".join(map(str, counts)), ", ".join(times)))
    print()
    print("| %d log lines | CPU per line: uWSGI's master + the daemon |" % LOG_LINES)
    print("|---|---|")
    for name in (BASE, OURS):
        print("| %s | %s |" % ("plugin = sentry (breadcrumbs on)" if name != BASE else name,
                               spread([r[2][name] * 1e6 for r in runs], "%.1f", " us")))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ratio = [r[1][OURS] / r[1][BASE] for r in runs]
    share = [(r[0][OURS] - r[0][BASE]) / (r[0][THEIRS] - r[0][BASE]) for r in runs]
    ok = verdicts([("%s adds <= 1/5 of what sentry-python adds at p50 (median %.2f)" % (OURS, med(share)), med(share) <= 0.2),
                   ("%s p99 <= 2x without reporting (median %.2fx)" % (OURS, med(ratio)), med(ratio) <= 2.0),
                   ("%s: %d of %d delivered, every run" % (OURS, DISTINCT, DISTINCT), all(r[3][OURS] >= DISTINCT for r in runs))])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
