"""The C loader stays small, warning-free and free of network code."""
import os
import subprocess

from support import ROOT

PLUGIN = os.path.join(ROOT, "plugin", "sentry", "sentry_plugin.c")
BUILDER = os.path.join(ROOT, ".build", "uwsgi-plugins", ".uwsgi_plugins_builder")


def test_loader_is_small():
    lines = open(PLUGIN).read().count("\n")
    assert lines < 300, lines


def test_loader_does_no_network_io():
    src = open(PLUGIN).read()
    for call in ("curl", "socket(", "connect(", "send(", "recv("):
        assert call not in src


def test_plugins_compile_without_warnings():
    python_include = subprocess.run(["/usr/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.isdir(BUILDER), "make plugin first"
    # uWSGI's own flags (the ones --build-plugin uses), then ours, as errors.
    cflags = subprocess.run(["uwsgi", "--cflags"], capture_output=True, text=True, check=True).stdout.split()
    cflags = [f for f in cflags if not f.startswith("-Wno-")]
    for src in (PLUGIN, os.path.join(ROOT, "plugin", "sentry_pyframes", "sentry_pyframes_plugin.c")):
        r = subprocess.run(["gcc", "-fsyntax-only", *cflags, "-Wall", "-Wextra", "-Werror",
                            "-I" + BUILDER, "-I" + python_include, src], capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr
