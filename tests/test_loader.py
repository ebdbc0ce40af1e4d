"""The C loader stays small, warning-free and free of network code."""
import os
import subprocess

from support import ROOT

BUILDER = os.path.join(ROOT, ".build", "uwsgi-plugins", ".uwsgi_plugins_builder")


SOURCES = [os.path.join(ROOT, "plugin", "sentry", f) for f in sorted(os.listdir(os.path.join(ROOT, "plugin", "sentry")))
           if f.endswith((".c", ".h"))]


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
    in minutes. (About 380 lines of code: the channel and the daemon's supervision,
    the harakiri hook, the death watch, the cores, the one-line set-up, 13 options.)"""
    sizes = {os.path.basename(p): code_lines(p) for p in SOURCES}
    assert all(n <= 120 for n in sizes.values()), sizes
    assert sum(sizes.values()) <= 400, sizes


def test_loader_does_no_network_io_and_no_thinking():
    """Its one socket is the channel to the daemon; no budget, no grammar, no DSN."""
    src = "".join(open(p).read() for p in SOURCES)
    for call in ("curl", "connect(", "getaddrinfo", "AF_INET", "recv(", "sscanf", "budget_slot", "dsn=", "\"@\""):
        assert call not in src, call
    assert src.count("socketpair(AF_UNIX, SOCK_SEQPACKET") == 1 and src.count("send(sentry.channel[1]") == 1


def test_plugins_compile_without_warnings():
    python_include = subprocess.run(["/usr/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.isdir(BUILDER), "make plugin first"
    # uWSGI's own flags (the ones --build-plugin uses), then ours, as errors.
    cflags = subprocess.run(["uwsgi", "--cflags"], capture_output=True, text=True, check=True).stdout.split()
    cflags = [f for f in cflags if not f.startswith("-Wno-")]
    for src in [p for p in SOURCES if p.endswith(".c")] + [os.path.join(ROOT, "plugin", "sentry_pyframes", "sentry_pyframes_plugin.c")]:
        r = subprocess.run(["gcc", "-fsyntax-only", *cflags, "-Wall", "-Wextra", "-Werror",
                            "-I" + BUILDER, "-I" + python_include, src], capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr
