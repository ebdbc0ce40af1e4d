"""The daemon as the loader runs it: frames on a socket pair (fd 3), a private spool,
a server that records what arrives. Every kind of event it builds passes Sentry's
normaliser (no error, no field dropped) and Sentry's scrubber finds nothing left."""
import json
import os
import signal
import struct
import socket
import subprocess
import time

import pytest

from faultserver import FaultServer
from packets import frame, packet
from relay import normalize, scrubbed_differences
from support import BIN, clean_env, envelope_items, spool_envelopes, wait_for

NOW_US = int(time.time() * 1e6)


class ChannelDaemon:
    """`uwsgi-sentry --channel=FD daemon` with one end of a SOCK_SEQPACKET pair (the loader
    passes it as fd 3)."""

    def __init__(self, tmp_path, dsn, options="", before=(), preexec=None, **env):
        self.ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for data in before:  # queued before it starts
            self.ours.send(data)
        self.spool = str(tmp_path / "spool")
        e = clean_env(SENTRY_DSN=dsn, UWSGI_SENTRY_SPOOL=self.spool, UWSGI_SENTRY_OPTIONS=options,
                      UWSGI_SENTRY_UWSGI_VERSION="2.0.21", **env)
        self.proc = subprocess.Popen([BIN, "--channel=%d" % theirs.fileno(), "daemon"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, pass_fds=(theirs.fileno(),),
                                     preexec_fn=preexec)
        theirs.close()

    def send(self, data):
        self.ours.send(data)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(10)
        self.ours.close()
        return code


def events(server):
    """The event payloads the server received, parsed."""
    return envelope_items(server.requests, "event")


def reports(server, reason):
    return sum(d["quantity"] for b in server.requests for line in b.split(b"\n") if b"discarded_events" in line
               for d in json.loads(line)["discarded_events"] if d["reason"] == reason)


@pytest.fixture
def sentry():
    s = FaultServer(status=200)
    yield s
    s.close()


CORES = [{"wid": 1, "core": 0, "pid": 4242, "start_us": NOW_US - 3_000_000, "method": "GET",
          "uri": "/items/42?card=4111111111111111&token=x", "remote": "10.1.2.3"},
         {"wid": 2, "core": 0, "pid": 4243, "start_us": NOW_US - 1_000_000, "method": "POST", "uri": "/upload",
          "remote": "10.1.2.4"}]

# Every kind of frame the loader sends, with hostile content where content can be.
FRAMES = {
    "exception": frame("exception", options="logger=uwsgi", body=packet(
        vars={"REQUEST_METHOD": "GET", "QUERY_STRING": "cc=4111111111111111&next=/author/5", "HTTP_REFERER": "http://h/?token=abc",
              "HTTP_COOKIE": "sessionid=x", "PATH_INFO": "/raise", "REMOTE_ADDR": "127.0.0.1"})),
    "alarm: worker death": frame("alarm", body="DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ...\n",
                                 now_us=NOW_US, cores=CORES),
    "alarm: listen queue": frame("alarm", body='*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (2/2) ***',
                                 now_us=NOW_US, cores=CORES),
    "alarm: secrets in a line": frame("alarm", body="Wed Nov 25 20:44:25 2026 - login me@example.com card 4111 1111 1111 1111 "
                                                    "Authorization: Bearer abc.def ssn 078-05-1120"),
    "alarm: a segfault": frame("alarm", body="*** backtrace of 1 ***\nuwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]\n"
                                             "/lib/libc.so.6(+0x3c050) [0x7f3c3fcae050]\n*** end of backtrace ***\n"),
    "route": frame("route", options="message=help asked: GET /help?password=x,level=info"),
    "hook": frame("hook", options="message=uWSGI is starting on vm,level=info,tags=phase:asap"),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_every_kind_of_event_is_valid_and_clean(tmp_path, sentry, name):
    d = ChannelDaemon(tmp_path, sentry.dsn(), "breadcrumbs=30")
    try:
        for line in ("Wed Nov 25 20:44:20 2026 - spawned uWSGI worker 1 (pid: 4242, cores: 1)",
                     "[pid: 9|app: 0|req: 1/1] 10.1.2.3 () {24 vars in 263 bytes} [Wed Nov 25 20:44:21 2026] GET /login?"
                     "password=hunter2 => generated 0 bytes in 1 msecs (HTTP/1.1 500) 0 headers in 0 bytes (0 switches on core 0)",
                     "a line with mysql://user:pw@db/x and card 4111111111111111"):
            d.send(frame("log", body=line + "\n"))
        d.send(FRAMES[name])
        assert wait_for(lambda: events(sentry), timeout=10), d.proc.stderr
    finally:
        d.stop()
    (event,) = events(sentry)
    normalised, problems = normalize(event)
    assert problems == [], problems
    assert scrubbed_differences(event) == [], "Sentry's scrubber would still change these"
    assert len(event["breadcrumbs"]["values"]) == 3
    if name == "alarm: worker death":
        assert event["tags"]["signal"] == "SIGKILL" and event["request"]["url"] == "/items/42"
    if name == "alarm: listen queue":
        assert event["contexts"]["uwsgi_workers"]["worker 1 core 0"] == "GET /items/<n> (running for 3.0 s)", "as of the moment the master looked"


def test_harakiri_is_one_event_with_its_stack_and_its_death_merged(tmp_path, sentry):
    d = ChannelDaemon(tmp_path, sentry.dsn())
    try:
        d.send(frame("log", body="before the harakiri\n"))
        d.send(frame("harakiri", wid=1, pid=4242, **{"try": 1}, limit=3, now_us=NOW_US, cores=CORES[:1]))
        for line in ("Wed Nov 25 20:44:25 2026 - *** HARAKIRI ON WORKER 1 (pid: 4242, try: 1) ***",
                     "*** uWSGI Python tracebacker output ***\n\nthread_id = uWSGIWorker1Core0 filename = /app/wsgi.py lineno = 5 "
                     "function = application line = return view()\nthread_id = uWSGIWorker1Core0 filename = /app/views.py "
                     "lineno = 9 function = stuck line = time.sleep(30)\n",
                     "Wed Nov 25 20:44:25 2026 - HARAKIRI [core 0] 10.1.2.3 - GET /items/42 since 1795639460"):
            d.send(frame("log", body=line + "\n"))
        d.send(frame("death", wid=1, pid=4242, signal=9, cores=CORES[:1]))
        d.send(frame("alarm", body="DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ...\n"))
        d.send(frame("log", body="DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ...\n"))
        assert wait_for(lambda: events(sentry), timeout=10)
        time.sleep(1)
    finally:
        d.stop()
    (event,) = events(sentry)
    x = event["exception"]["values"][0]
    assert x["type"] == "Harakiri" and x["value"].startswith("GET /items/42 ran 3.") and "over harakiri = 3 s" in x["value"]
    assert [f["function"] for f in x["stacktrace"]["frames"]] == ["application", "stuck"]
    assert event["contexts"]["uwsgi"]["then"] == "the worker was killed by SIGKILL"
    assert [c["message"] for c in event["breadcrumbs"]["values"]] == ["before the harakiri"]
    assert normalize(event)[1] == [] and scrubbed_differences(event) == []


def test_budget_and_dropped_frames_are_counted(tmp_path, sentry):
    d = ChannelDaemon(tmp_path, sentry.dsn(), "budget=3/60")
    try:
        for i in range(50):
            d.send(frame("alarm", body="FOO storm line %d" % i))
        d.send(frame("alarm", body="another trouble", dropped=7))
        assert wait_for(lambda: reports(sentry, "backpressure") == 47 and reports(sentry, "queue_overflow") == 7, timeout=10), \
            (reports(sentry, "backpressure"), reports(sentry, "queue_overflow"))
    finally:
        d.stop()
    assert len([e for e in events(sentry) if "storm" in e["logentry"]["formatted"]]) == 3


def test_counts_reach_sentry_when_no_event_follows_the_storm(tmp_path, sentry):
    d = ChannelDaemon(tmp_path, sentry.dsn(), "budget=2/60")
    try:
        for i in range(20):
            d.send(frame("alarm", body="FOO storm line %d" % i))
            if i == 1:  # the budget's two are out before the drops begin
                assert wait_for(lambda: len(sentry.requests) == 2, timeout=5)
        # Nothing after the storm: the counts go out on their own (UWSGI_SENTRY_REPORT_DELAY
        # later; 10 s in production), in an envelope with no item but the client report.
        assert wait_for(lambda: reports(sentry, "backpressure") == 18, timeout=16), reports(sentry, "backpressure")
        carriers = [b for b in sentry.requests if b"discarded_events" in b and b'"type":"event"' not in b]
        assert len(carriers) == 1
        assert wait_for(lambda: spool_envelopes(d.spool) == [], timeout=3), spool_envelopes(d.spool)
    finally:
        d.stop()
    assert len(sentry.requests) == 3, "two events and one report: no empty envelope was sent"


def test_bugsink_takes_a_report_without_an_event(tmp_path, bugsink, private_state):
    """Bugsink answers an envelope without an event with an empty text/html 200: an
    acceptance, not a web page (else the counts would be restored and sent again)."""
    d = ChannelDaemon(tmp_path, bugsink.dsn, "budget=1/60")
    try:
        d.send(frame("alarm", body="FOO report line 1"))
        assert wait_for(lambda: spool_envelopes(d.spool) == [], timeout=5)
        time.sleep(1.5)  # the drops below are counted after the event went out
        d.send(frame("alarm", body="FOO report line 2"))
        time.sleep(1.5)
    finally:
        d.stop()  # stopping sends the pending counts at once
    err = d.proc.stderr.read().decode()
    assert "rejected" not in err and "HTML" not in err, err
    assert spool_envelopes(d.spool) == [], "the carrier was taken"
    assert not [n for n in os.listdir(private_state) if n.startswith("discarded-")
                and os.path.getsize(os.path.join(private_state, n))], "no count left to send again"


def test_a_limit_drops_new_events_and_counts_them(tmp_path):
    s = FaultServer(status=429, headers=[("X-Sentry-Rate-Limits", "60:default:key")], body=b"")
    d = ChannelDaemon(tmp_path, s.dsn())
    try:
        d.send(frame("alarm", body="first"))
        assert wait_for(lambda: len(s.requests) == 1, timeout=10)
        for i in range(5):
            d.send(frame("alarm", body="limited %d" % i))
        time.sleep(1)
        assert len(events(s)) == 1, "no event sent while the limit runs"
        assert [f for f in spool_envelopes(d.spool) if "-internal-" not in f] == [], "Sentry asked us to back off, not to queue"
        # The count is not limited (Sentry limits `default` here, not client reports).
        assert wait_for(lambda: reports(s, "ratelimit_backoff") == 5, timeout=10), reports(s, "ratelimit_backoff")
    finally:
        d.stop()
        s.close()


def pending_in_journals(spool):
    """Envelopes a daemon's journal holds and has not marked done (State/Journal.swift:
    "USJ" + P|D, u32 name length, u32 body length, name, body)."""
    names = []
    for f in os.listdir(spool):
        if not f.startswith(".journal-"):
            continue
        data, at = open(os.path.join(spool, f), "rb").read(), 0
        while at + 12 <= len(data) and data[at:at + 3] == b"USJ":
            n, size = struct.unpack_from("<II", data, at + 4)
            if data[at + 3:at + 4] == b"P":
                names.append(data[at + 12:at + 12 + n].decode())
            at += 12 + n + size
    return names


def test_nothing_taken_is_lost_when_the_daemon_dies(tmp_path):
    down = FaultServer(mode="hang")
    d = ChannelDaemon(tmp_path, down.dsn(), "timeout=30")
    spool = str(tmp_path / "spool")
    try:
        for i in range(20):
            d.send(frame("route", options="message=kept %d,budget=0" % i))
        # Taken off the lane, each in the daemon's journal (one of them being sent).
        assert wait_for(lambda: os.path.isdir(spool) and len(pending_in_journals(spool)) == 20, timeout=10)
    finally:
        d.stop(signal.SIGKILL)
        down.close()
    assert [f for f in os.listdir(spool) if f.endswith(".envelope")] == []
    # Sentry back where it was: the next daemon makes spool files of the dead one's
    # journal and sends them.
    up = FaultServer(status=200, port=down.port)
    again = ChannelDaemon(tmp_path, up.dsn())
    try:
        assert wait_for(lambda: len(events(up)) == 20, timeout=60), len(events(up))
    finally:
        again.stop()
        up.close()
    assert sorted(e["logentry"]["formatted"] for e in events(up)) == sorted("kept %d" % i for i in range(20))
    assert [f for f in os.listdir(spool) if f.startswith(".journal-") or f.endswith(".envelope")] == [], os.listdir(spool)


def test_the_daemon_stops_when_the_loader_side_closes(tmp_path, sentry):
    d = ChannelDaemon(tmp_path, sentry.dsn())
    d.send(frame("route", options="message=last words"))
    d.ours.close()  # uWSGI gone, or reloading: EOF on the channel
    assert d.proc.wait(10) == 0
    assert [e["logentry"]["formatted"] for e in events(sentry)] == ["last words"]


def test_a_stop_that_comes_while_it_starts_is_a_stop_not_a_death(tmp_path, sentry):
    """The loader starts the daemon with the stop signals blocked (uWSGI may stop or
    reload right then; the daemon dies with its parent by SIGTERM): one that is already
    pending when it starts is read from its signalfd, after what was queued for it is
    taken and sent. Before, the runtime's default action killed it at once, and the
    frames queued on the lanes went with it."""
    def stop_pending():  # as the loader's child between fork and exec, with a stop already there
        signal.pthread_sigmask(signal.SIG_SETMASK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT})
        os.kill(os.getpid(), signal.SIGTERM)
    d = ChannelDaemon(tmp_path, sentry.dsn(), before=[frame("route", options="message=queued before the stop")],
                      preexec=stop_pending)
    assert d.proc.wait(10) == 0
    d.ours.close()
    assert [e["logentry"]["formatted"] for e in events(sentry)] == ["queued before the stop"]


def test_hostile_frames_are_said_once_and_never_stop_it(tmp_path, sentry):
    d = ChannelDaemon(tmp_path, sentry.dsn())
    try:
        for junk in (b"", b"USF1", b"XXXX" * 100, b"USF1\xff", frame("teleport"), frame("alarm", body=b"\xff\xfe\x00"),
                     os.urandom(4096), frame("exception", body=os.urandom(300))):
            d.send(junk)
        d.send(frame("route", options="message=still alive"))
        assert wait_for(lambda: any(e.get("logentry", {}).get("formatted") == "still alive" for e in events(sentry)), timeout=10)
    finally:
        assert d.stop() == 0
    err = d.proc.stderr.read().decode()
    assert err.count("could not be read") == 1, err

