"""sentry-traces: every sampled request a transaction from uWSGI itself, on Debian's
2.0.21 and PyPI's 2.0.31: one per request, valid by Relay's rules (e2e/transactions.py)
and its normaliser, sampled by Sentry's rules, joined to the request's errors and
log records; beside an app's own sentry-sdk, one per request, not two."""
import json
import os
import threading
import time

import pytest

from faultserver import FaultServer
from relay import normalize
from support import PYPI_PLUGINS, PYPI_UWSGI, envelope_items, wait_for
from transactions import problems
from uwsgi_harness import UWSGI, plugin_dir, sdk_app, uwsgi_env

TRACE_ID, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def transactions(server):
    """(envelope header, payload, whole envelope) of every transaction the server got."""
    out = []
    for body in server.requests:
        lines = body.split(b"\n")
        if len(lines) > 2 and b'"type":"transaction"' in lines[1]:
            out.append((json.loads(lines[0]), json.loads(lines[2]), body))
    return out


def discarded(server, reason, category):
    return sum(d["quantity"] for r in envelope_items(server.requests, "client_report") for d in r["discarded_events"]
               if d["reason"] == reason and d["category"] == category)


def instance(tmp_path, installed, dsn, build="debian-2.0.21", *more, workers=2):
    lines = ["sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), "sentry-logs = info", *more]
    env = uwsgi_env(installed, dsn, UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"))
    if build == "debian-2.0.21":
        return UWSGI(str(tmp_path / "u"), ["plugin-dir = " + plugin_dir(installed), "plugin = sentry", *lines], env, workers=workers)
    assert os.path.exists(PYPI_UWSGI) and os.path.exists(os.path.join(PYPI_PLUGINS, "sentry_plugin.so")), "make pypi-uwsgi"
    return UWSGI(str(tmp_path / "u"), ["plugin-dir = " + PYPI_PLUGINS, "plugin = sentry", *lines], env, workers=workers,
                 binary=PYPI_UWSGI, python=None)


# What each request is, and what its transaction's status must be.
KINDS = [("/ok", "ok", 200), ("/missing", "not_found", 404), ("/error500", "internal_error", 500),
         ("/value", "internal_error", 500)]


@pytest.mark.parametrize("build", ["debian-2.0.21", "pypi-2.0.31"])
def test_every_request_is_one_valid_transaction_joined_to_its_errors_and_logs(tmp_path, installed, build):
    sentry = FaultServer(status=200)
    n = 1000
    sent = {}
    try:
        with instance(tmp_path, installed, sentry.dsn(), build, "sentry-traces = 1.0", "sentry-budget = 0", "harakiri = 2",
                      "sentry-traces-route = ^/missing$ /missing/{page}") as u:
            assert "; traces at 1.0;" in u.text()

            def client(k):
                for i in range(k, n, 4):
                    path, _, _ = KINDS[i % 4]
                    headers = {}
                    if i % 2 == 0:  # half continue an upstream trace, sampled or undecided
                        headers["sentry-trace"] = "%s-%016x%s" % (TRACE_ID, i + 1, "-1" if i % 4 == 0 else "")
                    if i % 4 == 1:  # a quarter came through a proxy that stamps the time
                        headers["X-Request-Start"] = "t=%.3f" % (time.time() - 0.25)
                    sent[i] = headers
                    u.request("%s?n=%d" % (path, i), headers=headers)
            threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
            # One request harakiri cuts during the storm.
            threads.append(threading.Thread(target=u.request, args=("/stuck?4",), kwargs={"timeout": 10,
                           "headers": {"sentry-trace": "%s-%s-1" % (TRACE_ID, PARENT)}}))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # One a worker is SIGKILLed in (as by the OOM killer), after the storm: the
            # master sees a death on its next cycle, before it reaps the worker; in a
            # storm it may reap first (README says so), and then there is no transaction.
            u.request("/kill")
            def missing():
                seen = {t["request"].get("query_string") if t["transaction"] not in ("/stuck", "/kill") else t["transaction"]
                        for _, t, _ in transactions(sentry)}
                return sorted({"n=%d" % i for i in range(n)} | {"/stuck", "/kill"} - seen)
            assert wait_for(lambda: len(transactions(sentry)) >= n + 2, timeout=30), missing()
            time.sleep(1)  # none more comes
            # The harakiri's story waits for its worker's death (UWSGI_SENTRY_STORY_WAIT).
            assert wait_for(lambda: [e for e in envelope_items(sentry.requests, "event") if e.get("level") == "fatal"
                                     and TRACE_ID in json.dumps(e.get("contexts", {}))], timeout=15)
            events = envelope_items(sentry.requests, "event")
            errors = {e["request"].get("query_string"): e for e in events if "request" in e}
            assert wait_for(lambda: len(envelope_items(sentry.requests, "log")) > 0, timeout=10)
    finally:
        sentry.close()
    got = transactions(sentry)
    assert len(got) == n + 2, "exactly one per request"
    by_n, cut = {}, {}
    for header, t, body in got:
        assert problems(body) == [], problems(body)
        _, relay_problems = normalize(t)
        assert relay_problems == [], relay_problems
        if t["transaction"] in ("/stuck", "/kill"):
            cut[t["transaction"]] = t
        else:
            by_n[int(t["request"]["query_string"].split("=")[1])] = (header, t)
    assert sorted(by_n) == list(range(n))
    # Cut: ended when the master saw it end, with the status of how.
    stuck, kill = cut["/stuck"]["contexts"]["trace"], cut["/kill"]["contexts"]["trace"]
    assert stuck["status"] == "deadline_exceeded" and stuck["trace_id"] == TRACE_ID and stuck["parent_span_id"] == PARENT
    # uWSGI sets a worker's harakiri deadline in whole seconds (now + 2 at the request's
    # start) and checks it once a second: it fires 1 to 3 s after the start.
    assert 1 <= cut["/stuck"]["timestamp"] - cut["/stuck"]["start_timestamp"] < 4
    assert kill["status"] == "internal_error" and "http.response.status_code" not in kill["data"]
    harakiri = [e for e in events if e.get("level") == "fatal" and e.get("contexts", {}).get("trace", {}).get("trace_id") == TRACE_ID]
    assert harakiri and harakiri[0]["contexts"]["trace"]["span_id"] == stuck["span_id"], "the harakiri's event points at it"
    died = [e for e in events if e.get("request", {}).get("url") == "/kill" and "SIGKILL" in e.get("logentry", {}).get("formatted", "")]
    assert died and died[0]["contexts"]["trace"]["span_id"] == kill["span_id"], "the death's event points at it"
    records = [r for p in envelope_items(sentry.requests, "log") for r in p["items"] if "http.request.method" in r["attributes"]]
    record_of = {r["attributes"]["url.query"]["value"]: r for r in records}
    for i, (header, t) in by_n.items():
        path, status, code = KINDS[i % 4]
        trace = t["contexts"]["trace"]
        assert trace["op"] == "http.server" and trace["origin"] == "auto.http.uwsgi" and trace["status"] == status, (i, trace)
        assert trace["data"]["http.response.status_code"] == code and trace["data"]["http.request.method"] == "GET"
        assert {"uwsgi.worker", "uwsgi.pid", "uwsgi.core", "http.response.body.size"} <= set(trace["data"])
        assert t["transaction"] == ("/missing/{page}" if path == "/missing" else path)
        assert t["transaction_info"]["source"] == ("route" if path == "/missing" else "url")
        assert t["start_timestamp"] <= t["timestamp"] < t["start_timestamp"] + 5
        if "sentry-trace" in sent[i]:
            assert trace["trace_id"] == TRACE_ID and trace["parent_span_id"] == "%016x" % (i + 1), "the upstream's trace continued"
        else:
            assert trace["trace_id"] != TRACE_ID and "parent_span_id" not in trace
        queue = trace["data"].get("http.server.request.time_in_queue")
        if "X-Request-Start" in sent[i]:
            assert queue is not None and 240 <= queue < 5000, queue
        else:
            assert queue is None
        dsc = header["trace"]
        assert dsc["trace_id"] == trace["trace_id"] and dsc["sample_rate"] == "1.0" and dsc["sampled"] == "true"
        assert ("transaction" in dsc) == (path == "/missing"), dsc
        assert 0 <= float(dsc["sample_rand"]) < 1
        # Joined: the request's error event and its log record point at the transaction's span.
        if path == "/value":
            e = errors["n=%d" % i]
            assert (e["contexts"]["trace"]["trace_id"], e["contexts"]["trace"]["span_id"]) == (trace["trace_id"], trace["span_id"])
        r = record_of["n=%d" % i]
        assert (r["trace_id"], r.get("span_id")) == (trace["trace_id"], trace["span_id"])


def test_sampling_follows_the_upstream_flag_and_the_rate_and_counts_the_rest(tmp_path, installed):
    """-0 upstream: never sent; -1: always; at 0.25, about a quarter (binomial bounds)
    and every unsampled one counted (client reports, transaction and span)."""
    sentry = FaultServer(status=200)
    try:
        with instance(tmp_path, installed, sentry.dsn(), "debian-2.0.21", "sentry-traces = 0.25") as u:
            assert "; traces at 0.25;" in u.text()
            for i in range(50):
                u.request("/ok?no=%d" % i, headers={"sentry-trace": "%s-%s-0" % (TRACE_ID, PARENT)})
            for i in range(50):
                u.request("/ok?yes=%d" % i, headers={"sentry-trace": "%s-%s-1" % (TRACE_ID, PARENT)})
            for i in range(800):
                u.request("/ok?rate=%d" % i)
            # Sampled or counted, all 900.
            def accounted():
                return len(transactions(sentry)) + discarded(sentry, "sample_rate", "transaction")
            assert wait_for(lambda: accounted() == 900, timeout=30), (len(transactions(sentry)), discarded(sentry, "sample_rate", "transaction"))
    finally:
        sentry.close()
    queries = [t["request"]["query_string"] for _, t, _ in transactions(sentry)]
    assert not [q for q in queries if q.startswith("no=")], "-0: never sent"
    assert len([q for q in queries if q.startswith("yes=")]) == 50, "-1: always sent"
    sampled = len([q for q in queries if q.startswith("rate=")])
    assert 800 * 0.25 - 5 * (800 * 0.25 * 0.75) ** 0.5 <= sampled <= 800 * 0.25 + 5 * (800 * 0.25 * 0.75) ** 0.5, sampled
    assert discarded(sentry, "sample_rate", "span") == discarded(sentry, "sample_rate", "transaction") == 850 - sampled
    for header, t, _ in transactions(sentry):
        rand = float(header["trace"]["sample_rand"])
        assert rand < 0.25 or t["request"]["query_string"].startswith("yes="), header["trace"]


@pytest.mark.parametrize("mode", ["auto", "always"])
def test_beside_an_app_that_traces_with_sentry_sdk(tmp_path, installed, mode):
    """auto: the app's sentry-sdk (traces_sample_rate=1.0) keeps its transactions, ours
    step back and say so once; always: both."""
    ours, theirs = FaultServer(status=200), FaultServer(status=200)
    lines = ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
             "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"),
             "sentry-traces = 1.0" + (" always" if mode == "always" else "")]
    env = uwsgi_env(installed, ours.dsn(), UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), SDK_TRACES="1.0")
    try:
        with sdk_app(tmp_path / "u", theirs.dsn(), lines, env=env) as u:
            for i in range(20):
                assert u.request("/ok?i=%d" % i) == 200
            assert wait_for(lambda: len(transactions(theirs)) == 20, timeout=20), len(transactions(theirs))
            if mode == "always":
                assert wait_for(lambda: len(transactions(ours)) >= 19, timeout=20), len(transactions(ours))
            else:
                time.sleep(2)
            log = u.text()
    finally:
        ours.close()
        theirs.close()
    said = "the app's own sentry-sdk traces its requests: transactions are left to it"
    if mode == "auto":
        assert len(transactions(ours)) == 0 and log.count(said) == 1, (len(transactions(ours)), log.count(said))
    else:
        assert len(transactions(ours)) == 20 and said not in log
    # sentry-python's own transaction passes the same validator as ours, and each
    # mutation Relay refuses is refused (the payload's by Relay's normaliser too).
    from sentry_relay.processing import StoreNormalizer
    normalizer = StoreNormalizer(project_id=1, client="uwsgi-sentry/test", key_id="1", protocol_version="7", remove_other=True)
    for header, t, body in transactions(theirs):
        assert problems(body) == [], problems(body)
    header, t, _ = transactions(theirs)[0]

    def envelope(h, p):
        payload = json.dumps(p).encode()
        return json.dumps(h).encode() + b"\n" + json.dumps({"type": "transaction", "length": len(payload)}).encode() + b"\n" + payload + b"\n"
    assert problems(envelope(header, t)) == []
    end_first = dict(t, timestamp=t["start_timestamp"] - 1 if isinstance(t["start_timestamp"], (int, float)) else "2020-01-01T00:00:00Z")
    no_trace = dict(t, contexts={k: v for k, v in t["contexts"].items() if k != "trace"})
    numeric = dict(header, trace=dict(header.get("trace") or {"trace_id": t["contexts"]["trace"]["trace_id"], "public_key": "k"},
                                      sample_rate=1.0))
    for h, p in ((header, end_first), (header, no_trace), (numeric, t)):
        assert problems(envelope(h, p)) != [], (h, p)
    for p in (end_first, no_trace):
        with pytest.raises(Exception):
            normalizer.normalize_event(raw_event=json.dumps(p).encode())


