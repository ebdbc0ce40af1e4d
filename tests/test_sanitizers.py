"""The C loader built with AddressSanitizer and UBSan, loaded into Debian's uWSGI
(libasan preloaded), driven with real exceptions, oversized (truncated) packets,
raw binary alarm messages, storms, routes and hooks: no sanitizer report."""
import os
import subprocess
import time

import pytest

from support import BIN, ROOT, clean_env
from faultserver import FaultServer
from uwsgi_harness import UWSGI
from support import wait_for

PLUGINS = os.path.join(ROOT, ".build", "uwsgi-plugins-sanitized")


def libasan():
    return subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(not os.path.exists(os.path.join(PLUGINS, "sentry_plugin.so")), reason="make plugin-sanitized")
def test_loader_under_asan_and_ubsan(tmp_path):
    sentry = FaultServer(status=200)
    env = clean_env(SENTRY_DSN=sentry.dsn(), LD_PRELOAD=libasan(),
                    # uWSGI itself is not built for leak checking; memory errors and UB are what we look for.
                    ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
                    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    lines = ["plugin-dir = " + PLUGINS, "plugins = sentry", "sentry-sender = " + BIN, "sentry-budget = 5/60",
             "exception-handler = sentry:logger=asan", "alarm = rawalarm sentry:logger=asan",
             "alarm-log = rawalarm ^FOO", "route = ^/help sentry:logger=asan,message=route ${REQUEST_URI}",
             "hook-asap = sentry:logger=asan,message=hook asap"]
    try:
        with UWSGI(str(tmp_path), lines, env, workers=2) as u:
            for i in range(20):
                u.request("/raise?a=%d" % i)
                u.request("/value?%d" % i)
                u.request("/help/%d" % i)
            for _ in range(3):
                u.request("/huge")
            for hexmsg in ("00", "00ff0a0d", "41" * 9000, "ff" * 20, "0a" * 100):
                u.request("/alarm?" + hexmsg)
            u.request("/storm?200")
            assert wait_for(lambda: len(sentry.requests) >= 40, timeout=30), len(sentry.requests)
            time.sleep(1)
            assert u.request("/") == 200
            maps = open("/proc/%d/maps" % u.proc.pid).read()
            assert "libasan" in maps and "libubsan" in maps, "the sanitizers are really there"
            log = u.text()
    finally:
        sentry.close()
    assert "AddressSanitizer" not in log, log[-3000:]
    assert "runtime error:" not in log, log[-3000:]
    assert "uWSGI is running" in log or "spawned uWSGI worker" in log
