"""`make demo` (the README's first command) keeps working on the default path (the
loader plugin with SENTRY_DSN), and the login it prints opens Bugsink's web UI on
the events it sent."""
import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

from bugsink import PASSWORD, USER
from support import ROOT


def test_demo_fires_every_trigger_and_shows_what_was_stored():
    env = dict(os.environ, DEMO_NO_WAIT="1", DEMO_PORT="0", PYTHONPATH=os.path.join(ROOT, "tests"))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "demo", "demo.py")], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    table = r.stdout.split("What Bugsink stored:")[1]
    for expected in ("uWSGI IS STARTING", "FOO disk-almost-full", "help asked: GET /help/me",
                     "PUT IS NOT ALLOWED: PUT /orders/7", "HTTP 500 on GET /error500", "ZeroDivisionError",
                     "DAMN ! worker", "(SIGKILL)", "SIGSEGV", "GET /stuck ran", "listen queue of socket",
                     "uWSGI is starting on", "uWSGI worker 1 is ready on", "old-style DSN with a secret"):
        assert expected in table, expected
    assert "[sentry] reporting exceptions" in r.stdout, "the loader's one start-up line: the default path"
    assert re.search(r"Open http://127\.0\.0\.1:\d+/ and log in as admin@example\.com / uwsgi-sentry", r.stdout)


def test_the_printed_login_opens_the_web_ui(bugsink):
    # the demo's server is gone when it exits; the session server is set up the same way
    assert send_one(bugsink)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(bugsink.url + "accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": USER, "password": PASSWORD}).encode()
    req = urllib.request.Request(bugsink.url + "accounts/login/", data=data, headers={"Referer": bugsink.url})
    after = opener.open(req)
    assert "/accounts/login" not in after.geturl(), "logged in"
    issues = opener.open(bugsink.url + "issues/1/").read().decode()
    assert "demo web UI check" in issues


def send_one(bugsink):
    from support import run
    return run("dsn=%s,message=demo web UI check" % bugsink.dsn).returncode == 0