def test_the_validator_refuses_what_relay_refuses():
    """Mutations of a valid envelope (made by sentry-python 2.x in the test above's
    shape): each is refused by the validator, and Relay's normaliser raises on the
    payload ones."""
    from sentry_relay.processing import StoreNormalizer
    header = {"event_id": "a" * 32, "sent_at": "2026-01-01T00:00:00Z",
              "trace": {"trace_id": TRACE_ID, "public_key": "k", "sample_rate": "1.0", "sample_rand": "0.5", "sampled": "true"}}
    now = time.time()
    t = {"event_id": "a" * 32, "type": "transaction", "transaction": "/x", "start_timestamp": now - 1, "timestamp": now,
         "contexts": {"trace": {"trace_id": TRACE_ID, "span_id": PARENT, "op": "http.server"}}, "spans": []}

    def envelope(h, p):
        body = json.dumps(p).encode()
        return json.dumps(h).encode() + b"\n" + json.dumps({"type": "transaction", "length": len(body)}).encode() + b"\n" + body + b"\n"
    assert problems(envelope(header, t)) == []
    bad_end = dict(t, timestamp=now - 2)
    no_trace = dict(t, contexts={})
    numeric = dict(header, trace=dict(header["trace"], sample_rate=1.0))
    zero_trace = dict(t, contexts={"trace": dict(t["contexts"]["trace"], trace_id="0" * 32)})
    for h, p in ((header, bad_end), (header, no_trace), (numeric, t), (header, zero_trace)):
        assert problems(envelope(h, p)) != [], (h, p)
    normalizer = StoreNormalizer(project_id=1, client="uwsgi-sentry/test", key_id="1", protocol_version="7", remove_other=True)
    for p in (bad_end, no_trace):
        with pytest.raises(Exception):
            normalizer.normalize_event(raw_event=json.dumps(p).encode())
