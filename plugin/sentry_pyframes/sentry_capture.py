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
  {"p": {"runtime", "sdk", "req", "paths", "argv", "modules"}}  the packet's facts,
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
import os
import sys

MAX_FRAMES = 100
MAX_REPR = 1024
MAX_VARS_BYTES = 2048
DEPTH = 5
BREADTH = 10
BUDGET = 48000

_paths = None
_modules = None


def _text(value):
    """str() that never fails and never loses the text: a character UTF-8 cannot
    carry (a lone surrogate) becomes U+FFFD."""
    try:
        s = value if isinstance(value, str) else str(value)
    except Exception:
        s = "<unprintable %s>" % type(value).__name__
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


def _bounded(value, depth):
    """A local as sentry-python serialises it: containers as JSON (first 10
    items), everything else as its repr, strings and bytes cut before repr()."""
    if isinstance(value, (str, bytes, bytearray)):
        return _repr(value[:MAX_REPR])
    if depth > 0 and isinstance(value, dict):
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= BREADTH:
                break
            out[_text(k)[:200]] = _bounded(v, depth - 1)
        return out
    if depth > 0 and isinstance(value, (list, tuple, set, frozenset)):
        out = []
        for i, v in enumerate(value):
            if i >= BREADTH:
                break
            out.append(_bounded(v, depth - 1))
        return out
    return _repr(value)


def _vars(frame):
    try:
        items = list(frame.f_locals.items())
    except Exception:
        return None
    out, size = {}, 2
    for name, value in items:
        b = _bounded(value, DEPTH)
        cost = len(json.dumps({name: b})) - 1
        if size + cost > MAX_VARS_BYTES:
            b = _repr(value)[:80]
            cost = len(json.dumps({name: b})) - 1
            if size + cost > MAX_VARS_BYTES:
                break
        out[name] = b
        size += cost
    return out


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


def _installed():
    """The installed distributions and their versions, as sentry-python's `modules`
    (read once per process, at its first exception; at most 300)."""
    global _modules
    if _modules is None:
        _modules = {}
        try:
            from importlib import metadata
            for dist in metadata.distributions():
                name = dist.metadata.get("Name")
                if name and len(_modules) < 300:
                    _modules[_text(name).lower()[:100]] = _text(dist.version)[:50]
        except Exception:
            pass
    return _modules


def _facts(start_us, pid, core):
    global _paths
    if _paths is None:
        import sysconfig
        try:
            found = sysconfig.get_paths()
            _paths = sorted({os.path.realpath(found[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in found})
        except Exception:
            _paths = []
    impl = sys.implementation
    return {"runtime": {"name": "CPython" if impl.name == "cpython" else impl.name,
                        "version": "%d.%d.%d" % sys.version_info[:3], "build": _text(sys.version)},
            "sdk": _sdk(), "req": {"start_us": start_us, "pid": pid, "core": core}, "paths": _paths,
            "argv": [_text(a)[:200] for a in sys.argv[:20]], "modules": _installed()}


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
    facts = json.dumps({"p": _facts(start_us, pid, core)})
    budget = BUDGET - 2000 - len(facts)
    rows = []
    for header, frames in groups:
        if header is not None:
            rows.append(("", "0", "", "", json.dumps({"x": header})))
        for frame, lineno in frames:
            code = frame.f_code
            filename = code.co_filename
            extras = {"m": frame.f_globals.get("__name__") if isinstance(frame.f_globals, dict) else None,
                      "a": os.path.abspath(filename) if filename and not filename.startswith("<") else filename}
            rows.append([_text(filename), str(lineno), _text(code.co_name), None, extras, frame, lineno])
    for row in rows:
        if isinstance(row, list):
            budget -= len(row[0]) + len(row[2]) + 120
    if with_locals:
        for row in reversed(rows):
            if isinstance(row, list) and budget > 0:
                v = _vars(row[5])
                if v:
                    size = len(json.dumps(v))
                    if size <= budget:
                        row[4]["v"] = v
                        budget -= size
    out = bytearray()
    for row in rows:
        if isinstance(row, tuple):
            for item in row:
                _item(out, item)
            continue
        filename, lineno, function, _, extras, frame, line = row
        text = ""
        try:
            import linecache
            text = linecache.getline(frame.f_code.co_filename, line, frame.f_globals).strip()
        except Exception:
            pass
        for item in (filename, lineno, function, _text(text), json.dumps(extras)):
            _item(out, item)
    for item in ("", "0", "", "", facts):
        _item(out, item)
    return bytes(out)
