"""`make bench`: a worker's first exception. What it pays the first time (compiling
sentry_pyframes' capture code, the process's facts) is paid in the master before
the fork (issue 25): a fresh worker's first exception should cost at most 2 ms more
than the same exception unreported.

Per run: a fresh instance of each (1 worker, the same app), one request to `/`, then
the first request that raises (`/value`), then five more (their median); without
reporting and with the one-line set-up (a sink answering at once)."""
import os
import shutil
import subprocess
import sys
import time

from faultserver import FaultServer
from measure import RUNS, get, machine, release_under_test, spread, verdicts
from support import ROOT, clean_env
from uwsgi_harness import UWSGI, plugin_dir

FRESH = int(os.environ.get("BENCH_FRESH", "5"))  # fresh instances per run and kind


def first_and_later(workdir, lines, env):
    with UWSGI(workdir, lines, env, workers=1) as u:
        time.sleep(1)
        get(u.port, "/")
        first = get(u.port, "/value?first")
        later = sorted(get(u.port, "/value?later%d" % i) for i in range(5))[2]
    return first * 1e3, later * 1e3


def main():
    work = os.path.join(ROOT, ".work", "bench-first")
    shutil.rmtree(work, ignore_errors=True)
    prefix = release_under_test(work)
    sink = FaultServer(status=200)
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    loader = ["plugin-dir = " + plugin_dir(prefix), "plugins = sentry", "sentry-sender = " + os.path.join(prefix, "bin", "uwsgi-sentry")]
    runs = []
    try:
        for run in range(RUNS):
            got = {"none": [], "plugin": []}
            for i in range(FRESH):
                got["none"].append(first_and_later(os.path.join(work, "n%d-%d" % (run, i)), [], env))
                got["plugin"].append(first_and_later(os.path.join(work, "p%d-%d" % (run, i)), loader, dict(env, SENTRY_DSN=sink.dsn())))
            med = lambda xs: sorted(xs)[len(xs) // 2]
            runs.append({k: (med([f for f, _ in v]), med([l for _, l in v])) for k, v in got.items()})
    finally:
        sink.close()
    version = subprocess.run([os.path.join(prefix, "bin", "uwsgi-sentry"), "--version"], capture_output=True, text=True).stdout.strip()
    print("%s: a fresh worker's first exception, %d fresh instances per kind per run." % (version, FRESH))
    print("%d runs, median (min to max); %s\n" % (RUNS, machine()))
    print("| a request that raises | first in a fresh worker | later ones | first, added |")
    print("|---|---|---|---|")
    added = [r["plugin"][0] - r["none"][0] for r in runs]
    for kind, name in (("none", "without reporting"), ("plugin", "plugin = sentry + SENTRY_DSN")):
        print("| %s | %s | %s | %s |" % (name, spread([r[kind][0] for r in runs], "%.2f", " ms"),
                                         spread([r[kind][1] for r in runs], "%.2f", " ms"),
                                         "-" if kind == "none" else spread(added, "%+.2f", " ms")))
    print()
    m = sorted(added)[len(added) // 2]
    return 0 if verdicts([("a worker's first exception adds <= 2 ms over an unreported one (median %+.2f ms)" % m, m <= 2)]) else 1


if __name__ == "__main__":
    sys.exit(main())
