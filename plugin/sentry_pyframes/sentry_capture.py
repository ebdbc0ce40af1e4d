"""What sentry_pyframes captures of a Python exception, in the worker, while it is
being raised: compiled into the plugin (a C string, made at build time) and run by
its backtrace hook. It only captures; the daemon (Swift) thinks: it reads the
source context, decides in_app, scrubs, builds the event.

It returns uWSGI's backtrace array (what core/exceptions.c expects of a plugin:
items of u16le length + bytes, 5 per frame: filename, lineno, function, text,
custom), frames oldest first, so uWSGI's own uses of it keep working. `custom`,
which uWSGI leaves to the plugin, carries a JSON object:
  {"m": module, "a": absolute path, "v": {name: bounded repr}}   a frame's extras
  {"x": {"type", "module", "value", "id", "parent", "source"}}   a chained exception
      begins (a frame of its own, with empty filename and function); its frames follow
  {"p": {"runtime", "paths", "argv", "sdk", "syspath", "req"}}  the packet's facts (req last),
      in one last frame of its own
The main exception (uWSGI's `class` and `msg`) is the last one, mechanism id 0.

Bounds: sentry-python's (a container's first 10 items, 5 levels deep, at most 100
frames: the first and last 50 of a deeper stack) and Sentry's own (a frame's
variables are kept to 2 KiB by Relay: a repr is cut at 1,024 characters and a
frame's variables at 2,048 bytes), and uWSGI's: the whole array stays under
48,000 bytes (its exception packet holds 64 KiB); past that, the oldest frames'
variables go first. Reading locals costs only the exception being raised.
"""
import json
import linecache
import os
import struct
import sys
import time
from json.encoder import encode_basestring_ascii as _quote  # C, and what json.dumps does to a str

MAX_FRAMES = 100
MAX_REPR = 1024
MAX_VARS_BYTES = 2048
DEPTH = 5
BREADTH = 10
BUDGET = 48000

_static = None  # the facts that do not change in a process, as JSON members
_code_info = {}  # (code, module): _about()


def _text(value):
    """str() that never fails and never loses the text: a character UTF-8 cannot
    carry (a lone surrogate) becomes U+FFFD."""
    try:
        s = value if isinstance(value, str) else str(value)
    except Exception:
        s = "<unprintable %s>" % type(value).__name__
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _repr(value):
    try:
        r = repr(value)
    except Exception:
        r = "<broken repr of %s>" % type(value).__name__
    return _text(r)[:MAX_REPR]


def _json(value, depth):
    """A local as JSON text, as sentry-python serialises it: containers as JSON
    (their first 10 items), everything else as its repr, strings and bytes cut
    before repr(). Written straight to text: one pass, no second encoding."""
    t = type(value)
    if t is int or t is float or t is bool or value is None:
        # Most locals and items: their repr is ASCII with nothing to escape, so the
        # general path's checks and the quoting give the same text, at ~3x the cost.
        try:
            return '"' + repr(value)[:MAX_REPR] + '"'
        except Exception:  # an int past Python's digit limit
            return _quote(_repr(value))
    if isinstance(value, (str, bytes, bytearray)):
        return _quote(_repr(value[:MAX_REPR]))
    if depth > 0 and isinstance(value, dict):
        parts = []
        for k, v in value.items():
            if len(parts) >= BREADTH:
                break
            parts.append(_quote(_text(k)[:200]) + ":" + _json(v, depth - 1))
        return "{" + ",".join(parts) + "}"
    if depth > 0 and isinstance(value, (list, tuple, set, frozenset)):
        parts = []
        for v in value:
            if len(parts) >= BREADTH:
                break
            parts.append(_json(v, depth - 1))
        return "[" + ",".join(parts) + "]"
    return _quote(_repr(value))


def _vars(frame):
    """The frame's locals as JSON text, at most MAX_VARS_BYTES: each whole while it
    fits, else cut to a short repr, until the room runs out."""
    try:
        items = list(frame.f_locals.items())
    except Exception:
        return None
    parts, size = [], 2
    for name, value in items:
        part = _quote(_text(name)[:200]) + ":" + _json(value, DEPTH)
        if size + len(part) + 1 > MAX_VARS_BYTES:
            part = _quote(_text(name)[:200]) + ":" + _quote(_repr(value)[:80])
            if size + len(part) + 1 > MAX_VARS_BYTES:
                break
        parts.append(part)
        size += len(part) + 1
    return "{" + ",".join(parts) + "}"


