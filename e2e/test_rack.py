"""Ruby exceptions from uWSGI's rack plugin (Debian's uwsgi-plugin-rack-ruby3.1 and
ruby-rack), through the loader, stored in Bugsink: frames oldest first (the raising
one last), platform ruby, the class name whole, the request scrubbed."""
import os

from bugsink import Events, type_is
from support import ROOT
from uwsgi_harness import UWSGI, plugin_dir, uwsgi_env


def test_a_ruby_exception_arrives_right(tmp_path, bugsink, installed):
    events = Events(bugsink)
    head = ["[uwsgi]", "plugins = rack_ruby31", "rack = " + os.path.join(ROOT, "e2e", "apps", "config.ru")]
    lines = ["plugin-dir = " + plugin_dir(installed), "plugin = sentry",
             "sentry-sender = " + os.path.join(installed, "bin", "uwsgi-sentry")]
    u = UWSGI(str(tmp_path), lines, uwsgi_env(installed, bugsink.dsn, UWSGI_SENTRY_SPOOL=str(tmp_path / "spool")), workers=1)
    with open(u.ini) as f:
        ini = f.read().replace("[uwsgi]\nplugins = python3\n", "\n".join(head) + "\n").replace(
            "wsgi-file = " + os.path.join(ROOT, "e2e", "apps", "app.py") + "\n", "")
    with open(u.ini, "w") as f:
        f.write(ini)
    with u:
        u.request("/pay?cc=4111111111111111", headers={"Cookie": "_session=s3cr3t"})
        row = events.wait(type_is("Shop::PaymentError"))[0]
    data = row["data"]
    x = data["exception"]["values"][0]
    assert data["platform"] == "ruby" and x["type"] == "Shop::PaymentError" and "module" not in x
    assert x["value"] == "card declined for cc=[creditcard]", "values are scrubbed like messages (more than Sentry does)"
    functions = [f["function"] for f in x["stacktrace"]["frames"]]
    assert functions[-2:] == ["outer", "inner_boom"], functions
    assert all(f["filename"].endswith("config.ru") for f in x["stacktrace"]["frames"][-2:])
    assert data["request"]["headers"]["Cookie"] == "[Filtered]" and data["request"]["query_string"] == "cc=[Filtered]"
