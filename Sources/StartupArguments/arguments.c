/* argv for Swift's CommandLine, taken as glibc hands it to every .init_array
   function, instead of the way the static Swift runtime looks for it.

   Why: one process per event makes start-up the `cmd:` alarm's hot path, and the
   runtime's CommandLine.cpp runs a static initializer in every process that opens
   and reads /proc/self/maps (the kernel writes out every mapping: ~70 us, 7% of
   `uwsgi-sentry --version`; hyperfine, 1,000 runs). These two functions are the
   runtime's interface for CommandLine (SWIFT_RUNTIME_STDLIB_INTERFACE, the same
   signatures since Swift 5); defined here, in an object the linker sees before
   libswiftCore.a, they keep that archive member - and its initializer - out of the
   binary. e2e/test_cli.py checks that no start reads /proc/self/maps and that every
   argument arrives as given. */

#include "arguments.h"

static int uws_argc;
static char **uws_argv;

static void uws_take_arguments(int argc, char **argv, char **envp) {
	(void) envp;
	uws_argc = argc;
	uws_argv = argv;
}

__attribute__((section(".init_array"), used)) static void (*const uws_take_arguments_entry)(int, char **, char **) =
	uws_take_arguments;

char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
	*outArgLen = uws_argc;
	return uws_argv;
}

void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
	uws_argv = argv;
	uws_argc = argc;
}
