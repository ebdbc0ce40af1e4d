import os

NAME = 'sentry'
# SENTRY_PLUGIN_SANITIZE=1 builds with AddressSanitizer and UBSan (tests/test_sanitizers.py).
_sanitize = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-g'] if os.environ.get('SENTRY_PLUGIN_SANITIZE') else []
CFLAGS = ['-Wall', '-Wextra'] + _sanitize
LDFLAGS = _sanitize
LIBS = []
GCC_LIST = ['sentry_plugin']
