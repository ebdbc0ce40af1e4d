"""The process as uWSGI and operators see it: flags, exit codes, stdin, signals, output."""
import os
import pty
import signal
import socket
import subprocess
import time

from support import BIN, clean_env, run
from faultserver import FaultServer

DSN = "http://0123456789abcdef@127.0.0.1:9/1"


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and b"Exit codes:" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith(b"uwsgi-sentry/")


def test_unknown_flag_is_a_usage_error():
    r = run("--frobnicate")
    assert r.returncode == 2 and r.stderr == b"uwsgi-sentry: unknown flag '--frobnicate' (see --help)\n"


def test_nothing_to_send():
    r = run("dsn=" + DSN)
    assert r.returncode == 2 and r.stderr.startswith(b"uwsgi-sentry: nothing to send")


def test_no_option_string_anywhere():
    r = run()
    assert r.returncode == 2 and b"no option string" in r.stderr


def test_no_dsn():
    r = run("message=x")
    assert r.returncode == 2 and r.stderr == b"uwsgi-sentry: no DSN: give dsn=... or set SENTRY_DSN\n"


def test_bad_dsn_is_shown_masked():
    r = run("dsn=http://0123456789abcdef:topsecret@host:99999/1,message=x")
    assert r.returncode == 2
    line = r.stderr.decode()
    assert line.count("\n") == 1 and "bad port" in line
    assert "0123456789abcdef" not in line and "topsecret" not in line and "0123****" in line


def test_dry_run_prints_the_envelope_and_sends_nothing():
    r = run("--dry-run", "dsn=%s,message=x" % DSN)
    assert r.returncode == 0
    header = r.stdout.split(b"\n")[0]
    assert b'"dsn":"http://0123****@127.0.0.1:9/1"' in header, "the key is masked even here"
    assert b"0123456789abcdef" not in r.stdout


def test_dry_run_does_not_load_libcurl():
    env = clean_env(LD_DEBUG="files")
    out = subprocess.run([BIN, "--dry-run", "dsn=%s,message=x" % DSN], capture_output=True, env=env)
    assert b"libcurl" not in out.stderr and b"calling init" in out.stderr


def test_arguments_arrive_as_given_and_start_up_reads_no_process_map():
    """argv comes from glibc's .init_array call (Sources/StartupArguments), not from the
    static Swift runtime's reading of /proc/self/maps at every start: every argument as
    it was given (UTF-8, quotes, a lone '=', an empty one, inner spaces; the words of
    an option string are joined by one space), and no read of the map."""
    words = ["dsn=" + DSN + ",message=caf\u00e9 \"q\"", "=", "", "two  spaces"]
    r = subprocess.run(["strace", "-f", "-e", "trace=openat,open", "-o", "/dev/stderr", BIN, "--dry-run"] + words,
                       capture_output=True, env=clean_env())
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-400:]
    assert b"openat(" in r.stderr and b"/proc/self/maps" not in r.stderr
    assert '"formatted":"caf\u00e9 \\"q\\" =  two  spaces"'.encode() in r.stdout, r.stdout


def test_hook_stdin_pipe_that_never_closes_does_not_hang():
    r_fd, w_fd = os.pipe()
    try:
        start = time.monotonic()
        p = subprocess.run([BIN, "--dry-run", "dsn=" + DSN], stdin=r_fd, capture_output=True, timeout=10, env=clean_env())
        elapsed = time.monotonic() - start
    finally:
        os.close(r_fd)
        os.close(w_fd)
    assert p.returncode == 2 and b"nothing to send" in p.stderr
    assert elapsed < 1.0


def test_message_forced_does_not_touch_stdin():
    r_fd, w_fd = os.pipe()
    try:
        start = time.monotonic()
        p = subprocess.run([BIN, "--dry-run", "dsn=%s,message=forced" % DSN], stdin=r_fd, capture_output=True,
                           timeout=10, env=clean_env())
    finally:
        os.close(r_fd)
        os.close(w_fd)
    assert p.returncode == 0 and time.monotonic() - start < 0.15


