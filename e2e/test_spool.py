"""Never lose an event: spool, flush, hand-off, the daemon, concurrency, outage and
recovery, against Bugsink (stored events) and the fault server (exact answers)."""
import json
import os
import re
import signal
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bugsink import Bugsink
from faultserver import FaultServer
from support import BIN, clean_env, down_dsn, event_id, free_port, run, wait_for
from support import spool_envelopes as envelopes
from support import spool_leftovers as leftovers
from uwsgi_harness import UWSGI

SPOOLED = 6


def spool_events(dsn, spool, n, prefix="ev"):
    ids = []
    for i in range(n):
        r = run("dsn=%s,message=%s %d,spool=%s,timeout=1,budget=0" % (dsn, prefix, i, spool))
        assert r.returncode == SPOOLED, r.stderr
        ids.append(event_id(r))
    return ids


def test_flush_keeps_on_network_failure_and_removes_on_any_answer(tmp_path):
    spool = str(tmp_path / "spool")
    dsn = down_dsn()
    spool_events(dsn, spool, 2)
    r = run("flush", spool, "timeout=1")
    assert r.returncode == 3 and r.stderr.count(b"\n") == 1
    names = envelopes(spool)
    assert len(names) == 2 and names[0].endswith("-1.envelope"), "first one tried once more"
    assert names[1].endswith("-0.envelope"), "the pass stopped at the first network failure"
    for status, left in ((503, 0),):
        s = FaultServer(status=status)
        try:
            # the spooled envelopes name the old port: point them at the fault server
            for n in envelopes(spool):
                p = os.path.join(spool, n)
                data = open(p, "rb").read().replace(dsn.split("@")[1].encode(), ("127.0.0.1:%d/1" % s.port).encode())
                open(p, "wb").write(data)
            r = run("flush", spool)
            assert r.returncode == 0
            assert len(s.requests) == 2 and envelopes(spool) == [] and leftovers(spool) == []
            assert r.stderr.count(b"HTTP 503") == 2
        finally:
            s.close()


@pytest.mark.parametrize("retry_after", ["60", "1e20"])
def test_flush_ends_at_a_rate_limit_and_keeps_what_it_covers(tmp_path, retry_after):
    """Three spooled envelopes, a server answering 429: the first is dropped (Sentry's
    rule: any answer is final), the other two stay for when the limit ends; the pass
    ends at once, exit 5, one line. 0.2.0 spun at 100% CPU and never exited."""
    spool = str(tmp_path / "spool")
    s = FaultServer(status=429, headers=[("Retry-After", retry_after)], body=b"")
    try:
        for i in range(3):
            assert run("dsn=%s,message=held %d,mode=spool,spool=%s,budget=0" % (s.dsn(), i, spool)).returncode == 0
        started = time.monotonic()
        r = run("flush", spool, timeout=20)
        took = time.monotonic() - started
    finally:
        s.close()
    assert r.returncode == 5 and took < 3, (r.returncode, took, r.stderr)
    assert len(s.requests) == 1 and len(envelopes(spool)) == 2
    wait = 60 if retry_after == "60" else 86400
    assert r.stderr.decode().splitlines() == [
        "uwsgi-sentry: 1 event(s) dropped and 2 stay in %s: Sentry is rate-limiting them for %d more s" % (spool, wait)], r.stderr


def test_backoff_is_per_envelope_and_the_daemon_honours_it(tmp_path):
    spool = str(tmp_path / "spool")
    spool_events(down_dsn(), spool, 1)
    run("flush", spool, "timeout=1", env=clean_env(UWSGI_SENTRY_BACKOFF="5"))  # production's, not the tests' 1 s
    name = envelopes(spool)[0]
    due = os.stat(os.path.join(spool, name)).st_mtime
    assert 3 < due - time.time() <= 5.5, "attempt 1 waits 5 s"


