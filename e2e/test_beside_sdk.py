"""Exceptions beside sentry-python (sentry-sdk from PyPI, e2e/requirements-sdk.txt), the
peer most Python users know. For the same exception in the same uWSGI app, our event
has every field sentry-python's has, with the same values where they describe the
same thing; and an app that runs the SDK itself gets each exception once."""
import os

from faultserver import FaultServer
from relay import normalize, paths, scrubbed_differences
from support import envelope_items, wait_for
from uwsgi_harness import UWSGI, plugin_dir, sdk_app, uwsgi_env

TRACE = "0123456789abcdef0123456789abcdef-89abcdef01234567-1"


def one_line(installed):
    return ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
            "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry")]


def filled(event):
    """The fields an event fills (index-free paths to values that are not null), a
    frame's variables and the installed modules each counted as one field (their
    names are the app's and the machine's)."""
    out = set()
    for p in paths(_without_nulls(event)):
        if ".vars." in p:
            p = p[:p.index(".vars.") + 5]
        if p.startswith("modules."):
            p = "modules"
        out.add(p)
    return out


def _without_nulls(v):
    """What an event says: no nulls, no empty lists or objects."""
    if isinstance(v, dict):
        kept = {k: _without_nulls(x) for k, x in v.items()}
        return {k: x for k, x in kept.items() if x not in (None, [], {})}
    if isinstance(v, list):
        return [x for x in map(_without_nulls, v) if x not in (None, [], {})]
    return v


def the_event(server, match):
    events = wait_for(lambda: [e for e in envelope_items(server.requests, "event") if match(e)], timeout=15)
    assert events, [e.get("exception") for e in envelope_items(server.requests, "event")]
    return events[0]


def raised(e, type_name):
    return any(x.get("type") == type_name for x in e.get("exception", {}).get("values", []))


def test_our_exception_event_has_every_field_sentry_pythons_has(tmp_path, installed):
    ours_server, theirs_server = FaultServer(status=200), FaultServer(status=200)
    try:
        with UWSGI(str(tmp_path / "ours"), one_line(installed), uwsgi_env(installed, ours_server.dsn()), workers=1) as u:
            u.request("/chain", headers={"sentry-trace": TRACE})
            ours = the_event(ours_server, lambda e: raised(e, "RuntimeError"))
        with sdk_app(tmp_path / "theirs", theirs_server.dsn()) as u:
            u.request("/chain", headers={"sentry-trace": TRACE})
            theirs = the_event(theirs_server, lambda e: raised(e, "RuntimeError"))
    finally:
        ours_server.close()
        theirs_server.close()
    missing = filled(theirs) - filled(ours)
    assert missing == set(), "sentry-python fills these and we do not: %s" % sorted(missing)
    # The same exception, told the same way.
    assert [x["type"] for x in ours["exception"]["values"]] == [x["type"] for x in theirs["exception"]["values"]] \
        == ["ZeroDivisionError", "RuntimeError"], "the chain, oldest first"
    mine, its = ours["exception"]["values"][-1]["stacktrace"]["frames"][-1], theirs["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    for field in ("filename", "abs_path", "function", "lineno", "context_line", "pre_context", "post_context"):
        assert mine[field] == its[field], (field, mine[field], its[field])
    assert mine["in_app"] is True and sorted(mine["vars"]) == sorted(its["vars"]) == ["amount", "customer", "secret_token"]
    assert ours["contexts"]["trace"]["trace_id"] == theirs["contexts"]["trace"]["trace_id"] == TRACE.split("-")[0]
    assert ours["contexts"]["trace"]["parent_span_id"] == theirs["contexts"]["trace"]["parent_span_id"] == TRACE.split("-")[1]
    assert ours["contexts"]["runtime"] == dict(theirs["contexts"]["runtime"], type="runtime")
    # Both are what Sentry's normaliser takes; only ours leaves Sentry's scrubber nothing to do.
    assert normalize(ours)[1] == [] and scrubbed_differences(ours) == []
    assert any("4111 1111 1111 1111" in str(before) for _, before, _ in scrubbed_differences(theirs)), \
        "sentry-python sends the card number in a local as it is (Sentry's server scrubs it; Bugsink does not)"


def test_an_app_running_sentry_sdk_gets_each_exception_once(tmp_path, installed):
    """plugin = sentry and a DSN beside an app that runs sentry-sdk to the same project:
    the SDK reports the app's exceptions, we report what it cannot see (a harakiri);
    `sentry-exceptions = always` reports them here too."""
    sentry = FaultServer(status=200)
    try:
        env = uwsgi_env(installed, sentry.dsn())
        with sdk_app(tmp_path / "both", sentry.dsn(), one_line(installed) + ["harakiri = 2"], env) as u:
            u.request("/value?beside-sdk-1")
            u.request("/stuck?5", timeout=10)
            the_event(sentry, lambda e: e.get("exception", {}).get("values", [{}])[-1].get("type") == "Harakiri")
            log = u.text()
        with sdk_app(tmp_path / "always", sentry.dsn(), one_line(installed) + ["sentry-exceptions = always"], env) as u:
            u.request("/value?beside-sdk-2")
            wait_for(lambda: len([e for e in envelope_items(sentry.requests, "event") if "beside-sdk-2" in str(e)]) >= 2, timeout=15)
    finally:
        sentry.close()
    events = envelope_items(sentry.requests, "event")
    first = [e for e in events if "beside-sdk-1" in str(e.get("exception"))]
    assert [e["sdk"]["name"] for e in first] == ["sentry.python"], "once, by the app's own SDK"
    assert log.count("left to it") <= 1 and "uwsgi-sentry:" in log, "said once that they are left to the SDK"
    second = [e["sdk"]["name"] for e in events if "beside-sdk-2" in str(e.get("exception"))]
    assert sorted(second) == ["sentry.python", "uwsgi-sentry"], "always: reported here too"
