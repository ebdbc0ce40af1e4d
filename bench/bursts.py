"""`make bench`: what a burst of trouble costs uWSGI in the default set-up.

The set-up a user includes first (`ini = sentry.ini`, `ini = exceptions.ini`,
`ini = log.ini` with `sentry_log_regex=^FOO`, SENTRY_DSN set, nothing else) on a
real uWSGI with 2 workers, beside the same app without uwsgi-sentry. Sentry is a
server on 127.0.0.1 that holds every request 0.3 s before it answers: for the
latency phases a recording sink (in production Sentry runs on other machines); for
the last phase a proxy in front of a real Bugsink, which then shares these 2 CPUs
with uWSGI (its row shows what that costs). A client in its own
process measures `/` latency, one request at a time, while another fires:

  one kind:  1,000 exceptions of ONE kind at 200/s;
  storm:     10,000 matching log lines in 5 s (500 requests of 20 lines, 100/s);
  distinct:  1,000 exceptions of 1,000 distinct kinds at 200/s (recording sink);
  Bugsink:   the same with 1,000 other kinds, through the proxy into Bugsink.

Checked on what arrived: every exception and storm line delivered or counted in a
client report (the server records what it answered 2xx), and all 1,000 exceptions
of the last phase STORED in Bugsink (counted by event id) within 2 minutes.
Each run starts fresh uWSGI instances and runs each phase on one, then on the other;
figures are medians of the runs, min to max.
"""
import json
import os
import shutil
import subprocess
import sys
import time

# Five runs by default: issue 25's burst row spreads most from run to run on a
# shared VM (a p99 of ~1,000 requests; BENCH_RUNS still decides).
os.environ.setdefault("BENCH_RUNS", "5")

from bugsink import Bugsink, KEY
from faultserver import FaultServer
from measure import RUNS, Probe, burst, letters, machine, release_under_test, spread, verdicts
from support import ROOT, clean_env, percentile
from uwsgi_harness import UWSGI, share

DELAY = 0.3
RATE, EXCEPTIONS = 200, 1000
STORM_REQUESTS, STORM_LINES_EACH, STORM_RATE = 500, 20, 100
QUIET = 5.0  # seconds of unloaded latency
# Bugsink digests what it took on these same 2 CPUs: 0.2.0's events (no frames) were
# all stored 56 to 58 s after the burst; 0.3.0's carry frames, source and locals, and
# Bugsink takes longer to digest them. The wait is for Bugsink; the check is that
# every one is stored.
STORE_WAIT = 120


def measured(u, load):
    """p99 (s) of `/` on `u` while `load()` runs."""
    probe = Probe(u.port)
    time.sleep(0.2)
    load()
    lat = probe.stop()
    return percentile(lat, 99)


def unloaded(u):
    return measured(u, lambda: time.sleep(QUIET))


def carried(bodies):
    """(events by message, discarded counts by (reason, category)) in what was sent."""
    messages, drops = [], {}
    for body in bodies:
        lines = body.split(b"\n")
        for i, line in enumerate(lines):
            if line.startswith(b'{"type":"event"'):
                e = json.loads(lines[i + 1])
                values = [x.get("value", "") for x in e.get("exception", {}).get("values", [])]
                messages.append(" ".join(values) or e.get("logentry", {}).get("formatted", ""))
            if b"discarded_events" in line:
                for d in json.loads(line)["discarded_events"]:
                    key = (d["reason"], d["category"])
                    drops[key] = drops.get(key, 0) + d["quantity"]
    return messages, drops


