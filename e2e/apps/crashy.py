"""A WSGI app whose requests call three Python functions and then crash in C:
/segv (ctypes reads address 0), /abort (os.abort), /assert (a C assert in a
library loaded at request time, CRASHY_LIB), /fpe (an integer division by zero in
it), /ok. ?thread: the crash happens in a
core thread that is not the worker's first (threads = 2): two such requests meet at
a barrier, and the one that is not on the main thread crashes. CRASHY_FAULTHANDLER:
the app enables Python's faulthandler itself, as some do."""
import ctypes
import faulthandler
import os
import threading
import time

if os.environ.get("CRASHY_FAULTHANDLER"):
    faulthandler.enable()

meeting = threading.Barrier(2)


def level_three(kind):
    if kind == "segv":
        ctypes.string_at(0)
    elif kind == "abort":
        os.abort()
    elif kind == "assert":
        ctypes.CDLL(os.environ["CRASHY_LIB"]).crashy_check(0)
    elif kind == "fpe":
        ctypes.CDLL(os.environ["CRASHY_LIB"]).crashy_divide(0)


def level_two(kind):
    level_three(kind)


def level_one(kind):
    level_two(kind)


def application(environ, start_response):
    kind = environ["PATH_INFO"].strip("/")
    if kind in ("segv", "abort", "assert", "fpe"):
        if environ.get("QUERY_STRING") == "thread":
            meeting.wait(timeout=10)
            if threading.current_thread() is threading.main_thread():
                time.sleep(10)  # the other one crashes the worker meanwhile
        level_one(kind)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
