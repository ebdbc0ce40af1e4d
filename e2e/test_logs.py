"""uWSGI's log stream as Sentry Logs (issue 19): `sentry-logs = LEVEL` turns every
request into a structured record and every line of uWSGI's log into one, batched in
`log` items. Bugsink drops `log` items, so a recording server checks them against a
validator written from Relay's OurLog rules (e2e/protocol.py), and the validator is
itself checked against sentry-python's own `sentry_sdk.logger` envelope."""
import collections
import os
import subprocess

import pytest

from faultserver import FaultServer
from protocol import log_envelope_problems, log_item_headers, log_problems
from support import envelope_items, wait_for
from uwsgi_harness import SDK_SITE, UWSGI, plugin_dir, uwsgi_env

SDK_PYTHON = os.path.join(os.path.dirname(os.path.dirname(SDK_SITE[0])), "..", "bin", "python") if SDK_SITE else None


def one_line(installed, *more):
    return ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
            "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), *more]


def word(i):
    """A number as letters: the exceptions' values differ after numbers are masked (grouping)."""
    return "".join("abcdefghij"[int(d)] for d in str(i))


def trace_header(n):
    return "%032x-%016x-1" % (0xabc000 + n, 0xdef000 + n)


def records(server):
    return [r for _, p in log_item_headers(server.requests) for r in p["items"]]


def attrs(r):
    return {k: v["value"] for k, v in r.get("attributes", {}).items()}


def test_requests_and_lines_as_records_with_their_traces(tmp_path, installed):
    """1,000 requests (900 answered, 40 answered 500, 30 raised, 30 logged a line),
    some with an upstream trace, and a worker's death: every `log` item passes the
    validator; a record per request with OpenTelemetry's attributes and the level of
    its status; an exception's record has its error event's trace and span; a line
    written in a request has that request's trace; uWSGI's death line is an error."""
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), SENTRY_RELEASE="shop@2", UWSGI_SENTRY_LOG_INTERVAL="0.5")
    with UWSGI(str(tmp_path / "u"), one_line(installed, "sentry-logs = info"), env, workers=2) as u:
        assert "Sentry Logs at info;" in wait_for(lambda: "[sentry] reporting" in u.text() and u.text(), timeout=5)
        plan = ["/"] * 900 + ["/error500"] * 40 + ["/value?" + word(i) for i in range(30)] + ["/logwork?line-%d" % i for i in range(30)]
        for i, path in enumerate(plan):
            u.request(path, headers={"sentry-trace": trace_header(i)} if i % 2 else {})
        u.request("/die")
        want = len(plan)
        got = wait_for(lambda: len([r for r in records(server) if "http.response.status_code" in r["attributes"]]) >= want
                       and [r for r in records(server) if "DAMN ! worker" in r["body"]], timeout=30)
        assert got, (len(records(server)), u.text()[-2000:])
    server.close()
    items = log_item_headers(server.requests)
    problems = [p for h, payload in items for p in log_envelope_problems(h, payload)]
    assert not problems, problems[:5]
    recs = records(server)
    requests = [r for r in recs if "http.response.status_code" in r["attributes"]]
    assert len(requests) == len(plan), len(requests)
    by_status = collections.Counter((attrs(r)["http.response.status_code"], r["level"], attrs(r).get("uwsgi.exception", False))
                                    for r in requests)
    assert by_status[(200, "info", False)] == 930 and by_status[(500, "error", False)] == 40, by_status
    assert sum(n for (s, level, raised), n in by_status.items() if raised and level == "error") == 30, by_status
    one = next(r for r in requests if attrs(r)["url.path"] == "/error500")
    a = attrs(one)
    assert a["http.request.method"] == "GET" and a["sentry.release"] == "shop@2" and a["sentry.origin"] == "auto.log.uwsgi"
    assert a["sentry.environment"] == "production" and isinstance(a["http.server.request.duration"], float)
    assert {"uwsgi.worker", "uwsgi.pid", "uwsgi.core", "server.address", "sentry.sdk.name", "sentry.sdk.version"} <= set(a)
    assert "client.address" not in a, "the client's address only with send_default_pii"
    # Each exception's record and its error event: the same trace and span.
    events = {e["exception"]["values"][-1]["value"]: e for e in envelope_items(server.requests, "event") if "exception" in e}
    for i in range(30):
        r = next(r for r in requests if attrs(r)["url.path"] == "/value" and attrs(r).get("url.query") == word(i))
        e = events["boom from " + word(i)]
        assert (r["trace_id"], r["span_id"]) == (e["contexts"]["trace"]["trace_id"], e["contexts"]["trace"]["span_id"]), (r, e["contexts"])
        if (900 + 40 + i) % 2:
            assert r["trace_id"] == trace_header(900 + 40 + i)[:32]
    # A line written in a request: that request's trace.
    for i in range(30):
        n = 970 + i
        line = next(r for r in recs if r["body"].endswith("FOO line-%d" % i))
        request = next(r for r in requests if attrs(r).get("url.query") == "line-%d" % i)
        assert line["trace_id"] == request["trace_id"] and line["level"] == "info", (line, request)
        if n % 2:
            assert line["trace_id"] == trace_header(n)[:32]
    death = [r for r in recs if "DAMN ! worker" in r["body"]]
    assert death and all(r["level"] == "error" for r in death), death
    assert not [r for r in recs if "[sentry]" in r["body"] or "uwsgi-sentry:" in r["body"]]
    assert all(len(p["items"]) <= 100 for _, p in items)