def test_bounds_drop_oldest_and_report_it(tmp_path):
    spool = str(tmp_path / "spool")
    s = FaultServer(status=200)
    dsn = s.dsn()
    try:
        # spool five envelopes while "down" (the fault server is up; write them by hand-off)
        for i in range(5):
            assert run("dsn=%s,message=bounded %d,mode=spool,spool=%s,budget=0" % (dsn, i, spool)).returncode == 0
            time.sleep(0.002)
        r = run("flush", spool, "spool_max=3")
        assert r.returncode == 0, r.stderr
        assert b"dropped 2 spooled event(s)" in r.stderr
        bodies = [b.decode() for b in s.requests]
        # The newest three; several at once (concurrency 8), so in any order on the wire.
        assert sorted(m for b in bodies for m in ("bounded %d" % i for i in range(5)) if m in b) == ["bounded 2", "bounded 3", "bounded 4"]
        report = [line for b in bodies for line in b.splitlines() if "discarded_events" in line]
        assert report and json.loads(report[0])["discarded_events"] == [
            {"reason": "cache_overflow", "category": "default", "quantity": 2}]
    finally:
        s.close()


def test_hand_off_writes_a_frame_for_the_daemon_and_never_loads_libcurl(tmp_path):
    """mode=spool hands the daemon what it was given, as the loader would: a frame in
    the spool, written atomically; the daemon (or a flush) makes the event."""
    spool = str(tmp_path / "spool")
    env = clean_env(LD_DEBUG="files")
    r = subprocess.run([BIN, "dsn=%s,message=handed off,mode=spool,spool=%s" % (down_dsn(), spool)],
                       capture_output=True, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 0
    assert b"libcurl" not in r.stderr
    frames = [f for f in os.listdir(spool) if f.endswith(".frame")]
    assert len(frames) == 1 and envelopes(spool) == [] and leftovers(spool) == []
    assert open(os.path.join(spool, frames[0]), "rb").read().startswith(b"USF1")


def test_hand_off_without_spool_is_a_usage_error(tmp_path):
    r = run("dsn=%s,message=x,mode=spool" % down_dsn())
    assert r.returncode == 2 and b"mode=spool needs spool=DIR" in r.stderr


def daemon(spool, env=None):
    return subprocess.Popen([BIN, "daemon", spool], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or clean_env())


def test_daemon_delivers_hand_offs_and_stops_cleanly(tmp_path, bugsink):
    spool = str(tmp_path / "spool")
    marker = "daemon-%d" % os.getpid()
    for i in range(5):
        r = run("--check", "dsn=%s,message=%s %d,mode=spool,spool=%s,budget=0" % (bugsink.dsn, marker, i, spool))
        assert r.returncode == 0, r.stderr
    assert len([f for f in os.listdir(spool) if f.endswith(".frame")]) == 5
    d = daemon(spool)
    try:
        rows = wait_for(lambda: len(bugsink.rows("e.calculated_value like ?", (marker + " %",))) == 5, timeout=15)
        assert rows, bugsink.rows("e.calculated_value like ?", (marker + " %",))
        assert envelopes(spool) == [] and [f for f in os.listdir(spool) if f.endswith(".frame")] == []
        d.send_signal(signal.SIGTERM)
        assert d.wait(5) == 0
    finally:
        if d.poll() is None:
            d.kill()


def frames(spool):
    return [f for f in os.listdir(spool) if f.endswith(".frame")]


def test_hand_off_goes_over_a_running_daemons_socket_and_a_stopped_one_gets_a_file(tmp_path):
    """With a daemon running, a hand-off is a datagram on its socket in the spool,
    answered once the frame is in the daemon's journal: no frame file, no fsync. A
    stopped daemon does not answer within UWSGI_SENTRY_HANDOFF_WAIT: the sender writes
    the frame file (synced) and the daemon, woken, leaves the stale datagram to it
    (each event sent once: counted at a recording server, since Sentry would keep one
    event per id anyway). A daemon killed -9 leaves its socket: refused at once."""
    spool = str(tmp_path / "spool")
    marker = "socket-%d" % os.getpid()
    trace = str(tmp_path / "trace")
    sink = FaultServer(status=200)
    options = "dsn=%s,message=%s %%s,mode=spool,spool=%s,budget=0" % (sink.dsn(), marker, spool)
    env = clean_env(UWSGI_SENTRY_HANDOFF_WAIT="0.6")
    sent = lambda: sorted(w for w in ("live", "stopped", "killed") for body in sink.requests
                          if ("%s %s" % (marker, w)).encode() in body)
    d = daemon(spool, env)
    try:
        assert wait_for(lambda: os.path.exists(os.path.join(spool, ".handoff.sock")), timeout=10)
        r = subprocess.run(["strace", "-f", "-o", trace, "-e", "trace=sendto,fsync,rename", BIN, options % "live"],
                           capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=30)
        assert r.returncode == 0, r.stderr
        calls = open(trace).read()
        assert "USH1" in calls and "fsync" not in calls and "rename" not in calls, calls
        assert wait_for(lambda: sent() == ["live"], timeout=15), sent()

        d.send_signal(signal.SIGSTOP)
        start = time.monotonic()
        r = run(options % "stopped", env=env)
        took = time.monotonic() - start
        assert r.returncode == 0 and took >= 0.6, (r.stderr, took)
        assert len(frames(spool)) == 1, os.listdir(spool)
        d.send_signal(signal.SIGCONT)
        assert wait_for(lambda: sent() == ["live", "stopped"] and frames(spool) == [], timeout=15), sent()

        # The daemon marks answered envelopes in its journal every 0.5 s: one killed
        # sooner sends its last ones again (same ids). Killed after, it sends nothing again.
        time.sleep(2)
        d.kill()
        d.wait(5)
        start = time.monotonic()
        r = run(options % "killed", env=env)
        assert r.returncode == 0 and time.monotonic() - start < 0.5, r.stderr
        assert len(frames(spool)) == 1
        d = daemon(spool, env)
        assert wait_for(lambda: len(sent()) == 3 and frames(spool) == [], timeout=15), sent()
        time.sleep(1)  # nothing more comes: the stopped daemon's stale datagram made no second send
        assert sent() == ["killed", "live", "stopped"]
        d.send_signal(signal.SIGTERM)
        assert d.wait(5) == 0
        assert not os.path.exists(os.path.join(spool, ".handoff.sock")), "a daemon that stops takes its socket along"
    finally:
        if d.poll() is None:
            d.send_signal(signal.SIGCONT)
            d.kill()
        sink.close()


def loader_frame(fields):
    """A frame as channel.c writes it: "USF1", then u8 key length, key, u32 LE value length, value."""
    out = b"USF1"
    for k, v in fields:
        out += bytes([len(k)]) + k + struct.pack("<I", len(v)) + v
    return out


def test_a_frame_a_killed_daemon_had_journaled_is_delivered_by_the_next(tmp_path, bugsink):
    """The daemon answers a hand-off once the frame is in its journal, before it makes
    the event. Killed in between, it leaves a journal whose pending record is that
    frame: the next daemon makes it a frame file again, and the event of it."""
    spool = str(tmp_path / "spool")
    os.makedirs(spool, mode=0o700)
    marker = "journaled-%d" % os.getpid()
    frame = loader_frame([(b"kind", b"alarm"), (b"options", ("dsn=%s,budget=0" % bugsink.dsn).encode()),
                          (b"body", marker.encode()), (b"from", b"cmd"), (b"id", b"%032x" % os.getpid())])
    name = b"%016d-0123456789ab.frame" % int(time.time() * 1000)
    record = b"USJP" + struct.pack("<II", len(name), len(frame)) + name + frame
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid whose process is gone
    with open(os.open(os.path.join(spool, ".journal-%d" % dead.pid), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(record)
    d = daemon(spool)
    try:
        assert wait_for(lambda: bugsink.rows("e.calculated_value = ?", (marker,)), timeout=15)
        assert not [f for f in os.listdir(spool) if f.startswith(".journal-%d" % dead.pid)]
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(5)


def test_daemon_says_an_outage_once_and_its_end_once(tmp_path):
    spool = str(tmp_path / "spool")
    port = free_port()
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % port
    spool_events(dsn, spool, 3)
    d = daemon(spool)
    try:
        time.sleep(3.5)  # two passes against the outage (UWSGI_SENTRY_BACKOFF: 1 s, then 2 s)
        s = FaultServer(status=200, port=port)
        try:
            # Nothing left, not even in flight (a claim is hidden from envelopes()).
            assert wait_for(lambda: envelopes(spool) == [] and leftovers(spool) == [], timeout=15)
        finally:
            s.close()
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(5)
    lines = d.stderr.read().decode().splitlines()
    assert [l for l in lines if "no answer from" in l] == [lines[0]] and len(lines) == 2, lines
    # the first pass after the outage delivers what is due; one in back-off follows
    assert re.fullmatch(r"uwsgi-sentry: Sentry answers again \(http://127.0.0.1:\d+\); sending what was kept", lines[1]), lines


def test_200_senders_and_a_flusher_on_one_spool(tmp_path, bugsink):
    spool = str(tmp_path / "spool")
    os.makedirs(spool, mode=0o700)
    d = daemon(spool)
    try:
        def send(i):
            r = run("dsn=%s,message=concurrent %d,mode=spool,spool=%s,budget=0" % (bugsink.dsn, i, spool))
            return r.returncode
        with ThreadPoolExecutor(max_workers=32) as pool:
            codes = list(pool.map(send, range(200)))
        assert codes == [0] * 200
        # Hand-offs (frames) become envelopes, envelopes become stored events.
        pending = lambda: envelopes(spool) + [f for f in os.listdir(spool) if f.endswith(".frame")]
        assert wait_for(lambda: pending() == [], timeout=120), len(pending())
        wait_for(lambda: len(bugsink.rows("e.calculated_value like 'concurrent %'")) >= 200, timeout=20)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(10)
    rows = bugsink.rows("e.calculated_value like 'concurrent %'")
    values = sorted(r["calculated_value"] for r in rows)
    assert values == sorted("concurrent %d" % i for i in range(200)), "each exactly once"
    assert leftovers(spool) == []


def test_outage_then_recovery_1000_events_stored_exactly_once(tmp_path):
    port = free_port()
    server = Bugsink(str(tmp_path / "bugsink"), port=port)
    spool = str(tmp_path / "spool")
    dsn = server.dsn

    def send(i):
        return run("dsn=%s,message=outage %d,spool=%s,timeout=1,budget=0" % (dsn, i, spool)).returncode
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, range(1000)))
    assert codes == [SPOOLED] * 1000
    assert len(envelopes(spool)) == 1000
    server.start()
    try:
        r = run("flush", spool, "timeout=30", timeout=600)  # Bugsink shares 2 CPUs with the other suites
        assert r.returncode == 0, r.stderr[-500:]
        assert envelopes(spool) == []
        rows = server.rows("e.calculated_value like 'outage %'")
        assert len(rows) == 1000
        assert sorted(r["calculated_value"] for r in rows) == sorted("outage %d" % i for i in range(1000))
    finally:
        server.stop()


def test_uwsgi_with_spool_and_hand_off_snippets(tmp_path, bugsink, installed):
    from test_uwsgi import share, uwsgi_env, Events, value_has
    spool = str(tmp_path / "spool")
    events = Events(bugsink)
    lines = ["set-placeholder = sentry_spool=" + spool, "ini = " + share(installed, "sentry.ini"),
             "ini = " + share(installed, "spool.ini"), "ini = " + share(installed, "handoff.ini"),
             "set-placeholder = sentry_log_regex=^FOO", "ini = " + share(installed, "log.ini")]
    u = UWSGI(str(tmp_path / "u"), lines, uwsgi_env(installed, bugsink.dsn))
    with u:
        assert u.request("/log?handoff-4411") == 200
        events.wait(value_has("FOO handoff-4411"))
        daemons = [p for p in u.pids() if b"daemon" in open("/proc/%d/cmdline" % p, "rb").read()]
        assert len(daemons) == 1
    assert wait_for(lambda: not os.path.exists("/proc/%d" % daemons[0]), timeout=10), "the daemon stops with uWSGI"

