"""An app whose code also runs outside requests, as uwsgidecorators wires it: a
spooler task, a timer, a signal handler, an RPC function and a mule function, each
raising on demand (a request asks for it); two crons every minute (one fails) and
a timer of two minutes, which Sentry Crons monitor."""
import os
import sys

import uwsgi
from uwsgidecorators import cron, mulefunc, rpc, signal, spool, timer

FLAG = os.path.join(os.environ.get("ELSEWHERE_DIR", "/tmp"), "timer-should-fail")

# Each packet sentry_pyframes' hook builds, by exception type, for test_elsewhere (its
# module is loaded before the app is).
_capture = sys.modules.get("uwsgi_sentry_capture")
if _capture is not None:
    _build = _capture.packet

    def _counted(type_, value, tb, *rest):
        with open(os.path.join(os.environ.get("ELSEWHERE_DIR", "/tmp"), "packets-built"), "a") as f:
            f.write(type_.__name__ + "\n")
        return _build(type_, value, tb, *rest)
    _capture.packet = _counted


@spool
def charge_card(arguments):
    raise ValueError("charging order %s failed" % arguments["order"])


@timer(1)
def tick(num):
    if os.path.exists(FLAG):
        os.unlink(FLAG)
        raise RuntimeError("the timer's job failed")


@cron(-1, -1, -1, -1, -1)
def every_minute(num):
    pass


@cron(-1, -1, -1, -1, -1)
def failing_report(num):
    raise OSError("the report could not be written")


@timer(120)
def every_two_minutes(num):
    pass


@signal(17)
def on_signal(num):
    raise KeyError("signal handler failed")


@rpc("explode")
def explode():
    return 1 / 0


@mulefunc
def in_mule(what):
    raise LookupError("mule function failed on %s" % what)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/spool":
        charge_card.spool(order=environ.get("QUERY_STRING") or "42")
    elif path == "/timer":
        open(FLAG, "w").close()
    elif path == "/signal":
        uwsgi.signal(17)
    elif path == "/rpc":
        uwsgi.call(b"explode")  # Python 3: the name as bytes (uWSGI checks PyBytes); None when it raised
    elif path == "/mule":
        in_mule("parcel")
    elif path == "/value":
        raise ValueError("a request's own exception")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
