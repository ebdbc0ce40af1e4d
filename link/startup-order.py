"""`make startup-order`: writes link/startup.order, the functions `uwsgi-sentry` runs
when it starts and sends what a `cmd:` alarm sends (a worker's death, a full listen
queue, a harakiri; sent, then handed off) and prints --version, --help, --dry-run, for
the linker to lay them out together (lld --symbol-ordering-file).

Why: one process per event makes start-up the `cmd:` alarm's hot path. Left where
the linker puts them, the ~650 functions a send runs are spread over the 5 MB of
text (the static Swift runtime's and ours); the kernel maps 64 KiB around each page
touched, so 4.6 MB of it was resident for 350 KB of code run (smaps at exit).
Together they are a few hundred KiB: fewer page faults and a smaller RSS
(bench/sender.py). A name missing from a newer build only loses its place; a stale
file costs speed, never correctness. Needs valgrind (callgrind); run it after
changing what start-up runs, and commit the file.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from faultserver import FaultServer  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
OUT = sys.argv[2]


def text_symbols(binary):
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    return {p[2] for p in (l.split() for l in out.splitlines()) if len(p) == 3 and p[1] in "tTwW"}


def executed(argv, workdir):
    """The functions callgrind saw run, in the order it first names them."""
    out = os.path.join(workdir, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", "--callgrind-out-file=" + out] + argv,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=workdir)
    names = []
    for line in open(out):
        m = re.match(r"^c?fn=\(\d+\) (.*)$", line)
        if m: names.append(m.group(1).strip())
    return names


def main():
    known = text_symbols(BIN)
    sink = FaultServer(status=200)
    order, seen = [], set()
    try:
        with tempfile.TemporaryDirectory() as work:
            spool = os.path.join(work, "spool")
            os.makedirs(spool)
            dsn = sink.dsn()
            # What `cmd:` alarms send (a worker's death, a full listen queue, a harakiri),
            # sent and handed off; then the commands people run by hand.
            lines = ["DAMN ! worker 1 (pid: 4242) died :( trying respawn ...",
                     '*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (2/2) ***',
                     "Wed Nov 25 20:44:25 2026 - *** HARAKIRI ON WORKER 1 (pid: 4242, try: 1) ***"]
            runs = [[BIN, "dsn=%s,message=%s,level=error,budget=0" % (dsn, line)] for line in lines]
            runs += [[BIN, "dsn=%s,message=%s,budget=0,mode=spool,spool=%s" % (dsn, line, spool)] for line in lines]
            runs += [[BIN, "--version"], [BIN, "--help"], [BIN, "--dry-run", "dsn=%s,message=startup order" % dsn]]
            for argv in runs:
                for name in executed(argv, work):
                    if name in known and name not in seen:
                        seen.add(name)
                        order.append(name)
    finally:
        sink.close()
    if len(order) < 100:
        raise SystemExit("only %d functions seen: is valgrind installed, did the sends run?" % len(order))
    with open(OUT, "w") as f:
        f.write("\n".join(order) + "\n")
    print("%s: %d functions" % (OUT, len(order)))


main()
