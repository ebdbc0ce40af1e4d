import os
import sysconfig

NAME = 'sentry_pyframes'
# Python's headers (Debian: python3-dev); the symbols come from the python3 plugin.
# sentry_capture.h (sentry_capture.py as a C string) is made by the Makefile, in
# SENTRY_GENERATED.
CFLAGS = ['-Wall', '-Wextra', '-I' + sysconfig.get_paths()['include'], '-I' + os.environ.get('SENTRY_GENERATED', '.')]
LDFLAGS = []
LIBS = []
GCC_LIST = ['sentry_pyframes_plugin']
