import os

NAME = 'sentry'
# SENTRY_PLUGIN_SANITIZE=address|thread builds with AddressSanitizer and UBSan, or
# ThreadSanitizer (e2e/test_sanitizers.py).
_mode = os.environ.get('SENTRY_PLUGIN_SANITIZE')
_sanitize = {'1': ['-fsanitize=address,undefined'], 'address': ['-fsanitize=address,undefined'],
             'thread': ['-fsanitize=thread']}.get(_mode, [])
if _sanitize:
    _sanitize += ['-fno-omit-frame-pointer', '-g']
CFLAGS = ['-Wall', '-Wextra'] + _sanitize
LDFLAGS = _sanitize
LIBS = ['-lm']
GCC_LIST = ['sentry_plugin', 'channel', 'ring', 'daemon', 'capture', 'exceptions', 'deaths', 'requests', 'traces', 'defaults', 'crash/handler', 'crash/python', 'crash/frame']
