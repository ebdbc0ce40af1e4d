"""Every shipped snippet and the loader plugin, on a real uWSGI, delivering to a real
Bugsink: assertions are on STORED events."""
import os
import socket
import subprocess
import threading
import time

import pytest

from support import ROOT, clean_env
from uwsgi_harness import UWSGI
from support import wait_for


def share(installed, name):
    return os.path.join(installed, "share", "uwsgi-sentry", name)


def uwsgi_env(installed, dsn, **extra):
    env = clean_env(PATH=os.path.join(installed, "bin") + ":" + os.environ["PATH"], **extra)
    if dsn:
        env["SENTRY_DSN"] = dsn
    return env


class Events:
    """What Bugsink stored since this object was made."""

    def __init__(self, bugsink):
        self.bugsink = bugsink
        self.seen = {r["id"] for r in bugsink.rows()}

    def new(self):
        return [r for r in self.bugsink.rows() if r["id"] not in self.seen]

    def wait(self, match, count=1, timeout=20.0):
        rows = wait_for(lambda: [r for r in self.new() if match(r)] if len(
            [r for r in self.new() if match(r)]) >= count else None, timeout)
        assert rows, "no stored event matched; stored: %s" % [(r["calculated_type"], r["calculated_value"][:80])
                                                               for r in self.new()]
        for r in rows:
            r["data"] = self.bugsink.event_data(r)
        return rows


def value_has(text):
    return lambda r: text in r["calculated_value"]


def fill_listen_queue(u, events):
    """Twelve slow requests against one worker and `listen = 2`: uWSGI reports a full
    listen queue; returns the stored event."""
    threads = [threading.Thread(target=u.request, args=("/sleep?4",), kwargs={"timeout": 15}) for _ in range(12)]
    for t in threads:
        t.start()
    row = events.wait(value_has("listen queue"), timeout=20)[0]
    for t in threads:
        t.join()
    return row


def test_alarm_log_line(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "set-placeholder = sentry_log_regex=^FOO",
             "ini = " + share(installed, "log.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn)) as u:
        assert u.request("/log?marker-7731") == 200
        row = events.wait(value_has("FOO marker-7731"))[0]
    assert row["logger"] == "uwsgi" and row["level"] == "error"
    assert row["data"]["logentry"]["formatted"] == "FOO marker-7731"
    assert row["data"]["contexts"]["uwsgi"]["reloads"] == "0"


def test_segfault(tmp_path, bugsink, installed):
    events = Events(bugsink)
    with UWSGI(str(tmp_path), ["ini = " + share(installed, "sentry.ini")], uwsgi_env(installed, bugsink.dsn)) as u:
        u.request("/segfault")
        row = events.wait(lambda r: "Segmentation" in r["calculated_value"] or "backtrace" in
                          r["calculated_value"].lower())[0]
    assert row["level"] == "fatal"
    text = row["data"]["logentry"]["formatted"]
    assert "\n" in text, "the backtrace keeps its lines"
    assert row["data"]["extra"]["backtrace"][0], "and they are listed one per entry"


def test_listen_queue_full(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "listen = 2"]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn), workers=1) as u:
        row = fill_listen_queue(u, events)
    assert row["level"] == "warning"


def test_worker_deaths_group_into_one_issue(tmp_path, bugsink, installed):
    events = Events(bugsink)
    with UWSGI(str(tmp_path), ["ini = " + share(installed, "sentry.ini")], uwsgi_env(installed, bugsink.dsn)) as u:
        u.request("/die")
        time.sleep(1.5)
        u.request("/die")
        rows = events.wait(value_has("DAMN ! worker"), count=2)
    assert {r["level"] for r in rows} == {"error"}
    assert len({r["calculated_value"] for r in rows}) == 2, "two different pids"
    assert len({r["issue_id"] for r in rows}) == 1, "one Sentry issue"


def test_harakiri(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "harakiri = 1"]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn)) as u:
        u.request("/sleep?5")
        row = events.wait(value_has("HARAKIRI ON WORKER"))[0]
    assert row["level"] == "fatal"


def test_routes(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "ini = " + share(installed, "routes.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn), workers=1) as u:
        assert u.request("/help/route-5521") == 200
        assert u.request("/put-5521", method="PUT") == 200
        assert u.request("/error500") == 500
        help_row = events.wait(value_has("help asked: GET /help/route-5521"))[0]
        put_row = events.wait(value_has("PUT IS NOT ALLOWED: PUT /put-5521"))[0]
        status_row = events.wait(value_has("HTTP 500 on GET /error500 (worker 1)"))[0]
    assert help_row["logger"] == put_row["logger"] == status_row["logger"] == "uwsgi"


def test_hooks(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "ini = " + share(installed, "hooks.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn)):
        start = events.wait(value_has("uWSGI is starting on "))[0]
        ready = events.wait(value_has("uWSGI worker 1 is ready on "))[0]
    assert start["level"] == ready["level"] == "info"
    assert start["calculated_value"].endswith(socket.gethostname())


def test_exception_handler(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "ini = " + share(installed, "exceptions.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn)) as u:
        u.request("/raise?a=42", headers={"Cookie": "sessionid=s3cr3t", "Authorization": "Bearer t0ken"})
        row = events.wait(lambda r: r["calculated_type"] == "ZeroDivisionError")[0]
    data = row["data"]
    exc = data["exception"]["values"][0]
    assert exc["value"] == "division by zero"
    assert exc["mechanism"] == {"type": "uwsgi", "handled": False}
    frames = exc["stacktrace"]["frames"]
    assert len(frames) >= 2
    for f in frames:
        assert f["filename"].endswith("app.py") and f["lineno"] > 0 and f["function"] and f["context_line"]
    assert [f["function"] for f in frames][-2:] == ["view_raise", "divide"]
    req = data["request"]
    assert req["method"] == "GET" and req["url"] == "http://127.0.0.1:%d/raise" % u.port
    assert req["query_string"] == "a=42"
    assert req["headers"]["Cookie"] == "[Filtered]" and req["headers"]["Authorization"] == "[Filtered]"
    assert "s3cr3t" not in str(data) and "t0ken" not in str(data)
    assert data["platform"] == "python" and set(data["tags"]) >= {"worker", "pid"}


def test_old_readme_blocks_through_the_loader(tmp_path, bugsink, installed):
    events = Events(bugsink)
    plugin_dir = os.path.join(installed, "lib", "uwsgi", "plugins")
    lines = ["plugin-dir = " + plugin_dir, "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"),
             "ini = " + share(installed, "old-plugin.ini"), "listen = 2"]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn), workers=1) as u:
        events.wait(value_has("uWSGI IS STARTING"))
        events.wait(value_has("uWSGI WORKER 1 IS READY"))
        u.request("/log?old-9911")
        events.wait(value_has("FOO old-9911"))
        u.request("/x-9911", method="PUT")
        events.wait(value_has("PUT IS NOT ALLOWED !!!"))
        u.request("/help-9911")
        events.wait(value_has("help asked"))
        u.request("/value?old-9911")
        exc = events.wait(lambda r: r["calculated_type"] == "ValueError" and "old-9911" in r["calculated_value"])[0]
        assert exc["logger"] == "uwsgi.sentry"
        lq = fill_listen_queue(u, events)
        assert lq["data"]["culprit"] == "listen_queue"
        u.request("/segfault")
        seg = events.wait(lambda r: r["level"] == "fatal" and r["logger"] == "uwsgi.sentry")[0]
        assert seg["data"]["culprit"] == "whoknows"


def test_no_dsn_prints_one_line_and_serves(tmp_path, installed):
    lines = ["ini = " + share(installed, n) for n in ("sentry.ini", "routes.ini", "hooks.ini", "exceptions.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, None)) as u:
        assert u.request("/") == 200
        assert u.request("/raise") in (None, 500)  # uWSGI drops the connection on an escaped exception
        assert u.request("/") == 200
        log = u.text()
    assert log.count("uwsgi-sentry: SENTRY_DSN is not set; Sentry reporting is off") == 1


def hanging_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass
    threading.Thread(target=accept, daemon=True).start()
    return srv, stop


@pytest.mark.parametrize("outage", ["down", "hangs"])
def test_uwsgi_starts_and_serves_while_sentry_is_out(tmp_path, installed, outage):
    if outage == "down":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there
        stop = None
    else:
        srv, stop = hanging_server()
        port = srv.getsockname()[1]
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % port
    lines = ["ini = " + share(installed, n) for n in ("sentry.ini", "routes.ini", "hooks.ini", "exceptions.ini")]
    lines += ["set-placeholder = sentry_log_regex=^FOO", "ini = " + share(installed, "log.ini")]
    start = time.monotonic()
    try:
        with UWSGI(str(tmp_path), lines, uwsgi_env(installed, dsn), workers=2) as u:
            started = time.monotonic() - start
            for path in ("/", "/help", "/raise", "/log?x", "/error500", "/"):
                assert u.request(path) in (None, 200, 500)
            assert u.request("/") == 200
            log = u.text()
            assert u.proc.poll() is None
    finally:
        if stop:
            stop.set()
    # hooks are bounded by timeout=3 in hooks.ini (hook-asap in the master)
    assert started < 8, started
    assert "uwsgi-sentry: event" in log or outage == "hangs"
    assert log.count("uwsgi-sentry:") < 40, "no log loop"


def test_route_alarm_storm_leaves_no_zombies(tmp_path, bugsink, installed):
    lines = ["ini = " + share(installed, "sentry.ini"), "ini = " + share(installed, "routes.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn), workers=2) as u:
        for i in range(200):
            u.request("/help/storm-%d" % i)
        # Each alarm's sender is reaped by uWSGI's master; give them time to finish.
        zombies = wait_for(lambda: not u.zombies(), timeout=20)
        assert zombies, "zombies left: %s" % u.zombies()
        assert u.request("/") == 200


def test_loader_spawns_leave_no_zombies_or_fds(tmp_path, bugsink, installed):
    plugin_dir = os.path.join(installed, "lib", "uwsgi", "plugins")
    lines = ["plugin-dir = " + plugin_dir, "plugins = sentry",
             "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"),
             "exception-handler = sentry:logger=uwsgi.storm",
             "route = ^/help sentry:logger=uwsgi.storm,message=storm ${REQUEST_URI}"]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn), workers=2) as u:
        before = {pid: len(os.listdir("/proc/%d/fd" % pid)) for pid in u.pids()}
        for i in range(100):
            u.request("/help/%d" % i)
            u.request("/value?%d" % i)
        time.sleep(1)
        assert wait_for(lambda: not u.zombies(), timeout=20), u.zombies()
        after = {pid: len(os.listdir("/proc/%d/fd" % pid)) for pid in u.pids() if pid in before}
        assert after == {pid: n for pid, n in before.items() if pid in after}, (before, after)


def test_storm_ini_budget_inside_uwsgi(tmp_path, installed):
    """A small storm through storm.ini: the budget holds inside uWSGI and every drop
    reaches Sentry in a client report (the benchmark does 10,000 lines)."""
    import json
    from faultserver import FaultServer
    sentry = FaultServer(status=200)
    lines = ["ini = " + share(installed, "storm.ini"), "ini = " + share(installed, "sentry.ini"),
             "sentry-budget = 3/60", "set-placeholder = sentry_log_regex=^FOO", "ini = " + share(installed, "log.ini")]
    try:
        with UWSGI(str(tmp_path), lines, uwsgi_env(installed, sentry.dsn())) as u:
            assert u.request("/storm?300") == 200
            time.sleep(2)
            u.request("/log?after-the-storm")
            assert wait_for(lambda: any(b"after-the-storm" in b for b in sentry.requests), timeout=10)
            assert wait_for(lambda: not u.zombies(), timeout=10)
    finally:
        sentry.close()
    storm = [b for b in sentry.requests if b"FOO storm line" in b]
    dropped = sum(d["quantity"] for b in sentry.requests for line in b.split(b"\n") if b"discarded_events" in line
                  for d in json.loads(line)["discarded_events"] if d["reason"] == "backpressure")
    assert len(storm) == 3
    assert dropped == 297
