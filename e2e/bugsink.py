"""A real Sentry-compatible server for tests and the demo: Bugsink on 127.0.0.1.

Started from the venv that `make venv` builds (BUGSINK_VENV, default .venv/bugsink),
in a private directory, with strict validation on digest: an event that Bugsink's
schema check rejects still gets HTTP 200 but is NOT stored, so tests assert on the
stored row, never on the status.
"""
import fcntl
import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from support import TEST_KEY, VENV, free_port

KEY = TEST_KEY
SECRET_PROJECT_KEY = "fedcba9876543210fedcba9876543210"
USER, PASSWORD = "admin@example.com", "uwsgi-sentry"

SETUP = """
import uuid
from django.contrib.auth import get_user_model
from teams.models import Team, TeamMembership
from projects.models import Project, ProjectMembership
User = get_user_model()
user = User.objects.create_superuser(username=%(user)r, email=%(user)r, password=%(password)r)
team = Team.objects.create(name="uwsgi")
TeamMembership.objects.create(team=team, user=user, role=1, accepted=True)
for name, key in ((%(p1)r, %(k1)r), (%(p2)r, %(k2)r)):
    project = Project.objects.create(name=name, team=team, sentry_key=uuid.UUID(key))
    ProjectMembership.objects.create(project=project, user=user, role=1, accepted=True)
"""


class Bugsink:
    def __init__(self, workdir, port=None, quota=None, max_event_size=None, validate="strict"):
        self.dir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.quota = quota
        self.max_event_size = max_event_size
        self.validate = validate
        self.proc = None

    # DSNs: project 1 takes a bare key; project 2 is reached with key:secret.
    @property
    def dsn(self):
        return "http://%s@127.0.0.1:%d/1" % (KEY, self.port)

    @property
    def secret_dsn(self):
        return "http://%s:0badc0ffee0badc0ffee@127.0.0.1:%d/2" % (SECRET_PROJECT_KEY, self.port)

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def _env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = self.dir
        env["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
        return env

    def _bin(self, name):
        return os.path.join(VENV, "bin", name)

    def setup(self):
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "bugsink_conf.py")
        if os.path.exists(conf):
            os.unlink(conf)
        subprocess.run([self._bin("bugsink-create-conf"), "--template=local", "--host=127.0.0.1",
                        "--port=%d" % self.port], env=self._env(), cwd=self.dir, check=True,
                       stdout=subprocess.DEVNULL)
        extra = {
            "MAX_EVENTS_PER_PROJECT_PER_5_MINUTES": self.quota or 100_000,
            "MAX_EVENTS_PER_PROJECT_PER_HOUR": (self.quota or 100_000) * 12,
            "MAX_EVENTS_PER_5_MINUTES": (self.quota or 100_000) * 2,
            "MAX_EVENTS_PER_HOUR": (self.quota or 100_000) * 24,
        }
        if self.max_event_size:
            extra["MAX_EVENT_SIZE"] = self.max_event_size
        with open(conf, "a") as f:
            f.write("\n# uwsgi-sentry test settings\n")
            f.write('DATABASES["default"]["NAME"] = %r\n' % os.path.join(self.dir, "db.sqlite3"))
            f.write('DATABASES["snappea"]["NAME"] = %r\n' % os.path.join(self.dir, "snappea.sqlite3"))
            f.write('BUGSINK["INGEST_STORE_BASE_DIR"] = %r\n' % os.path.join(self.dir, "ingest"))
            f.write('SNAPPEA["WAKEUP_CALLS_DIR"] = %r\n' % os.path.join(self.dir, "wakeup"))
            f.write('BUGSINK["PHONEHOME"] = False\n')
            f.write('BUGSINK["VALIDATE_ON_DIGEST"] = %r\n' % self.validate)
            for k, v in extra.items():
                f.write('BUGSINK[%r] = %r\n' % (k, v))
        if not os.path.exists(os.path.join(self.dir, "db.sqlite3")):
            self._databases()

    # Bugsink's migrations and our user and projects take ~10 s of CPU: done once per
    # machine (per Bugsink version and set-up script) into a template, copied per server.
    DATABASES = ("db.sqlite3", "snappea.sqlite3")

    def _template(self):
        version = subprocess.run([self._bin("python"), "-c", "import importlib.metadata as m; print(m.version('bugsink'))"],
                                 capture_output=True, text=True).stdout.strip()
        key = hashlib.sha256((version + SETUP).encode()).hexdigest()[:12]
        return os.path.join(os.environ.get("UWSGI_SENTRY_CACHE", os.path.expanduser("~/.cache/uwsgi-sentry")),
                            "bugsink-%s-%s" % (version, key))

    def _databases(self):
        template = self._template()
        os.makedirs(os.path.dirname(template), exist_ok=True)
        with open(template + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers take turns making it
            if not all(os.path.exists(os.path.join(template, db)) for db in self.DATABASES):
                manage = self._bin("bugsink-manage")
                subprocess.run([manage, "migrate", "-v0"], env=self._env(), cwd=self.dir, check=True)
                subprocess.run([manage, "migrate", "snappea", "--database=snappea", "-v0"], env=self._env(),
                               cwd=self.dir, check=True)
                script = SETUP % {"user": USER, "password": PASSWORD, "p1": "uwsgi", "k1": KEY,
                                  "p2": "uwsgi-secret", "k2": SECRET_PROJECT_KEY}
                subprocess.run([manage, "shell", "-c", script], env=self._env(), cwd=self.dir, check=True,
                               stdout=subprocess.DEVNULL)
                shutil.rmtree(template + ".tmp", ignore_errors=True)
                os.makedirs(template + ".tmp")
                for db in self.DATABASES:
                    shutil.copy(os.path.join(self.dir, db), os.path.join(template + ".tmp", db))
                shutil.rmtree(template, ignore_errors=True)
                os.rename(template + ".tmp", template)
                return
        for db in self.DATABASES:
            shutil.copy(os.path.join(template, db), os.path.join(self.dir, db))

    def start(self):
        self.setup()
        self.log = open(os.path.join(self.dir, "gunicorn.log"), "ab")
        self.proc = subprocess.Popen(
            [self._bin("gunicorn"), "--bind", "127.0.0.1:%d" % self.port, "--workers", "1", "--threads", "4",
             "--no-control-socket", "--timeout", "60", "bugsink.wsgi"],
            env=self._env(), cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("bugsink exited; see %s/gunicorn.log" % self.dir)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("bugsink did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # --- what was STORED -------------------------------------------------
    def _db(self):
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir, "db.sqlite3"), uri=True, timeout=5)
        db.row_factory = sqlite3.Row
        return db

    def rows(self, where="1=1", args=()):
        with self._db() as db:
            return [dict(r) for r in db.execute(
                "select e.*, p.name as project_name from events_event e join projects_project p "
                "on p.id = e.project_id where " + where + " order by e.ingested_at, e.digest_order", args)]

    def event(self, event_id, wait=5.0):
        """The stored row of `event_id` (32 hex) with its parsed event data, or None."""
        event_id = event_id.replace("-", "")
        deadline = time.time() + wait
        while True:
            rows = self.rows("replace(e.event_id, '-', '') = ?", (event_id,))
            if rows:
                row = rows[0]
                row["data"] = self.event_data(row)
                return row
            if time.time() >= deadline:
                return None
            time.sleep(0.1)

    def event_data(self, row):
        data = row.get("data")
        if data:
            return json.loads(data)
        # Newer Bugsink keeps the payload in a file store.
        store = os.path.join(self.dir, "ingest")
        for base, _, files in os.walk(os.path.join(self.dir)):
            for f in files:
                if row["event_id"].replace("-", "") in f.replace("-", "") and f.endswith(".json"):
                    with open(os.path.join(base, f)) as fh:
                        return json.load(fh)
        return None

    def page(self, path):
        """A page of the web UI as a logged-in user sees it (HTML)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = opener.open(self.url + "accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": USER, "password": PASSWORD}).encode()
        opener.open(urllib.request.Request(self.url + "accounts/login/", data=data, headers={"Referer": self.url}))
        return opener.open(self.url + path).read().decode()

    def count(self):
        with self._db() as db:
            return db.execute("select count(*) from events_event").fetchone()[0]


class Events:
    """What a Bugsink stored since this object was made."""

    def __init__(self, bugsink):
        self.bugsink = bugsink
        self.seen = {r["id"] for r in bugsink.rows()}

    def new(self):
        return [r for r in self.bugsink.rows() if r["id"] not in self.seen]

    def wait(self, match, count=1, timeout=20.0):
        """At least `count` new stored events that `match`, each with its parsed data."""
        deadline = time.time() + timeout
        while True:
            rows = [r for r in self.new() if match(r)]
            if len(rows) >= count or time.time() >= deadline:
                break
            time.sleep(0.1)
        assert len(rows) >= count, "%d of %d stored events matched; stored: %s" % (
            len(rows), count, [(r["calculated_type"], r["calculated_value"][:80]) for r in self.new()])
        for r in rows:
            r["data"] = self.bugsink.event_data(r)
        return rows


def value_has(text):
    return lambda r: text in r["calculated_value"]


def type_is(name):
    return lambda r: r["calculated_type"] == name


if __name__ == "__main__":
    # python3 e2e/bugsink.py DIR PORT : run one in the foreground (used by `make demo`).
    b = Bugsink(sys.argv[1], int(sys.argv[2]))
    b.start()
    print(b.dsn)
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        b.stop()
