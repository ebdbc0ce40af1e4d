import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bugsink import Bugsink  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("UWSGI_SENTRY_BIN", os.path.join(ROOT, ".build", "release", "uwsgi-sentry"))


def clean_env(**extra):
    """The caller's environment without any SENTRY_* or UWSGI_* defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "UWSGI_"))}
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
