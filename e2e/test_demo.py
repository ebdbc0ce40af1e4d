"""`make demo` (the README's first command) keeps working on the default path (the
loader plugin with SENTRY_DSN), and the login it prints opens the web UI of the
Bugsink IT started, on the events it sent, while it keeps that UI up."""
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from support import ROOT

READY = "Bugsink keeps running until Ctrl-C."
# Both tests look at the one demo run (a fixture of the worker's session): one worker runs them.
pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="session")
def demo():
    """The demo as a user runs it: it prints the table and the login, then waits."""
    env = dict(os.environ, DEMO_PORT="0", PYTHONPATH=os.path.join(ROOT, "e2e"), PYTHONUNBUFFERED="1")
    env.pop("DEMO_NO_WAIT", None)
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "demo", "demo.py")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    out, deadline = [], time.time() + 300
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.strip() == READY:
            break
    text = "".join(out)
    try:
        assert READY in text, "the demo did not come up:\n%s\n%s" % (text[-3000:], proc.stderr.read()[-3000:] if proc.poll() is not None else "")
        yield text
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0, "Ctrl-C ends the demo cleanly"


def test_demo_fires_every_trigger_and_shows_what_was_stored(demo):
    table = demo.split("What Bugsink stored:")[1]
    for expected in ("uWSGI IS STARTING", "FOO disk-almost-full", "help asked: GET /help/me",
                     "PUT IS NOT ALLOWED: PUT /orders/7", "HTTP 500 on GET /error500", "ZeroDivisionError",
                     "DAMN ! worker", "(SIGKILL)", "SIGSEGV", "GET /stuck ran", "listen queue of socket",
                     "uWSGI is starting on", "uWSGI worker 1 is ready on", "old-style DSN with a secret"):
        assert expected in table, expected
    assert "[sentry] reporting exceptions" in demo, "the loader's one start-up line: the default path"


def test_the_printed_login_opens_the_demos_own_web_ui(demo):
    m = re.search(r"Open (http://127\.0\.0\.1:\d+/) and log in as (\S+) / (\S+)", demo)
    assert m, demo[-2000:]
    url, user, password = m.groups()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": user, "password": password}).encode()
    after = opener.open(urllib.request.Request(url + "accounts/login/", data=data, headers={"Referer": url}))
    assert "/accounts/login" not in after.geturl(), "logged in"
    issues = opener.open(url + "issues/1/").read().decode()
    assert "ZeroDivisionError" in issues and "FOO disk-almost-full" in issues, "the demo's own events"