def one_run(run, work, prefix, bugsink, proxy):
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"],
                    SENTRY_DSN="http://%s@127.0.0.1:%d/1" % (KEY, proxy.port))
    default = ["ini = " + share(prefix, "sentry.ini"), "ini = " + share(prefix, "exceptions.ini"),
               "set-placeholder = sentry_log_regex=^FOO", "ini = " + share(prefix, "log.ini")]
    instances = {"without uwsgi-sentry": UWSGI(os.path.join(work, "run%d-without" % run), [], env),
                 "default set-up": UWSGI(os.path.join(work, "run%d-default" % run), default, env)}
    tag = "r%sk" % letters(run, 2)
    kinds = ["/value?%s%s" % (tag, letters(i)) for i in range(EXCEPTIONS)]
    light = ["/value?%sl%s" % (tag, letters(i)) for i in range(EXCEPTIONS)]
    values = {"boom from " + k.split("?")[1] for k in kinds}
    p99 = {}
    stored_after = drained_after = None
    proxy.answered = []
    proxy.upstream = None  # a recording sink, until the Bugsink phase
    try:
        for u in instances.values():
            u.start()
        time.sleep(1)
        # Phase by phase, each on one instance then the other: the two bursts a row
        # compares run seconds apart, not minutes (this VM's speed drifts).
        loads = [("unloaded", None), ("one kind", (["/value?same"] * EXCEPTIONS, RATE)),
                 ("storm", (["/storm?%d" % STORM_LINES_EACH] * STORM_REQUESTS, STORM_RATE)),
                 ("distinct", (light, RATE)), ("bugsink", (kinds, RATE))]
        for phase, load in loads:
            proxy.upstream = bugsink.port if phase == "bugsink" else None
            for name, u in instances.items():
                p99[name, phase] = unloaded(u) if load is None else measured(u, lambda: burst(u.port, *load))
                if name == "default set-up" and phase == "distinct":
                    # what the sink still has to take goes there, not to Bugsink
                    ended = time.monotonic()
                    mark = ('"boom from %sl' % tag).encode()
                    while time.monotonic() - ended < 90:
                        if sum(1 for _, b in list(proxy.answered) if mark in b) >= EXCEPTIONS:
                            drained_after = time.monotonic() - ended
                            break
                        time.sleep(0.5)
                if name == "default set-up" and phase == "bugsink":
                    ended = time.monotonic()
                    while time.monotonic() - ended < STORE_WAIT:
                        if len(stored_ids(bugsink, values)) == EXCEPTIONS:
                            stored_after = time.monotonic() - ended
                            break
                        time.sleep(0.5)
                time.sleep(2)
        proxy.upstream = None
        # uWSGI stops its daemon: the counts still pending go out on the way.
        instances["default set-up"].stop()
        time.sleep(1)
        log = instances["default set-up"].text()
    finally:
        for u in instances.values():
            u.stop()
    # What Bugsink took: an answer other than 2xx (SQLite busy under load) is sent again,
    # with the same counts, and must not count twice.
    statuses = {}
    for status, _ in proxy.answered:
        statuses[status] = statuses.get(status, 0) + 1
    messages, drops = carried([body for status, body in proxy.answered if 200 <= status < 300])
    ids = stored_ids(bugsink, values)
    return {
        "p99": p99,
        "stored": len(ids), "stored_after": stored_after, "drained_after": drained_after,
        "one kind sent": sum(1 for m in messages if m == "boom from same"),
        "distinct sent": sum(1 for m in messages if m.startswith("boom from " + tag)),
        "light sent": sum(1 for m in messages if m.startswith("boom from %sl" % tag)),
        "storm sent": sum(1 for m in messages if m.startswith("FOO storm line")),
        "storm lines logged": log.count("FOO storm line"),
        "error dropped": sum(n for (_, c), n in drops.items() if c == "error"),
        "default dropped": sum(n for (_, c), n in drops.items() if c == "default"),
        "drops": drops, "statuses": statuses,
    }


def stored_ids(bugsink, values):
    """Event ids Bugsink stored for these exception values."""
    return {r["event_id"] for r in bugsink.rows("e.calculated_value like 'boom from %'") if r["calculated_value"] in values}


