"""`make demo`: real events into a real, local Sentry-compatible server you can look at.

Starts Bugsink on 127.0.0.1 (DEMO_PORT, default 8000), sends events by hand the
way an operator tests a DSN, then runs a real uWSGI the default way (the loader
plugin with SENTRY_DSN, through the snippets `make install` puts in
.work/demo-prefix) and fires one of each trigger: a log line, each route, the hooks,
a Python exception, a worker that exits, one killed as by the OOM killer, a
segfault, a harakiri with its stuck stack and a full listen queue. It prints what Bugsink STORED and leaves the web
UI up with its login until Ctrl-C. DEMO_NO_WAIT=1 exits after the table.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from bugsink import PASSWORD, USER, Bugsink
from support import BIN, ROOT, free_port
from uwsgi_harness import UWSGI


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def send(label, args, stdin=b""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    r = subprocess.run([BIN, *args], input=stdin, capture_output=True, env=env)
    status = "ok" if r.returncode == 0 else "exit %d: %s" % (r.returncode, r.stderr.decode().strip())
    print("  %-44s %s" % (label, status))


def run_uwsgi(dsn):
    prefix = os.path.join(ROOT, ".work", "demo-prefix")
    subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix], check=True, stdout=subprocess.DEVNULL)
    share = os.path.join(prefix, "share", "uwsgi-sentry")
    work = os.path.join(ROOT, ".work", "demo-uwsgi")
    shutil.rmtree(work, ignore_errors=True)
    # The default path: the loader plugin and SENTRY_DSN (sentry.ini loads it and
    # defines the `sentry` alarm that routes.ini and log.ini use); exceptions.ini adds
    # real Python frames on Debian's uWSGI; the tracebacker gives harakiri its stack.
    lines = ["ini = %s/%s" % (share, name) for name in ("sentry.ini", "exceptions.ini", "routes.ini", "hooks.ini")]
    lines += ["set-placeholder = sentry_log_regex=^FOO", "ini = %s/log.ini" % share, "harakiri = 2", "listen = 2",
              "py-tracebacker = " + os.path.join(work, "tb")]
    env = dict(os.environ, SENTRY_DSN=dsn, PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"],
               UWSGI_SENTRY_SPOOL=os.path.join(work, "spool"))
    env = {k: v for k, v in env.items() if k not in ("SENTRY_RELEASE", "SENTRY_ENVIRONMENT")}
    print("\nStarting uWSGI with the loader plugin and the shipped snippets (%s);" % share)
    print("each event is one write to ONE long-lived uwsgi-sentry daemon. Firing each trigger:")
    u = UWSGI(work, lines, env, workers=1)
    u.start()
    try:
        def fire(label, path, method="GET", pause=1.0):
            u.request(path, method=method, timeout=15)
            print("  %-44s %s %s" % (label, method, path))
            time.sleep(pause)
        time.sleep(1.5)  # hooks: asap and accepting1-once
        print("  %-44s %s" % ("hooks", "hook-asap, hook-accepting1-once"))
        print("  %-44s %s" % ("start-up line", next((l for l in u.text().splitlines() if l.startswith("[sentry]")), "?")))
        fire("a log line (alarm-log ^FOO)", "/log?disk-almost-full")
        fire("a route (route = ^/help alarm:...)", "/help/me")
        fire("a route (route-if PUT)", "/orders/7", method="PUT")
        fire("a response with status 500 (final-route-status)", "/error500")
        fire("a Python exception, with breadcrumbs", "/raise?a=1")
        fire("a worker death (exit code 3)", "/die", pause=2)
        fire("a worker killed as by the OOM killer", "/kill", pause=2)
        fire("a segfault (C backtrace as frames)", "/segfault", pause=2)
        fire("harakiri (harakiri = 2): request + stuck stack", "/stuck?4", pause=3)
        threads = [threading.Thread(target=u.request, args=("/sleep?3",), kwargs={"timeout": 15}) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("  %-44s %s" % ("a full listen queue, with what workers did", "12 slow requests, listen = 2"))
        time.sleep(3)
    finally:
        u.stop()


def main():
    # Ctrl-C ends the demo even when whatever started it ignored SIGINT (a shell's
    # background job does: Python then never raises KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    port = int(os.environ.get("DEMO_PORT", "8000"))  # 0: any free port
    if port == 0 or not port_free(port):
        port = free_port()
    workdir = os.path.join(ROOT, ".work", "demo-bugsink")
    shutil.rmtree(workdir, ignore_errors=True)
    print("Starting Bugsink on http://127.0.0.1:%d/ ..." % port)
    server = Bugsink(workdir, port).start()
    dsn = server.dsn
    try:
        print("Sending events with %s:" % os.path.relpath(BIN, ROOT))
        send("a hook's message (words joined)", ["dsn=%s,logger=uwsgi.sentry,message=uWSGI IS" % dsn, "STARTING"])
        send("an alarm line on stdin, level inferred", ["dsn=%s,logger=uwsgi" % dsn],
             b"*** HARAKIRI ON WORKER 1 (pid: 4242, try: 1) ***\n")
        send("tags, extra, user, release, environment",
             ["dsn=%s,message=listen queue full,level=warning,tags=socket:127.0.0.1\\:8000;worker:2,"
              "extra=backlog:100,user=id:42;username:ops,release=app@1.0,environment=demo" % dsn])
        send("an exception", ["dsn=%s,exception_type=ZeroDivisionError,exception_value=division by zero,"
                              "culprit=app.views.divide" % dsn])
        send("option string on stdin (DSN out of ps)", [], ("dsn=%s,level=info\nhello from stdin\n" % dsn).encode())
        send("a key:secret DSN (project uwsgi-secret)", ["dsn=%s,message=old-style DSN with a secret" % server.secret_dsn])
        run_uwsgi(dsn)
        time.sleep(1)
        print("\nWhat Bugsink stored:")
        print("  %-13s %-8s %-13s %-18s %s" % ("project", "level", "logger", "type", "value"))
        for row in server.rows():
            print("  %-13s %-8s %-13s %-18s %s" % (row["project_name"], row["level"], row["logger"] or "-",
                                                   row["calculated_type"][:18], row["calculated_value"][:72]))
        print("\nOpen http://127.0.0.1:%d/ and log in as %s / %s" % (port, USER, PASSWORD))
        print("DSN for your own tries: %s" % dsn)
        print("  %s --check dsn=%s,message=hello" % (os.path.relpath(BIN, ROOT), dsn))
        if os.environ.get("DEMO_NO_WAIT"):
            return 0
        print("\nBugsink keeps running until Ctrl-C.")
        while server.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        print()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
