"""`make bench`: what sentry-traces costs a request, and what the daemon pays per
transaction, beside sentry-python tracing every request.

Side by side, 2 workers each, the same app (e2e/apps/app.py): without any Sentry;
the one-line set-up without traces (the baseline of ours); `sentry-traces = 1.0`
(every request a transaction); `sentry-traces = 0` (every request decided and left
out: what an unsampled request costs); sentry-python 2.x's WSGI middleware with
`traces_sample_rate=1.0` (enable-threads, as its docs ask). Each sends to a sink of
its own that answers at once. 10,000 requests to `/` per instance per run, one at a
time on a new connection, the instances in interleaved batches of 1,000. Ours'
"added" is against the plugin without traces; sentry-python's against the app
without any Sentry. Then: how many of the 10,000 each delivered within 60 s, and the
daemon's CPU per transaction (its utime + stime over the run, from /proc), which
says how many transactions a second one core would take.
"""
import os
import shutil
import subprocess
import sys
import time

from faultserver import FaultServer
from measure import RUNS, cpu_seconds, latency_table, machine, release_under_test, spread, start_warm, verdicts, interleaved
from support import ROOT, clean_env, percentile
from uwsgi_harness import UWSGI, plugin_dir, sdk_app

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "10000"))
BATCH = 1000
BASE, PLUGIN, TRACES, UNSAMPLED, SDK = ("without any Sentry", "plugin, no traces", "plugin, sentry-traces = 1.0",
                                        "plugin, sentry-traces = 0 (none sampled)", "sentry-python 2.x, traces_sample_rate=1.0")
CONFIGS = {BASE: None, PLUGIN: [], TRACES: ["sentry-traces = 1.0"], UNSAMPLED: ["sentry-traces = 0"], SDK: "sdk"}


def transactions(sink):
    return sum(1 for body in list(sink.requests) if b'{"type":"transaction"' in body)


def daemon_of(u):
    return next(p for p in u.pids() if b"--channel=3" in open("/proc/%d/cmdline" % p, "rb").read())


def one_run(run, work, prefix):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    loader = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry", "sentry-sender = " + os.path.join(prefix, "bin", "uwsgi-sentry")]
    sinks, instances = {}, {}
    for name, lines in CONFIGS.items():
        d = os.path.join(work, "run%d-%d" % (run, len(instances)))
        if lines is None:
            instances[name] = UWSGI(d, [], env)
            continue
        sinks[name] = FaultServer(status=200)
        if lines == "sdk":
            instances[name] = sdk_app(d, sinks[name].dsn(), env=dict(env, SDK_TRACES="1.0"), workers=2)
        else:
            instances[name] = UWSGI(d, loader + lines, dict(env, SENTRY_DSN=sinks[name].dsn()))
    try:
        start_warm(instances, "/", 100)
        time.sleep(2)
        before = {name: transactions(s) for name, s in sinks.items()}
        daemon = daemon_of(instances[TRACES])
        cpu0 = cpu_seconds(daemon)
        lat = interleaved(instances, "/", REQUESTS // BATCH, BATCH)
        deadline = time.time() + 60
        while time.time() < deadline and any(transactions(sinks[n]) - before[n] < REQUESTS for n in (TRACES, SDK)):
            time.sleep(0.5)
        time.sleep(1)
        delivered = {n: transactions(sinks[n]) - before[n] for n in (TRACES, SDK)}
        cpu = cpu_seconds(daemon) - cpu0
    finally:
        for u in instances.values():
            u.stop()
        for s in sinks.values():
            s.close()
    return ({n: percentile(v, 50) for n, v in lat.items()}, {n: percentile(v, 99) for n, v in lat.items()}, delivered,
            cpu / max(1, delivered[TRACES]))


def main():
    work = os.path.join(ROOT, ".work", "bench-traces")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    runs = [one_run(run, work, prefix) for run in range(RUNS)]
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True, text=True).stdout.strip()
    print("%s: %d requests to / per instance per run (interleaved batches of %d), 2 workers each." % (version, REQUESTS, BATCH))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    added = latency_table([r[0] for r in runs], [r[1] for r in runs], CONFIGS,
                          lambda n: None if n in (BASE, PLUGIN) else BASE if n == SDK else PLUGIN)
    print("| %d requests, every one sampled | transactions delivered within 60 s |" % REQUESTS)
    print("|---|---|")
    for name in (TRACES, SDK):
        print("| %s | %s |" % (name, ", ".join(str(r[2][name]) for r in runs)))
    print()
    per = [r[3] * 1e3 for r in runs]
    print("| the daemon, per transaction | CPU | transactions a second, one core |")
    print("|---|---|---|")
    print("| uwsgi-sentry daemon | %s | %s |" % (spread(per, "%.3f", " ms"), spread([1e3 / p for p in per], "%.0f", "")))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([
        ("sentry-traces = 1.0 adds <= 0.02 ms at p50 (median %+.4f ms)" % med(added[TRACES]), med(added[TRACES]) <= 0.02),
        ("sentry-traces = 0 adds <= 0.02 ms at p50 (median %+.4f ms)" % med(added[UNSAMPLED]), med(added[UNSAMPLED]) <= 0.02),
        ("every sampled request delivered, every run", all(r[2][TRACES] == REQUESTS for r in runs)),
        ("the daemon takes >= 1,000 transactions a second on one core (median %.0f)" % (1e3 / med(per)), 1e3 / med(per) >= 1000),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