def test_terminal_stdin_is_not_read():
    master, slave = pty.openpty()
    try:
        p = subprocess.run([BIN, "--dry-run", "dsn=" + DSN], stdin=slave, capture_output=True, timeout=10, env=clean_env())
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 2 and b"nothing to send" in p.stderr


def test_nonblocking_socket_stdin_like_an_alarm():
    a, b = socket.socketpair()
    a.sendall(b"listen queue of socket \"127.0.0.1:8000\" (fd: 3) full !!! (2/2)\n")
    a.close()
    b.setblocking(False)
    p = subprocess.run([BIN, "--dry-run", "dsn=" + DSN], stdin=b.fileno(), capture_output=True, timeout=10, env=clean_env())
    b.close()
    assert p.returncode == 0, p.stderr
    assert b'"formatted":"listen queue of socket \\"127.0.0.1:8000\\" (fd: 3) full !!! (2/2)"' in p.stdout


def test_huge_binary_stdin():
    data = os.urandom(10 << 20)
    p = run("--dry-run", "dsn=" + DSN, stdin=data, timeout=20)
    assert p.returncode == 0, p.stderr
    assert b"characters in all]" in p.stdout


def test_success_is_silent_without_a_terminal_but_reported_on_one():
    s = FaultServer(status=200)
    try:
        quiet = run("dsn=%s,message=x" % s.dsn())
        assert quiet.returncode == 0 and quiet.stdout == b"" and quiet.stderr == b""
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "dsn=%s,message=x" % s.dsn()], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             env=clean_env())
        os.close(slave)
        assert p.wait(10) == 0
        out = os.read(master, 4096)
        os.close(master)
        assert b"accepted by http://127.0.0.1:%d" % s.port in out
    finally:
        s.close()


def test_inherited_blocked_sigterm_is_unblocked():
    s = FaultServer(mode="hang")  # the sender waits up to its timeout

    def block():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGALRM})
    try:
        p = subprocess.Popen([BIN, "dsn=%s,message=x,timeout=30" % s.dsn()], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=block, env=clean_env())
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(5) == -signal.SIGTERM
    finally:
        s.close()


def test_closed_stdout_and_stderr_do_not_crash():
    r_fd, w_fd = os.pipe()
    os.close(r_fd)  # writes get EPIPE
    p = subprocess.run([BIN, "--dry-run", "dsn=%s,message=x" % DSN], stdout=w_fd, stderr=w_fd, env=clean_env())
    os.close(w_fd)
    assert p.returncode == 0


def test_check_names_a_typo_before_saying_there_is_nothing_to_send():
    r = run("--check", "dsn=%s,mesage=hello" % DSN)
    assert r.returncode == 2
    assert b"unknown option 'mesage', did you mean 'message'?" in r.stderr


def on_a_terminal(*args, env=None):
    """Runs the sender with stdout and stderr on a pseudo-terminal; (exit code, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env or clean_env())
    os.close(slave)
    code = p.wait(10)
    out = b""
    try:
        while True:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    os.close(master)
    return code, out


def test_over_budget_is_said_on_a_terminal_silent_otherwise_and_check_is_never_budgeted(tmp_path):
    s = FaultServer(status=200)
    try:
        env = clean_env(UWSGI_SENTRY_STATE=str(tmp_path / "state"))
        options = "dsn=%s,message=hand test,budget=1/60" % s.dsn()
        assert run(options, env=env).returncode == 0
        quiet = run(options, env=env)
        assert quiet.returncode == 7 and quiet.stdout == b"" and quiet.stderr == b"", "silent under uWSGI"
        code, out = on_a_terminal(options, env=env)
        assert code == 7 and b"budget" in out and out.count(b"\n") == 1, out
        code, out = on_a_terminal("--check", options, env=env)
        assert code == 0 and b"accepted" in out, "--check is never budgeted"
        assert len(s.requests) == 2
    finally:
        s.close()
