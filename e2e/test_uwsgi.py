"""The loader on a real uWSGI, through the INSTALLED snippets and the one-line set-up,
delivering to a real Bugsink: assertions are on STORED events."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from bugsink import Events, type_is, value_has
from faultserver import FaultServer
from support import PYPI_PLUGINS, PYPI_UWSGI, envelope_items, spool_envelopes, wait_for
from uwsgi_harness import UWSGI, daemon_pid, daemon_pid_in, fill_listen_queue, plugin_dir, share, uwsgi_env

PY_FRAMES = "plugins = sentry_pyframes"  # real frames on Debian's uWSGI 2.0.21
TRACE_ID, PARENT_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"  # a W3C traceparent's


def one_line(installed, *more):
    """The whole set-up: the plugin (with SENTRY_DSN in the environment)."""
    return ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
            "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), *more]


def spool_env(installed, dsn, tmp_path, **extra):
    return uwsgi_env(installed, dsn, UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), **extra)




@pytest.mark.parametrize("build", ["debian-2.0.21", "pypi-2.0.31"])
def test_one_line_reports_every_default(tmp_path, bugsink, installed, build):
    """plugin = sentry + SENTRY_DSN, nothing else: an exception with frames (on Debian's
    2.0.21 too, whose own frames are empty: the loader brings sentry_pyframes), a value
    that is not valid Unicode, a segfault, a SIGKILLed worker, a harakiri with its
    stuck line and a full listen queue; on Debian's uWSGI and on PyPI's (python built
    in, the loader built against it by `make pypi-uwsgi`)."""
    events = Events(bugsink)
    more = ("harakiri = 2", "listen = 2", "py-tracebacker = " + str(tmp_path / "tb"))
    if build == "debian-2.0.21":
        u = UWSGI(str(tmp_path), one_line(installed, *more), spool_env(installed, bugsink.dsn, tmp_path), workers=1)
    else:
        assert os.path.exists(PYPI_UWSGI) and os.path.exists(os.path.join(PYPI_PLUGINS, "sentry_plugin.so")), "make pypi-uwsgi"
        lines = ["plugin-dir = " + PYPI_PLUGINS, "plugin = sentry",
                 "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), *more]
        u = UWSGI(str(tmp_path), lines, spool_env(installed, bugsink.dsn, tmp_path), workers=1, binary=PYPI_UWSGI, python=None)
    with u:
        log = u.text()
        assert log.count("[sentry] reporting exceptions, segfaults, full listen queues, worker deaths, harakiri") == 1
        u.request("/raise?a=42", headers={"Cookie": "sessionid=s3cr3t", "Authorization": "Bearer t0ken"})
        exc = events.wait(type_is("ZeroDivisionError"))[0]
        u.request("/surrogate")
        odd = events.wait(lambda r: r["calculated_type"] == "ValueError" and "bad" in r["calculated_value"])[0]
        u.request("/chain", headers={"traceparent": "00-%s-%s-01" % (TRACE_ID, PARENT_SPAN)})
        chain = events.wait(type_is("RuntimeError"))[0]
        u.request("/segfault")
        seg = events.wait(type_is("SIGSEGV"))[0]
        u.request("/kill", headers={"sentry-trace": "%s-%s-1" % (TRACE_ID, PARENT_SPAN)})
        kill = events.wait(value_has("(SIGKILL)"))[0]
        u.request("/stuck?6", timeout=15, headers={"traceparent": "00-%s-%s-01" % (TRACE_ID, PARENT_SPAN)})
        hara = events.wait(lambda r: r["calculated_type"] == "Harakiri" and "/stuck" in r["calculated_value"])[0]
        lq = fill_listen_queue(u, events)
        time.sleep(1.5)
        stored = events.new()
    # the exception: real frames, the scrubbed request
    data = exc["data"]
    frames = data["exception"]["values"][0]["stacktrace"]["frames"]
    assert [f["function"] for f in frames][-2:] == ["view_raise", "divide"]
    assert data["request"]["headers"]["Cookie"] == "[Filtered]" and "s3cr3t" not in str(data) and "t0ken" not in str(data)
    assert data["breadcrumbs"]["values"], "the log lines before it ride along"
    # a chained exception as sentry-python tells it, and more: every frame field, the
    # locals scrubbed, the chain, the runtime, the request's trace (stored by Bugsink)
    cd = chain["data"]
    assert [x["type"] for x in cd["exception"]["values"]] == ["ZeroDivisionError", "RuntimeError"]
    assert cd["exception"]["values"][0]["mechanism"]["source"] == "__cause__"
    top = cd["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    for field in ("filename", "abs_path", "module", "function", "lineno", "context_line", "pre_context", "post_context", "in_app", "vars"):
        assert top.get(field) not in (None, [], ""), field
    assert top["filename"] == "app.py" and top["abs_path"].endswith("/e2e/apps/app.py") and top["in_app"] is True
    assert top["context_line"].strip().startswith("raise RuntimeError(") and len(top["pre_context"]) == 5
    assert top["vars"]["customer"]["password"] == "[Filtered]" and "4111" not in str(top["vars"]) and "t0k3n" not in str(top["vars"])
    assert cd["contexts"]["runtime"]["name"] == "CPython" and cd["contexts"]["trace"]["trace_id"] == TRACE_ID
    assert cd["contexts"]["trace"]["parent_span_id"] == PARENT_SPAN
    # a lone surrogate: the text is kept, the character that UTF-8 cannot carry is U+FFFD
    assert odd["data"]["exception"]["values"][0]["value"] == "bad \ufffd bytes"
    assert odd["data"]["exception"]["values"][0]["stacktrace"]["frames"][-1]["function"] == "application"
    # the segfault: fatal, uWSGI's C backtrace as frames
    assert seg["level"] == "fatal" and seg["data"]["exception"]["values"][0]["stacktrace"]["frames"]
    # the SIGKILL: named, hinted, with the request it was serving
    kd = kill["data"]
    assert kd["tags"]["signal"] == "SIGKILL" and "OOM killer" in kd["extra"]["hint"]
    assert kd["request"]["url"] == "/kill" and kd["request"]["method"] == "GET"
    assert kd["contexts"]["trace"]["trace_id"] == TRACE_ID, "what the master saw of the request: its trace"
    # the harakiri: one fatal event, the request, the line it hung in, per endpoint
    hd = hara["data"]
    x = hd["exception"]["values"][0]
    assert hara["level"] == "fatal" and x["value"].startswith("GET /stuck ran ") and "over harakiri = 2 s" in x["value"]
    assert x["stacktrace"]["frames"][-1]["function"] == "stuck_here"
    assert x["stacktrace"]["frames"][-1]["context_line"].startswith("time.sleep(seconds)")
    assert hd["fingerprint"] == ["uwsgi-harakiri", "GET", "/stuck"]
    assert hd["contexts"]["trace"]["trace_id"] == TRACE_ID and hd["contexts"]["trace"]["parent_span_id"] == PARENT_SPAN
    assert hd["contexts"]["uwsgi"]["then"] == "the worker was killed by SIGKILL"
    assert not [r for r in stored if "killed by signal 9" in r["calculated_value"] and r["id"] != kill["id"]], \
        "the harakiri's worker death is part of its event, not an issue of its own"
    # the full listen queue: what the worker was busy with
    assert lq["level"] == "warning"
    assert "GET /sleep" in str(lq["data"]["contexts"]["uwsgi_workers"]) and lq["data"]["tags"]["busiest_endpoint"] == "GET /sleep"
    assert not lq["data"]["logentry"]["formatted"].startswith(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")), "no date prefix"


def test_every_event_of_a_request_shares_its_trace(tmp_path, installed):
    """A route's event and the exception of one request: one trace, the incoming one
    when the request came with one, else the request's own (and another request's
    is another)."""
    sentry = FaultServer(status=200)
    lines = one_line(installed, "route = ^/chain sentry:message=route ${REQUEST_URI}")
    try:
        with UWSGI(str(tmp_path), lines, spool_env(installed, sentry.dsn(), tmp_path), workers=1) as u:
            u.request("/chain?1")
            u.request("/chain?2")
            u.request("/chain?3", headers={"sentry-trace": "%s-%s" % (TRACE_ID, PARENT_SPAN)})
            assert wait_for(lambda: len(envelope_items(sentry.requests, "event")) == 6, timeout=15)
    finally:
        sentry.close()
    traces = {}
    for e in envelope_items(sentry.requests, "event"):
        formatted = e.get("logentry", {}).get("formatted")
        query = formatted.split("?")[-1] if formatted else e["request"]["query_string"]
        traces.setdefault(query, set()).add((e["contexts"]["trace"]["trace_id"], e["contexts"]["trace"]["span_id"]))
    assert all(len(t) == 1 for t in traces.values()), "one trace (and span) per request: %s" % traces
    assert len({next(iter(t)) for t in traces.values()}) == 3, "a trace per request"
    assert next(iter(traces["3"]))[0] == TRACE_ID, "the incoming one"


def test_sentry_ini_uses_the_loader_and_its_alarm(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = ["ini = " + share(installed, "sentry.ini"), "set-placeholder = sentry_log_regex=^FOO",
             "ini = " + share(installed, "log.ini"), "ini = " + share(installed, "routes.ini"),
             "ini = " + share(installed, "hooks.ini")]
    with UWSGI(str(tmp_path), lines, spool_env(installed, bugsink.dsn, tmp_path), workers=1) as u:
        events.wait(value_has("uWSGI is starting on "))
        events.wait(value_has("uWSGI worker 1 is ready on "))
        u.request("/log?before-7731")
        time.sleep(0.3)
        assert u.request("/log?marker-7731") == 200
        row = events.wait(value_has("FOO marker-7731"))[0]
        assert u.request("/help/route-5521") == 200
        events.wait(value_has("help asked: GET /help/route-5521"))
        assert u.request("/error500") == 500
        events.wait(value_has("HTTP 500 on GET /error500 (worker 1)"))
        log = u.text()
    assert "[sentry] reporting" in log and "subprocess" not in log, "no process per event, nothing for the master to reap"
    crumbs = [c["message"] for c in row["data"]["breadcrumbs"]["values"]]
    assert "FOO before-7731" in crumbs and "FOO marker-7731" not in crumbs, "the lines before it, not its own"


def sigchld_caught(pid):
    """Whether process `pid` has a handler for SIGCHLD (SigCgt in /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        caught = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt:"))
    return bool(caught & (1 << (signal.SIGCHLD - 1)))


def test_log_lines_reach_the_daemon_without_a_send_each(tmp_path, installed):
    """uWSGI's master reads a log line per turn of its loop; the loader copies each
    into the lines' ring (shared memory) and wakes the daemon at most once per batch,
    instead of a send() per line, and looks for a dead worker (waitid) only after a
    SIGCHLD, not every turn. strace on the master: 100 requests (200 log lines), a few
    sends at most, no waitid; the lines still arrive, as the breadcrumbs of an
    exception. Only the master catches SIGCHLD: its workers have it as uWSGI left it."""
    sentry = FaultServer(status=200)
    trace = str(tmp_path / "strace")
    try:
        with UWSGI(str(tmp_path / "u"), one_line(installed), uwsgi_env(installed, sentry.dsn()), workers=1) as u:
            assert u.request("/log?warm-up") == 200
            wait_for(lambda: daemon_pid(u), timeout=10)
            assert sigchld_caught(u.proc.pid)
            assert [p for p in u.pids() if p != u.proc.pid and sigchld_caught(p)] == []
            st = subprocess.Popen(["strace", "-f", "-e", "trace=sendto,sendmsg,waitid", "-o", trace, "-p", str(u.proc.pid)],
                                  stderr=subprocess.DEVNULL)
            time.sleep(1)  # strace attached to every thread
            for i in range(100):
                assert u.request("/log?ring-%d" % i) == 200
            # The master has read the last line (it logs a line after the alarms saw it);
            # under strace its log loop lags behind the requests.
            assert wait_for(lambda: "FOO ring-99" in u.text(), timeout=15)
            st.send_signal(signal.SIGINT)
            st.wait(10)
            u.request("/chain")  # raises: uWSGI closes the connection
            assert wait_for(lambda: envelope_items(sentry.requests, "event"), timeout=15)
            # A worker that dies is still seen (waitid after its SIGCHLD), and the one
            # forked in its place has SIGCHLD as uWSGI left it.
            before = set(u.pids())
            u.request("/kill")
            assert wait_for(lambda: len([e for e in envelope_items(sentry.requests, "event")
                                         if "SIGKILL" in json.dumps(e)]) == 1, timeout=15)
            assert wait_for(lambda: set(u.pids()) - before, timeout=10)
            assert [p for p in u.pids() if p != u.proc.pid and sigchld_caught(p)] == []
        calls = open(trace).read().splitlines()
        sends = [l for l in calls if "sendto(" in l or "sendmsg(" in l]
        assert 1 <= len(sends) <= 25, sends
        assert [l for l in calls if "waitid(" in l] == []
        event = envelope_items(sentry.requests, "event")[0]
        crumbs = [c["message"] for c in event["breadcrumbs"]["values"]]
        assert "FOO ring-99" in crumbs, crumbs
    finally:
        sentry.close()


def test_a_requests_exception_goes_from_its_worker_to_the_daemon(tmp_path, installed):
    """The master has no part in a request's exception: its worker sends the packet
    on the events lane itself (uWSGI's exception-handler route woke a thread of the
    master for each). With the master stopped, the exception still arrives, whole."""
    sentry = FaultServer(status=200)
    try:
        with UWSGI(str(tmp_path), one_line(installed), uwsgi_env(installed, sentry.dsn()), workers=1) as u:
            u.request("/value?warm-up")
            assert wait_for(lambda: any(b"boom from warm-up" in b for b in sentry.requests), timeout=10)
            os.kill(u.proc.pid, signal.SIGSTOP)
            try:
                u.request("/value?master-stopped")
                arrived = wait_for(lambda: any(b"boom from master-stopped" in b for b in sentry.requests), timeout=10)
            finally:
                os.kill(u.proc.pid, signal.SIGCONT)
            assert arrived, "the exception waited for the master"
    finally:
        sentry.close()
    event = [e for e in envelope_items(sentry.requests, "event") if "master-stopped" in json.dumps(e)][0]
    assert event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "application"
    assert event["request"]["query_string"] == "master-stopped"


def test_old_readme_blocks_get_exactly_their_events(tmp_path, bugsink, installed):
    """No DSN in the environment: the old explicit config, nothing added."""
    events = Events(bugsink)
    lines = ["plugin-dir = " + plugin_dir(installed), "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"),
             "set-placeholder = old_dsn=" + bugsink.dsn, "ini = " + share(installed, "old-plugin.ini"),
             "listen = 2", "harakiri = 2", PY_FRAMES]
    env = spool_env(installed, None, tmp_path)
    with UWSGI(str(tmp_path), lines, env, workers=1) as u:
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
        u.request("/kill")
        u.request("/stuck?5", timeout=10)
        time.sleep(3)
        log = u.text()
    assert log.count("[sentry] no SENTRY_DSN and no sentry-dsn") == 1
    named = ("uWSGI IS STARTING", "uWSGI WORKER 1 IS READY", "FOO old-9911", "PUT IS NOT ALLOWED", "help asked", "old-9911",
             "listen queue", "got Segmentation Fault")
    extra = [r["calculated_value"][:60] for r in events.new() if not any(n in r["calculated_value"] for n in named)]
    assert extra == [], "events nobody asked for: %s" % extra


