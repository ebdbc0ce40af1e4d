"""The fault matrix: every way Sentry can fail, each with its bounded time, exit code,
ONE stderr line and what is left in the spool."""
import os
import re
import time

import pytest

from faultserver import BlackHole, FaultServer, make_cert
from support import clean_env, put_in_spool, run
from support import spool_envelopes as spooled

OK, NETWORK, REJECTED, RATE_LIMITED, SPOOLED = 0, 3, 4, 5, 6
TIMEOUT = 1.5


def check(result, elapsed, code, spool, files, timeout=TIMEOUT):
    assert elapsed <= timeout + 0.5, elapsed
    assert result.returncode == code, result.stderr
    lines = result.stderr.decode().splitlines()
    if code == OK:
        assert lines == []
    else:
        assert len(lines) == 1 and lines[0].startswith("uwsgi-sentry: "), lines
    assert len(spooled(spool)) == files, spooled(spool)
    return lines[0] if lines else ""


def send(dsn, spool, extra=""):
    start = time.monotonic()
    r = run("dsn=%s,message=fault test,timeout=%s,spool=%s%s" % (dsn, TIMEOUT, spool, extra), timeout=30)
    return r, time.monotonic() - start


@pytest.fixture
def spool(tmp_path):
    d = tmp_path / "spool"
    return str(d)


def test_connection_refused(spool):
    s = FaultServer()
    dsn = s.dsn()
    s.close()
    r, t = send(dsn, spool)
    line = check(r, t, SPOOLED, spool, 1)
    assert "spooled in" in line and "0123456789abcdef0123456789abcdef" not in line


def test_unresolvable_host(spool):
    r, t = send("http://0123456789abcdef@no-such-host.invalid/1", spool)
    check(r, t, SPOOLED, spool, 1)


def test_connect_timeout(spool):
    hole = BlackHole()
    try:
        r, t = send(hole.dsn(), spool)
    finally:
        hole.close()
    line = check(r, t, SPOOLED, spool, 1)
    assert "imed out" in line or "Timeout" in line, line


@pytest.mark.parametrize("mode", ["hang", "stall-body", "reset"])
def test_no_complete_answer(spool, mode):
    s = FaultServer(mode=mode)
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    check(r, t, SPOOLED, spool, 1)


@pytest.mark.parametrize("status,code", [(500, REJECTED), (503, REJECTED), (413, REJECTED)])
def test_error_statuses_are_final(spool, status, code):
    s = FaultServer(status=status, body=b'{"detail":"server says no"}', headers=[("X-Sentry-Error", "server says no")])
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    line = check(r, t, code, spool, 0)
    assert "HTTP %d: server says no" % status in line


@pytest.mark.parametrize("headers,seconds", [
    ([("X-Sentry-Rate-Limits", "120:default;error:organization")], 120),
    ([("Retry-After", "33")], 33),
    ([], 60),
])
def test_429_and_what_it_leaves_behind(spool, headers, seconds):
    s = FaultServer(status=429, headers=headers, body=b"")
    try:
        r, t = send(s.dsn(), spool)
        line = check(r, t, RATE_LIMITED, spool, 0)
        assert "retry after %d s" % seconds in line
        # The next process does not send while the limit runs: fast, no request.
        before = len(s.requests)
        r2, t2 = send(s.dsn(), spool)
        line2 = check(r2, t2, RATE_LIMITED, spool, 0)
        assert len(s.requests) == before and "more s" in line2
        assert t2 < 0.5
    finally:
        s.close()


def test_200_with_rate_limit_header_is_remembered(spool):
    s = FaultServer(status=200, headers=[("X-Sentry-Rate-Limits", "300:default:key")])
    try:
        r, t = send(s.dsn(), spool)
        check(r, t, OK, spool, 0)
        r2, t2 = send(s.dsn(), spool)
        check(r2, t2, RATE_LIMITED, spool, 0)
        # Another category is not limited.
        r3 = run("dsn=%s,exception_type=E,exception_value=v,spool=%s" % (s.dsn(), spool))
        assert r3.returncode == OK, r3.stderr
    finally:
        s.close()