def main():
    work = os.path.join(ROOT, ".work", "bench-bursts")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    bugsink = Bugsink(os.path.join(work, "bugsink")).start()
    proxy = FaultServer(upstream=bugsink.port, delay=DELAY)
    results = []
    try:
        for run in range(RUNS):
            results.append(one_run(run, work, prefix, bugsink, proxy))
            r = results[-1]
            print("run %d: stored %d/%d (%s s), one kind %d sent + %d error drops, storm %d sent, "
                  "%d lines logged, %d default drops; drops %s; Bugsink answered %s" % (
                      run + 1, r["stored"], EXCEPTIONS, "%.1f" % r["stored_after"] if r["stored_after"] else "-",
                      r["one kind sent"], r["error dropped"], r["storm sent"], r["storm lines logged"],
                      r["default dropped"], r["drops"], r["statuses"]), file=sys.stderr)
    finally:
        proxy.close()
        bugsink.stop()

    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    print("Bursts through the default set-up of %s, uWSGI 2 workers; Sentry answers after %.1f s." % (version, DELAY))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    print("| `/` p99 | without uwsgi-sentry | default set-up | default vs its unloaded |")
    print("|---|---|---|---|")
    ratios = {}
    # Issue 25's row: the distinct burst, the default set-up vs the same burst without uwsgi-sentry.
    beside = [r["p99"]["default set-up", "distinct"] / r["p99"]["without uwsgi-sentry", "distinct"] for r in results]
    for phase in ("unloaded", "one kind", "storm", "distinct", "bugsink"):
        wo = [r["p99"]["without uwsgi-sentry", phase] * 1e3 for r in results]
        de = [r["p99"]["default set-up", phase] * 1e3 for r in results]
        ratios[phase] = [r["p99"]["default set-up", phase] / r["p99"]["default set-up", "unloaded"] for r in results]
        label = {"unloaded": "unloaded", "one kind": "1,000 exceptions, one kind, 200/s",
                 "storm": "10,000 log lines in 5 s", "distinct": "1,000 exceptions, distinct kinds, 200/s",
                 "bugsink": "the same into Bugsink, on these CPUs"}[phase]
        print("| %s | %s | %s | %s |" % (label, spread(wo, unit=" ms"), spread(de, unit=" ms"),
                                         "-" if phase == "unloaded" else spread(ratios[phase], unit="x")))
    print()
    print("| delivery | runs |")
    print("|---|---|")
    for key, label in (("light sent", "distinct kinds: events sent (of 1,000)"), ("stored", "Bugsink phase: exceptions stored (of 1,000)"),
                       ("one kind sent", "one kind: events sent"), ("error dropped", "exceptions counted in client reports"),
                       ("storm sent", "storm: events sent"), ("default dropped", "log events counted in client reports"),
                       ("storm lines logged", "storm lines in uWSGI's log")):
        print("| %s | %s |" % (label, ", ".join(str(r[key]) for r in results)))
    after = [r["stored_after"] for r in results if r["stored_after"] is not None]
    print("| distinct kinds: all 1,000 answered by the sink, seconds after the burst | %s |" % (
        ", ".join("%.1f" % r["drained_after"] if r["drained_after"] is not None else "not within 90 s" for r in results)))
    print("| Bugsink phase: all 1,000 stored, seconds after the burst | %s |" % (
        ", ".join("%.1f" % r["stored_after"] if r["stored_after"] is not None else "not within %d s" % STORE_WAIT for r in results)))
    print()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ok = verdicts([
        ("one kind: p99 <= 1.5x unloaded (median %.2fx)" % med(ratios["one kind"]), med(ratios["one kind"]) <= 1.5),
        ("storm: p99 <= 1.5x unloaded (median %.2fx)" % med(ratios["storm"]), med(ratios["storm"]) <= 1.5),
        ("distinct: p99 <= 2x unloaded (median %.2fx)" % med(ratios["distinct"]), med(ratios["distinct"]) <= 2.0),
        ("distinct: p99 <= 1.3x the same burst without uwsgi-sentry (median %.2fx, %s)" % (med(beside), spread(beside, unit="x")),
         med(beside) <= 1.3),
        ("Bugsink: all 1,000 stored within %d s, every run" % STORE_WAIT, len(after) == RUNS),
        ("every exception delivered or counted, every run",
         all(r["one kind sent"] + r["distinct sent"] + r["error dropped"] == 3 * EXCEPTIONS for r in results)),
        ("every storm line delivered or counted, every run",
         all(r["storm sent"] + r["default dropped"] == r["storm lines logged"] == STORM_REQUESTS * STORM_LINES_EACH
             for r in results)),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
