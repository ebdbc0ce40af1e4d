"""A worker that crashes in C (a segfault, os.abort(), a C assert in a library loaded
at request time, an integer division by zero there, and a segfault in a core thread
that is not the first) is ONE fatal
event in a real Bugsink: the Python frames that led there, oldest first, with their
source lines; the native frames down to the crashing instruction, the registers, and
every loaded ELF object with the build id `readelf -n` prints and the debug id
derived from it; no separate event for uWSGI's backtrace or its DAMN line; the event
passes Sentry's normaliser whole, Bugsink's UI shows the Python frames, and the
worker is respawned and serves. On Debian's uWSGI 2.0.21 and on PyPI's 2.0.31 built
with Python 3.11, 3.12 and 3.13 (CPython's own dumper, or faulthandler where 3.13
exports it no more)."""
import os
import re
import subprocess
import threading
import time
import uuid

import pytest

import relay
from bugsink import Events
from support import PYPI_PLUGINS, PYPI_UWSGI, ROOT
from uwsgi_harness import APPS, UWSGI, plugin_dir, uwsgi_env

APP = os.path.join(APPS, "crashy.py")
IN_APP = ["application", "level_one", "level_two", "level_three"]
SEGV_LINE = 1 + [l.strip() for l in open(APP)].index("ctypes.string_at(0)")
BUILDS = ["debian-2.0.21", "pypi-2.0.31-py3.11", "pypi-2.0.31-py3.12", "pypi-2.0.31-py3.13"]


@pytest.fixture(scope="module")
def crashy_lib(tmp_path_factory):
    lib = str(tmp_path_factory.mktemp("crashy") / "libcrashy.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-o", lib, os.path.join(APPS, "crashy.c")], check=True)
    return lib


def crashy_uwsgi(build, installed, tmp_path, dsn, **env):
    """The crashy app on `build`, one worker of two threads, the one-line set-up."""
    sender = os.path.join(installed, "bin", "uwsgi-sentry")
    if build == "debian-2.0.21":
        binary, python, plugins = "uwsgi", "python3", plugin_dir(installed)
    elif build == "pypi-2.0.31-py3.11":
        binary, python, plugins = PYPI_UWSGI, None, PYPI_PLUGINS
    else:
        plugins = os.path.join(ROOT, ".build", "uwsgi-plugins-pypi-" + build.split("py")[-1])
        binary, python = os.path.join(plugins, "uwsgi"), None
    assert os.path.exists(os.path.join(plugins, "sentry_plugin.so")) and (python or os.path.exists(binary)), "make pypi-uwsgi pypi-more"
    lines = ["plugin-dir = " + plugins, "plugin = sentry", "sentry-sender = " + sender, "threads = 2"]
    return UWSGI(str(tmp_path), lines, uwsgi_env(installed, dsn, UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), **env),
                 workers=1, binary=binary, python=python, app=APP)


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m and m.group(1)


def debug_id(code_id):
    """symbolic's ELF debug id: the build id's first 16 bytes, fields 1-3 little-endian."""
    b = bytes.fromhex(code_id)[:16].ljust(16, b"\0")
    h = (b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:]).hex()
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