@pytest.mark.parametrize("status", [200, 404])
def test_non_sentry_server_answering_html(spool, status):
    s = FaultServer(status=status, body=b"<html><body>It works!</body></html>", content_type="text/html")
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    line = check(r, t, REJECTED, spool, 0)
    assert "HTML page" in line


def test_tls_self_signed(spool, tmp_path):
    cert = make_cert(str(tmp_path))
    s = FaultServer(tls=cert)
    try:
        r, t = send(s.dsn("https"), spool)
        check(r, t, SPOOLED, spool, 1)  # refused by default: no HTTP answer
        r, t = send(s.dsn("https"), spool, ",no_verify")
        check(r, t, OK, spool, 1)
        r, t = send(s.dsn("https"), spool, ",ca_file=" + cert[0])
        check(r, t, OK, spool, 1)
    finally:
        s.close()


def test_spool_file_is_private_and_named_without_secrets(spool):
    s = FaultServer()
    dsn = s.dsn(key="0123456789abcdef0123456789abcdef:secretsecret")
    s.close()
    r, _ = send(dsn, spool)
    assert r.returncode == SPOOLED
    assert os.stat(spool).st_mode & 0o777 == 0o700
    for name in os.listdir(spool):
        assert "0123456789abcdef0123456789abcdef" not in name and "secretsecret" not in name
        assert os.stat(os.path.join(spool, name)).st_mode & 0o777 == 0o600
    for name in spooled(spool):
        assert b"secretsecret" not in open(os.path.join(spool, name), "rb").read()
    assert b"secretsecret" not in r.stderr and b"0123456789abcdef0123456789abcdef" not in r.stderr


def test_without_spool_a_network_failure_is_exit_3():
    r = run("dsn=http://0123456789abcdef@127.0.0.1:9/1,message=x,timeout=1")
    assert r.returncode == NETWORK and r.stderr.count(b"\n") == 1


def test_proxy_from_the_environment():
    """http_proxy is honoured (libcurl's variables): the request goes through the proxy."""
    import socket
    import threading
    target = FaultServer(status=200)
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen(1)
    request_lines = []

    def relay():
        client, _ = proxy.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += client.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        request_lines.append(head.split(b"\r\n")[0])
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += client.recv(65536)
        upstream = socket.create_connection(("127.0.0.1", target.port))
        upstream.sendall(head.replace(b"http://127.0.0.1:%d" % target.port, b"") + b"\r\n\r\n" + body)
        client.sendall(upstream.recv(65536))
        client.close()
        upstream.close()
    threading.Thread(target=relay, daemon=True).start()
    try:
        r = run("dsn=%s,message=via proxy" % target.dsn(),
                env=clean_env(http_proxy="http://127.0.0.1:%d" % proxy.getsockname()[1]))
        assert r.returncode == OK, r.stderr
        assert request_lines == [b"POST http://127.0.0.1:%d/api/1/envelope/ HTTP/1.1" % target.port]
        assert len(target.requests) == 1
    finally:
        target.close()
        proxy.close()


@pytest.mark.parametrize("status,code", [(201, OK), (202, OK), (204, OK), (301, REJECTED), (302, REJECTED),
                                         (401, REJECTED), (600, REJECTED), (999, REJECTED)])
def test_every_status_is_final(spool, status, code):
    s = FaultServer(status=status, headers=[("Location", "http://127.0.0.1:9/")] if 300 <= status < 400 else [])
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    line = check(r, t, code, spool, 0)
    if code == REJECTED:
        assert "HTTP %d" % status in line and len(s.requests) == 1, "a redirect is not followed"


def test_an_interim_answer_before_the_real_one(spool):
    s = FaultServer(status=429, interim=100, headers=[("Retry-After", "40")], body=b"")
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    assert "retry after 40 s" in check(r, t, RATE_LIMITED, spool, 0)


def test_a_rate_limit_behind_kilobytes_of_other_headers(spool):
    s = FaultServer(status=200, junk_headers=12_000, headers=[("X-Sentry-Rate-Limits", "300:default:key")])
    try:
        r, t = send(s.dsn(), spool)
        check(r, t, OK, spool, 0)
        r2, t2 = send(s.dsn(), spool)
        check(r2, t2, RATE_LIMITED, spool, 0)
        assert len(s.requests) == 1
    finally:
        s.close()


