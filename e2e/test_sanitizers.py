"""The C loader built with sanitizers, loaded into Debian's uWSGI (the sanitizer
runtime preloaded), and hit from every thread that touches its state at once: the
workers (routes, a request's exception), the master's log loop (log alarms and
breadcrumbs), the alarm thread (raw binary alarms) and the master's own loop (the
daemon's supervision), while the daemon is killed and restarted under it.

- AddressSanitizer + UBSan: no memory error, no undefined behaviour;
- ThreadSanitizer: no data race in the loader's code (uWSGI's own code is not
  instrumented, so a report with a frame of ours is one of ours).
"""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from faultserver import FaultServer
from support import BIN, ROOT, clean_env, wait_for
from uwsgi_harness import UWSGI

BUILDS = {"address": os.path.join(ROOT, ".build", "uwsgi-plugins-sanitized"),
          "thread": os.path.join(ROOT, ".build", "uwsgi-plugins-tsan")}


def runtime(name):
    return subprocess.run(["gcc", "-print-file-name=%s.so" % name], capture_output=True, text=True).stdout.strip()


def blocked_in(pid, library):
    """Is `pid` waiting in a system call made from `library`'s own code? (The user-space
    address /proc/PID/syscall gives, looked up in /proc/PID/maps.)"""
    try:
        fields = open("/proc/%d/syscall" % pid).read().split()
        maps = open("/proc/%d/maps" % pid).read().splitlines()
    except OSError:
        return False
    if len(fields) < 9 or not fields[0].isdigit():
        return False  # running, not in a system call
    pc = int(fields[-1], 16)
    for line in maps:
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo <= pc < hi:
            return len(parts) > 5 and library in parts[5]
    return False


def hammer(u, seconds, routes):
    """Every path into the loader, from several client threads at once; `routes`
    collects the route requests that were served (each one an event to deliver)."""
    stop = time.time() + seconds

    def client(n):
        i = 0
        while time.time() < stop and i < 100:
            i += 1
            u.request("/value?c%dn%d" % (n, i), timeout=3)      # a request's exception (the worker)
            if u.request("/help/%d/%d" % (n, i), timeout=3) == 200:  # route action (a worker)
                routes.append("/help/%d/%d" % (n, i))
            u.request("/log?line-%d-%d" % (n, i), timeout=3)    # log alarm + breadcrumb (master's log loop)
            u.request("/alarm?" + ("41" * (i % 50 + 1)) + "00ff", timeout=3)  # raw alarm (the alarm thread)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    return threads


def daemon_pids(u):
    return [p for p in u.pids() if open("/proc/%d/cmdline" % p, "rb").read().startswith(BIN.encode())]


def wait_while_progress(count, target, stall=15.0):
    """Waits until count() reaches target, as long as it keeps growing: a sanitized
    uWSGI is slow, but one that stops delivering for `stall` seconds fails."""
    last, since = count(), time.time()
    while last < target:
        time.sleep(0.2)
        now = count()
        if now > last:
            last, since = now, time.time()
        elif time.time() - since > stall:
            return False
    return True


# One after the other, on one test worker: the two sanitized uWSGIs at once, beside
# the rest of the suite on two CPUs, starved each other for tens of seconds (a CI
# run's instance answered nothing for 16 s after its storm, then went on).
@pytest.mark.xdist_group("sanitizers")
@pytest.mark.parametrize("mode", ["address", "thread"])
def test_loader_under_sanitizers(tmp_path, mode):
    plugins = BUILDS[mode]
    if not os.path.exists(os.path.join(plugins, "sentry_plugin.so")):
        pytest.fail("make plugin-sanitized first")
    sentry = FaultServer(status=200)
    env = clean_env(SENTRY_DSN=sentry.dsn(), UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), SENTRY_RELEASE="sanitized@1",
                    UWSGI_SENTRY_SESSION_PERIOD="1")  # release health counts in every worker and hands over every second
    if mode == "address":
        # uWSGI itself is not built for leak checking; memory errors and UB are what we look for.
        env.update(LD_PRELOAD=runtime("libasan"), ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    else:
        env.update(LD_PRELOAD=runtime("libtsan"), TSAN_OPTIONS="halt_on_error=0:report_signal_unsafe=0:history_size=4")
    lines = ["plugin-dir = " + plugins, "plugins = sentry", "sentry-sender = " + BIN, "sentry-budget = 0",
             "sentry-log-regex = ^FOO", "alarm = rawalarm sentry:logger=sanitized",
             "route = ^/help sentry:logger=sanitized,message=route ${REQUEST_URI}",
             "hook-asap = sentry:logger=sanitized,message=hook asap", "sentry-logs = info", "sentry-traces = 1.0"]
    try:
        # 4 workers: under libasan 12 a worker can deadlock in ASan's allocator (below).
        with UWSGI(str(tmp_path), lines, env, workers=4 if mode == "address" else 2) as u:
            maps = open("/proc/%d/maps" % u.proc.pid).read()
            assert ("libasan" in maps and "libubsan" in maps) if mode == "address" else "libtsan" in maps, \
                "the sanitizer is really there"
            routes = []
            threads = hammer(u, 6, routes)
            # Mid-storm: a fast run can end the hammer's 400 requests in 2 s.
            assert wait_for(lambda: len(routes) >= 8, timeout=10), routes
            daemon = daemon_pids(u)
            assert daemon, "the loader started its daemon"
            os.kill(daemon[0], signal.SIGKILL)  # the master notices and starts another, mid-storm
            for t in threads:
                t.join()
            # Every route the hammer got through is an event, delivered though the daemon was killed.
            delivered = lambda: {r for r in routes if any(b'"route %s"' % r.encode() in b for b in sentry.requests)}
            assert len(routes) >= 8 and wait_while_progress(lambda: len(delivered()), len(routes)), \
                (len(routes), len(delivered()), sorted(set(routes) - delivered())[:5],
                 [l for b in sentry.requests for l in b.split(b"\n") if b"discarded" in l][:3])
            # Still serving. (Under GCC 12's AddressSanitizer a worker can deadlock in ASan's
            # own allocator: uWSGI forks it from a master that already runs threads, and
            # libasan 12 does not lock its allocator around fork; 0.2.0 does the same.
            # Another worker answers.)
            # A hang fails; a sanitized instance that is slow to get through what the
            # storm left it (on a loaded machine) passes once it answers.
            deadline = time.time() + 30
            served = None
            while served != 200 and time.time() < deadline:
                served = u.request("/", timeout=2)
            # The master says the death on its next cycle (up to a second later): read
            # the log once it has, or a run that delivered everything at once misses it.
            wait_for(lambda: "exited; starting it again" in u.text(), timeout=5)
            log = u.text()
            # libasan 12's own fork bug, and only that: each worker's stack (gdb) was
            # ASan's allocator waiting on a region lock the master's alarm thread held
            # when uWSGI forked the workers (a burst of startup log lines). Every worker
            # then stops at its first allocation of that size, whatever it runs: not
            # ours to fix, and told apart from a hang of ours by where each worker waits.
            workers = [p for p in u.pids() if p != u.proc.pid and p not in daemon_pids(u)]
            asan_deadlock = served != 200 and workers and all(blocked_in(p, "libasan") for p in workers)
            assert served == 200 or asan_deadlock, log[-3000:]
    finally:
        sentry.close()
    assert "exited; starting it again" in log, "the daemon was restarted under load"
    if mode == "address":
        assert "AddressSanitizer" not in log, log[-3000:]
        assert "runtime error:" not in log, log[-3000:]
    else:
        reports = re.split(r"={10,}\n", log)
        ours = [r for r in reports if "ThreadSanitizer" in r and re.search(r"\bsentry_\w+|sentry_plugin\.so", r)]
        assert ours == [], ours[0][:3000]
