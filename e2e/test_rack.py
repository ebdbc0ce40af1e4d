"""Ruby exceptions from uWSGI's rack plugin (Debian's uwsgi-plugin-rack-ruby3.1 and
ruby-rack), through the loader and the sentry_rbframes it brings, beside sentry-ruby
(Debian's ruby-sentry-ruby 5.3), the peer Ruby users know: the same Rack app, the same
exception, field by field. Stored in Bugsink: frames oldest first with the app's
files relative to its root and their source lines, in_app right for the app's files
and the rack gem's, the causes, the runtime, the request scrubbed; an app that runs
sentry-ruby gets each exception once."""
import os
import re
import uuid

from bugsink import Events, type_is
from faultserver import FaultServer
from relay import normalize
from support import ROOT, envelope_items, wait_for
from test_beside_sdk import filled
from uwsgi_harness import UWSGI, plugin_dir, uwsgi_env

RACK = os.path.join(ROOT, "e2e", "apps", "rack", "config.ru")
SHOP = os.path.join(ROOT, "e2e", "apps", "rack", "lib", "shop.rb")
CHAIN = ["ArgumentError", "Shop::GatewayError", "Shop::PaymentError"]


def one_line(installed):
    return ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
            "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry")]


def rack_app(workdir, installed, dsn, lines=(), sentry_ruby_dsn=None):
    """The Rack app with the one-line set-up (lines), and sentry-ruby when given its DSN."""
    env = uwsgi_env(installed, dsn, UWSGI_SENTRY_SPOOL=str(workdir / "spool"))
    if sentry_ruby_dsn:
        env.update(WITH_SENTRY_RUBY="1", SENTRY_RUBY_DSN=sentry_ruby_dsn)
    return UWSGI(str(workdir), list(lines), env, workers=1, rack=RACK)


def the_event(server):
    events = wait_for(lambda: [e for e in envelope_items(server.requests, "event") if "exception" in e], timeout=15)
    assert events, server.requests[-3:]
    return events[0]


def raising_frame(event):
    return event["exception"]["values"][-1]["stacktrace"]["frames"][-1]


def test_a_ruby_exception_arrives_whole(tmp_path, bugsink, installed):
    events = Events(bugsink)
    with rack_app(tmp_path, installed, bugsink.dsn, one_line(installed)) as u:
        u.request("/pay?first")
        u.request("/pay?cc=4111111111111111", headers={"Cookie": "_session=s3cr3t", "traceparent": "00-%s-00f067aa0ba902b7-01" % ("ab" * 16)})
        row = [r for r in events.wait(type_is("Shop::PaymentError"), count=2) if "cc=" in r["data"]["exception"]["values"][-1]["value"]][0]
    data = row["data"]
    assert data["platform"] == "ruby"
    values = data["exception"]["values"]
    assert [x["type"] for x in values] == CHAIN, "the causes, the deepest first; not the request before's (uWSGI keeps $!)"
    x = values[-1]
    assert x["module"] == "Shop" and x["value"] == "card declined for cc=[creditcard]", "values are scrubbed like messages"
    frames = x["stacktrace"]["frames"]
    assert [f["function"] for f in frames][-3:] == ["pay", "charge", "rescue in charge"]
    mine = frames[-1]
    assert mine["filename"] == "lib/shop.rb" and mine["abs_path"] == SHOP and mine["in_app"] is True
    assert mine["context_line"].strip() == 'raise PaymentError, "card declined for #{amount}"' and len(mine["pre_context"]) == 5
    gem = [f for f in frames if f["filename"] == "rack/content_length.rb"]
    assert gem and gem[0]["in_app"] is False and "/gems/rack-" in gem[0]["abs_path"], "the rack gem's frame is not the app's"
    assert [f["in_app"] for f in frames if f["abs_path"] == RACK] == [True], "config.ru is the app's"
    assert data["contexts"]["runtime"]["name"] == "ruby" and data["contexts"]["runtime"]["version"].startswith("3.")
    assert data["contexts"]["trace"]["trace_id"] == "ab" * 16
    assert data["request"]["headers"]["Cookie"] == "[Filtered]" and data["request"]["query_string"] == "cc=[Filtered]"
    assert "rack" in data["modules"]
    page = bugsink.page("issues/issue/%s/event/%s/" % (uuid.UUID(row["issue_id"]), uuid.UUID(row["id"])))
    text = re.sub(r"<[^>]+>", "", page)  # the source lines are highlighted token by token
    assert "lib/shop.rb" in text and 'raise PaymentError, "card declined for #{amount}"' in text and "def charge(amount)" in text


