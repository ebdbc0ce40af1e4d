"""Fixtures: a private state directory per test, the session's Bugsink servers, and
`make install` into a private prefix. Shared helpers live in support.py."""
import os
import subprocess

import pytest

from bugsink import Bugsink
from support import ROOT

# The daemon's waits, shortened for every test (support.TIMING; a test that needs a
# production value sets it itself): what a test waits for is behaviour, not a clock.
os.environ.setdefault("UWSGI_SENTRY_REPORT_DELAY", "1")
os.environ.setdefault("UWSGI_SENTRY_STORY_WAIT", "2")
os.environ.setdefault("UWSGI_SENTRY_BACKOFF", "1")


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


def install(tmp_path_factory, made, name, *args):
    """`make install` into a private prefix: the tests use what operators get. `make
    e2e` installs it once before the (parallel) tests start and names it in `made`."""
    if os.environ.get(made):
        return os.environ[made]
    prefix = str(tmp_path_factory.mktemp(name))
    subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix, *args], check=True, stdout=subprocess.DEVNULL)
    return prefix


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    return install(tmp_path_factory, "UWSGI_SENTRY_TEST_PREFIX", "prefix")


@pytest.fixture(scope="session")
def cmd_only(tmp_path_factory):
    """`make install LOADER=no`: what a host without the loader plugin gets."""
    prefix = install(tmp_path_factory, "UWSGI_SENTRY_TEST_PREFIX_CMD", "cmd-prefix", "LOADER=no")
    assert not os.path.exists(os.path.join(prefix, "lib", "uwsgi", "plugins", "sentry_plugin.so"))
    return prefix
