"""Issue 28: the app's code that runs outside requests reports too (sentry_pyframes'
sys.excepthook, which uWSGI's PyErr_Print calls): a spooler task, a timer, a signal
handler, an RPC function, a mule function; each once, rich as a request's, with what
says where it ran. A request's own exception still arrives once. On Debian's 2.0.21
(python3-uwsgidecorators) and PyPI's 2.0.31."""
import os
import shutil

import pytest

from faultserver import FaultServer
from support import PYPI_PLUGINS, PYPI_UWSGI, envelope_items, wait_for
from uwsgi_harness import APPS, UWSGI, plugin_dir, uwsgi_env

APP = os.path.join(APPS, "elsewhere.py")


def events(sentry):
    return envelope_items(sentry.requests, "event")


def of_type(sentry, name):
    return [e for e in events(sentry) if e["exception"]["values"][-1]["type"] == name]


def elsewhere(tmp_path, installed, sentry, build="debian-2.0.21", *more):
    """The app with a spooler (retrying every second) and a mule, on `build`, the
    one-line set-up sending to `sentry`; more config lines after."""
    (tmp_path / "spooler").mkdir()
    lines = ["sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry"), "spooler = %s" % (tmp_path / "spooler"),
             "spooler-frequency = 1", "mules = 1", "pythonpath = " + APPS, *more]
    env = uwsgi_env(installed, sentry.dsn(), UWSGI_SENTRY_SPOOL=str(tmp_path / "spool"), ELSEWHERE_DIR=str(tmp_path))
    if build == "debian-2.0.21":
        return UWSGI(str(tmp_path / "u"), ["plugin-dir = " + plugin_dir(installed), "plugin = sentry", *lines], env, app=APP,
                     extra_head=["pythonpath = /usr/lib/python3/dist-packages"])
    return UWSGI(str(tmp_path / "u"), ["plugin-dir = " + PYPI_PLUGINS, "plugin = sentry", *lines], env, app=APP,
                 binary=PYPI_UWSGI, python=None)


@pytest.mark.parametrize("build", ["debian-2.0.21", "pypi-2.0.31"])
def test_spooler_timer_signal_rpc_and_mule_exceptions_each_arrive_once(tmp_path, installed, build):
    sentry = FaultServer(status=200)
    spooler = tmp_path / "spooler"
    u = elsewhere(tmp_path, installed, sentry, build, "farm = parcels:1")
    try:
        with u:
            for path in ("/spool?7", "/timer", "/signal", "/rpc", "/mule"):
                assert u.request(path) == 200, (path, u.text()[-2000:])
            assert u.request("/value") is None
            wanted = ("ValueError", "RuntimeError", "KeyError", "LookupError", "ZeroDivisionError")
            assert wait_for(lambda: all(of_type(sentry, t) for t in wanted), timeout=20), \
                ([e["exception"]["values"][-1]["type"] for e in events(sentry)], u.text()[-3000:])
            assert u.request("/") == 200, "serves throughout"
            shutil.rmtree(spooler, ignore_errors=True)  # no more retries of the failing task
    finally:
        sentry.close()
    tags = {t: dict(of_type(sentry, t)[0]["tags"]) for t in wanted if t != "ValueError"}
    spooled = [e for e in of_type(sentry, "ValueError") if dict(e["tags"]).get("uwsgi.process") == "spooler"]
    assert spooled, "the spooler task's exception"
    task = dict(spooled[0]["tags"])
    assert task["uwsgi.spooler_function"] == "charge_card" and task["uwsgi.spooler_task"].startswith("uwsgi_spoolfile_on_"), task
    assert spooled[0]["exception"]["values"][-1]["value"] == "charging order 7 failed"
    assert tags["RuntimeError"]["uwsgi.process"] == "worker" and "uwsgi.signal" in tags["RuntimeError"], tags["RuntimeError"]
    assert tags["KeyError"]["uwsgi.signal"] == "17"
    assert tags["KeyError"]["uwsgi.entry"].endswith("elsewhere.on_signal"), tags["KeyError"]
    assert tags["ZeroDivisionError"]["uwsgi.entry"].endswith("elsewhere.explode"), tags["ZeroDivisionError"]
    assert tags["LookupError"]["uwsgi.process"] == "mule" and tags["LookupError"]["uwsgi.mule"] == "1", tags["LookupError"]
    assert tags["LookupError"]["uwsgi.farm"] == "parcels", tags["LookupError"]
    # Rich as a request's: frames with source lines, the mechanism says how it was caught.
    for t in wanted:
        e = of_type(sentry, t)[-1]
        frames = e["exception"]["values"][-1]["stacktrace"]["frames"]
        assert frames[-1].get("context_line") and frames[-1].get("pre_context") is not None, (t, frames[-1])
    assert {of_type(sentry, t)[0]["exception"]["values"][-1]["mechanism"]["type"] for t in wanted[1:]} == {"uwsgi.excepthook"}
    # Each once; the request's own exception once, through uWSGI's handler, not the hook too.
    for t in wanted[1:]:
        assert len(of_type(sentry, t)) == 1, (t, len(of_type(sentry, t)))
    own = [e for e in of_type(sentry, "ValueError") if e["exception"]["values"][-1]["value"] == "a request's own exception"]
    assert len(own) == 1 and own[0]["exception"]["values"][-1]["mechanism"]["type"] == "uwsgi"


