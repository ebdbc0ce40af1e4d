"""`make deb`: Debian's tools build it, lintian passes it, apt installs it, uWSGI uses
it with `plugin = sentry` found in its default plugin directory, and a purge leaves
nothing behind. Run as root (as CI is); the machine is left as it was."""
import os
import subprocess
import time

import pytest

from bugsink import Events, type_is, value_has
from support import ROOT, clean_env
from uwsgi_harness import UWSGI

# One worker builds, installs and purges the package (dpkg takes one at a time).
pytestmark = [pytest.mark.xdist_group("deb")]
# Installing a package needs root. CI runs as root and sets CI: there, not being root
# is a failure of the set-up, not a reason to skip.
if os.geteuid() != 0:
    if os.environ.get("CI"):
        pytest.fail("CI must run as root: the Debian package is installed for real", pytrace=False)
    pytestmark.append(pytest.mark.skip(reason="installs a package: root only"))


def version():
    import re
    return re.search(r'current = "([^"]+)"', open(os.path.join(ROOT, "Sources/SentryCore/Command/Version.swift")).read()).group(1)


@pytest.fixture(scope="session")
def deb():
    assert subprocess.run(["dpkg", "-s", "uwsgi-sentry"], capture_output=True).returncode != 0, \
        "uwsgi-sentry is installed already: this test would not leave the machine as it found it"
    subprocess.run(["make", "-s", "-C", ROOT, "deb"], check=True, stdout=subprocess.DEVNULL)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    path = os.path.join(ROOT, "uwsgi-sentry_%s_%s.deb" % (version(), arch))
    assert os.path.exists(path)
    return path


def test_lintian_reports_no_error_and_no_warning(deb):
    r = subprocess.run(["lintian", deb], capture_output=True, text=True)
    hints = [l for l in (r.stdout + r.stderr).splitlines() if l[:2] in ("E:", "W:")]
    assert hints == [] and r.returncode == 0, hints


def test_the_package_says_what_it_is(deb):
    info = subprocess.run(["dpkg-deb", "-f", deb], capture_output=True, text=True).stdout
    uwsgi = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "uwsgi-core"], capture_output=True, text=True).stdout
    assert "Version: %s\n" % version() in info
    assert "libcurl4 (>= 7.68.0)" in info and "uwsgi-core (= %s)" % uwsgi in info and "libc6 (>= " in info
    assert "libgcc" not in info, "libgcc's unwinder is linked in (Makefile: -static-libgcc)"
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    for f in ("./usr/bin/uwsgi-sentry", "./usr/lib/uwsgi/plugins/sentry_plugin.so", "./usr/lib/uwsgi/plugins/sentry_pyframes_plugin.so",
              "./usr/lib/uwsgi/plugins/sentry_rbframes_plugin.so", "./usr/share/uwsgi-sentry/sentry.ini", "./usr/share/man/man1/uwsgi-sentry.1.gz",
              "./usr/share/doc/uwsgi-sentry/copyright", "./usr/share/doc/uwsgi-sentry/changelog.gz"):
        assert f in files, f


def test_install_use_purge(deb, tmp_path, bugsink):
    events = Events(bugsink)
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q", deb], capture_output=True, text=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        listed = subprocess.run(["dpkg", "-L", "uwsgi-sentry"], capture_output=True, text=True).stdout.split()
        assert subprocess.run(["/usr/bin/uwsgi-sentry", "--version"], capture_output=True, text=True).stdout.strip() == \
            "uwsgi-sentry/" + version()
        man = subprocess.run(["man", "-P", "cat", "uwsgi-sentry"], capture_output=True, text=True,
                             env=dict(os.environ, MANWIDTH="100"))
        assert man.returncode == 0 and "OPTIONS" in man.stdout.replace("\b", "")
        lines = ["ini = /usr/share/uwsgi-sentry/sentry.ini", "ini = /usr/share/uwsgi-sentry/exceptions.ini",
                 "ini = /usr/share/uwsgi-sentry/hooks.ini"]
        env = clean_env(SENTRY_DSN=bugsink.dsn, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
        with UWSGI(str(tmp_path), lines, env, workers=1) as u:
            hook = events.wait(value_has("uWSGI is starting on "))[0]
            u.request("/raise?a=3")
            exc = events.wait(type_is("ZeroDivisionError"))[0]
            assert "[sentry] reporting exceptions" in u.text()
        assert exc["data"]["exception"]["values"][0]["stacktrace"]["frames"], "sentry_pyframes is there too"
        assert hook["level"] == "info"
        assert any(os.path.isdir(p) for p in ("/var/tmp/uwsgi-sentry-0",)), "the instance kept its spool there"
    finally:
        purge = subprocess.run(["dpkg", "--purge", "uwsgi-sentry"], capture_output=True, text=True)
    assert purge.returncode == 0, purge.stderr
    left = [p for p in listed if os.path.isfile(p)] + [p for p in ("/var/tmp/uwsgi-sentry-0", "/tmp/uwsgi-sentry-0") if os.path.exists(p)]
    assert left == [], "a purge leaves nothing behind: %s" % left
