"""Every event shape the sender can produce passes Sentry's own normaliser with no errors."""
import json
import os

import pytest

from support import clean_env, run
from packets import packet
from relay import normalize, payload_of, scrubbed_differences

DSN = "http://0123456789abcdef@127.0.0.1:9/1"

SHAPES = {
    "minimal": ("message=hello", b""),
    "all options": (",".join([
        "message=m", "level=CRITICAL", "logger=l", "platform=python", "culprit=c", "transaction=/t",
        "server_name=s", "release=1.0", "dist=d", "environment=prod", "tags=a:1;b:2", "extra=x:y",
        "fingerprint={{ default }};x", "user=id:1;username:u;email:e@example.com;ip_address:127.0.0.1;team:t",
        "exception_type=ValueError", "exception_value=bad", "timeout=2", "no_verify", "debug=0"]), b""),
    "exception only": ("exception_type=KeyError,exception_value='x'", b""),
    "exception value only": ("exception_value=lonely", b""),
    "stdin message": ("logger=uwsgi", b"DAMN ! worker 1 (pid: 18352) died :( trying respawn ...\n"),
    "control characters": ("message=a\x01b\tc\x7fd\"e\\\\f", b""),
    "unicode": ("message=h\u00e9llo \u2713 \U0001F40D,tags=lang:\u65e5\u672c", b""),
    "binary stdin": ("level=info", bytes(range(256)) * 4),
    "long message": ("level=info", b"x" * 100_000),
    "multi-line segfault": ("", b"*** backtrace of 1 ***\nuwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]\n/lib/libc.so.6(+0x3c050) [0x7f3c3fcae050]\n*** end of backtrace ***\n"),
    "invalid level and platform fall back": ("message=m,level=loud,platform=cobol", b""),
    "hostile names": ("message=m,release=a/b\\\\c,environment=x/y,dist=latest,tags=bad key!:v\nw;:z", b""),
    "long identifiers": ("message=m,logger=%s,culprit=%s,transaction=%s,tags=%s:%s,fingerprint=%s" % (
        "l" * 300, "c" * 300, "t" * 300, "k" * 300, "v" * 300, "f" * 300), b""),
    "big extra": ("message=m,extra=%s" % ";".join("k%d:%s" % (i, "v" * 20000) for i in range(3)), b""),
}


SHAPES.update({
    "a worker killed (cmd: path)": ("", b"DAMN ! worker 2 (pid: 4242) died, killed by signal 9 :( trying respawn ...\n"),
    "a harakiri's request line (cmd: path)": ("", b"Wed Nov 25 20:44:25 2026 - HARAKIRI [core 0] 10.0.0.1 - GET /items/42?card=4111111111111111 since 1795639460\n"),
    "secrets in an alarm line": ("", b"login me@example.com card 4111 1111 1111 1111 Bearer abc.def ssn 078-05-1120 iban DE89370400440532013000\n"),
    "secrets in extra and user": ("message=m,extra=db:mysql\\://u\\:pw@db/x;note:GET /author/5;k:4111111111111111,user=username:author;email:a@b.co", b""),
})


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_normalises_without_errors_and_is_already_scrubbed(name, tmp_path):
    options, stdin = SHAPES[name]
    log = tmp_path / "uwsgi.log"
    log.write_text("spawned uWSGI worker 1 (pid: 4242, cores: 1)\nGET /login?password=hunter2 => generated\n"
                   "a card 4111111111111111 in the log\n")
    opts = "dsn=%s,log_file=%s" % (DSN, log) + ("," + options if options else "")
    r = run("--dry-run", opts, stdin=stdin)
    assert r.returncode == 0, r.stderr
    payload = payload_of(r.stdout)
    event, problems = normalize(payload)
    assert problems == []
    assert event["sdk"]["name"] == "uwsgi-sentry"
    assert "environ" not in json.dumps(event.get("extra", {}))
    assert scrubbed_differences(payload) == [], "Sentry's default scrubber would still change these"


def test_uwsgi_context_normalises():
    r = run("--dry-run", "dsn=%s,message=m" % DSN,
            env=clean_env(UWSGI_RELOADS="3", UWSGI_ORIGINAL_PROC_NAME="uwsgi"))
    event, problems = normalize(payload_of(r.stdout))
    assert problems == []
    assert event["contexts"]["uwsgi"]["reloads"] == "3"
    assert event["contexts"]["uwsgi"]["parent_pid"] == os.getpid()


def test_truncated_message_is_marked():
    r = run("--dry-run", "dsn=" + DSN, stdin=b"y" * 20000)
    event = json.loads(payload_of(r.stdout))
    text = event["logentry"]["formatted"]
    assert len(text) == 8192 and text.endswith("20000 characters in all]")


def test_environment_never_leaks_into_the_event():
    r = run("--dry-run", "message=m", env=clean_env(SENTRY_DSN="http://leakykey@127.0.0.1:9/1", SECRET_THING="s3cr3t"))
    payload = payload_of(r.stdout)
    assert b"s3cr3t" not in payload and b"leakykey" not in payload


PACKETS = {
    "python exception": packet(),
    "module exception": packet(cls="app.errors.Boom", msg="x" * 20000),
    "blank frames of uWSGI < 2.0.27": packet(frames=[("", "-1", "", "")] * 3),
    "no vars, no frames": packet(vars={}, frames=[]),
    "hostile vars": packet(vars={"HTTP_X\nY": "a\x00b", "": "", "HTTP_HOST": "h\u00e9"}),
    "secrets in the request": packet(vars={"REQUEST_METHOD": "POST", "QUERY_STRING": "cc=4111%201111%201111%201111&next=/author/5",
                                            "HTTP_REFERER": "http://h/?token=abc", "HTTP_X_FORWARDED_FOR": "10.0.0.1",
                                            "HTTP_USER_AGENT": "curl auth", "SCRIPT_NAME": "/home/bob/app", "PATH_INFO": "/x"}),
    "lying lengths": packet()[:-7],
}


@pytest.mark.parametrize("name", sorted(PACKETS))
def test_exception_packet_events_normalise_without_errors(name):
    r = run("--dry-run", "--uwsgi-exception", stdin=("dsn=%s,logger=uwsgi\n" % DSN).encode() + PACKETS[name])
    assert r.returncode == 0, r.stderr
    event, problems = normalize(payload_of(r.stdout))
    assert problems == []
    assert scrubbed_differences(payload_of(r.stdout)) == []
    assert event["exception"]["values"][0]["mechanism"]["type"] == "uwsgi"
    if name == "python exception":
        assert dict(event["request"]["headers"]) == {"Host": "127.0.0.1:8000", "Cookie": "[Filtered]",
                                                     "Authorization": "[Filtered]"}
        assert len(event["exception"]["values"][0]["stacktrace"]["frames"]) == 2
    if name == "lying lengths":
        assert r.stderr.startswith(b"uwsgi-sentry: warning: undecodable exception packet")
