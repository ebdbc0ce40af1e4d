import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bugsink import Bugsink  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("UWSGI_SENTRY_BIN", os.path.join(ROOT, ".build", "release", "uwsgi-sentry"))


def clean_env(**extra):
    """The caller's environment without any SENTRY_* or UWSGI_* defaults, but with this
    test's own state directory (rate limits, budgets and client reports persist
    across processes by design; tests must not share them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "UWSGI_"))}
    env["UWSGI_SENTRY_STATE"] = os.environ["UWSGI_SENTRY_STATE"]
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def private_state(tmp_path, monkeypatch):
    state = tmp_path / "uwsgi-sentry-state"
    monkeypatch.setenv("UWSGI_SENTRY_STATE", str(state))
    return str(state)


def run(*args, stdin=b"", env=None, timeout=30, bin=BIN):
    """Runs the sender; stdin is bytes (a pipe that closes), or a file object."""
    kw = {}
    if isinstance(stdin, (bytes, str)):
        kw["input"] = stdin.encode() if isinstance(stdin, str) else stdin
    else:
        kw["stdin"] = stdin
    return subprocess.run([bin, *args], capture_output=True, timeout=timeout,
                          env=env if env is not None else clean_env(), **kw)


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory):
    server = Bugsink(str(tmp_path_factory.mktemp("bugsink"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_bugsink(tmp_path_factory):
    """A second Bugsink with tiny limits, to provoke 413 (event > 20 kB) and 429 (quota 3)."""
    server = Bugsink(str(tmp_path_factory.mktemp("bugsink-limits")), quota=3, max_event_size=20_000).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """`make install` into a private prefix: the tests use what operators get."""
    prefix = str(tmp_path_factory.mktemp("prefix"))
    subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix], check=True, stdout=subprocess.DEVNULL)
    return prefix
