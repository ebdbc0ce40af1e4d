"""`make bench`: what an ordinary request costs with release health, and with
sentry-logs (a record per request) on: uWSGI's after-request chain runs on every
request. Then a log storm under sentry-logs = info.

Side by side, 2 workers each, the same app, a release set: without uwsgi-sentry; the
one-line set-up with `sentry-sessions = false` (the baseline the issue names: the
plugin without sessions); with release health on (`sentry-sessions = true`); and with
`sentry-logs = info` besides (a record per request). Each sends to a sink of its own
that answers after 0.3 s. 20,000 requests to `/` per instance per run, one at a time
on a new connection, the instances in interleaved batches of 1,000. "added" is the
difference to the plugin without sessions. Then the sink is asked what arrived:
release health must have counted every request exactly (sessions `exited`).

The storm: on the sentry-logs instance (and, for comparison, on the instance without
uwsgi-sentry and on the plugin without sentry-logs), / p99 for 5 s unloaded, then while 10,000
log lines go through uWSGI in 5 s (500 requests of 20 lines, 100/s); then every
storm line must be in a record the sink took or counted (log_item) in a client report.
Each run starts fresh instances; figures are medians of the runs, min to max.
"""
import collections
import os
import shutil
import subprocess
import sys
import time

from faultserver import FaultServer
from measure import RUNS, start_warm, Probe, burst, latency_table, machine, release_under_test, spread, verdicts, interleaved
from support import ROOT, clean_env, envelope_items, percentile
from uwsgi_harness import UWSGI, plugin_dir

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20000"))
BATCH = 1000
BASE, NOSESSIONS, SESSIONS = "without uwsgi-sentry", "plugin, sentry-sessions = false", "plugin, release health on"
LOGS = "plugin, sentry-logs = info (no sessions)"
CONFIGS = {
    BASE: None,
    NOSESSIONS: ["sentry-sessions = false"],
    SESSIONS: ["sentry-sessions = true"],
    LOGS: ["sentry-sessions = false", "sentry-logs = info"],
}
STORM_REQUESTS, STORM_LINES_EACH, STORM_RATE = 500, 20, 100  # 10,000 lines in 5 s
QUIET = 5.0


def storm_lines(sink):
    """(storm lines in log records, log_item drops counted in client reports)."""
    import json
    seen, dropped = 0, 0
    for body in list(sink.requests):
        for line in body.split(b"\n"):
            if line.startswith(b'{"version":2') and b'"items"' in line:
                seen += sum(1 for r in json.loads(line)["items"] if "FOO storm line" in r["body"])
            elif b"discarded_events" in line:
                dropped += sum(d["quantity"] for d in json.loads(line)["discarded_events"] if d["category"] == "log_item")
    return seen, dropped


def storm(u, sink):
    """/ p99 unloaded, then while 10,000 log lines go through uWSGI in 5 s; then what
    became of the lines."""
    probe = Probe(u.port)
    time.sleep(QUIET)
    quiet = percentile(probe.stop(), 99)
    probe = Probe(u.port)
    time.sleep(0.2)
    burst(u.port, ["/storm?%d" % STORM_LINES_EACH] * STORM_REQUESTS, STORM_RATE)
    loaded = percentile(probe.stop(), 99)
    want = STORM_REQUESTS * STORM_LINES_EACH
    deadline = time.time() + 60
    while sink and time.time() < deadline and sum(storm_lines(sink)) < want:
        time.sleep(0.5)
    return quiet, loaded, storm_lines(sink) if sink else None


def exited(sink):
    return sum(a.get("exited", 0) for p in envelope_items(list(sink.requests), "sessions") for a in p.get("aggregates", []))


def one_run(run, work, prefix):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"], SENTRY_RELEASE="bench@1",
                    UWSGI_SENTRY_SESSION_PERIOD="5")
    loader = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry"]
    sinks, instances = {}, {}
    for name, lines in CONFIGS.items():
        d = os.path.join(work, "run%d-%d" % (run, len(instances)))
        if lines is None:
            instances[name] = UWSGI(d, [], env)
        else:
            sinks[name] = FaultServer(status=200, delay=0.3)
            instances[name] = UWSGI(d, loader + lines, dict(env, SENTRY_DSN=sinks[name].dsn()))
    try:
        start_warm(instances, "/", 100)
        lat = interleaved(instances, "/", REQUESTS // BATCH, BATCH)
        time.sleep(7)  # the last hand-over of the current minute
        counted = exited(sinks[SESSIONS])
        stormed = {name: storm(instances[name], sinks.get(name)) for name in (BASE, NOSESSIONS, LOGS)}
    finally:
        for u in instances.values():
            u.stop()
        for s in sinks.values():
            s.close()
    return ({n: percentile(v, 50) for n, v in lat.items()}, {n: percentile(v, 99) for n, v in lat.items()},
            counted, REQUESTS + 100, stormed)


def main():
    work = os.path.join(ROOT, ".work", "bench-requests")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    runs = [one_run(run, work, prefix) for run in range(RUNS)]
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    print("%s: %d requests to / per instance per run (interleaved batches of %d), 2 workers each." % (version, REQUESTS, BATCH))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    added = latency_table([r[0] for r in runs], [r[1] for r in runs], CONFIGS,
                          lambda n: None if n in (BASE, NOSESSIONS) else NOSESSIONS)
    print("| release health counted | exited / requests |")
    print("|---|---|")
    print("| %s | %s |" % (SESSIONS, ", ".join("%d / %d" % (r[2], r[3]) for r in runs)))
    print()
    want = STORM_REQUESTS * STORM_LINES_EACH
    print("| %d log lines in 5 s | / p99 unloaded | / p99 in the storm | ratio | lines in records | counted dropped |" % want)
    print("|---|---|---|---|---|---|")
    ratio = {}
    for name in (BASE, NOSESSIONS, LOGS):
        ratio[name] = [r[4][name][1] / r[4][name][0] for r in runs]
        print("| %s | %s | %s | %s | %s | %s |" % (
            name if name != NOSESSIONS else "plugin, breadcrumbs only (no sentry-logs)",
            spread([r[4][name][0] * 1e3 for r in runs], "%.2f", " ms"), spread([r[4][name][1] * 1e3 for r in runs], "%.2f", " ms"),
            spread(ratio[name], "%.2f", "x"), ", ".join(str(r[4][name][2][0]) for r in runs) if name == LOGS else "-",
            ", ".join(str(r[4][name][2][1]) for r in runs) if name == LOGS else "-"))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([("release health adds <= 0.01 ms at p50, within noise (median %+.4f ms)" % med(added[SESSIONS]),
                    med(added[SESSIONS]) <= 0.01),
                   ("release health counted every request, every run", all(r[2] == r[3] for r in runs)),
                   ("sentry-logs = info: a log storm keeps / p99 within 1.5x of unloaded (median %.2fx)" % med(ratio[LOGS]),
                    med(ratio[LOGS]) <= 1.5),
                   ("every storm line in a record or counted, every run", all(sum(r[4][LOGS][2]) == want for r in runs))])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
