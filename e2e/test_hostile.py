"""A corpus of hostile inputs: each gets a clear one-line error (or a warning and a
sent event) and a documented exit code; never a crash, a hang, or a header
injection. Option strings and packets that cannot be argv (NUL bytes, megabytes)
go through stdin, the way uWSGI hands them over."""
import os
import random
import time

import pytest

from faultserver import FaultServer
from packets import item, kv, packet
from support import run

DSN = "http://0123456789abcdef@127.0.0.1:9/1"
DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7}
# Random inputs are reproducible: the seed is printed, and HOSTILE_SEED replays one.
SEED = int(os.environ.get("HOSTILE_SEED", random.randrange(1 << 30)))
print("hostile inputs: HOSTILE_SEED=%d" % SEED)
RNG = random.Random(SEED)

# (name, argv words or None, stdin bytes, allowed exit codes)
OPTIONS = [
    ("dangling escape", ["dsn=%s,message=end\\" % DSN], b"", {0}),
    ("only a backslash", ["\\"], b"", {2}),
    ("empty key", ["dsn=%s,=value,message=x" % DSN], b"", {0}),
    ("empty everything", [",,,=,=,,"], b"", {2}),
    ("key without value", ["dsn=%s,message" % DSN], b"", {2}),
    ("duplicate dsn", ["dsn=nonsense,dsn=%s,message=x" % DSN], b"", {0}),
    ("unknown keys only", ["foo=1,bar=2"], b"", {2}),
    ("1 MB value", None, b"dsn=" + DSN.encode() + b",message=" + b"v" * (1 << 20) + b"\n", {0}),
    ("1 MB tags", None, b"dsn=" + DSN.encode() + b",message=m,tags=" + b"k:v;" * 250000 + b"\n", {0}),
    ("NUL bytes in options", None, b"dsn=" + DSN.encode() + b",message=a\x00b,tags=k\x00:v\x00\n", {0}),
    ("NUL byte in key", None, b"dsn=" + DSN.encode() + b",mess\x00age=x,message=y\n", {0}),
    ("binary option line", None, bytes(range(1, 256)).replace(b"\n", b"") + b"\nrest", {0}),
    ("invalid UTF-8 everywhere", None, b"dsn=" + DSN.encode() + b",message=\xff\xfe,logger=\xc3\n\xff", {0}),
    ("control characters", ["dsn=%s,message=\x01\x02\x1b[31m,logger=\x7f" % DSN], b"", {0}),
    ("bad level and platform", ["dsn=%s,message=x,level=\x01\xff,platform=%s" % (DSN, "p" * 5000)], b"", {0}),
    ("NUL in level (stdin)", None, b"dsn=" + DSN.encode() + b",message=x,level=\x00\n", {0}),
    ("timeout nonsense", ["dsn=%s,message=x,timeout=1e999" % DSN], b"", {0}),
    ("negative timeout", ["dsn=%s,message=x,timeout=-5" % DSN], b"", {0}),
    ("budget nonsense", ["dsn=%s,message=x,budget=a/b/c" % DSN], b"", {0}),
    ("mode nonsense", ["dsn=%s,message=x,mode=teleport" % DSN], b"", {0}),
    ("spool_max nonsense", ["dsn=%s,message=x,spool_max=-1,spool_max_age=x" % DSN], b"", {0}),
    ("thousands of commas", ["dsn=%s,message=x" % DSN + "," * 100000], b"", {0}),
    ("thousands of escapes", ["dsn=%s,message=" % DSN + "\\," * 50000], b"", {0}),
    ("deep tag list", ["dsn=%s,message=x,tags=" % DSN + ";" * 60000], b"", {0}),
    ("user with huge data", ["dsn=%s,message=x,user=" % DSN + "k:v;" * 20000], b"", {0}),
    ("fingerprint of empties", ["dsn=%s,message=x,fingerprint=;;;;;;" % DSN], b"", {0}),
    ("release latest", ["dsn=%s,message=x,release=latest,environment=/" % DSN], b"", {0}),
    ("flag with garbage", ["dsn=%s,message=x,debug=maybe,no_verify=\xff" % DSN], b"", {0}),
    ("unknown flag", ["--frobnicate"], b"", {2}),
    ("bad --dropped", ["--dropped=-1", "message=x"], b"", {2}),
]

DSNS = [
    ("no key", "http://127.0.0.1:9/1"),
    ("empty key", "http://@127.0.0.1:9/1"),
    ("no project", "http://k@127.0.0.1:9"),
    ("project not a number", "http://k@127.0.0.1:9/abc"),
    ("port zero", "http://k@127.0.0.1:0/1"),
    ("port too big", "http://k@127.0.0.1:65536/1"),
    ("port not a number", "http://k@127.0.0.1:http/1"),
    ("CR LF in key", "http://k\r\nX-Injected: 1@127.0.0.1:9/1"),
    ("CR LF in path", "http://k@127.0.0.1:9/1\r\nX-Injected: 1"),
    ("LF in host", "http://k@127.0.0.1\n:9/1"),
    ("space in host", "http://k@127.0.0. 1:9/1"),
    ("ftp scheme", "ftp://k@127.0.0.1/1"),
    ("no scheme", "k@127.0.0.1/1"),
    ("unterminated IPv6", "http://k@[::1:9/1"),
    ("garbage IPv6", "http://k@[zz::]:9/1"),
    ("query string", "http://k@127.0.0.1:9/1?sentry_key=x"),
    ("quote in secret", 'http://k:s"x@127.0.0.1:9/1'),
    ("non-ASCII host", "http://k@h\u00e9st/1"),
    ("very long", "http://" + "k" * 100000 + "@h/1"),
]

