"""`make bench`: whole-process cost of one event, side by side with curl, in one run.

Every round runs each command once, in turn (interleaved), so drift on a shared
machine hits all of them alike; figures are medians over the rounds, and the
verdicts compare ratios, never absolute times. The sink is nginx on 127.0.0.1
answering 200, so the server's own time is the same tiny constant for everyone.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from support import BIN, VENV, free_port

VENV_BIN = os.path.join(VENV, "bin")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
NULL = os.open(os.devnull, os.O_RDWR)


def start_nginx(workdir, port):
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""worker_processes 1; daemon off; pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 512; }
http { access_log off; client_body_temp_path %(d)s;
  server { listen 127.0.0.1:%(p)d; location / { return 200 '{"id":"00000000000000000000000000000000"}'; } } }
""" % {"d": workdir, "p": port})
    proc = subprocess.Popen(["nginx", "-c", conf], stdout=NULL, stderr=NULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start")


def run_once(argv, env, expect=0):
    """Wall time (s) of one whole process."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, NULL, 0), (os.POSIX_SPAWN_DUP2, NULL, 1), (os.POSIX_SPAWN_DUP2, NULL, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != expect:
        raise SystemExit("%s exited %d" % (argv, os.waitstatus_to_exitcode(status)))
    return elapsed


def peak_rss(argv, env):
    """Peak RSS (KiB) as GNU time reports it. (A child spawned from Python reports
    Python's own RSS in ru_maxrss, so the measuring parent must be small.)"""
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, stdin=NULL, stdout=NULL,
                       stderr=subprocess.PIPE)
    return int(r.stderr.split()[-1])


def ensure_sentry_cli():
    path = os.path.join(VENV_BIN, "sentry-cli")
    if not os.path.exists(path):
        subprocess.run([os.path.join(VENV_BIN, "pip"), "install", "-q", "--disable-pip-version-check",
                        "sentry-cli"], check=False)
    return path if os.path.exists(path) else None


def main():
    workdir = tempfile.mkdtemp(prefix="uwsgi-sentry-bench-")
    port = free_port()
    nginx = start_nginx(workdir, port)
    try:
        dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % port
        options = "dsn=%s,message=bench: DAMN ! worker 1 (pid: 4242) died :( trying respawn ...,level=error" % dsn
        envelope = os.path.join(workdir, "event.envelope")
        with open(envelope, "wb") as f:
            # --dry-run masks the key; curl must post the very bytes uwsgi-sentry sends.
            f.write(subprocess.run([BIN, "--dry-run", options], capture_output=True, check=True).stdout
                    .replace(b"0123****", b"0123456789abcdef0123456789abcdef"))
        envelope_size = os.path.getsize(envelope)
        url = "http://127.0.0.1:%d/api/1/envelope/" % port
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir}
        curl = shutil.which("curl")
        spool = os.path.join(workdir, "spool")
        env["UWSGI_SENTRY_STATE"] = os.path.join(workdir, "state")
        # A budget of 1 per hour for this fingerprint, spent once: every later run is a drop.
        over = options.replace("message=bench:", "message=storm:") + ",budget=1/3600"
        subprocess.run([BIN, over], env=env, stdin=NULL, stdout=NULL, stderr=NULL)
        commands = [
            ("curl CLI (same envelope)", [curl, "-s", "-o", "/dev/null", "--data-binary", "@" + envelope, url]),
            ("uwsgi-sentry (send)", [BIN, options + ",budget=0"]),
            ("uwsgi-sentry mode=spool (hand-off)", [BIN, options + ",budget=0,mode=spool,spool=" + spool]),
            ("uwsgi-sentry over budget (drop)", [BIN, over]),
            ("uwsgi-sentry --dry-run", [BIN, "--dry-run", options]),
            ("uwsgi-sentry --help", [BIN, "--help"]),
            ("uwsgi-sentry --version", [BIN, "--version"]),
        ]
        baseline = os.environ.get("UWSGI_SENTRY_BASELINE")
        if baseline:
            # Another build of uwsgi-sentry (e.g. the last release), measured in the same rounds.
            commands += [("baseline (send)", [baseline, options + ",budget=0"]),
                         ("baseline --help", [baseline, "--help"])]
        cli = ensure_sentry_cli()
        if cli:
            commands.append(("sentry-cli send-event", [cli, "send-event", "-m", "bench: worker died"]))
        envs = {name: dict(env, SENTRY_DSN=dsn) if name.startswith("sentry-cli") else env for name, _ in commands}
        times = {name: [] for name, _ in commands}
        rss = {name: [] for name, _ in commands}
        expect = {name: 7 if "over budget" in name else 0 for name, _ in commands}
        for name, argv in commands:  # warm the page cache
            for _ in range(5):
                run_once(argv, envs[name], expect[name])
        for _ in range(ROUNDS):
            for name, argv in commands:
                times[name].append(run_once(argv, envs[name], expect[name]))
        for _ in range(max(5, ROUNDS // 10)):
            for name, argv in commands:
                rss[name].append(peak_rss(argv, envs[name]))
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    base_t = statistics.median(times[commands[0][0]])
    base_m = statistics.median(rss[commands[0][0]])
    print("%d interleaved rounds (RSS: %d), sink: nginx on 127.0.0.1, envelope %d bytes\n" % (ROUNDS, max(5, ROUNDS // 10), envelope_size))
    print("| command | median time | time vs curl | peak RSS | RSS vs curl |")
    print("|---|---|---|---|---|")
    for name, _ in commands:
        t, m = statistics.median(times[name]), statistics.median(rss[name])
        print("| %s | %.2f ms | %.2fx | %.1f MiB | %.2fx |" % (name, t * 1000, t / base_t, m / 1024, m / base_m))
    send_t = statistics.median(times["uwsgi-sentry (send)"]) / base_t
    send_m = statistics.median(rss["uwsgi-sentry (send)"]) / base_m
    print()
    verdicts = [("send time <= 1.15x curl", send_t <= 1.15), ("send peak RSS <= 1.3x curl", send_m <= 1.3)]
    for flag in ("--dry-run", "--help", "--version", "mode=spool (hand-off)", "over budget (drop)"):
        ratio = statistics.median(times["uwsgi-sentry " + flag]) / base_t
        verdicts.append(("%s time <= 0.35x curl" % flag, ratio <= 0.35))
    for text, ok in verdicts:
        print("%s %s" % ("PASS" if ok else "MISS", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
