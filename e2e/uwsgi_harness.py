"""Real uWSGI instances (Debian's uwsgi-core + python3 plugin) for the tests."""
import glob
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

from bugsink import value_has
from support import ROOT, clean_env, free_port

APPS = os.path.join(ROOT, "e2e", "apps")
APP = os.path.join(APPS, "app.py")
SDK_SITE = glob.glob(os.path.join(ROOT, ".venv", "sdk", "lib", "python3*", "site-packages"))


class UWSGI:
    """One uWSGI on 127.0.0.1 running e2e/apps/app.py with `ini` lines appended."""

    def __init__(self, workdir, lines, env=None, workers=2, port=None, extra_head=(), binary="uwsgi", python="python3", app=APP,
                 rack=None, request_logging=False):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = port or free_port()
        self.ini = os.path.join(workdir, "app.ini")
        self.logfile = os.path.join(workdir, "uwsgi.log")
        # python: the plugin that runs the app (None: built in, as in PyPI's uWSGI);
        # rack: a Rack app's config.ru instead (Debian's rack plugin, run from its folder)
        runs = (["plugins = rack_ruby31", "rack = " + rack, "chdir = " + os.path.dirname(rack)] if rack else
                (["plugins = " + python] if python else []) + ["wsgi-file = " + app])
        head = ["[uwsgi]"] + runs + ["http-socket = 127.0.0.1:%d" % self.port, "master = true",
                "workers = %d" % workers, "die-on-term = true",
                *([] if request_logging else ["disable-logging = true"]), *extra_head]
        with open(self.ini, "w") as f:
            f.write("\n".join(head + list(lines)) + "\n")
        self.env = dict(env or os.environ)
        self.binary = binary
        self.proc = None

    def start(self, wait=15.0):
        self.log = open(self.logfile, "wb")
        self.proc = subprocess.Popen([self.binary, "--ini", self.ini], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env, cwd=self.dir, start_new_session=True)
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("uwsgi exited %s:\n%s" % (self.proc.returncode, self.text()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("uwsgi did not listen in %ss:\n%s" % (wait, self.text()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.log.close()

    def text(self):
        with open(self.logfile, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, path, method="GET", headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            c.close()

    def pids(self):
        """The master and every process below it."""
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,stat="], capture_output=True, text=True).stdout
        rows = [tuple(line.split()) for line in out.splitlines()]
        tree, todo = set(), [self.proc.pid]
        while todo:
            p = todo.pop()
            tree.add(p)
            todo += [int(pid) for pid, ppid, _ in rows if int(ppid) == p and int(pid) not in tree]
        return {int(pid): stat for pid, ppid, stat in rows if int(pid) in tree}

    def zombies(self):
        return [pid for pid, stat in self.pids().items() if stat.startswith("Z")]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def sdk_app(workdir, dsn, lines=(), env=None, workers=1):
    """The test app wrapped in sentry-python's WSGI middleware (e2e/apps/sdk_app.py,
    sentry-sdk from e2e/requirements-sdk.txt), its SDK sending to `dsn`, with
    enable-threads, which sentry-python's docs ask of uWSGI: it sends from a thread."""
    assert SDK_SITE, "make venv (the sentry-sdk venv for Debian's python)"
    e = dict(env or clean_env(), SDK_DSN=dsn)
    return UWSGI(str(workdir), ["pythonpath = " + SDK_SITE[0], "pythonpath = " + APPS, "enable-threads = true", *lines], e,
                 workers=workers, app=os.path.join(APPS, "sdk_app.py"))


def daemon_pid_in(pids):
    found = [p for p in pids if b"--channel=3" in open("/proc/%d/cmdline" % p, "rb").read()]
    assert len(found) == 1, found
    return found[0]


def daemon_pid(u):
    """The loader's daemon among uWSGI's processes (by its command line)."""
    return daemon_pid_in(u.pids())


def share(prefix, name):
    """A snippet as `make install PREFIX=prefix` wrote it."""
    return os.path.join(prefix, "share", "uwsgi-sentry", name)


def plugin_dir(prefix):
    return os.path.join(prefix, "lib", "uwsgi", "plugins")


def uwsgi_env(prefix, dsn, **extra):
    """A clean environment for uWSGI: the installed sender first on PATH, the DSN
    (or none) in SENTRY_DSN, and a spool of its own beside the test's state (the
    default, /var/tmp/uwsgi-sentry-UID, is shared: test_deb's purge empties it)."""
    if "UWSGI_SENTRY_SPOOL" not in extra and os.environ.get("UWSGI_SENTRY_STATE"):
        extra["UWSGI_SENTRY_SPOOL"] = tempfile.mkdtemp(prefix="spool-", dir=os.path.dirname(os.environ["UWSGI_SENTRY_STATE"]))
    env = clean_env(PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"], **extra)
    if dsn:
        env["SENTRY_DSN"] = dsn
    return env


def fill_listen_queue(u, events):
    """Twelve slow requests against one worker and `listen = 2`: uWSGI reports a full
    listen queue; returns the stored event. Each sleeps less than `harakiri = 2`, so no
    harakiri of theirs reaches a later test's Bugsink."""
    threads = [threading.Thread(target=u.request, args=("/sleep?1",), kwargs={"timeout": 15}) for _ in range(12)]
    for t in threads:
        t.start()
    row = events.wait(value_has("listen queue"), timeout=20)[0]
    for t in threads:
        t.join()
    return row