def test_a_requests_exception_builds_no_second_packet(tmp_path, installed):
    """The hook also sees a request's exception (uWSGI prints it through it): the
    loader reports that one already, so the hook builds no packet for it (one built
    only to be refused cost the worker as much again as the report itself). An
    exception outside a request still gets its packet."""
    sentry = FaultServer(status=200)
    try:
        with elsewhere(tmp_path, installed, sentry) as u:
            for i in range(5):
                u.request("/value?%d" % i)
            assert wait_for(lambda: len(of_type(sentry, "ValueError")) == 5, timeout=15)
            assert u.request("/signal") == 200
            assert wait_for(lambda: of_type(sentry, "KeyError"), timeout=15)
    finally:
        sentry.close()
    built = (tmp_path / "packets-built").read_text().split()  # the failing cron's OSError may be in it too
    assert "ValueError" not in built and "KeyError" in built, built


def test_a_spooler_task_failing_100_times_is_budgeted_and_the_drops_counted(tmp_path, installed):
    """The storm rules hold outside requests: 100 failing tasks (each retried by the
    spooler) make the same fingerprint: the budget (10 per 60 s) sends 10, the rest is
    counted for a client report."""
    sentry = FaultServer(status=200)
    spooler = tmp_path / "spooler"

    def dropped():
        return sum(d["quantity"] for r in envelope_items(sentry.requests, "client_report") for d in r["discarded_events"]
                   if d["reason"] == "backpressure" and d["category"] == "error")
    try:
        with elsewhere(tmp_path, installed, sentry) as u:
            for i in range(100):
                assert u.request("/spool?%d" % i) == 200
            assert wait_for(lambda: dropped() >= 90, timeout=30), (len(of_type(sentry, "ValueError")), dropped())
            shutil.rmtree(spooler, ignore_errors=True)
    finally:
        sentry.close()
    sent = of_type(sentry, "ValueError")
    assert len(sent) == 10, len(sent)
    assert len({e["exception"]["values"][-1]["type"] + dict(e["tags"])["uwsgi.spooler_function"] for e in sent}) == 1


