"""README, --help and the man page stay true to the code."""
import os
import re
import subprocess

from support import BIN, ROOT

KEYS = re.findall(r'"(\w+)"', re.search(r"static let keys = \[(.*?)\]", open(
    os.path.join(ROOT, "Sources/SentryCore/Input/Options.swift")).read(), re.S).group(1))
EXIT_CODES = dict(re.findall(r"case (\w+) = (\d+)", open(os.path.join(ROOT, "Sources/SentryCore/Command/ExitCode.swift")).read()))


def texts():
    man = subprocess.run(["man", "-l", os.path.join(ROOT, "man/uwsgi-sentry.1")], capture_output=True, text=True,
                         env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0")).stdout
    man = re.sub(r".\x08", "", man)
    return {"--help": subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout,
            "man": man, "README": open(os.path.join(ROOT, "README.md")).read()}


def test_every_option_key_is_documented():
    assert len(KEYS) >= 21
    for name, text in texts().items():
        missing = [k for k in KEYS if k not in text]
        assert missing == [], "%s lacks %s" % (name, missing)


# The word each exit code's documented line must carry, next to its number.
MEANING = {"accepted": "accepted", "internalError": "internal", "usage": "usage", "network": "network",
           "rejected": "rejected", "rateLimited": "rate-limited", "spooled": "spooled", "overBudget": "budget"}


def test_every_exit_code_is_documented():
    assert set(EXIT_CODES) == set(MEANING), "a new exit code needs its word here"
    for name, text in texts().items():
        lines = text.splitlines()
        for case, code in EXIT_CODES.items():
            hits = [l for l in lines if re.match(r"^\W*%s\W" % code, l.strip() + " ") and MEANING[case] in l.lower()]
            assert hits, "%s lacks exit code %s (%s)" % (name, code, MEANING[case])


def test_man_page_lints_clean():
    r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", os.path.join(ROOT, "man/uwsgi-sentry.1")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == ""


def test_versions_agree():
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip().split("/")[1]
    assert '"uwsgi-sentry %s"' % version in open(os.path.join(ROOT, "man/uwsgi-sentry.1")).read()


PLUGIN_OPTIONS = re.findall(r'\{"(sentry-[\w-]+)"', open(os.path.join(ROOT, "plugin/sentry/sentry_plugin.c")).read())


def test_every_loader_option_is_documented_and_listed_by_uwsgi():
    from support import PLUGINS
    assert len(PLUGIN_OPTIONS) >= 12
    listed = subprocess.run(["uwsgi", "--plugin-dir", PLUGINS, "--plugin", "sentry", "--help"],
                            capture_output=True, text=True).stdout
    docs = texts()
    man = docs["man"].replace("\u2010", "-")  # man may hyphenate with U+2010
    for option in PLUGIN_OPTIONS:
        assert "--" + option in listed, "uwsgi --plugin sentry --help lacks " + option
        assert option in docs["README"], "README lacks " + option
        assert option in man, "the man page lacks " + option


def test_every_snippet_is_documented():
    snippets = sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".ini"))
    docs = texts()
    for name in snippets:
        assert name in docs["README"] and name in docs["man"], name


def test_the_package_changelog_names_this_version():
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip().split("/")[1]
    first = open(os.path.join(ROOT, "packaging/changelog")).readline()
    assert first.startswith("uwsgi-sentry (%s)" % version), first
