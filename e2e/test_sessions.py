"""Release health from uWSGI itself (issue 20): how every request ended, counted by
the loader in shared memory and sent each minute as Sentry's `sessions` item. Checked
on a recording server against Relay's rules (e2e/protocol.py), and by Bugsink, which
must accept the envelopes. UWSGI_SENTRY_SESSION_PERIOD=1 hands the current minute
over every second too (the counts of a minute may come in several items; Sentry adds
them up), so a test need not wait for a minute to end."""
import collections
import os
import signal
import threading
import time
import urllib.request

from faultserver import FaultServer
from protocol import COUNTS, session_problems
from support import envelope_items, wait_for
from uwsgi_harness import UWSGI, daemon_pid, plugin_dir, sdk_app, uwsgi_env


def one_line(installed, *more):
    return ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
            "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), *more]


def totals(server):
    """Counts by end over every sessions item received, and the items' problems."""
    out, problems = collections.Counter(), []
    for payload in envelope_items(server.requests, "sessions"):
        problems += session_problems(payload)
        for a in payload.get("aggregates", []):
            out.update({k: a.get(k, 0) for k in COUNTS})
    return +out, problems


def requests(u, paths, clients=4):
    """Each path requested once, `clients` at a time."""
    todo = list(paths)
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                if not todo:
                    return
                path = todo.pop()
            u.request(path, timeout=20)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_thousand_requests_add_up_exactly(tmp_path, installed, bugsink):
    """919 answered, 30 answered 500, 50 raised, 1 cut by harakiri: exactly those
    counts, as exited, errored, crashed and abnormal, in items Relay would take."""
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), SENTRY_RELEASE="shop@1.4.2", UWSGI_SENTRY_SESSION_PERIOD="1")
    with UWSGI(str(tmp_path / "u"), one_line(installed, "harakiri = 2"), env, workers=2) as u:
        assert "release health;" in wait_for(lambda: "[sentry] reporting" in u.text() and u.text(), timeout=5)
        stuck = threading.Thread(target=u.request, args=("/stuck?10",), kwargs={"timeout": 20})
        stuck.start()
        requests(u, ["/"] * 919 + ["/error500"] * 30 + ["/value?%d" % i for i in range(50)])
        stuck.join()
        want = {"exited": 919, "errored": 30, "crashed": 50, "abnormal": 1}
        got, problems = wait_for(lambda: (lambda t: t if t[0] == want else None)(totals(server)), timeout=20) or totals(server)
    server.close()
    assert got == want, (got, u.text()[-3000:])
    assert not problems, problems
    payloads = envelope_items(server.requests, "sessions")
    assert envelope_items(server.requests, "log") == [], "sentry-logs is off: no log item, ever"
    assert {p["attrs"]["release"] for p in payloads} == {"shop@1.4.2"}
    assert {p["attrs"]["environment"] for p in payloads} == {"production"}
    # Bugsink (which drops sessions) still answers 200 to each envelope.
    for body in [b for b in server.requests if b'{"type":"sessions"' in b]:
        r = urllib.request.Request(bugsink.url + "api/1/envelope/", data=body, method="POST",
                                   headers={"Content-Type": "application/x-sentry-envelope",
                                            "X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7" % bugsink.dsn.split("//")[1].split("@")[0]})
        assert urllib.request.urlopen(r, timeout=10).status == 200


def test_no_release_no_sessions_and_the_line_says_why(tmp_path, installed):
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), UWSGI_SENTRY_SESSION_PERIOD="1")
    with UWSGI(str(tmp_path / "u"), one_line(installed), env, workers=1) as u:
        requests(u, ["/"] * 50 + ["/error500"] * 5)
        u.request("/raise")
        assert wait_for(lambda: envelope_items(server.requests, "event"), timeout=10)
        text = u.text()
    server.close()
    assert text.count("no release health (no release: set SENTRY_RELEASE or release= in sentry-options)") == 1, text
    assert envelope_items(server.requests, "sessions") == []