PACKETS = [
    ("truncated length", packet()[:1]),
    ("length past the end", item(b"vars")[:2] + b"\xff\xff" + b"x" * 10),
    ("vars that lie", kv("vars", b"\x10\x00abc") + kv("class", "E")),
    ("backtrace not 5 per frame", kv("backtrace", item(b"a") + item(b"1"))),
    ("frame item that lies", kv("backtrace", b"\x05\x00ab")),
    ("every length 0xffff", b"\xff\xff" * 100),
    ("only zeros", b"\x00" * 1000),
    ("random bytes", bytes((i * 131 + 7) % 256 for i in range(4096))),
    ("seeded random bytes", RNG.randbytes(4096)),
    ("packet cut mid-way", packet()[:len(packet()) // 2]),
    ("huge values", packet(msg="m" * 60000)[:65536]),
    ("binary vars", packet(vars={"HTTP_\xff": "\x00\x01", "\x00": "", "HTTP_COOKIE": "\xff"})),
    ("no fields at all", b""),
]

STDIN = [
    ("10 MB stdin", ["dsn=%s" % DSN], b"a" * (10 << 20), {0}),
    ("10 MB binary stdin", ["dsn=%s" % DSN], RNG.randbytes(10 << 20), {0}),
    ("binary option line on stdin", None, RNG.randbytes(4096), {0, 2}),
    ("stdin of newlines", ["dsn=%s" % DSN], b"\n" * 100000, {2}),
]


def assert_clean(r, allowed, elapsed):
    assert r.returncode in allowed, (r.returncode, r.stderr[-300:])
    assert r.returncode in DOCUMENTED and r.returncode >= 0, "never a crash or a signal"
    assert elapsed < 10, "never a hang"
    for line in r.stderr.split(b"\n")[:-1]:
        assert line.startswith(b"uwsgi-sentry: "), line
        assert not any(c < 32 or c == 127 for c in line), "no control characters in a log line"
    if r.returncode != 0:
        assert r.stderr.count(b"\n") >= 1


@pytest.mark.parametrize("name,words,stdin,allowed", OPTIONS + STDIN, ids=[c[0] for c in OPTIONS + STDIN])
def test_hostile_option_strings_and_stdin(name, words, stdin, allowed):
    start = time.monotonic()
    r = run("--dry-run", *(words or []), stdin=stdin, timeout=60)
    assert_clean(r, allowed, time.monotonic() - start)


@pytest.mark.parametrize("name,words,stdin,allowed", OPTIONS + STDIN, ids=[c[0] for c in OPTIONS + STDIN])
def test_hostile_option_strings_through_a_real_send(name, words, stdin, allowed, tmp_path):
    """The same corpus through the gates and the transfer, to a server that records
    what it gets: an event that goes out is a well-formed envelope with our headers."""
    s = FaultServer(status=200)
    try:
        target = s.dsn(key="0123456789abcdef")
        swap = lambda b: b.replace(DSN.encode(), target.encode())
        start = time.monotonic()
        r = run(*[swap(w.encode()).decode("utf-8", "surrogateescape") for w in (words or [])],
                stdin=swap(stdin), timeout=60)
        has_dsn = DSN.encode() in (b" ".join(w.encode() for w in (words or [])) + stdin)
        # What a dry run accepts may still be refused by the server (4), or lack a DSN (2).
        assert_clean(r, allowed | {4} | (set() if has_dsn else {2}), time.monotonic() - start)
        for body in s.requests:
            first = body.split(b"\n", 1)[0]
            assert first.startswith(b'{"event_id":"') and b"\r" not in first, first[:200]
        if r.returncode == 0 and has_dsn:
            assert len(s.requests) == 1, "what exits 0 was delivered"
    finally:
        s.close()


@pytest.mark.parametrize("name,dsn", DSNS, ids=[c[0] for c in DSNS])
def test_hostile_dsns(name, dsn):
    """Every broken DSN aimed at a live server (so 'nothing was sent' can fail)."""
    s = FaultServer(status=200)
    try:
        live = dsn.replace("127.0.0.1:9/", "127.0.0.1:%d/" % s.port).replace("127.0.0.1:9\r", "127.0.0.1:%d\r" % s.port)
        start = time.monotonic()
        r = run("dsn=%s,message=x" % live, timeout=30)
        assert_clean(r, {2}, time.monotonic() - start)
        assert r.stderr.count(b"\n") == 1 and b"invalid DSN" in r.stderr
        assert b"\r" not in r.stderr
        assert not s.requests, "nothing was sent"
    finally:
        s.close()


def test_a_good_dsn_on_the_same_server_is_sent():
    """The control for test_hostile_dsns: the same server does receive a valid one."""
    s = FaultServer(status=200)
    try:
        r = run("dsn=http://0123456789abcdef@127.0.0.1:%d/1,message=x" % s.port)
        assert r.returncode == 0 and len(s.requests) == 1
    finally:
        s.close()


@pytest.mark.parametrize("name,data", PACKETS, ids=[c[0] for c in PACKETS])
def test_hostile_exception_packets(name, data):
    start = time.monotonic()
    r = run("--dry-run", "--uwsgi-exception", stdin=("dsn=%s,logger=uwsgi\n" % DSN).encode() + data, timeout=30)
    assert_clean(r, {0}, time.monotonic() - start)
    assert b'"mechanism":{"type":"uwsgi","handled":false}' in r.stdout, "the exception still goes out"

