"""The C loader stays small, warning-free and free of network code."""
import os
import subprocess

from support import ROOT

BUILDER = os.path.join(ROOT, ".build", "uwsgi-plugins", ".uwsgi_plugins_builder")


def sources(folder):
    return [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith((".c", ".h"))]


SOURCES = sources(os.path.join(ROOT, "plugin", "sentry"))
# The crash room: what runs in a signal handler, kept apart and small.
CRASH = sources(os.path.join(ROOT, "plugin", "sentry", "crash"))


def code_lines(path):
    """Lines that are code: not blank, not comment."""
    n, in_comment = 0, False
    for line in open(path):
        s = line.strip()
        if in_comment:
            in_comment = "*/" not in s
            continue
        if s.startswith("/*"):
            in_comment = "*/" not in s
            continue
        if s and not s.startswith("//"):
            n += 1
    return n


def test_loader_is_small():
    """C captures and forwards: every file small (one job each), the whole readable
    in minutes. (About 1,015 lines of code: two lanes and the count of what they
    refuse, the daemon's start and supervision, the harakiri hook, the death watch,
    the cores, a request's identity and trace headers, the one-line set-up with its
    sentry_pyframes, 16 options, and requests.c: how each request ended, counted by
    minute in shared memory (release health), and its record for Sentry Logs, with the
    request a log line was written in; traces.c: the sampling decision and a sampled
    request's frame (about 120); ring.c and ring.h: the master's log lines through
    shared memory instead of a send each (about 95); deaths.c: the death watch, its
    waitid() made only after a SIGCHLD (about 50); exceptions.c: a request's
    exception sent by the worker it happened in, not through the master (about 35).
    Python frames are read by sentry_pyframes.)"""
    sizes = {os.path.basename(p): code_lines(p) for p in SOURCES}
    assert all(n <= 120 for n in sizes.values()), sizes
    assert sum(sizes.values()) <= 1020, sizes
    # crash/: the handler, the Python stack, the frame written without malloc (about 225).
    crash = {os.path.basename(p): code_lines(p) for p in CRASH}
    assert set(crash) == {"crash.h", "handler.c", "python.c", "frame.c"} and all(n <= 120 for n in crash.values()), crash
    assert sum(crash.values()) <= 240, crash


def imported_symbols(so):
    out = subprocess.run(["nm", "-D", "--undefined-only", so], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def test_loader_does_no_network_io():
    """Read off the built plugin, not its source: a .so that imports no call that
    opens a network connection or resolves a name cannot do network I/O. Its one
    socket call is socketpair() (the lanes); send() writes frames on them."""
    symbols = imported_symbols(os.path.join(ROOT, ".build", "uwsgi-plugins", "sentry_plugin.so"))
    assert {"socketpair", "send"} <= symbols, "this is the loader we think it is"
    network = {"connect", "getaddrinfo", "gethostbyname", "gethostbyname_r", "sendto", "sendmsg", "socket", "bind",
               "curl_easy_perform", "uwsgi_connect", "uwsgi_tcp_connect", "uwsgi_connect_udp",
               "uwsgi_resolve_ip", "uwsgi_send_message", "uwsgi_socket_from_addr"}
    assert symbols & network == set(), symbols & network


def test_loader_does_no_thinking():
    """Its one socket is the lanes to the daemon; no budget, no grammar, no DSN."""
    src = "".join(open(p).read() for p in SOURCES + CRASH)
    for thinking in ("sscanf", "budget_slot", "dsn=", "\"@\""):
        assert thinking not in src, thinking
    assert src.count("socketpair(AF_UNIX, SOCK_SEQPACKET") == 1


def test_plugins_compile_without_warnings():
    python_include = subprocess.run(["/usr/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.isdir(BUILDER), "make plugin first"
    # uWSGI's own flags (the ones --build-plugin uses), then ours, as errors.
    cflags = subprocess.run(["uwsgi", "--cflags"], capture_output=True, text=True, check=True).stdout.split()
    cflags = [f for f in cflags if not f.startswith("-Wno-")]
    ruby_include = subprocess.run(["ruby", "-e", 'print RbConfig::CONFIG["rubyhdrdir"], " ", RbConfig::CONFIG["rubyarchhdrdir"]'],
                                  capture_output=True, text=True, check=True).stdout.split()
    for src in [p for p in SOURCES + CRASH if p.endswith(".c")] + [os.path.join(ROOT, "plugin", "sentry_pyframes", "sentry_pyframes_plugin.c"),
                                                                   os.path.join(ROOT, "plugin", "sentry_rbframes", "sentry_rbframes_plugin.c")]:
        language = [f for d in ruby_include for f in ("-isystem", d)] if "rbframes" in src else ["-I" + python_include]
        r = subprocess.run(["gcc", "-fsyntax-only", *cflags, "-Wall", "-Wextra", "-Werror",
                            "-I" + BUILDER, *language, "-I" + os.path.join(ROOT, ".build", "generated"), src],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr
