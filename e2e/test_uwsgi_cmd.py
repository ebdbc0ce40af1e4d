"""Without the loader plugin: the snippets fall back to `cmd:` alarms that hand off
to an attached daemon; on a real uWSGI, delivering to a real Bugsink."""
import os
import signal
import subprocess
import time

import pytest

from bugsink import Events, type_is, value_has
from support import free_port, spool_envelopes, wait_for
from uwsgi_harness import UWSGI, fill_listen_queue, share, uwsgi_env


def env(prefix, dsn, tmp_path, **extra):
    return uwsgi_env(prefix, dsn, UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), **extra)


def test_alarms_hand_off_to_one_daemon(tmp_path, bugsink, cmd_only):
    events = Events(bugsink)
    lines = ["ini = " + share(cmd_only, "sentry.ini"), "set-placeholder = sentry_log_regex=^FOO",
             "ini = " + share(cmd_only, "log.ini"), "ini = " + share(cmd_only, "routes.ini"),
             "ini = " + share(cmd_only, "hooks.ini"), "logto = " + str(tmp_path / "uwsgi-file.log")]
    with UWSGI(str(tmp_path), lines, env(cmd_only, bugsink.dsn, tmp_path), workers=1) as u:
        events.wait(value_has("uWSGI is starting on "))
        u.request("/log?crumb-before")
        time.sleep(0.5)
        # The senders the alarms start (children of the master) hand off on the
        # daemon's socket: no frame file is renamed into the spool.
        trace = str(tmp_path / "strace")
        st = subprocess.Popen(["strace", "-f", "-e", "trace=rename,renameat,renameat2,sendto", "-o", trace,
                               "-p", str(u.proc.pid)], stderr=subprocess.DEVNULL)
        time.sleep(1)
        u.request("/log?cmd-4411")
        row = events.wait(value_has("FOO cmd-4411"))[0]
        st.send_signal(signal.SIGINT)
        st.wait(10)
        calls = open(trace).read()
        assert "USH1" in calls and ".frame" not in calls, calls[-3000:]
        u.request("/help/cmd-5521")
        events.wait(value_has("help asked: GET /help/cmd-5521"))
        u.request("/kill")
        kill = events.wait(value_has("(SIGKILL)"))[0]
        daemons = [p for p in u.pids() if b"daemon" in open("/proc/%d/cmdline" % p, "rb").read()]
    assert len(daemons) == 1, "one attached daemon delivers what the senders hand off"
    assert spool_envelopes(str(tmp_path / "spool")) == []
    assert row["logger"] == "uwsgi"
    crumbs = [c["message"] for c in row["data"]["breadcrumbs"]["values"]]
    assert "FOO crumb-before" in crumbs and "FOO cmd-4411" not in crumbs, "the log file's tail, before the line"
    assert kill["data"]["tags"]["signal"] == "SIGKILL" and "OOM killer" in kill["data"]["extra"]["hint"]


def test_harakiri_is_one_event_naming_its_request(tmp_path, bugsink, cmd_only):
    events = Events(bugsink)
    lines = ["ini = " + share(cmd_only, "sentry.ini"), "harakiri = 2"]
    with UWSGI(str(tmp_path), lines, env(cmd_only, bugsink.dsn, tmp_path), workers=1) as u:
        u.request("/stuck?6", timeout=15)
        row = events.wait(type_is("Harakiri"))[0]
        time.sleep(3)
        stored = events.new()
    x = row["data"]["exception"]["values"][0]
    assert row["level"] == "fatal" and x["value"].startswith("GET /stuck ran ") and "(worker 1, pid " in x["value"]
    assert row["data"]["fingerprint"] == ["uwsgi-harakiri", "GET", "/stuck"]
    assert len(stored) == 1, "the harakiri lines and the worker's death: one event, not %s" % [
        r["calculated_value"][:60] for r in stored]


def test_segfault_and_listen_queue(tmp_path, bugsink, cmd_only):
    events = Events(bugsink)
    lines = ["ini = " + share(cmd_only, "sentry.ini"), "listen = 2"]
    with UWSGI(str(tmp_path), lines, env(cmd_only, bugsink.dsn, tmp_path), workers=1) as u:
        u.request("/segfault")
        seg = events.wait(type_is("SIGSEGV"))[0]
        lq = fill_listen_queue(u, events)
    assert seg["level"] == "fatal" and lq["level"] == "warning"
    assert "uwsgi_workers" not in lq["data"].get("contexts", {}), "without the loader or a stats server nothing claims what workers did"


def test_listen_queue_asks_the_stats_server(tmp_path, bugsink, cmd_only):
    """`stats =` set after the include, as an app's ini does: the snippet's `%(stats)`
    resolves, and the sender lists what the worker was busy with."""
    events = Events(bugsink)
    lines = ["ini = " + share(cmd_only, "sentry.ini"), "listen = 2", "stats = 127.0.0.1:%d" % free_port()]
    with UWSGI(str(tmp_path), lines, env(cmd_only, bugsink.dsn, tmp_path), workers=1) as u:
        lq = fill_listen_queue(u, events)
    busy = {k: v for k, v in lq["data"]["contexts"]["uwsgi_workers"].items() if k != "type"}
    assert list(busy) == ["worker 1 core 0"] and busy["worker 1 core 0"].startswith("GET /sleep (running for "), busy
    assert lq["data"]["tags"]["busiest_endpoint"] == "GET /sleep"
    assert "uwsgi_stats" not in lq["data"].get("extra", {})


def test_no_dsn_prints_one_line(tmp_path, cmd_only):
    lines = ["ini = " + share(cmd_only, n) for n in ("sentry.ini", "routes.ini", "hooks.ini")]
    with UWSGI(str(tmp_path), lines, uwsgi_env(cmd_only, None)) as u:
        assert u.request("/") == 200
        log = u.text()
    ours = [l for l in log.splitlines() if l.startswith(("[sentry]", "uwsgi-sentry:"))]
    assert ours == ["uwsgi-sentry: SENTRY_DSN is not set; Sentry reporting is off"], ours
