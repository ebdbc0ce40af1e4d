"""`make bench`: what one Python exception costs the daemon and uWSGI's master
(issue 25's first two rows), read from /proc.

Per run, fresh instances, 2 workers each, the same app: without uwsgi-sentry; the
one-line set-up (`plugin = sentry`, SENTRY_DSN; `sentry-budget = 0` so that every
exception is an event: frames with source lines, scrubbed locals, a chain of two,
~13 breadcrumbs); the same with `sentry-locals = false`. Each sends to a sink of its
own that answers at once. EXCEPTIONS requests to `/chain` (RuntimeError from
ZeroDivisionError, the app's locals: a dict with a card number, a password, a token,
a list of 30) go in at 200/s; once the sink has every event, the CPU time the daemon
and the master used since the burst began is divided by the events. The master's
figure is what it used beyond the instance without uwsgi-sentry, for the same burst,
and beyond the same uWSGI with `log-master = true` alone (which the one line turns
on: uWSGI's master then reads every log line, ~13 per exception here).

UWSGI_SENTRY_BASELINE_PREFIX: another installed build (its bin/ and plugins, e.g.
the last release), measured in the same runs beside this one.
"""
import os
import shutil
import sys
import time

# Five runs by default: the rows of issue 25 that spread most from run to run on a
# shared VM (BENCH_RUNS still decides).
os.environ.setdefault("BENCH_RUNS", "5")

from faultserver import FaultServer
from measure import RUNS, burst, cpu_seconds, heading, release_under_test, spread, verdicts, version_of
from support import ROOT, clean_env, envelope_items
from uwsgi_harness import UWSGI, daemon_pid, plugin_dir

EXCEPTIONS = int(os.environ.get("BENCH_EXCEPTIONS", "1000"))
RATE = 200
NONE, MASTER = "without uwsgi-sentry", "log-master alone"


def instance(workdir, prefix, extra, sink):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    if sink is None:
        return UWSGI(workdir, extra, env, workers=2)
    lines = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry", "sentry-budget = 0"] + extra
    return UWSGI(workdir, lines, dict(env, SENTRY_DSN=sink.dsn()), workers=2)


def measure(u, sink, tag):
    """CPU (s) of the master and of the daemon for one burst, once every event arrived."""
    d = daemon_pid(u) if sink else None
    seen = len(envelope_items(list(sink.requests), "event")) if sink else 0
    master0, daemon0 = cpu_seconds(u.proc.pid), cpu_seconds(d) if d else 0.0
    burst(u.port, ["/chain?%d" % (1000 + i) for i in range(EXCEPTIONS)], RATE)
    if sink:
        deadline = time.monotonic() + 120
        while len(envelope_items(list(sink.requests), "event")) < seen + EXCEPTIONS and time.monotonic() < deadline:
            time.sleep(0.2)
        got = len(envelope_items(list(sink.requests), "event")) - seen
        if got < EXCEPTIONS:
            raise SystemExit("%s: %d of %d events arrived" % (tag, got, EXCEPTIONS))
    time.sleep(0.5)
    return cpu_seconds(u.proc.pid) - master0, (cpu_seconds(d) - daemon0) if d else 0.0


def one_run(run, work, kinds):
    out = {}
    for name, prefix, extra in kinds:
        sink = None if name in (NONE, MASTER) else FaultServer(status=200)
        u = instance(os.path.join(work, "run%d-%d" % (run, len(out))), prefix, extra, sink)
        try:
            with u:
                time.sleep(1)
                burst(u.port, ["/chain?%d" % i for i in range(20)], 50)  # warm: imports, caches, the first send
                time.sleep(1)
                out[name] = measure(u, sink, name)
        finally:
            if sink:
                sink.close()
    return out


def main():
    work = os.path.join(ROOT, ".work", "bench-daemon")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    kinds = [(NONE, prefix, []), (MASTER, prefix, ["log-master = true"]), ("one line", prefix, []), ("one line, sentry-locals = false", prefix, ["sentry-locals = false"])]
    baseline = os.environ.get("UWSGI_SENTRY_BASELINE_PREFIX")
    if baseline:
        kinds += [("baseline: one line", baseline, []), ("baseline: sentry-locals = false", baseline, ["sentry-locals = false"])]
    runs = [one_run(run, work, kinds) for run in range(RUNS)]

    heading("%s: %d exceptions (/chain: a chain of two, locals) at %d/s into each instance, 2 workers; sink answers at once." % (
        version_of(prefix), EXCEPTIONS, RATE))
    print("| per exception event | daemon CPU | master CPU beyond the instance without uwsgi-sentry | beyond log-master alone |")
    print("|---|---|---|---|")
    per = {}
    for name, _, _ in kinds[1:]:
        daemon = [r[name][1] / EXCEPTIONS * 1e3 for r in runs]
        master = [(r[name][0] - r[NONE][0]) / EXCEPTIONS * 1e3 for r in runs]
        own = [(r[name][0] - r[MASTER][0]) / EXCEPTIONS * 1e3 for r in runs]
        per[name] = (daemon, master)
        print("| %s | %s | %s | %s |" % (name, "-" if name == MASTER else spread(daemon, "%.3f", " ms"),
                                        spread(master, "%.3f", " ms"), "-" if name == MASTER else spread(own, "%.3f", " ms")))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([
        ("daemon CPU per exception event <= 0.25 ms (median %.3f ms)" % med(per["one line"][0]), med(per["one line"][0]) <= 0.25),
        ("master CPU per exception <= 0.1 ms (median %.3f ms)" % med(per["one line"][1]), med(per["one line"][1]) <= 0.1),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