def test_a_segfault_is_a_crashed_request_and_release_from_the_options(tmp_path, installed):
    """A worker that died of a crash the loader caught ended its request crashed, as
    Sentry counts a crash (0.3.0 counted it abnormal: uWSGI's own handler exits with
    code 1 when it runs alone)."""
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), UWSGI_SENTRY_SESSION_PERIOD="1")
    lines = one_line(installed, "sentry-options = release=opts@2,environment=staging")
    with UWSGI(str(tmp_path / "u"), lines, env, workers=1) as u:
        u.request("/segfault")
        requests(u, ["/"] * 3)
        want = {"exited": 3, "crashed": 1}
        got, problems = wait_for(lambda: (lambda t: t if t[0] == want else None)(totals(server)), timeout=15) or totals(server)
    server.close()
    assert got == want and not problems, (got, problems)
    assert {(p["attrs"]["release"], p["attrs"]["environment"]) for p in envelope_items(server.requests, "sessions")} == {("opts@2", "staging")}


def test_an_app_running_sentry_sdk_keeps_its_own_sessions(tmp_path, installed):
    """auto (the default): the app's sentry-sdk (release set, auto_session_tracking on)
    counts its requests; we count none of them. true: we count them too."""
    for setting, ours in (("auto", 0), ("true", 20)):
        sdk, us = FaultServer(), FaultServer()
        env = uwsgi_env(installed, us.dsn(), SENTRY_RELEASE="sdk@1", UWSGI_SENTRY_SESSION_PERIOD="1")
        with sdk_app(tmp_path / setting, sdk.dsn(), one_line(installed, "sentry-sessions = " + setting), env) as u:
            requests(u, ["/"] * 20, clients=1)
            if ours:
                wait_for(lambda: totals(us)[0]["exited"] >= ours, timeout=10)
            time.sleep(2.5)  # two hand-overs more: nothing else comes
            text = u.text()
        sdk.close()
        us.close()
        assert totals(us)[0]["exited"] == ours, (setting, totals(us), text[-2000:])
        if setting == "auto":
            assert "the app's own sentry-sdk tracks sessions" in text


def test_a_graceful_reload_and_a_stop_lose_no_minute(tmp_path, installed):
    """The counts live in the master's shared memory: a killed daemon loses none, and
    reloading (SIGHUP) or stopping, the master hands over every minute so far first.
    No UWSGI_SENTRY_SESSION_PERIOD here: without that, the current minute would only go
    at its end, after the reload. What the client saw is what must be counted: a
    request answered is exited, one that a worker going away dropped is abnormal."""
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), SENTRY_RELEASE="reload@1")
    u = UWSGI(str(tmp_path / "u"), one_line(installed), env, workers=2).start()
    seen = collections.Counter()

    def get(path="/"):
        status = u.request(path)
        seen["exited" if status == 200 else "abnormal"] += 1
        return status

    try:
        for _ in range(20):
            get()
        first = daemon_pid(u)
        os.kill(first, signal.SIGKILL)  # the counts are the master's, not the daemon's
        assert wait_for(lambda: [p for p in u.pids() if p != first and b"--channel=3" in open("/proc/%d/cmdline" % p, "rb").read()],
                        timeout=10), "the master starts the daemon again"
        os.kill(u.proc.pid, signal.SIGHUP)
        assert wait_for(lambda: u.text().count("[sentry] reporting") == 2, timeout=20), u.text()[-2000:]
        assert wait_for(lambda: get() == 200, timeout=10)
        for _ in range(5):
            get()
        # The client has its answer before uWSGI's after-request chain runs; a stop
        # (SIGINT: workers killed at once) right then would cut that request's count.
        time.sleep(0.5)
    finally:
        u.stop()
    want = +seen
    got = wait_for(lambda: totals(server)[0] == want and totals(server), timeout=15) or totals(server)
    server.close()
    # The log says which daemon had what, should a minute go missing.
    assert got[0] == want and not got[1] and seen["exited"] >= 26, (got, seen, u.text()[-4000:])
