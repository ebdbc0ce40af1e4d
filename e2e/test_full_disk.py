"""Issue 24: a spool the disk will not take (full, read-only, removed) loses no event
while Sentry answers: the daemon sends from memory (bounded), says so once when it
starts and once when the spool takes envelopes again; with Sentry down as well, what
waits in memory is delivered when it answers. On a real uWSGI, with the spool on a
256 KiB tmpfs (mounting one needs root: CI runs as root)."""
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from faultserver import FaultServer
from support import envelope_items, run, wait_for
from uwsgi_harness import UWSGI, plugin_dir, uwsgi_env

if os.geteuid() != 0:
    if os.environ.get("CI"):
        pytest.fail("CI must run as root: the full disk is a tmpfs mounted for real", pytrace=False)
    pytestmark = pytest.mark.skip(reason="mounts a tmpfs: root only")

REFUSES = re.compile(r"the spool \S+ refuses envelopes \(([^)]*)\): sending them from memory")
AGAIN = "takes envelopes again"


@pytest.fixture
def small_fs(tmp_path):
    mnt = str(tmp_path / "fs")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mnt], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)


def fill(mnt):
    """Takes every free byte of the filesystem."""
    fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def values(server, prefix):
    """The exception values of the events the server received that start with `prefix`."""
    return {e["exception"]["values"][-1]["value"] for e in envelope_items(server.requests, "event")
            if e.get("exception", {}).get("values", [{}])[-1].get("value", "").startswith(prefix)}


def why_not(sentry, u, prefix, n):
    """What to look at when not all arrived: how many did, what else Sentry heard (a
    client report counts drops), and what the daemon and uWSGI said (its last lines)."""
    missing = sorted(set("%s%d" % (prefix, i) for i in range(n)) - values(sentry, prefix))
    said = [l for l in u.text().splitlines() if "uwsgi-sentry" in l or "[sentry]" in l or "DAMN" in l]
    return "%d of %d arrived; missing %s; client reports %s; log:\n%s" % (
        n - len(missing), n, missing[:10], envelope_items(sentry.requests, "client_report"), "\n".join(said[-30:]))


def fire(u, prefix, n):
    """n requests that raise, four at a time (uWSGI closes each without an answer, as
    for any app that raises before start_response), each within a second; then an
    ordinary request is served."""
    def one(i):
        t = time.monotonic()
        u.request("/value?%s-%d" % (prefix, i), timeout=5)
        return time.monotonic() - t
    with ThreadPoolExecutor(4) as pool:
        worst = max(pool.map(one, range(n)))
    assert worst < 1 and u.request("/") == 200, "uWSGI serves throughout (worst %.2f s)" % worst


def test_a_full_disk_loses_nothing_while_sentry_answers_and_says_so_twice(tmp_path, installed, small_fs):
    spool = os.path.join(small_fs, "spool")
    os.makedirs(os.path.join(spool, "state"), mode=0o700)
    sentry = FaultServer(status=200)
    servers = [sentry]
    lines = ["plugin-dir = " + plugin_dir(installed), "plugin = sentry", "sentry-budget = 0",
             "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry")]
    try:
        with UWSGI(str(tmp_path / "u"), lines, uwsgi_env(installed, sentry.dsn(), UWSGI_SENTRY_SPOOL=spool), workers=2) as u:
            # Full: 400 exceptions, all delivered from memory.
            fill(small_fs)
            fire(u, "full", 400)
            assert wait_for(lambda: len(values(sentry, "boom from full-")) == 400, timeout=60), why_not(sentry, u, "boom from full-", 400)
            assert u.request("/") == 200
            # Room again (after the daemon's 5 s of calm): said once; the spool is used again.
            os.unlink(os.path.join(small_fs, "filler"))
            time.sleep(5.5)
            fire(u, "room", 5)
            assert wait_for(lambda: len(values(sentry, "boom from room-")) == 5), why_not(sentry, u, "boom from room-", 5)
            # Read-only: the same.
            subprocess.run(["mount", "-o", "remount,ro", small_fs], check=True)
            fire(u, "ro", 20)
            assert wait_for(lambda: len(values(sentry, "boom from ro-")) == 20, timeout=30), why_not(sentry, u, "boom from ro-", 20)
            subprocess.run(["mount", "-o", "remount,rw", small_fs], check=True)
            # Removed under the daemon's feet: made again, and used.
            shutil.rmtree(spool)
            time.sleep(5.5)
            fire(u, "gone", 5)
            assert wait_for(lambda: len(values(sentry, "boom from gone-")) == 5, timeout=30), why_not(sentry, u, "boom from gone-", 5)
            assert os.path.isdir(spool)
            # Full and Sentry down: kept in memory, delivered when it answers again.
            port = sentry.port
            sentry.close(drop_connections=True)
            fill(small_fs)
            fire(u, "down", 50)
            time.sleep(1.5)
            sentry = FaultServer(status=200, port=port)
            servers.append(sentry)
            assert wait_for(lambda: len(values(sentry, "boom from down-")) == 50, timeout=60), why_not(sentry, u, "boom from down-", 50)
            assert u.request("/") == 200
            log = u.text()
    finally:
        sentry.close()
    # A line as each refusal starts and one as it ends, never one per event.
    said = [m.group(0) for m in re.finditer(REFUSES.pattern + "|" + AGAIN, log)]
    assert [REFUSES.match(l).group(1) if REFUSES.match(l) else l for l in said] == [
        "No space left on device", AGAIN, "Read-only file system", AGAIN, "No space left on device"], said
    assert [envelope_items(s.requests, "client_report") for s in servers] == [[], []], "nothing was dropped"


def test_a_cmd_hand_off_the_full_spool_refuses_is_sent_by_the_sender_itself(small_fs):
    """Without the loader (mode=spool), a sender whose frame the spool refuses sends the
    event itself rather than lose it, and says so in one line."""
    spool = os.path.join(small_fs, "spool")
    os.makedirs(spool, mode=0o700)
    fill(small_fs)
    sentry = FaultServer(status=200)
    try:
        r = run("dsn=%s,message=handed off on a full disk,mode=spool,spool=%s" % (sentry.dsn(), spool))
    finally:
        sentry.close()
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().splitlines() == [
        "uwsgi-sentry: not handed to the daemon: cannot write to %s (No space left on device); sending it from here" % spool]
    assert [e["logentry"]["formatted"] for e in envelope_items(sentry.requests, "event")] == ["handed off on a full disk"]
