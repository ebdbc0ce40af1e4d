"""`uwsgi-sentry monitor`: the job always runs and its status is ours; check-ins are
what Sentry's ingestion accepts (e2e/checkins.py, from Relay's rules), delivered
in order, spooled when Sentry gives no answer; and uWSGI's crons use it."""
import os
import signal
import subprocess
import sys
import time

import pytest

from checkins import problems
from faultserver import FaultServer
from relay import normalize, scrubbed_differences
from support import BIN, clean_env, envelope_items, run, spool_envelopes, wait_for
from uwsgi_harness import UWSGI, share, uwsgi_env

TIMEOUT = 1.5


def check_ins(server):
    return envelope_items(server.requests, "check_in")


def monitor(dsn, options, *command, env=None, **kw):
    start = time.monotonic()
    r = run("monitor", "Nightly Report", "dsn=%s,timeout=%s,%s" % (dsn, TIMEOUT, options), "--", *command,
            env=env or clean_env(), **kw)
    return r, time.monotonic() - start


def test_a_run_checks_in_twice_with_its_schedule_and_duration():
    s = FaultServer(status=200)
    try:
        r, _ = monitor(s.dsn(), "schedule=0 3 * * *,checkin_margin=10,max_runtime=60,timezone=Europe/Berlin,"
                       "failure_issue_threshold=2,recovery_threshold=1,environment=prod,release=app@1",
                       sys.executable, "-c", "import time; time.sleep(0.3)")
    finally:
        s.close()
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    first, last = check_ins(s)
    assert [problems(c) for c in (first, last)] == [[], []]
    assert first["status"] == "in_progress" and last["status"] == "ok"
    assert first["check_in_id"] == last["check_in_id"] and first["monitor_slug"] == "nightly-report"
    assert first["monitor_config"] == {"schedule": {"type": "crontab", "value": "0 3 * * *"}, "checkin_margin": 10,
                                       "max_runtime": 60, "timezone": "Europe/Berlin", "failure_issue_threshold": 2,
                                       "recovery_threshold": 1}
    assert "monitor_config" not in last and 0.3 <= last["duration"] < 1.5
    assert first["environment"] == last["environment"] == "prod"


@pytest.mark.parametrize("exit,signal_,status", [(3, None, 3), (None, signal.SIGKILL, 128 + 9), (None, signal.SIGTERM, 128 + 15)])
def test_the_status_is_the_jobs_and_a_failure_checks_in_error(exit, signal_, status):
    s = FaultServer(status=200)
    job = "exit %d" % exit if exit is not None else "kill -%d $$" % signal_
    try:
        r, _ = monitor(s.dsn(), "schedule=5 minute,output_lines=5", "sh", "-c",
                       "echo line one; echo line two >&2; echo password=hunter2 card 4111111111111111 >&2; " + job)
    finally:
        s.close()
    assert r.returncode == status
    assert b"line one" in r.stdout and b"line two" in r.stderr, "the job's output still reaches us (uWSGI's log)"
    last = check_ins(s)[-1]
    assert last["status"] == "error" and problems(last) == []
    events = envelope_items(s.requests, "event")
    assert len(events) == 1, "the failure with the job's last lines"
    e = events[0]
    assert e["tags"]["monitor.slug"] == "nightly-report" and e["contexts"]["trace"]["trace_id"] == last["contexts"]["trace"]["trace_id"]
    assert {b["message"] for b in e["breadcrumbs"]["values"]} == {"line one", "line two", "[Filtered]"}
    # The one scrubbing stage covers a cron job's event too: Sentry's own finds nothing left.
    assert normalize(e)[1] == [] and scrubbed_differences(e) == []


@pytest.mark.parametrize("mode", ["refused", "hang", "403", "429"])
def test_the_job_always_runs_and_at_once(tmp_path, mode):
    if mode == "refused":
        s = FaultServer()
        s.close()
    elif mode == "hang":
        s = FaultServer(mode="hang")
    else:
        s = FaultServer(status=int(mode), headers=[("Retry-After", "60")] if mode == "429" else [])
    marker = str(tmp_path / "started")
    try:
        start = time.time()
        r, elapsed = monitor(s.dsn(), "schedule=0 3 * * *", sys.executable, "-c",
                             "import time; open(%r, 'w').write(repr(time.time()))" % marker)
    finally:
        s.close()
    assert r.returncode == 0
    started = float(open(marker).read())
    assert started - start < 0.2, "the job never waits for Sentry"
    assert elapsed < 2 * TIMEOUT + 1, "the check-ins are bounded by timeout"


def test_stdin_and_signals_pass_through(tmp_path):
    s = FaultServer(status=200)
    try:
        p = subprocess.Popen([BIN, "monitor", "stdin-test", "dsn=%s" % s.dsn(), "--", "sh", "-c",
                              "read line; echo got $line; trap 'echo term; exit 7' TERM; sleep 30 >/dev/null 2>&1 & wait"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        p.stdin.write(b"hello\n")
        p.stdin.flush()
        time.sleep(1)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=10)
    finally:
        s.close()
    assert p.returncode == 7 and out == b"got hello\nterm\n"
    assert check_ins(s)[-1]["status"] == "error"


def test_no_answer_keeps_check_ins_in_order_and_flush_delivers_them(tmp_path):
    down = FaultServer()
    dsn = down.dsn()
    down.close()
    spool = str(tmp_path / "spool")
    r, _ = monitor(dsn, "schedule=0 3 * * *,spool=%s" % spool, "true")
    assert r.returncode == 0
    kept = spool_envelopes(spool)
    assert len(kept) == 2 and all("-monitor-" in k for k in kept)
    up = FaultServer(status=200, port=int(dsn.rsplit(":", 1)[1].split("/")[0]))
    try:
        assert run("flush", spool, "concurrency=8").returncode == 0
    finally:
        up.close()
    assert [c["status"] for c in check_ins(up)] == ["in_progress", "ok"], "in order"


def spool_runs_while_sentry_is_down(spool, monitors=8, runs=3):
    """`runs` rounds of `monitors` monitors' jobs at once, Sentry giving no answer:
    each run's two check-ins go to the spool (often in one millisecond)."""
    down = FaultServer()
    dsn = down.dsn()
    down.close()
    for _ in range(runs):
        procs = [subprocess.Popen([BIN, "monitor", "job-%d" % m, "dsn=%s,timeout=%s,schedule=* * * * *,spool=%s" % (dsn, TIMEOUT, spool),
                                   "--", "true"], env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for m in range(monitors)]
        assert [p.wait(30) for p in procs] == [0] * monitors
    assert len(spool_envelopes(spool)) == monitors * runs * 2
    return int(dsn.rsplit(":", 1)[1].split("/")[0])


def assert_each_monitor_in_order_one_at_a_time(server, monitors=8, runs=3):
    """Per monitor: in_progress then ok for every run, runs in the order they ran, and
    no check-in read before the one before it was answered. Across monitors: several
    at once (the concurrency is used)."""
    by_slug = {}
    timeline = sorted(server.timeline)
    for read_at, answered_at, body in timeline:
        for c in envelope_items([body], "check_in"):
            by_slug.setdefault(c["monitor_slug"], []).append((read_at, answered_at, c))
    assert sorted(by_slug) == ["job-%d" % m for m in range(monitors)]
    for slug, seen in by_slug.items():
        statuses = [c["status"] for _, _, c in seen]
        assert statuses == ["in_progress", "ok"] * runs, (slug, statuses)
        ids = [c["check_in_id"] for _, _, c in seen]
        assert all(ids[i] == ids[i + 1] for i in range(0, len(ids), 2)) and len(set(ids)) == runs, (slug, ids)
        for (_, answered, _), (read, _, _) in zip(seen, seen[1:]):
            assert read >= answered, "%s: a check-in went before the one before it was answered" % slug
    overlaps = sum(1 for i, (r1, a1, _) in enumerate(timeline) for (r2, _, _) in timeline[i + 1:] if r2 < a1)
    assert overlaps > 0, "monitors go in parallel"


@pytest.mark.parametrize("deliverer", ["flush", "daemon"])
def test_many_monitors_spooled_while_down_arrive_in_order_whatever_the_concurrency(tmp_path, deliverer):
    """Issue 24: flush with concurrency=8 once sent a job's ok before its in_progress
    (both spooled in one millisecond, ordered by their random ids)."""
    spool = str(tmp_path / "spool")
    port = spool_runs_while_sentry_is_down(spool)
    up = FaultServer(status=200, port=port, delay=0.02)  # slow enough for transfers to overlap
    try:
        if deliverer == "flush":
            assert run("flush", spool, "concurrency=8").returncode == 0
        else:
            d = subprocess.Popen([BIN, "daemon", spool, "concurrency=8"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=clean_env())
            try:
                assert wait_for(lambda: spool_envelopes(spool) == [] and len(up.timeline) == 48, timeout=20)
            finally:
                d.send_signal(signal.SIGTERM)
                d.wait(10)
    finally:
        up.close()
    assert_each_monitor_in_order_one_at_a_time(up)


def test_slugs_and_values_sentry_would_refuse_are_made_acceptable():
    s = FaultServer(status=200)
    try:
        r = run("monitor", "A Very Long Name! " * 5, "dsn=%s,schedule=10 minutes,environment=%s" % (s.dsn(), "e" * 100),
                "--", "true")
    finally:
        s.close()
    assert r.returncode == 0
    for c in check_ins(s):
        assert problems(c) == [], problems(c)
    assert check_ins(s)[0]["monitor_config"]["schedule"] == {"type": "interval", "value": 10, "unit": "minute"}


def test_usage_errors_and_a_command_that_cannot_start():
    assert run("monitor", "x").returncode == 2
    assert run("monitor", "x", "--").returncode == 2
    s = FaultServer(status=200)
    try:
        r = run("monitor", "x", "dsn=%s" % s.dsn(), "--", "/no/such/command")
    finally:
        s.close()
    assert r.returncode == 127 and b"cannot run '/no/such/command'" in r.stderr
    assert check_ins(s)[-1]["status"] == "error"


def test_a_uwsgi_cron_checks_in(tmp_path, installed):
    s = FaultServer(status=200)
    lines = ["ini = " + share(installed, "sentry.ini"),
             "cron = -1 -1 -1 -1 -1 %s monitor every-minute 'schedule=* * * * *' -- sh -c 'echo cron ran'"
             % os.path.join(installed, "bin", "uwsgi-sentry")]
    try:
        with UWSGI(str(tmp_path), lines, uwsgi_env(installed, s.dsn()), workers=1):
            assert wait_for(lambda: [c["status"] for c in check_ins(s)] == ["in_progress", "ok"], timeout=70), check_ins(s)
    finally:
        s.close()
    assert check_ins(s)[0]["monitor_slug"] == "every-minute" and all(problems(c) == [] for c in check_ins(s))
