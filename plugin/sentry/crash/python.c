/* The Python stack of the crashing thread, in the handler. CPython 3.11 and 3.12
   export their dumper (_Py_DumpTraceback, faulthandler's format): we call it on the
   thread's state, into a memfd made at worker start (a file never fills as a pipe
   can). 3.13 exports it no more: there sentry_pyframes enables faulthandler on that
   memfd (unless the app enabled it for itself), below our handler, and at a crash
   we call it with the signal blocked: it writes, puts back its own predecessor and
   raise()s, and the signal waits for us to finish. */

#include "crash.h"
#include <sys/mman.h>

static int python_fd = -1;
static int faulthandler_below;
static void (*dump_python)(int, void *);
static void *(*python_thread[2])(void); /* this thread's state: the GIL's record of it (3.13 loses it in a forked worker), else the current one */

void sentry_crash_python_start(void) {
	python_fd = memfd_create("uwsgi-sentry-crash", MFD_CLOEXEC);
	*(void **) &dump_python = dlsym(RTLD_DEFAULT, "_Py_DumpTraceback");
	*(void **) &python_thread[0] = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	*(void **) &python_thread[1] = dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");
	if (!python_thread[1]) *(void **) &python_thread[1] = dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet");
	if (!dump_python && python_fd >= 0) {
		int (*faulthandler)(int) = (int (*)(int)) dlsym(RTLD_DEFAULT, "sentry_pyframes_faulthandler");
		faulthandler_below = faulthandler && faulthandler(python_fd);
	}
}

/* Puts the "python" item; returns 1 when faulthandler left the signal pending. */
int sentry_crash_python(int sig, struct sigaction *below) {
	void *thread_state = NULL;
	int deferred = 0;
	for (int i = 0; i < 2 && !thread_state; i++) thread_state = python_thread[i] ? python_thread[i]() : NULL;
	if (python_fd < 0 || lseek(python_fd, 0, SEEK_SET) != 0 || ftruncate(python_fd, 0)) return 0;
	if (thread_state && dump_python) {
		dump_python(python_fd, thread_state);
	} else if (faulthandler_below && !(below->sa_flags & SA_SIGINFO) && below->sa_handler != SIG_DFL && below->sa_handler != SIG_IGN) {
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_BLOCK, &one, NULL);
		below->sa_handler(sig);
		deferred = 1;
	} else {
		return 0;
	}
	if (lseek(python_fd, 0, SEEK_SET) == 0) sentry_crash_put_file("python", python_fd);
	return deferred;
}
