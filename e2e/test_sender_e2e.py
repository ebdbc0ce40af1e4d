"""The sender against a real Bugsink (strict validation): assert on STORED events."""
import re

from support import clean_env, run
from support import event_id as event_id_of

EXIT_OK, EXIT_USAGE, EXIT_NETWORK, EXIT_REJECTED, EXIT_RATE_LIMITED = 0, 2, 3, 4, 5


def send_and_fetch(bugsink, options, stdin=b"", dsn=None):
    """Sends, then reads what Bugsink stored. 30 s for Bugsink to answer, unless the
    options say otherwise: it shares 2 CPUs with every other suite (5 s timed out once)."""
    if "timeout=" not in options:
        options += ",timeout=30"
    r = run("--check", "dsn=%s,%s" % (dsn or bugsink.dsn, options), stdin=stdin)
    assert r.returncode == EXIT_OK, r.stderr
    row = bugsink.event(event_id_of(r))
    assert row is not None, "accepted but not stored (strict validation rejected it?)"
    return row


def test_every_option_lands_in_the_stored_event(bugsink):
    row = send_and_fetch(bugsink, ",".join([
        "message=disk is full on /var", "level=warn", "logger=uwsgi.alarm", "platform=python",
        "culprit=listen_queue", "transaction=/upload", "server_name=web-7", "release=app@1.2.3",
        "dist=42", "environment=production", "tags=worker:3;socket:127.0.0.1\\:8000",
        "extra=pid:1234;note:hello", "fingerprint=disk;full", "user=id:42;username:ops;email:ops@example.com",
        "exception_type=DiskFull", "exception_value=no space left", "timeout=4.5",
    ]))
    data = row["data"]
    assert row["level"] == "warning"
    assert row["logger"] == "uwsgi.alarm"
    assert row["platform"] == "python"
    assert row["server_name"] == "web-7"
    assert row["release"] == "app@1.2.3"
    assert row["dist"] == "42"
    assert row["environment"] == "production"
    assert row["transaction"] == "/upload"
    assert row["sdk_name"] == "uwsgi-sentry"
    assert row["calculated_type"] == "DiskFull"
    assert row["calculated_value"] == "no space left"
    assert data["logentry"]["formatted"] == "disk is full on /var"
    assert data["culprit"] == "listen_queue"
    assert data["tags"] == {"worker": "3", "socket": "127.0.0.1:8000"}
    assert data["extra"] == {"pid": "1234", "note": "hello"}
    assert data["fingerprint"] == ["disk", "full"]
    assert data["user"] == {"id": "42", "username": "ops", "email": "ops@example.com"}
    assert data["exception"]["values"][0]["mechanism"] == {"type": "uwsgi", "handled": False}
    assert data["contexts"]["os"]["name"] == "Linux"


def test_message_from_stdin_and_server_name_default(bugsink):
    row = send_and_fetch(bugsink, "logger=uwsgi", stdin=b"*** HARAKIRI ON WORKER 1 (pid: 9) ***\n")
    assert row["data"]["logentry"]["formatted"] == "*** HARAKIRI ON WORKER 1 (pid: 9) ***"
    import socket
    assert row["server_name"] == socket.gethostname()
    assert row["release"] == ""


def test_option_string_on_stdin_keeps_dsn_out_of_argv(bugsink):
    r = run("--check", stdin=("dsn=%s,level=info\nfirst line\nsecond line\n" % bugsink.dsn).encode())
    assert r.returncode == EXIT_OK, r.stderr
    row = bugsink.event(event_id_of(r))
    assert row["level"] == "info"
    assert row["data"]["logentry"]["formatted"] == "first line\nsecond line"


def test_words_are_joined_like_the_old_readme(bugsink):
    r = run("--check", "dsn=%s,logger=uwsgi.sentry,message=uWSGI" % bugsink.dsn, "IS", "STARTING")
    assert r.returncode == EXIT_OK, r.stderr
    assert bugsink.event(event_id_of(r))["data"]["logentry"]["formatted"] == "uWSGI IS STARTING"