def test_warning_sends_only_warnings_and_worse(tmp_path, installed):
    """At warning: the 500s and uWSGI's own warnings (it warns at start-up of running
    as root), not the 200s nor the app's ordinary line."""
    server = FaultServer()
    env = uwsgi_env(installed, server.dsn(), UWSGI_SENTRY_LOG_INTERVAL="0.5")
    with UWSGI(str(tmp_path / "u"), one_line(installed, "sentry-logs = warning"), env, workers=1) as u:
        for path in ["/"] * 20 + ["/error500"] * 3 + ["/logwork?fine"]:
            u.request(path)
        assert wait_for(lambda: len(records(server)) >= 3, timeout=10)
        u.request("/")
        import time
        time.sleep(1.5)
    server.close()
    recs = records(server)
    requests = [r for r in recs if "http.response.status_code" in r["attributes"]]
    assert [(r["level"], attrs(r)["http.response.status_code"]) for r in requests] == [("error", 500)] * 3, requests
    lines = [r for r in recs if r not in requests]
    assert lines or os.geteuid() != 0  # uWSGI warns of root at start-up
    assert all(r["level"] == "warn" and "*** WARNING" in r["body"] for r in lines), [(r["level"], r["body"]) for r in lines]


def test_the_validator_is_relays_rules_and_sentry_pythons_envelope_passes_it(tmp_path):
    """The differential: sentry-python 2.x's own logger envelope passes the validator;
    and the validator refuses what Relay would: `warning`, no trace id, an untyped
    attribute (each mutation of a good record)."""
    assert SDK_SITE, "make venv"
    server = FaultServer()
    script = ("import sentry_sdk\nsentry_sdk.init(dsn=%r, enable_logs=True, release='x@1')\n"
              "sentry_sdk.logger.warning('payment {n} failed', n=3)\nsentry_sdk.logger.info('ok')\nsentry_sdk.flush()\n") % server.dsn()
    python = os.path.join(os.path.dirname(SDK_SITE[0]), "..", "..", "bin", "python")
    subprocess.run([python, "-c", script], check=True, timeout=30)
    theirs = wait_for(lambda: log_item_headers(server.requests), timeout=10)
    server.close()
    assert theirs, "sentry-python sent no log item"
    header, payload = theirs[0]
    assert log_envelope_problems(header, payload) == []
    assert {r["level"] for r in payload["items"]} == {"warn", "info"}
    good = payload["items"][0]
    for broken in ({**good, "level": "warning"}, {k: v for k, v in good.items() if k != "trace_id"},
                   {**good, "attributes": {**good["attributes"], "n": {"value": 3}}},
                   {**good, "attributes": {**good["attributes"], "n": {"value": "3x", "type": "double"}}},
                   {**good, "timestamp": "yesterday"}):
        assert log_problems({"items": [broken]}), broken