def test_a_body_that_never_ends_is_cut_and_the_status_stands(spool):
    s = FaultServer(mode="endless-body")
    try:
        r, t = send(s.dsn(), spool)
    finally:
        s.close()
    check(r, t, OK, spool, 0)


@pytest.mark.parametrize("headers", [
    [("Retry-After", "1e20")], [("Retry-After", "inf")], [("Retry-After", "99999999999999999999")],
    [("Retry-After", "-5")], [("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT")],
    [("X-Sentry-Rate-Limits", "1e20::key")], [("X-Sentry-Rate-Limits", "inf:default:key, nan::key")],
    [("X-Sentry-Rate-Limits", "99999999999999999999:default;error:org")],
])
def test_hostile_numbers_from_the_network_never_crash_anything(tmp_path, headers):
    """0.1.0 died with SIGILL on these (Int() of an unchecked Double), and so did the
    next process, flush and the daemon, on every pass."""
    spool = str(tmp_path / "spool")
    s = FaultServer(status=429, headers=headers, body=b"")
    try:
        r, t = send(s.dsn(), spool)
        assert r.returncode == RATE_LIMITED and t < TIMEOUT + 0.5, (r.returncode, r.stderr)
        seconds = int(re.search(rb"retry after (\d+) s", r.stderr).group(1))
        assert seconds <= 86400, "a server's wait is capped at a day"
        again, _ = send(s.dsn(), spool)
        assert again.returncode == RATE_LIMITED and b"more s" in again.stderr, "the next process reads it back"
        # flush and the daemon read the same state: an envelope the spool kept meets the limit
        event = b'{"event_id":"0123456789abcdef0123456789abcdef","level":"error","logentry":{"formatted":"kept"}}'
        put_in_spool(spool, b'{"event_id":"0123456789abcdef0123456789abcdef","dsn":"%s"}\n{"type":"event","length":%d}\n%s\n'
                     % (s.dsn().encode(), len(event), event))
        assert len(spooled(spool)) == 1
        f = run("flush", spool, timeout=30)
        assert f.returncode == RATE_LIMITED and b"stay in" in f.stderr, f.stderr
        assert len(spooled(spool)) == 1, "the limit keeps the envelope for later"
        import signal
        import subprocess
        from support import BIN, clean_env
        d = subprocess.Popen([BIN, "daemon", spool], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env())
        time.sleep(1.5)
        assert d.poll() is None, d.stderr.read()
        d.send_signal(signal.SIGTERM)
        assert d.wait(5) == 0
    finally:
        s.close()


def discarded(server, reason):
    """What the client reports the server received say about `reason`, summed."""
    import json
    total = 0
    for body in server.requests:
        for line in body.split(b"\n"):
            if b"discarded_events" in line:
                total += sum(d["quantity"] for d in json.loads(line)["discarded_events"] if d["reason"] == reason)
    return total


def test_a_lost_event_reaches_sentry_as_network_error_in_the_next_report():
    s = FaultServer(status=200)
    port = s.port
    s.close()  # nothing listens there now
    r = run("dsn=http://0123456789abcdef@127.0.0.1:%d/1,message=lost,timeout=1" % port)
    assert r.returncode == NETWORK
    s = FaultServer(status=200, port=port)
    try:
        r = run("dsn=http://0123456789abcdef@127.0.0.1:%d/1,message=after the outage" % port)
        assert r.returncode == OK, r.stderr
        assert discarded(s, "network_error") == 1
    finally:
        s.close()


def test_events_held_back_by_a_limit_reach_sentry_as_ratelimit_backoff():
    s = FaultServer(status=429, headers=[("Retry-After", "1")], body=b"")
    try:
        dsn = s.dsn()
        assert run("dsn=%s,message=limited 1" % dsn).returncode == RATE_LIMITED  # refused by Sentry
        assert run("dsn=%s,message=limited 2" % dsn).returncode == RATE_LIMITED  # not even sent
        assert len(s.requests) == 1
        time.sleep(2.1)  # the limit is kept in whole seconds, rounded up
        s.status = 200
        assert run("dsn=%s,message=after the limit" % dsn).returncode == OK
        assert discarded(s, "ratelimit_backoff") == 1, "the one held back; the refused one Sentry counted itself"
    finally:
        s.close()