def test_secret_dsn_is_accepted_and_stored_in_its_project(bugsink):
    row = send_and_fetch(bugsink, "message=with a secret", dsn=bugsink.secret_dsn)
    assert row["project_name"] == "uwsgi-secret"


def test_environment_defaults(bugsink):
    r = run("message=from env", env=clean_env(SENTRY_DSN=bugsink.dsn, SENTRY_RELEASE="r9",
                                              SENTRY_ENVIRONMENT="staging"), stdin=b"")
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == b"" and r.stderr == b"", "quiet on success when not on a terminal"
    rows = bugsink.rows("e.release = 'r9'")
    assert rows and rows[-1]["environment"] == "staging"


def test_unknown_key_warns_but_still_sends(bugsink):
    before = bugsink.count()
    r = run("dsn=%s,message=typo test,levle=info" % bugsink.dsn)
    assert r.returncode == EXIT_OK
    assert r.stderr == b"uwsgi-sentry: warning: unknown option 'levle', did you mean 'level'?\n"
    assert bugsink.count() == before + 1


def test_check_makes_problems_fatal(bugsink):
    before = bugsink.count()
    r = run("--check", "dsn=%s,message=typo test,levle=info" % bugsink.dsn)
    assert r.returncode == EXIT_USAGE
    assert b"did you mean 'level'" in r.stderr
    assert bugsink.count() == before


def test_wrong_key_is_rejected_403(bugsink):
    dsn = bugsink.dsn.replace("0123456789abcdef0123456789abcdef", "99999999999999999999999999999999")
    r = run("dsn=%s,message=x" % dsn)
    assert r.returncode == EXIT_REJECTED
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uwsgi-sentry: ") and "HTTP 403" in lines[0]
    assert "99999999999999999999999999999999" not in lines[0]


def test_oversized_event_is_rejected_413(strict_bugsink):
    big = ";".join("k%d:%s" % (i, "x" * 5000) for i in range(8))
    r = run("dsn=%s,message=big,extra=%s" % (strict_bugsink.dsn, big))
    assert r.returncode == EXIT_REJECTED, r.stderr
    assert b"HTTP 413" in r.stderr and r.stderr.count(b"\n") == 1


def test_exhausted_quota_is_rate_limited_429(strict_bugsink):
    results = [run("dsn=%s,message=quota %d,budget=0" % (strict_bugsink.secret_dsn, i)) for i in range(6)]
    codes = [r.returncode for r in results]
    assert codes[0] == EXIT_OK
    first_429 = codes.index(EXIT_RATE_LIMITED)
    assert re.fullmatch(rb"uwsgi-sentry: event [0-9a-f]{32} dropped: http://127.0.0.1:\d+ is rate-limiting "
                        rb"\(HTTP 429\), retry after \d+ s\n", results[first_429].stderr), results[first_429].stderr
    # Remembered: the next process does not even ask.
    r = run("dsn=%s,message=quota again,budget=0" % strict_bugsink.secret_dsn)
    assert r.returncode == EXIT_RATE_LIMITED
    assert re.fullmatch(rb"uwsgi-sentry: event [0-9a-f]{32} dropped: http://127.0.0.1:\d+ is rate-limiting "
                        rb"default events for \d+ more s\n", r.stderr), r.stderr


def test_refused_connection_is_a_network_failure():
    r = run("dsn=http://k@127.0.0.1:9/1,message=x,timeout=2")
    assert r.returncode == EXIT_NETWORK
    assert r.stderr.startswith(b"uwsgi-sentry: event ") and r.stderr.count(b"\n") == 1


def test_debug_masks_key(bugsink):
    r = run("dsn=%s,message=debugging,debug" % bugsink.secret_dsn)
    assert r.returncode == EXIT_OK
    out = r.stderr.decode()
    assert "> X-Sentry-Auth: Sentry sentry_version=7" in out and "< HTTP 200" in out
    assert "fedcba9876543210fedcba9876543210" not in out and "0badc0ffee0badc0ffee" not in out
    assert all(line.startswith("uwsgi-sentry: debug: ") for line in out.splitlines())
    assert r.stdout == b""