def _item(out, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    data = data[:0xFFFF]
    out += len(data).to_bytes(2, "little") + data


def _frames(tb):
    """The traceback's (frame, lineno) pairs, oldest first; the first and last 50
    of a deeper one."""
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    if len(out) > MAX_FRAMES:
        out = out[:MAX_FRAMES // 2] + out[-(MAX_FRAMES // 2):]
    return out


def _chain(exc):
    """Newest first, as sentry-python walks it: the cause when the context is
    suppressed (`raise ... from ...`), else the context; each once."""
    out, seen, source = [], set(), None
    while exc is not None and id(exc) not in seen:
        out.append((exc, source))
        seen.add(id(exc))
        if getattr(exc, "__suppress_context__", False):
            exc, source = getattr(exc, "__cause__", None), "__cause__"
        else:
            exc, source = getattr(exc, "__context__", None), "__context__"
    return out


def _sdk():
    """The app's own Sentry SDK, when a client is bound: its exceptions are its."""
    sdk = sys.modules.get("sentry_sdk")
    if sdk is None:
        return None
    try:
        if hasattr(sdk, "get_client"):
            active = sdk.get_client().is_active()
        else:
            active = sdk.Hub.current.client is not None
        return "sentry.python/%s" % getattr(sdk, "VERSION", "?") if active else None
    except Exception:
        return None


def sdk_sessions():
    """Whether the app's own Sentry SDK counts request sessions (a client bound, a
    release, auto_session_tracking): then release health is left to it."""
    sdk = sys.modules.get("sentry_sdk")
    try:
        if sdk is None or not hasattr(sdk, "get_client") or not sdk.get_client().is_active():
            return False
        options = sdk.get_client().options
        return bool(options.get("release")) and bool(options.get("auto_session_tracking", True))
    except Exception:
        return False


def sdk_traces():
    """Whether the app's own Sentry SDK traces requests (a client bound, with a
    traces_sample_rate or a traces_sampler): then transactions are left to it."""
    sdk = sys.modules.get("sentry_sdk")
    try:
        if sdk is None or not hasattr(sdk, "get_client") or not sdk.get_client().is_active():
            return False
        options = sdk.get_client().options
        return options.get("traces_sample_rate") is not None or options.get("traces_sampler") is not None
    except Exception:
        return False


def _static_facts():
    """runtime, the standard library's path and argv, encoded once per process. sys.path goes
    as it is at each exception: the daemon reads the installed distributions there
    (importlib.metadata would cost ~90 ms here, at a worker's first exception)."""
    global _static
    if _static is None:
        # The standard library (site-/dist-packages the daemon knows by name);
        # sysconfig would cost ~5 ms here.
        try:
            paths = sorted({os.path.dirname(os.__file__), os.path.realpath(os.path.dirname(os.__file__))})
        except Exception:
            paths = []
        impl = sys.implementation
        _static = json.dumps({"runtime": {"name": "CPython" if impl.name == "cpython" else impl.name,
                                          "version": "%d.%d.%d" % sys.version_info[:3], "build": _text(sys.version)},
                              "paths": paths, "argv": [_text(a)[:200] for a in sys.argv[:20]]})[1:-1]
    return _static


def _facts(start_us, pid, core):
    sdk = _sdk()
    syspath = ",".join(_quote(_text(p)[:512]) for p in sys.path[:50] if isinstance(p, str) and p.startswith("/"))
    # The request last: the rest is the same from one exception of a worker to the next,
    # and the daemon reads it once (Backtrace.swift, KnownFacts).
    return '{"p":{%s,"sdk":%s,"syspath":[%s],"req":{"start_us":%d,"pid":%d,"core":%d}}}' % (
        _static_facts(), _quote(sdk) if sdk else "null", syspath, start_us, pid, core)


def _about(code, module):
    """What a frame's code says of it, for every exception it is in: its file, its
    function, the start of its custom item (module, absolute path)."""
    filename = code.co_filename
    path = os.path.abspath(filename) if filename and not filename.startswith("<") else filename
    about = (_text(filename), _text(code.co_name),
             '{"m":%s,"a":%s' % (_quote(_text(module)) if isinstance(module, str) else "null", _quote(_text(path)) if path else "null"))
    if len(_code_info) >= 1000:
        _code_info.clear()
    _code_info[(code, module)] = about
    return about


def capture(value, tb, start_us=0, pid=0, core=0, with_locals=True):
    """uWSGI's backtrace array for the exception `value` raised with `tb`."""
    groups = []  # (header or None for the main exception, [(frame, lineno)])
    chain = _chain(value)
    for n, (exc, source) in enumerate(chain):
        frames = _frames(tb if n == 0 else getattr(exc, "__traceback__", None))
        header = None
        if n > 0:
            t = type(exc)
            header = {"type": getattr(t, "__qualname__", t.__name__), "module": getattr(t, "__module__", None),
                      "value": _text(exc)[:8192], "id": n, "parent": n - 1, "source": source, "n": len(frames)}
        groups.append((header, frames))
    groups.reverse()  # oldest first: the main exception last

    # Variables, newest frames first, within what the rest leaves of the budget.
    facts = _facts(start_us, pid, core)
    budget = BUDGET - 2000 - len(facts)
    rows = []
    for header, frames in groups:
        if header is not None:
            rows.append(("", "0", "", "", json.dumps({"x": header})))
        for frame, lineno in frames:
            module = frame.f_globals.get("__name__") if isinstance(frame.f_globals, dict) else None
            about = _code_info.get((frame.f_code, module)) or _about(frame.f_code, module)
            rows.append([about, lineno, frame, None])
            budget -= len(about[0]) + len(about[1]) + 120
    if with_locals:
        for row in reversed(rows):
            if isinstance(row, list) and budget > 0:
                v = _vars(row[2])
                if v and v != "{}" and len(v) <= budget:
                    row[3] = v
                    budget -= len(v)
    out = bytearray()
    for row in rows:
        if isinstance(row, tuple):
            for item in row:
                _item(out, item)
            continue
        (filename, function, custom), lineno, frame, v = row
        try:
            text = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
        except Exception:
            text = ""
        for item in (filename, str(lineno), function, _text(text), custom + (',"v":' + v + "}" if v else "}")):
            _item(out, item)
    for item in ("", "0", "", "", facts):
        _item(out, item)
    return bytes(out)


def _kv(out, key, value):
    """One uwsgi key/value of an exception packet: u16le length, bytes, for each."""
    data = value if isinstance(value, bytes) else _text(value).encode("utf-8", "replace")
    data = data[:0xFFFF]
    out += struct.pack("<H", len(key)) + key.encode() + struct.pack("<H", len(data)) + data


def _where():
    """Which process of the instance this is: (kind, its id)."""
    try:
        import uwsgi
        if getattr(uwsgi, "mule_id", lambda: 0)():
            return "mule", uwsgi.mule_id()
        if getattr(uwsgi, "i_am_the_spooler", lambda: False)():
            return "spooler", os.getpid()
        if uwsgi.worker_id():
            return "worker", uwsgi.worker_id()
    except Exception:
        pass
    return "master", 0


def _farms():
    """The farms the config declares (`farm = NAME:MULES`)."""
    try:
        import uwsgi
        declared = uwsgi.opt.get("farm") or uwsgi.opt.get(b"farm") or []
        declared = declared if isinstance(declared, list) else [declared]
        return [(d.decode() if isinstance(d, bytes) else str(d)).split(":", 1)[0] for d in declared]
    except Exception:
        return []


def _in_farm(name):
    try:
        import uwsgi
        return bool(uwsgi.in_farm(name))
    except Exception:
        return False


def packet(type_, value, tb, with_locals=True):
    """An exception outside a request (a spooler task, a mule, a signal handler and so
    every timer and cron, an RPC function, a post-fork hook), as uWSGI's own exception
    packet, with what says where it ran: the process, the entry uWSGI called (the
    outermost frame: its function and its arguments, e.g. a spooler task's dict or a
    signal handler's number)."""
    kind, pid = _where()
    tb = _ours(tb)
    entry, args, about = "", [], []
    if tb is not None:
        code, frame = tb.tb_frame.f_code, tb.tb_frame
        module = frame.f_globals.get("__name__") if isinstance(frame.f_globals, dict) else None
        entry = "%s.%s" % (module, code.co_name) if module else code.co_name
        names = [n for n in code.co_varnames[:code.co_argcount] if n not in ("self", "cls")]
        args = [frame.f_locals.get(n) for n in names]
    # A spooler task: its file and function (uwsgidecorators' ud_spool_func); a signal
    # handler (and so a timer's, a cron's): called with the signal's number alone.
    task = args[0] if len(args) == 1 and isinstance(args[0], dict) else {}
    for key in ("spooler_task_name", "ud_spool_func"):
        v = task.get(key, task.get(key.encode()))
        if v is not None:
            about.append((key, os.path.basename(v.decode("utf-8", "replace") if isinstance(v, bytes) else _text(v))))
    if kind != "spooler" and len(args) == 1 and type(args[0]) is int and 0 <= args[0] < 256:
        about.append(("signal", str(args[0])))
    if kind == "mule":
        farms = [f for f in _farms() if _in_farm(f)]
        if farms:
            about.append(("farm", ",".join(farms)))
    out = bytearray()
    _kv(out, "backtrace", capture(value, tb, 0, os.getpid(), 0, with_locals))
    t = type_ if isinstance(type_, type) else type(value)
    name = "%s.%s" % (getattr(t, "__module__", "builtins"), getattr(t, "__qualname__", t.__name__))
    text = _text(value)[:16384]
    _kv(out, "class", name)
    _kv(out, "msg", text)
    _kv(out, "repr", "%s: %s" % (name, text) if text else name)
    _kv(out, "unix", str(int(time.time())))
    _kv(out, "pid", str(os.getpid()))
    _kv(out, "process", kind)
    _kv(out, "process_id", str(pid))
    _kv(out, "entry", entry)
    for key, v in about:
        _kv(out, key, v[:200])
    return bytes(out)


def install_excepthook(send, with_locals, reported):
    """sys.excepthook, which uWSGI's PyErr_Print calls for an exception that nothing
    else reports: `send` hands the packet to the loader; none is built for one that
    the loader reports already (`reported()`: a request's); whatever hook was there
    runs after, as before (it prints the traceback)."""
    previous = sys.excepthook
    if getattr(previous, "_uwsgi_sentry", False):
        return

    def hook(type_, value, tb):
        try:
            if not reported():
                send(packet(type_, value, tb, with_locals()))
        except Exception:
            pass
        previous(type_, value, tb)
    hook._uwsgi_sentry = True
    sys.excepthook = hook
    # What a worker's first exception would pay, paid here (in the master before its
    # forks, when the app is not lazy): this module is compiled by now, the facts of the
    # process are the same in every fork.
    _static_facts()


def _cron_field(v):
    """uWSGI's cron field as crontab writes it: -1 is *, -N is */N."""
    return "*" if v == -1 else "*/%d" % -v if v < 0 else str(v)


def _ours(tb):
    """The traceback without our own frames (a monitored handler's wrapper) on top."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == __name__:
        tb = tb.tb_next
    return tb


def install_crons(send, _unused=None):
    """Sentry Crons from the app's own schedule: uwsgi.add_cron (and uwsgidecorators'
    @cron), add_timer and add_rb_timer (@timer, @rbtimer) note each signal's schedule;
    uwsgi.register_signal wraps its handler so that a run of a scheduled signal checks
    in: `in_progress` (with the schedule), then `ok`, or `error` when it raised (the
    exception goes on, to sys.excepthook). A timer that is not a whole number of
    minutes cannot be a Sentry monitor: said once, when it is added."""
    import uwsgi
    if getattr(uwsgi, "_uwsgi_sentry_crons", False):
        return
    uwsgi._uwsgi_sentry_crons = True
    schedules = {}

    def noting(name, schedule):
        original = getattr(uwsgi, name, None)
        if original is None:
            return

        def patched(signum, *args, **kwargs):
            schedules[signum] = schedule(signum, *args)
            return original(signum, *args, **kwargs)
        setattr(uwsgi, name, patched)

    def crontab(signum, minute=-1, hour=-1, day=-1, month=-1, weekday=-1, *rest):
        return " ".join(_cron_field(v) for v in (minute, hour, day, month, weekday))

    def interval(signum, seconds, *rest):
        if seconds > 0 and seconds % 60 == 0:
            return "%d minute" % (seconds // 60)
        uwsgi.log("[sentry] the timer of signal %d (every %s s) is not a whole number of minutes: no cron monitor for it\n"
                  % (signum, seconds))
        return None
    noting("add_cron", crontab)
    noting("add_timer", interval)
    noting("add_rb_timer", interval)
    register = uwsgi.register_signal

    def register_signal(signum, target, handler, *rest):
        return register(signum, target, _monitored(signum, handler, schedules, send), *rest)
    uwsgi.register_signal = register_signal


def _monitored(signum, handler, schedules, send):
    """`handler`, checking in when its signal has a schedule. The slug: the handler's
    module (its last part) and name, its last 50 characters (Sentry's limit)."""
    if not callable(handler):
        return handler
    module = (getattr(handler, "__module__", None) or "").rsplit(".", 1)[-1]
    slug = ("%s.%s" % (module, getattr(handler, "__qualname__", getattr(handler, "__name__", "handler"))))[-50:]

    def check_in(status, cid, schedule, duration=None):
        body = {"slug": slug, "status": status, "check_in_id": cid}
        if status == "in_progress":
            body["schedule"] = schedule
        else:
            body["duration"] = duration
        try:
            send(json.dumps(body).encode())
        except Exception:
            pass

    def monitored(num, *rest):
        schedule = schedules.get(signum)
        if schedule is None:
            return handler(num, *rest)
        cid = os.urandom(16).hex()
        start = time.monotonic()
        check_in("in_progress", cid, schedule)
        try:
            result = handler(num, *rest)
        except BaseException:
            check_in("error", cid, schedule, time.monotonic() - start)
            raise
        check_in("ok", cid, schedule, time.monotonic() - start)
        return result
    return monitored


TASK_KEY = "uwsgi_sentry_request"


def install_spooler(request, send):
    """Spooler tasks as Sentry's queue transactions (`queue.process`). uwsgi.spool (and
    send_to_spooler) add the spooling request's identity (`request()`: its pid, core,
    start, trace headers) to the task's arguments under TASK_KEY; the spooler callable
    the app sets (uwsgidecorators' manage_spool_request, or its own) is wrapped as it
    is set: it takes the key out again (the app never sees it), times the task and
    `send`s what happened (the loader drops it without sentry-traces)."""
    import uwsgi
    if getattr(uwsgi, "_uwsgi_sentry_spooler", False):
        return
    uwsgi._uwsgi_sentry_spooler = True
    for name in ("spool", "send_to_spooler"):
        original = getattr(uwsgi, name, None)
        if original is not None:
            setattr(uwsgi, name, _spooling(original, request))

    def watched(original):
        if not callable(original) or getattr(original, "_uwsgi_sentry", False):
            return original

        def spooler(env, *rest):
            parent = env.pop(TASK_KEY.encode(), None) or env.pop(TASK_KEY, None) if isinstance(env, dict) else None
            start, status = time.time(), "ok"
            try:
                return original(env, *rest)
            except BaseException:
                status = "internal_error"
                raise
            finally:
                try:
                    _task(send, env, parent, start, time.time(), status)
                except Exception:
                    pass
        spooler._uwsgi_sentry = True
        return spooler

    class Watched(type(uwsgi)):
        def __setattr__(self, name, value):
            super().__setattr__(name, watched(value) if name == "spooler" else value)
    try:
        uwsgi.__class__ = Watched
        if getattr(uwsgi, "spooler", None) is not None:
            uwsgi.spooler = uwsgi.spooler
    except TypeError:
        pass


def _spooling(original, request):
    def spool(*args, **kwargs):
        try:
            who = request()
            if who is not None:  # bytes: uWSGI's spooler takes nothing else under Python 3
                if args and isinstance(args[0], dict):
                    task = dict(args[0])
                    task[TASK_KEY.encode()] = who.encode()
                    args = (task,) + args[1:]
                else:
                    kwargs[TASK_KEY] = who.encode()
        except Exception:
            pass
        return original(*args, **kwargs)
    return spool


def _task(send, env, parent, start, end, status):
    def text(key):
        v = env.get(key, env.get(key.encode())) if isinstance(env, dict) else None
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else _text(v) if v is not None else None
    if isinstance(parent, bytes):
        parent = parent.decode("utf-8", "replace")
    body = {"task": os.path.basename(text("spooler_task_name") or ""), "function": text("ud_spool_func"),
            "spooler": os.path.dirname(text("spooler_task_name") or ""), "start": start, "end": end, "status": status,
            "parent": parent, "pid": os.getpid()}
    send(json.dumps(body).encode())
