"""A WSGI app that fails in every way uwsgi-sentry reports on."""
import ctypes
import os
import time


def divide(a, b):
    return a / b


def stuck_here(seconds):
    time.sleep(seconds)  # harakiri finds the worker in this line


def view_stuck(environ):
    stuck_here(float(environ.get("QUERY_STRING") or "10"))


def view_raise(environ):
    # Two of our own frames below application(): the stack trace has real content.
    return divide(int(environ.get("QUERY_STRING", "a=1").split("=")[-1] or 1), 0)


def charge(amount):
    secret_token = "t0k3n-in-a-local"
    customer = {"name": "Ada", "card": "4111 1111 1111 1111", "password": "hunter2", "tags": list(range(30))}
    try:
        return amount / 0
    except ZeroDivisionError as e:
        raise RuntimeError("payment of %d failed for %s" % (amount, customer["name"])) from e


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/raise":
        view_raise(environ)
    if path == "/huge":
        raise ValueError("x" * 100000)  # larger than uWSGI's 64 KiB exception packet
    if path == "/alarm":
        import uwsgi  # raw bytes straight into the sentry alarm engine
        uwsgi.alarm("rawalarm", bytes.fromhex(environ.get("QUERY_STRING") or "00ff"))
    if path == "/chain":
        charge(int(environ.get("QUERY_STRING") or "42"))  # a chained exception, with secrets in locals
    if path == "/surrogate":
        raise ValueError("bad \udcff bytes")  # a lone surrogate: not encodable as UTF-8
    if path == "/value":
        raise ValueError("boom from %s" % environ.get("QUERY_STRING", ""))
    if path == "/segfault":
        ctypes.string_at(0)  # reads address 0: SIGSEGV in the worker
    if path == "/die":
        os._exit(3)
    if path == "/kill":
        os.kill(os.getpid(), 9)  # as the kernel's OOM killer would
    if path.startswith("/stuck"):
        view_stuck(environ)
    if path.startswith("/sleep"):
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such page\n"]
    if path == "/error500":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"failed\n"]
    if path == "/storm":
        # An alarm-log storm: N matching lines at once.
        n = int(environ.get("QUERY_STRING") or "1000")
        for i in range(n):
            line = ("FOO storm line %d\n" % i).encode()
            while True:
                try:
                    os.write(2, line)  # uWSGI's log socket is non-blocking
                    break
                except BlockingIOError:
                    time.sleep(0.0005)
    if path == "/logwork":
        # A line, then more work: the master reads it while the request is in flight.
        os.write(2, ("FOO %s\n" % environ.get("QUERY_STRING", "")).encode())
        time.sleep(0.03)
    if path == "/log":
        # Written to the uWSGI log: a line for alarm-log to match.
        os.write(2, ("FOO %s\n" % environ.get("QUERY_STRING", "")).encode())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