def test_no_dsn_prints_one_line_and_serves(tmp_path, installed):
    lines = ["ini = " + share(installed, n) for n in ("sentry.ini", "routes.ini", "hooks.ini", "exceptions.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(installed, None)) as u:
        assert u.request("/") == 200
        assert u.request("/raise") in (None, 500)  # uWSGI drops the connection on an escaped exception
        assert u.request("/") == 200
        time.sleep(1)
        log = u.text()
        assert not [p for p in u.pids() if b"uwsgi-sentry" in open("/proc/%d/cmdline" % p, "rb").read()], "no daemon"
    ours = [l for l in log.splitlines() if l.startswith(("[sentry]", "uwsgi-sentry:"))]
    assert ours == ["[sentry] no SENTRY_DSN and no sentry-dsn: only the events this config names"], ours


def test_sentry_dsn_option_turns_the_defaults_on(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = one_line(installed, PY_FRAMES, "sentry-dsn = " + bugsink.dsn, "sentry-options = tags=app:shop,environment=staging",
                     "sentry-harakiri = false", "sentry-breadcrumbs = 0")
    with UWSGI(str(tmp_path), lines, spool_env(installed, None, tmp_path)) as u:
        assert "[sentry] reporting exceptions, segfaults, full listen queues, worker deaths, no harakiri; 0 log lines" in u.text()
        u.request("/value?opt-3310")
        row = events.wait(value_has("opt-3310"))[0]
    assert row["data"]["tags"]["app"] == "shop" and row["environment"] == "staging"
    assert "breadcrumbs" not in row["data"]


def test_a_worker_starts_the_daemon_without_a_dsn(tmp_path, bugsink, installed):
    """README's route block with no SENTRY_DSN and no sentry-dsn: the frame a worker
    writes (a route, a worker's hook) makes the master start the daemon. 0.2.0 kept
    that flag in the worker's memory: /help answered 200 and nothing was ever sent."""
    events = Events(bugsink)
    lines = ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
             "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"),
             "route = ^/help sentry:dsn=%s,logger=uwsgi.sentry,message=help asked" % bugsink.dsn,
             "hook-accepting1-once = sentry:dsn=%s,message=worker 1 accepting,level=info" % bugsink.dsn]
    with UWSGI(str(tmp_path), lines, spool_env(installed, None, tmp_path), workers=2) as u:
        assert "[sentry] no SENTRY_DSN and no sentry-dsn" in u.text()
        assert u.request("/help") == 200
        row = events.wait(value_has("help asked"), timeout=15)[0]
        events.wait(value_has("worker 1 accepting"), timeout=15)
    assert row["logger"] == "uwsgi.sentry"


@pytest.mark.parametrize("dsn", [True, False])
@pytest.mark.parametrize("problem", ["missing", "not executable"])
def test_a_wrong_sender_path_is_named_with_why_once_at_start_up(tmp_path, installed, dsn, problem):
    """The start-up line names the path that was tried and why it cannot run; with a
    DSN or without one (0.2.0 said 'not on PATH' although sentry-sender was set)."""
    sender = str(tmp_path / "bin" / "uwsgi-sentry")
    if problem == "not executable":
        os.makedirs(os.path.dirname(sender))
        open(sender, "w").write("#!/bin/sh\n")
    lines = ["plugin-dir = " + plugin_dir(installed), "plugin = sentry", "sentry-sender = " + sender]
    env = uwsgi_env(installed, "http://0123456789abcdef@127.0.0.1:9/1" if dsn else None)
    with UWSGI(str(tmp_path), lines, env) as u:
        for i in range(5):
            u.request("/value?wrong-%d" % i)
        time.sleep(1)
        log = u.text()
    ours = [l for l in log.splitlines() if l.startswith(("[sentry]", "uwsgi-sentry:"))]
    why = "no such file" if problem == "missing" else "not executable"
    if dsn:
        assert ours == ["[sentry] sentry-sender %s: %s; nothing will be reported" % (sender, why)], ours
    else:
        assert ours == ["[sentry] no SENTRY_DSN and no sentry-dsn: only the events this config names "
                        "(and sentry-sender %s: %s)" % (sender, why)], ours


def test_unknown_sentry_option_value_stops_uwsgi(tmp_path, installed):
    u = UWSGI(str(tmp_path), one_line(installed, "sentry-harakiri = maybe"), uwsgi_env(installed, None))
    with pytest.raises(RuntimeError, match="sentry-harakiri = maybe: expected true or false"):
        u.start()


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
        with UWSGI(str(tmp_path), lines, spool_env(installed, dsn, tmp_path), workers=2) as u:
            started = time.monotonic() - start
            # uWSGI drops the connection of a request whose exception escaped (None)
            for path, expected in (("/", 200), ("/help", 200), ("/raise", None), ("/log?x", 200), ("/error500", 500), ("/", 200)):
                timed = time.monotonic()
                status = u.request(path)
                assert status == expected and time.monotonic() - timed < 2, (path, status)
            spool = str(tmp_path / "spool")
            kept = wait_for(lambda: len(spool_envelopes(spool)) >= 5, timeout=10)
            log = u.text()
            assert u.proc.poll() is None
    finally:
        if stop:
            stop.set()
    assert started < 3, started
    assert log.count("uwsgi-sentry:") <= 2, "an outage is said once: %s" % [l for l in log.splitlines() if "uwsgi-sentry:" in l]
    assert kept, "what Sentry did not take is kept: %s" % spool_envelopes(spool)


def test_no_process_per_event_and_no_leaked_fds(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = one_line(installed, "exception-handler = sentry:logger=uwsgi.storm",
                     "route = ^/help sentry:logger=uwsgi.storm,message=storm ${REQUEST_URI},budget=0")
    with UWSGI(str(tmp_path), lines, spool_env(installed, bugsink.dsn, tmp_path), workers=2) as u:
        u.request("/help/warmup")
        events.wait(value_has("storm /help/warmup"))
        before = {pid: len(os.listdir("/proc/%d/fd" % pid)) for pid in u.pids()}
        for i in range(100):
            u.request("/help/%d" % i)
            u.request("/value?%d" % i)
        events.wait(value_has("storm /help/"), count=100, timeout=60)
        after = {pid: len(os.listdir("/proc/%d/fd" % pid)) for pid in u.pids()}
        daemon = daemon_pid(u)
        log = u.text()
    assert set(after) == set(before), "no process came or went: %s vs %s" % (before, after)
    uwsgi_side = {p: n for p, n in after.items() if p != daemon}
    assert uwsgi_side == {p: n for p, n in before.items() if p != daemon}, "uWSGI's processes leak nothing"
    # the daemon keeps its connections to Sentry (concurrency=8 at most)
    assert after[daemon] <= before[daemon] + 8, (before[daemon], after[daemon])
    assert "subprocess" not in log


def test_daemon_killed_is_restarted_and_nothing_is_lost(tmp_path, bugsink, installed):
    events = Events(bugsink)
    lines = one_line(installed, "route = ^/help sentry:message=restart ${REQUEST_URI},budget=0")
    with UWSGI(str(tmp_path), lines, spool_env(installed, bugsink.dsn, tmp_path), workers=2) as u:
        u.request("/help/first")
        events.wait(value_has("restart /help/first"))
        daemon = [daemon_pid(u)]
        os.kill(daemon[0], signal.SIGKILL)
        for i in range(50):  # while it is down: the master keeps the channel, the kernel the frames
            assert u.request("/help/while-down-%d" % i) == 200
        events.wait(value_has("restart /help/while-down-"), count=50, timeout=30)
        again = [p for p in u.pids() if b"--channel=3" in open("/proc/%d/cmdline" % p, "rb").read()]
        log = u.text()
    assert len(again) == 1 and again != daemon
    assert log.count("[sentry] uwsgi-sentry daemon (pid %d) exited; starting it again" % daemon[0]) == 1


def discarded(requests, reason):
    import json
    return sum(d["quantity"] for b in requests for line in b.split(b"\n") if b"discarded_events" in line
               for d in json.loads(line)["discarded_events"] if d["reason"] == reason)


def test_a_full_lane_drops_counts_never_blocks_and_tells_without_a_next_event(tmp_path, installed):
    """The daemon stopped, 3,000 events at uWSGI: none holds a request, every one is
    delivered or counted, and the count reaches Sentry with NO event after the flood
    (0.2.0 waited for a next frame to carry it, and with none it never came)."""
    sentry = FaultServer(status=200)
    lines = one_line(installed, "route = ^/help sentry:message=flood ${REQUEST_URI},budget=0", "buffer-size = 32768")
    try:
        with UWSGI(str(tmp_path), lines, spool_env(installed, sentry.dsn(), tmp_path), workers=2) as u:
            u.request("/help/warmup")
            assert wait_for(lambda: any(b"flood /help/warmup" in b for b in sentry.requests), timeout=10)
            daemon = daemon_pid(u)
            os.kill(daemon, signal.SIGSTOP)  # it reads nothing: the lane fills
            worst = 0.0
            try:
                for i in range(3000):
                    t = time.monotonic()
                    assert u.request("/help/%d-%s" % (i, "x" * 3400)) == 200
                    worst = max(worst, time.monotonic() - t)
            finally:
                os.kill(daemon, signal.SIGCONT)

            def accounted():
                delivered = sum(1 for b in sentry.requests if b"flood /help/" in b and b"warmup" not in b)
                return delivered, discarded(sentry.requests, "queue_overflow")
            # The daemon (nice +10) works through a full lane first: generous on a busy host.
            assert wait_for(lambda: sum(accounted()) == 3000, timeout=90), accounted()
    finally:
        sentry.close()
    delivered, dropped = accounted()
    assert worst < 0.5, "a full lane never holds a request (worst %.3f s)" % worst
    assert dropped > 0 and delivered + dropped == 3000, (delivered, dropped)


def test_an_event_never_loses_its_place_to_log_lines(tmp_path, installed):
    """Log lines (breadcrumbs) have a lane of their own: with the daemon stopped, a
    storm of them fills it (the lines that do not fit are dropped and counted as
    lines, not as events), and the exception raised after the storm still arrives,
    with log lines as its breadcrumbs."""
    sentry = FaultServer(status=200)
    try:
        with UWSGI(str(tmp_path), one_line(installed), spool_env(installed, sentry.dsn(), tmp_path), workers=1) as u:
            u.request("/value?warmup")
            assert wait_for(lambda: any(b"boom from warmup" in b for b in sentry.requests), timeout=10)
            daemon = daemon_pid(u)
            os.kill(daemon, signal.SIGSTOP)
            try:
                assert u.request("/storm?60000", timeout=60) == 200  # 60,000 lines into uWSGI's log
                time.sleep(1)  # the master's log loop forwards them
                u.request("/value?after-the-storm")
                time.sleep(1)
            finally:
                os.kill(daemon, signal.SIGCONT)
            assert wait_for(lambda: any(b"boom from after-the-storm" in b for b in sentry.requests), timeout=30), \
                "the exception was dropped behind the log lines"
    finally:
        sentry.close()
    event = [e for e in envelope_items(sentry.requests, "event") if "after-the-storm" in str(e)][0]
    assert event["breadcrumbs"]["values"], "the lines before it ride along"
    assert discarded(sentry.requests, "queue_overflow") == 0, "no event was lost: lines are not events"