def crash(u, path, threaded=False):
    """One crashing request (two that meet at a barrier, for a core thread's crash)."""
    clients = [threading.Thread(target=u.request, args=(path,), kwargs={"timeout": 15}) for _ in range(2 if threaded else 1)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()


def check_event(row, signal, uri):
    data = row["data"]
    assert row["level"] == "fatal" if "level" in row else data["level"] == "fatal"
    x = data["exception"]["values"][-1]
    assert x["type"] == signal and x["mechanism"]["type"] == "signalhandler" and x["mechanism"]["handled"] is False
    assert x["mechanism"]["meta"]["signal"]["name"] == signal
    frames = x["stacktrace"]["frames"]
    python = [f for f in frames if f.get("platform") == "python"]
    native = [f for f in frames if f.get("platform") == "native"]
    assert [f["function"] for f in python if f.get("in_app")] == IN_APP, [f.get("function") for f in frames]
    assert frames[:len(python)] == python, "the Python frames first, then the C code they called"
    for f in python:
        if f.get("in_app"):
            assert f["filename"] == "crashy.py" and f["lineno"] > 0 and f["context_line"].strip() and f["pre_context"], f
    assert native and all(re.fullmatch(r"0x[0-9a-f]+", f["instruction_addr"]) for f in native)
    assert native[-1]["instruction_addr"] == x["stacktrace"]["registers"]["rip"], "the crashing instruction last"
    thread = data["threads"]["values"][0]
    assert thread["crashed"] is True and len(thread["stacktrace"]["frames"]) > len(native)
    assert data["request"]["url"] == uri
    images = {i["code_file"]: i for i in data["debug_meta"]["images"]}
    for name in (r"/libpython3\.\d+\.so", r"/uwsgi(-core)?$", r"/libc\.so\.6$"):
        path = next((p for p in images if re.search(name, p)), None)
        assert path, (name, sorted(images))
        assert images[path]["code_id"] == build_id(path) and images[path]["debug_id"] == debug_id(build_id(path)), images[path]
    _, problems = relay.normalize(data)
    assert problems == [], problems
    return data


@pytest.mark.parametrize("build", BUILDS)
def test_a_crash_in_c_is_one_event_with_its_python_and_native_frames(tmp_path, bugsink, installed, crashy_lib, build):
    events = Events(bugsink)
    with crashy_uwsgi(build, installed, tmp_path, bugsink.dsn, CRASHY_LIB=crashy_lib) as u:
        crash(u, "/segv")
        segv = events.wait(lambda r: r["calculated_type"] == "SIGSEGV")[0]
        crash(u, "/abort")
        crash(u, "/assert")
        aborts = events.wait(lambda r: r["calculated_type"] == "SIGABRT", count=2)
        crash(u, "/fpe")
        fpe = events.wait(lambda r: r["calculated_type"] == "SIGFPE")[0]
        crash(u, "/segv?thread", threaded=True)
        threaded = events.wait(lambda r: r["calculated_type"] == "SIGSEGV", count=2)
        assert u.request("/ok", timeout=10) == 200, "respawned, and serving"
        time.sleep(2.5)  # a separate event of the DAMN line or uWSGI's backtrace would be stored by now
        stored = events.new()
        log = u.text()
    assert len(stored) == 5, [(r["calculated_type"], r["calculated_value"][:100]) for r in stored]
    assert log.count("DAMN ! worker 1") == 5 and "Respawned uWSGI worker 1" in log
    # uWSGI's own handler still ran after ours: its lines for the segfaults and the FPE.
    assert log.count("got Segmentation Fault !!!") == 2 and log.count("got Floating Point Exception !!!") == 1, log[-3000:]
    data = check_event(segv, "SIGSEGV", "/segv")
    assert data["exception"]["values"][-1]["value"] == "Segmentation fault in level_three (crashy.py:%d)" % SEGV_LINE
    assert data["contexts"]["uwsgi"]["fault_address"] == "0x0"
    by_uri = {a["data"]["request"]["url"]: a for a in aborts}
    check_event(by_uri["/abort"], "SIGABRT", "/abort")
    asserted = check_event(by_uri["/assert"], "SIGABRT", "/assert")
    assert "crashy_check" in [f.get("function") for f in asserted["exception"]["values"][-1]["stacktrace"]["frames"]]
    assert any(i["code_file"] == crashy_lib and i["code_id"] == build_id(crashy_lib) for i in asserted["debug_meta"]["images"]), \
        "a library loaded after the worker started is in the images"
    assert any("Assertion" in b["message"] for b in asserted["breadcrumbs"]["values"]), "what the assert said, as it died"
    divided = check_event(fpe, "SIGFPE", "/fpe")
    assert divided["exception"]["values"][-1]["value"].startswith("Integer division by zero in level_three")
    in_thread = [t for t in threaded if t["id"] != segv["id"]][0]
    assert check_event(in_thread, "SIGSEGV", "/segv")["contexts"]["uwsgi"]["core"] == "1", "a core thread's crash, not the main one's"
    if build == "debian-2.0.21":
        page = bugsink.page("issues/issue/%s/event/%s/" % (uuid.UUID(segv["issue_id"]), uuid.UUID(segv["id"])))
        assert all(name in page for name in IN_APP) and "crashy.py" in page and "string_at" in page


def test_the_apps_own_faulthandler_keeps_working(tmp_path, bugsink, installed, crashy_lib):
    events = Events(bugsink)
    with crashy_uwsgi("debian-2.0.21", installed, tmp_path, bugsink.dsn, CRASHY_LIB=crashy_lib, CRASHY_FAULTHANDLER="1") as u:
        crash(u, "/segv")
        row = events.wait(lambda r: r["calculated_type"] == "SIGSEGV")[0]
        assert u.request("/ok", timeout=10) == 200
        log = u.text()
    assert "Fatal Python error: Segmentation fault" in log and 'line %d in level_three' % SEGV_LINE in log, log[-3000:]
    check_event(row, "SIGSEGV", "/segv")