def test_run_from_the_root_folder_the_app_is_config_rus_folder(tmp_path, installed):
    """uWSGI started from / with no chdir (as a service often is): the app's root is
    the folder of `rack = PATH`, not /, which would make /lib look like the app's."""
    sentry = FaultServer(status=200)
    try:
        with rack_app(tmp_path, installed, sentry.dsn(), one_line(installed) + ["chdir = /"]) as u:
            u.request("/pay?root")
            event = the_event(sentry)
    finally:
        sentry.close()
    mine = raising_frame(event)
    assert (mine["filename"], mine["in_app"]) == ("lib/shop.rb", True), mine


def test_our_ruby_event_has_every_field_sentry_rubys_has(tmp_path, installed):
    """Compared as Sentry keeps them (after its normaliser: sentry-ruby also sends
    fields Sentry drops, each frame's project_root among them)."""
    ours_server, theirs_server = FaultServer(status=200), FaultServer(status=200)
    try:
        with rack_app(tmp_path / "ours", installed, ours_server.dsn(), one_line(installed)) as u:
            u.request("/pay?42")
            ours = the_event(ours_server)
        with rack_app(tmp_path / "theirs", installed, None, sentry_ruby_dsn=theirs_server.dsn()) as u:
            u.request("/pay?42")
            theirs = the_event(theirs_server)
    finally:
        ours_server.close()
        theirs_server.close()
    kept = lambda e: {k: v for k, v in normalize(e)[0].items() if k != "_meta"}
    missing = filled(kept(theirs)) - filled(kept(ours))
    assert missing == set(), "sentry-ruby fills these and we do not: %s" % sorted(missing)
    assert normalize(ours)[1] == []
    assert [(x["type"], x.get("module") or None) for x in ours["exception"]["values"]] == \
        [(x["type"], x.get("module") or None) for x in theirs["exception"]["values"]]
    mine, its = raising_frame(ours), raising_frame(theirs)
    for field in ("filename", "abs_path", "function", "lineno", "in_app"):
        assert mine[field] == its[field], (field, mine[field], its[field])
    assert mine["context_line"].rstrip("\n") == its["context_line"].rstrip("\n")
    assert [l.rstrip("\n") for l in its["pre_context"]] == mine["pre_context"][-len(its["pre_context"]):]
    # Every frame both have (theirs adds sentry-ruby's own middleware), told the same.
    said = lambda e: {(f["abs_path"], f["lineno"]): (f["filename"], f["in_app"]) for x in e["exception"]["values"]
                      for f in x["stacktrace"]["frames"]}
    both = said(ours).keys() & said(theirs).keys()
    assert len(both) >= 8 and {k: said(ours)[k] for k in both} == {k: said(theirs)[k] for k in both}
    assert ours["contexts"]["runtime"]["build"] == theirs["contexts"]["runtime"]["version"], "RUBY_DESCRIPTION"


def test_an_app_running_sentry_ruby_gets_each_exception_once(tmp_path, installed):
    """sentry-ruby captured it (it marks what it captured): left to it; an exception it
    did not capture, and everything with `sentry-exceptions = always`, is reported here."""
    sentry = FaultServer(status=200)
    try:
        with rack_app(tmp_path / "both", installed, sentry.dsn(), one_line(installed), sentry_ruby_dsn=sentry.dsn()) as u:
            u.request("/pay?once")
            wait_for(lambda: envelope_items(sentry.requests, "event"), timeout=15)
            wait_for(lambda: "left to it" in u.text(), timeout=10)
            log = u.text()
        with rack_app(tmp_path / "always", installed, sentry.dsn(), one_line(installed) + ["sentry-exceptions = always"],
                      sentry_ruby_dsn=sentry.dsn()) as u:
            u.request("/pay?twice")
            wait_for(lambda: len([e for e in envelope_items(sentry.requests, "event") if "twice" in str(e)]) >= 2, timeout=15)
    finally:
        sentry.close()
    events = envelope_items(sentry.requests, "event")
    once = [e["sdk"]["name"] for e in events if "once" in str(e.get("exception"))]
    assert once == ["sentry.ruby"], "once, by the app's own SDK"
    assert log.count("left to it") == 1 and "sentry.ruby/5." in log
    assert sorted(e["sdk"]["name"] for e in events if "twice" in str(e.get("exception"))) == ["sentry.ruby", "uwsgi-sentry"]
