"""Fixtures: a private state directory per test, the session's Bugsink servers, and
`make install` into a private prefix. Shared helpers live in support.py."""
import subprocess

import pytest

from bugsink import Bugsink
from support import ROOT


@pytest.fixture(autouse=True)
def private_state(tmp_path, monkeypatch):
    state = tmp_path / "uwsgi-sentry-state"
    monkeypatch.setenv("UWSGI_SENTRY_STATE", str(state))
    return str(state)


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
