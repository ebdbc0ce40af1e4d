"""`make bench` (third part): an alarm-log storm through a real uWSGI.

10,000 log lines matching the `sentry` alarm in 10 s (1,000 a second, every line
different, so uWSGI's own de-duplication folds none). uWSGI forks one sender per
line; the storm budget (default 10 per 60 s per fingerprint) lets a few through and
drops the rest at once. Measured: request latency while the storm runs against the
same uWSGI unloaded, zombies left, what the Sentry server received (a recording
server on 127.0.0.1) and the drop counts that reached it in client reports.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from faultserver import FaultServer
from support import ROOT, percentile
from uwsgi_harness import UWSGI

LINES, SECONDS = int(os.environ.get("STORM_LINES", "10000")), 10


def latencies(u, stop, out):
    import http.client
    while not stop.is_set():
        start = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", u.port, timeout=10)
        c.request("GET", "/")
        c.getresponse().read()
        c.close()
        out.append(time.perf_counter() - start)
        time.sleep(0.005)


def main():
    work = os.path.join(ROOT, ".work", "bench-storm")
    shutil.rmtree(work, ignore_errors=True)
    prefix = os.path.join(work, "prefix")
    subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix], check=True, stdout=subprocess.DEVNULL)
    share = os.path.join(prefix, "share", "uwsgi-sentry")
    sentry = FaultServer(status=200)
    state = os.path.join(work, "state")
    env = dict(os.environ, SENTRY_DSN=sentry.dsn(), UWSGI_SENTRY_STATE=state,
               PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"])
    engine = os.environ.get("STORM_ENGINE", "plugin")  # or "cmd": the plain cmd: alarm
    lines = (["ini = %s/storm.ini" % share] if engine == "plugin" else []) + [
        "ini = %s/sentry.ini" % share, "set-placeholder = sentry_log_regex=^FOO", "ini = %s/log.ini" % share]
    u = UWSGI(os.path.join(work, "uwsgi"), lines, env, workers=2)
    u.start()
    try:
        time.sleep(1)
        unloaded = []
        stop = threading.Event()
        t = threading.Thread(target=latencies, args=(u, stop, unloaded))
        t.start()
        time.sleep(SECONDS)
        stop.set()
        t.join()

        loaded = []
        stop = threading.Event()
        t = threading.Thread(target=latencies, args=(u, stop, loaded))
        t.start()
        start = time.monotonic()
        per_second = LINES // SECONDS
        for s in range(SECONDS):
            u.request("/storm?%d" % per_second, timeout=30)
            delay = start + s + 1 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        storm_time = time.monotonic() - start
        stop.set()
        t.join()

        # Let the alarm backlog drain, then count.
        deadline = time.time() + 60
        while time.time() < deadline and (u.zombies() or len([p for p in u.pids()]) > 4):
            time.sleep(0.5)
        time.sleep(2)
        zombies = len(u.zombies())
        events = [b for b in sentry.requests if b'"type":"event"' in b]
        # One more alarm, another fingerprint, carries the counts still pending.
        u.request("/log?after-the-storm")
        time.sleep(2)
        dropped = 0
        for body in sentry.requests:
            for line in body.split(b"\n"):
                if b"discarded_events" in line:
                    dropped += sum(d["quantity"] for d in json.loads(line)["discarded_events"]
                                   if d["reason"] == "backpressure")
        storm_events = len([b for b in events if b"FOO storm line" in b])
    finally:
        u.stop()
        sentry.close()
    log = u.text()
    alarmed = storm_events + dropped
    print("%d matching lines in %.1f s through uWSGI's alarm-log, alarm engine: %s\n"
          % (LINES, storm_time, "the sentry plugin (storm.ini)" if engine == "plugin" else "cmd: (one shell and sender per line)"))
    print("| | requests | p50 | p99 |")
    print("|---|---|---|---|")
    print("| unloaded | %d | %.2f ms | %.2f ms |" % (len(unloaded), percentile(unloaded, 50) * 1e3, percentile(unloaded, 99) * 1e3))
    print("| during the storm | %d | %.2f ms | %.2f ms |" % (len(loaded), percentile(loaded, 50) * 1e3, percentile(loaded, 99) * 1e3))
    print()
    print("lines that reached the alarm: %d (storm lines in uWSGI's log: %d)" % (alarmed, log.count("FOO storm line")))
    print("events the Sentry server received from the storm: %d (budget 10 per 60 s)" % storm_events)
    print("drops reported in client reports (backpressure): %d" % dropped)
    print("zombies after the storm: %d" % zombies)
    ratio = percentile(loaded, 99) / percentile(unloaded, 99)
    print()
    for text, ok in [("p99 during the storm within 1.5x of unloaded (%.2fx)" % ratio, ratio <= 1.5),
                     ("the server received at most the budget", storm_events <= 10),
                     ("every drop counted in a client report", dropped == alarmed - storm_events and dropped > 0),
                     ("no zombies", zombies == 0)]:
        print("%s %s" % ("PASS" if ok else "MISS", text))


if __name__ == "__main__":
    sys.exit(main())
