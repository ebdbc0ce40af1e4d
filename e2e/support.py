"""One home for what the tests, the benchmarks and the demo share: where things are,
how to run the sender, free ports, percentiles, what a spool holds, event ids.

pytest puts e2e/ on sys.path by itself; `make bench` and `make demo` run their
scripts with PYTHONPATH=e2e. Nothing else edits sys.path.
"""
import os
import re
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The binary's real path: every `swift build` (test_deb's `make deb` runs one beside
# the other tests) removes and makes again the `.build/release` symlink, and a test
# that started the binary through it in that instant got ENOENT (a fresh clone's run).
BIN = os.environ.get("UWSGI_SENTRY_BIN") or os.path.realpath(os.path.join(ROOT, ".build", "release", "uwsgi-sentry"))
PLUGINS = os.path.join(ROOT, ".build", "uwsgi-plugins")
VENV = os.environ.get("BUGSINK_VENV", os.path.join(ROOT, ".venv", "py"))
TEST_KEY = "0123456789abcdef0123456789abcdef"
# PyPI's uWSGI and the plugins built against it (`make pypi-uwsgi`; make passes the
# path, which lives in a cache outside the clone).
PYPI_UWSGI = os.environ.get("PYPI_UWSGI") or subprocess.run(
    ["make", "-s", "-C", ROOT, "print-pypi-uwsgi"], capture_output=True, text=True).stdout.strip()
PYPI_PLUGINS = os.path.join(ROOT, ".build", "uwsgi-plugins-pypi")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def down_dsn():
    """A DSN whose port nothing listens on: every send gets no answer."""
    return "http://%s@127.0.0.1:%d/1" % (TEST_KEY, free_port())


def percentile(values, p):
    """The p-th percentile (nearest rank) of `values`."""
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def spool_envelopes(directory):
    """The envelopes a spool directory holds, oldest first (hidden files are claims
    and temporary files, not envelopes)."""
    if not os.path.isdir(directory):
        return []
    return sorted(f for f in os.listdir(directory) if f.endswith(".envelope") and not f.startswith("."))


def put_in_spool(directory, envelope, event_id="0123456789abcdef0123456789abcdef", category="default"):
    """An envelope as the spool keeps it (Spool.swift: `<created ms, 16 digits>-<event
    id>-<category>-<attempt>.envelope`, 0600 in a 0700 directory)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = "%016d-%s-%s-0.envelope" % (int(time.time() * 1000), event_id, category)
    with open(os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(envelope)
    return name


def spool_leftovers(directory):
    """Temporary files and claims left behind: there should never be any at rest."""
    if not os.path.isdir(directory):
        return []
    return [f for f in os.listdir(directory) if f.startswith((".tmp-", ".inflight-"))]


def event_id(result):
    """The event id a sender printed (`event <32 hex> ...`), from stdout or stderr."""
    m = re.search(rb"event ([0-9a-f]{32})", result.stdout + result.stderr)
    assert m, (result.stdout, result.stderr)
    return m.group(1).decode()


# The daemon's waits, shortened for tests (conftest.py sets them; production has
# none of these): counted drops go out on their own after REPORT_DELAY (10 s), a
# harakiri's story waits STORY_WAIT (5 s) for its lines, a server that gave no answer
# is tried again after BACKOFF (5 s, doubling).
TIMING = ("UWSGI_SENTRY_REPORT_DELAY", "UWSGI_SENTRY_STORY_WAIT", "UWSGI_SENTRY_BACKOFF")


def clean_env(**extra):
    """The caller's environment without any SENTRY_* or UWSGI_* defaults, but with this
    test's own state directory (rate limits, budgets and client reports persist
    across processes by design; tests must not share them) and the tests' timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "UWSGI_"))}
    for keep in ("UWSGI_SENTRY_STATE",) + TIMING:
        if keep in os.environ:
            env[keep] = os.environ[keep]
    env.update(extra)
    return env


def run(*args, stdin=b"", env=None, timeout=30, bin=BIN):
    """Runs the sender; stdin is bytes (a pipe that closes), or a file object."""
    kw = {}
    if isinstance(stdin, (bytes, str)):
        kw["input"] = stdin.encode() if isinstance(stdin, str) else stdin
    else:
        kw["stdin"] = stdin
    return subprocess.run([bin, *args], capture_output=True, timeout=timeout,
                          env=env if env is not None else clean_env(), **kw)


def envelope_items(bodies, item_type):
    """The payloads of every `item_type` item ("event", "check_in", ...) in these
    envelope bodies, parsed, in order."""
    import json
    header = b'{"type":"%s"' % item_type.encode()
    out = []
    for body in bodies:
        lines = body.split(b"\n")
        out += [json.loads(lines[i + 1]) for i, line in enumerate(lines[:-1]) if line.startswith(header)]
    return out


def wait_for(predicate, timeout=15.0, interval=0.1):
    """Polls `predicate` until it returns something true or `timeout` passes; returns
    its last value (so a failed wait can be asserted with what was seen)."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() >= deadline:
            return value
        time.sleep(interval)
