import sysconfig

NAME = 'sentry_pyframes'
# Python's headers (Debian: python3-dev); the symbols come from the python3 plugin.
CFLAGS = ['-Wall', '-Wextra', '-I' + sysconfig.get_paths()['include']]
LDFLAGS = []
LIBS = []
GCC_LIST = ['sentry_pyframes_plugin']
