NAME = 'sentry'
CFLAGS = ['-Wall', '-Wextra']
LDFLAGS = []
LIBS = []
GCC_LIST = ['sentry_plugin']
