"""README, --help and the man page stay true to the code."""
import os
import re
import subprocess

from support import BIN, ROOT

EXIT_CODES = dict(re.findall(r"case (\w+) = (\d+)", open(os.path.join(ROOT, "Sources/SentryCore/Command/ExitCode.swift")).read()))


def texts():
    man = subprocess.run(["man", "-l", os.path.join(ROOT, "man/uwsgi-sentry.1")], capture_output=True, text=True,
                         env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0")).stdout
    man = re.sub(r".\x08", "", man)
    return {"--help": subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout,
            "man": man, "README": open(os.path.join(ROOT, "README.md")).read()}


def flat(text):
    """Text with its line breaks and hyphenation at line ends undone, runs of white
    space as one: what a reader reads."""
    return re.sub(r"\s+", " ", re.sub("[\u2010-]\n\\s*", "-", text)).replace("\u2010", "-")


def split_default(text):
    """`meaning (default: D)` -> (meaning, D); no default -> (text, "")."""
    m = re.match(r"^(.*?)(?: \(default: (.*)\))?$", text)
    return m.group(1), m.group(2) or ""


def option_table():
    """(usage, meaning, default) of every option, as --help prints them from OptionTable."""
    lines, rows = texts()["--help"].splitlines(), []
    body = lines[lines.index("Options:") + 1:lines.index("Flags:")]
    for i, line in enumerate(body):
        if line.startswith("  ") and not line.startswith("   "):
            usage, _, rest = line[2:].partition(" ")
            meaning, default = split_default((rest.strip() or body[i + 1].strip()))
            rows.append((usage, meaning, default))
    return rows


def md(cell):
    return cell.replace("|", "\\|")


def test_every_option_row_is_the_tables_in_readme_and_man():
    """OptionTable.swift is the one table: --help prints it; README's row and the man
    page's entry of each option say the same name, default and meaning, word for word."""
    rows, docs = option_table(), texts()
    assert len(rows) >= 38 and {"dsn=URL", "mode=send|spool", "no_verify[=BOOL]", "output_lines=N"} <= {r[0] for r in rows}
    readme_rows = [l for l in docs["README"].splitlines() if l.startswith("| `") and "=" in l.split("|")[1]]
    man = flat(docs["man"])
    for usage, meaning, default in rows:
        row = "| `%s` | %s | %s |" % (md(usage), md(default), md(meaning))
        assert row in readme_rows, "README lacks the row %s" % row
        entry = "%s %s." % (usage, meaning) + (" Default: %s." % default if default else "")
        assert entry in man, "the man page lacks: %s" % entry
    documented = {l.split("`")[1].replace("\\|", "|") for l in readme_rows if "`" in l and not l.startswith("| `sentry-")}
    assert documented == {r[0] for r in rows}, "README rows of options that do not exist: %s" % (documented - {r[0] for r in rows})


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


# The loader's options, and sentry_pyframes' (which the loader loads with Python).
PLUGIN_OPTIONS = re.findall(r'\{"(sentry-[\w-]+)", required_argument, 0, "((?:[^"\\\\]|\\\\.)*)"',
                            open(os.path.join(ROOT, "plugin/sentry/sentry_plugin.c")).read()
                            + open(os.path.join(ROOT, "plugin/sentry_pyframes/sentry_pyframes_plugin.c")).read())


def test_every_loader_option_row_is_its_c_table_in_readme_man_and_uwsgi_help():
    """The loader's sentry-* options: its C table (name and help) is the one source;
    uwsgi --help lists each, README's row and the man page's entry say the same
    default and meaning, word for word."""
    from support import PLUGINS
    assert len(PLUGIN_OPTIONS) >= 12
    listed = flat(subprocess.run(["uwsgi", "--plugin-dir", PLUGINS, "--plugins", "python3,sentry,sentry_pyframes", "--help"],
                                 capture_output=True, text=True).stdout)
    docs = texts()
    man = flat(docs["man"])
    readme_rows = [l for l in docs["README"].splitlines() if l.startswith("| `sentry-")]
    for option, help_text in PLUGIN_OPTIONS:
        meaning, default = split_default(help_text)
        assert "--%s %s" % (option, help_text) in listed, "uwsgi --plugin sentry --help lacks " + option
        row = [l for l in readme_rows if l.startswith("| `%s = " % option)]
        assert len(row) == 1 and row[0].endswith("` | %s | %s |" % (md(default), md(meaning))), (option, row)
        usage = row[0].split("`")[1].replace("\\|", "|")
        entry = "%s %s." % (usage, meaning) + (" Default: %s." % default if default else "")
        assert entry in man, "the man page lacks: %s" % entry
    assert len(readme_rows) == len(PLUGIN_OPTIONS), "README rows of loader options that do not exist"


def test_every_snippet_is_documented():
    snippets = sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".ini"))
    docs = texts()
    for name in snippets:
        assert name in docs["README"] and name in docs["man"], name


def test_the_package_changelog_names_this_version():
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip().split("/")[1]
    first = open(os.path.join(ROOT, "packaging/changelog")).readline()
    assert first.startswith("uwsgi-sentry (%s)" % version), first