@pytest.mark.parametrize("build", ["debian-2.0.21", "pypi-2.0.31"])
def test_the_apps_own_crons_check_in(tmp_path, installed, build):
    """@cron(-1, -1, -1, -1, -1) functions check in at the next minute: in_progress with
    the crontab, then ok (or error, with the exception reported too), under the slug
    `<module's last part>.<function>`; @timer(120) is a 2-minute interval monitor;
    @timer(1) is said once not to be one. sentry-options' monitor settings apply."""
    sentry = FaultServer(status=200)
    u = elsewhere(tmp_path, installed, sentry, build, "sentry-options = checkin_margin=5,max_runtime=10")
    module = "uwsgi_file__" + APP[1:-3].replace("/", "_").replace(".", "_")

    def runs(name):
        return [c for c in envelope_items(sentry.requests, "check_in") if c["monitor_slug"].endswith(name)]
    try:
        with u:
            assert wait_for(lambda: len(runs("every_minute")) >= 2 and len(runs("failing_report")) >= 2, timeout=75), \
                envelope_items(sentry.requests, "check_in")
            log = u.text()
    finally:
        sentry.close()
    ok, failed = runs("every_minute"), runs("failing_report")
    assert [c["status"] for c in ok[:2]] == ["in_progress", "ok"] and ok[0]["check_in_id"] == ok[1]["check_in_id"]
    assert [c["status"] for c in failed[:2]] == ["in_progress", "error"]
    assert ok[0]["monitor_config"] == {"schedule": {"type": "crontab", "value": "* * * * *"}, "checkin_margin": 5, "max_runtime": 10}
    assert "monitor_config" not in ok[1] and ok[1]["duration"] < 5
    # The module's last part and the function, its last 50 characters (here a wsgi-file's module, uWSGI's long name).
    assert ok[0]["monitor_slug"] == (module + ".every_minute")[-50:].replace(".", "-"), ok[0]["monitor_slug"]
    assert of_type(sentry, "OSError"), "the failing cron's exception is reported too"
    assert log.count("is not a whole number of minutes: no cron monitor for it") == 1, "@timer(1), said once"
    assert "every 120 s" not in log


def test_a_spooler_task_is_a_queue_transaction_in_the_trace_of_the_request_that_spooled_it(tmp_path, installed):
    """With sentry-traces: the task is a `queue.process` transaction, a child of the
    spooling request's span in its (upstream) trace; the task's arguments as the app
    sees them never hold what carried the request."""
    from relay import normalize
    from transactions import problems
    sentry = FaultServer(status=200)
    spooler = tmp_path / "spooler"
    upstream = "4bf92f3577b34da6a3ce929d0e0e4736"

    def bodies(op):
        return [b for b in sentry.requests if b'"op":"%s"' % op.encode() in b]
    try:
        with elsewhere(tmp_path, installed, sentry, "debian-2.0.21", "sentry-traces = 1.0") as u:
            assert u.request("/spool?9", headers={"sentry-trace": upstream + "-00f067aa0ba902b7-1"}) == 200
            assert wait_for(lambda: bodies("queue.process") and of_type(sentry, "ValueError"), timeout=20), u.text()[-2000:]
            shutil.rmtree(spooler, ignore_errors=True)
            assert wait_for(lambda: [b for b in bodies("http.server") if b"/spool" in b], timeout=10)
    finally:
        sentry.close()
    import json
    task = json.loads(bodies("queue.process")[0].split(b"\n")[2])
    request = json.loads([b for b in bodies("http.server") if b"/spool" in b][0].split(b"\n")[2])
    assert problems(bodies("queue.process")[0]) == [] and normalize(task)[1] == []
    t, r = task["contexts"]["trace"], request["contexts"]["trace"]
    assert t["trace_id"] == r["trace_id"] == upstream and t["parent_span_id"] == r["span_id"], (t, r)
    assert task["transaction"] == "charge_card" and task["transaction_info"]["source"] == "task" and t["status"] == "internal_error"
    assert t["data"]["messaging.system"] == "uwsgi" and t["data"]["messaging.message.id"].startswith("uwsgi_spoolfile_on_")
    assert "uwsgi_sentry_request" not in json.dumps(of_type(sentry, "ValueError")[0]), "the app's arguments stay its own"
