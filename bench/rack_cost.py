"""`make bench`: what a Ruby exception costs the request that raises it, beside
sentry-ruby (Debian's ruby-sentry-ruby 5.3), and what reaches Sentry.

Side by side, one worker each, the same Rack app (e2e/apps/rack: an exception two
calls deep with two causes, through a rack middleware): without any reporting; the
one-line set-up (`plugin = sentry`, SENTRY_DSN: sentry_rbframes' frames, source lines,
causes, runtime; `sentry-budget = 0`, so that every event is sent); sentry-ruby with
its Rack middleware, sending each event as it is captured (`background_worker_threads
= 0`), as users get it, and the same beside sentry_rbframes loaded alone (it clears
the `$!` uWSGI leaves set after a failed request: without that, every exception
takes all earlier ones as its causes, and sentry-ruby's events grow until it drops
them as oversized); and sentry-ruby as configured by default (background threads).
Each sends to a sink of its own that answers after 0.3 s.
Requests go one at a time to the failing endpoint, the instances in interleaved
batches; "added" is the difference to the instance without reporting; "delivered" is
how many of a run's failing requests reached the sink 5 s after the last.
"""
import os
import shutil
import subprocess
import sys
import time

from faultserver import FaultServer
from measure import RUNS, interleaved, machine, release_under_test, spread, start_warm, verdicts
from support import ROOT, clean_env, envelope_items, percentile
from uwsgi_harness import UWSGI, plugin_dir

RACK = os.path.join(ROOT, "e2e", "apps", "rack", "config.ru")
BATCHES = int(os.environ.get("BENCH_BATCHES", "5"))
PER_BATCH = int(os.environ.get("BENCH_PER_BATCH", "40"))
BASE, OURS = "without reporting", "uwsgi-sentry, one line"
SYNC, ASYNC = "sentry-ruby 5.3, sending as it captures", "sentry-ruby 5.3, background threads (its default)"
FAIR = "sentry-ruby 5.3, sending as it captures, $! cleared (sentry_rbframes)"


def one_run(run, work, prefix):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    sinks = {}

    def sink(name):
        sinks[name] = FaultServer(status=200, delay=0.3)
        return sinks[name].dsn()

    d = lambda key: os.path.join(work, "run%d-%s" % (run, key))
    ruby = lambda name, threads: dict(env, WITH_SENTRY_RUBY="1", SENTRY_RUBY_DSN=sink(name), SENTRY_RUBY_THREADS=threads)
    instances = {
        BASE: UWSGI(d("none"), [], env, workers=1, rack=RACK),
        OURS: UWSGI(d("ours"), ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry", "sentry-budget = 0"],
                    dict(env, SENTRY_DSN=sink(OURS)), workers=1, rack=RACK),
        SYNC: UWSGI(d("sync"), [], ruby(SYNC, "0"), workers=1, rack=RACK),
        FAIR: UWSGI(d("fair"), ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry_rbframes"], ruby(FAIR, "0"), workers=1, rack=RACK),
        ASYNC: UWSGI(d("async"), [], ruby(ASYNC, "2"), workers=1, rack=RACK),
    }
    try:
        start_warm(instances, "/pay?warmup", 5)
        time.sleep(2)
        for s in sinks.values():
            s.requests.clear()
        lat = interleaved(instances, "/pay?bench-%d", BATCHES, PER_BATCH)
        time.sleep(5)
        got = {name: len(envelope_items(list(s.requests), "event")) for name, s in sinks.items()}
    finally:
        for u in instances.values():
            u.stop()
        for s in sinks.values():
            s.close()
    return ({name: percentile(v, 50) for name, v in lat.items()}, {name: percentile(v, 99) for name, v in lat.items()}, got)


def main():
    work = os.path.join(ROOT, ".work", "bench-rack")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    runs = [one_run(run, work, prefix) for run in range(RUNS)]
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True, text=True).stdout.strip()
    total = BATCHES * PER_BATCH
    print("%s: %d requests each to a failing Rack endpoint per run (%d interleaved batches); each sink answers after 0.3 s." % (
        version, total, BATCHES))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    print("| a Rack request that raises | p50 | p99 | added p50 | delivered of %d |" % total)
    print("|---|---|---|---|---|")
    for name in runs[0][0]:
        print("| %s | %s | %s | %s | %s |" % (
            name, spread([r[0][name] * 1e3 for r in runs], unit=" ms"), spread([r[1][name] * 1e3 for r in runs], unit=" ms"),
            "-" if name == BASE else spread([(r[0][name] - r[0][BASE]) * 1e3 for r in runs], "%+.3f", " ms"),
            "-" if name == BASE else ", ".join(str(r[2][name]) for r in runs)))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    share = [(r[0][OURS] - r[0][BASE]) / (r[0][FAIR] - r[0][BASE]) for r in runs]
    ok = verdicts([("%s adds <= 1/10 of what sentry-ruby (delivering) adds at p50 (median %.3f)" % (OURS, med(share)), med(share) <= 0.1),
                   ("%s: every failing request delivered, every run" % OURS, all(r[2][OURS] >= total for r in runs))])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
