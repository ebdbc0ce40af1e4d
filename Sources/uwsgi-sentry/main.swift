// uwsgi-sentry: everything lives in SentryCore; this file only hands over argv.
import Glibc
import SentryCore

exit(CLI.main(CommandLine.arguments))
