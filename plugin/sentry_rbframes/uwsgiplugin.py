import os
import subprocess

NAME = 'sentry_rbframes'
# Ruby's headers (Debian: ruby3.1-dev); the symbols come from the rack plugin.
# sentry_capture_rb.h (sentry_capture.rb as a C string) is made by the Makefile, in
# SENTRY_GENERATED.
_ruby = os.environ.get('RUBY', 'ruby')
_dirs = subprocess.run([_ruby, '-e', 'print RbConfig::CONFIG["rubyhdrdir"], " ", RbConfig::CONFIG["rubyarchhdrdir"]'],
                       capture_output=True, text=True, check=True).stdout.split()
CFLAGS = ['-Wall', '-Wextra'] + [f for d in _dirs for f in ('-isystem', d)] + ['-I' + os.environ.get('SENTRY_GENERATED', '.')]
LDFLAGS = []
LIBS = []
GCC_LIST = ['sentry_rbframes_plugin']
