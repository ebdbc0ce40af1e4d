/* A crash, told from inside the crashing thread of a worker: the signal, the
   registers and the stack of the crash's own context, the Python stack when Python
   runs there, and the process's mappings, as ONE frame on the events lane; then
   what was installed before us runs (uWSGI's handler: its log lines, its exit; an
   app's faulthandler), or the default action, as if we had not been there.

   Only async-signal-safe work in the handler: no allocation, no lock, no stdio.
   What it needs is made at worker start and in each core thread: the frame's
   memory, an alternate stack (a stack overflow still gets here), a first
   backtrace() (its lazy load of libgcc_s is not safe in a handler). The daemon
   turns the mappings into images (ELF build ids and symbols, read from the files)
   and the addresses into frames: Swift thinks. */

#include "crash.h"
#include <execinfo.h>
#include <sys/mman.h>

#define SENTRY_ALTSTACK (256 << 10)
#define SENTRY_CRASH_SIGNALS 5
static const int crash_signals[SENTRY_CRASH_SIGNALS] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction previous[SENTRY_CRASH_SIGNALS];
static int started, crashing;
static void (*their_init_thread)(int);

/* Returns 1 when faulthandler wrote the Python stack and left the signal pending. */
static int sentry_crash_capture(int sig, siginfo_t *info, ucontext_t *uc, struct sigaction *below) {
	char text[128 * 20];
	void *stack[128];
	size_t n = 0;
	struct timespec now;
	int depth = backtrace(stack, 128), i, deferred;
	struct wsgi_request *wsgi_req = uwsgi.current_wsgi_req ? current_wsgi_req() : NULL;
	if (!sentry_crash_frame_begin()) return 0;
	sentry_crash_put("kind", "crash", 5);
	sentry_crash_put_number("signal", sig, 0);
	sentry_crash_put_number("code", info->si_code, 0);
	sentry_crash_put_number("addr", (int64_t) (uintptr_t) info->si_addr, 1);
	sentry_crash_put_number("pid", getpid(), 0);
	sentry_crash_put_number("wid", uwsgi.mywid, 0);
	sentry_crash_put_number("tid", gettid(), 0);
	if (wsgi_req) sentry_crash_put_number("crash_core", wsgi_req->async_id, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	sentry_crash_put_number("now_us", (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000, 0);
#if defined(__x86_64__)
	static const char *names[] = {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi",
	                              "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip"};
	for (i = 0; i <= REG_RIP; i++) {
		memcpy(text + n, names[i], strlen(names[i]));
		n += strlen(names[i]);
		text[n++] = '=';
		n += sentry_crash_number(text + n, uc->uc_mcontext.gregs[i], 1);
		text[n++] = ' ';
	}
	sentry_crash_put("registers", text, n);
#else
	(void) uc;
#endif
	/* Newest first, from this handler through the signal frame to the crash and on. */
	for (i = 0, n = 0; i < depth; i++) {
		n += sentry_crash_number(text + n, (int64_t) (uintptr_t) stack[i], 1);
		text[n++] = ' ';
	}
	sentry_crash_put("stack", text, n);
	deferred = sentry_crash_python(sig, below);
	/* The frame's id, as channel.c's sentry_send makes it (without snprintf). */
	n = sentry_crash_number(text, sentry.shared->epoch, 0);
	text[n++] = '.';
	n += sentry_crash_number(text + n, (int64_t) __atomic_add_fetch(&sentry.shared->seq, 1, __ATOMIC_RELAXED), 0);
	sentry_crash_put("id", text, n);
	int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	sentry_crash_put_file("maps", maps); /* last: a process of many mappings loses its last lines, nothing else */
	if (maps >= 0) close(maps);
	return deferred;
}

static void sentry_crashed(int sig, siginfo_t *info, void *context) {
	int i, saved = errno;
	for (i = 0; i < SENTRY_CRASH_SIGNALS && crash_signals[i] != sig; i++);
	if (i == SENTRY_CRASH_SIGNALS) return;
	/* Once: a second thread's crash, or a crash in here (SA_NODEFER), goes straight on. */
	if (!__atomic_exchange_n(&crashing, 1, __ATOMIC_SEQ_CST)) {
		int deferred = sentry_crash_capture(sig, info, context, &previous[i]);
		sentry_crash_send();
		if (deferred) { /* faulthandler put back its own predecessor: the signal goes there */
			sigset_t one;
			sigemptyset(&one);
			sigaddset(&one, sig);
			errno = saved;
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
			return;
		}
	}
	errno = saved;
	sigaction(sig, &previous[i], NULL);
	if (previous[i].sa_flags & SA_SIGINFO) {
		previous[i].sa_sigaction(sig, info, context);
	} else if (previous[i].sa_handler != SIG_DFL && previous[i].sa_handler != SIG_IGN) {
		previous[i].sa_handler(sig);
	} else {
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigaction(sig, &dfl, NULL);
		raise(sig); /* a fault would come back anyway; a kill() or abort() would not */
	}
}

/* In each core thread after the first: uWSGI blocks every signal there, and a
   crash signal that is blocked kills the process unhandled. uWSGI calls only its
   request plugins' init_thread (the app's), so ours rides on the app plugin's. */
static void sentry_crash_thread(int core_id) {
	sigset_t set;
	stack_t old, ours = {.ss_size = SENTRY_ALTSTACK};
	if (their_init_thread) their_init_thread(core_id);
	sigemptyset(&set);
	for (int i = 0; i < SENTRY_CRASH_SIGNALS; i++) sigaddset(&set, crash_signals[i]);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (sigaltstack(NULL, &old) || !(old.ss_flags & SS_DISABLE)) return; /* the thread has one (faulthandler's) */
	ours.ss_sp = mmap(NULL, SENTRY_ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ours.ss_sp != MAP_FAILED) sigaltstack(&ours, NULL);
}

/* At worker start (sentry-segfault): nothing per request, nothing until a crash. */
void sentry_crash_start(void) {
	void *warm[2];
	struct sigaction sa = {.sa_sigaction = sentry_crashed, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
	if (sentry.segfault <= 0 || started || !sentry_crash_frame_reserve()) return;
	started = 1;
	sentry_crash_python_start(); /* before our handler goes on top of faulthandler's */
	backtrace(warm, 2);
	sentry_crash_thread(0);
	/* The request plugin that has an init_thread (Python's), else the first: every
	   slot it fills calls us; once is enough, more is harmless. */
	int app = 0;
	while (app < 255 && !uwsgi.p[app]->init_thread) app++;
	if (!uwsgi.p[app]->init_thread) app = 0;
	their_init_thread = uwsgi.p[app]->init_thread;
	uwsgi.p[app]->init_thread = sentry_crash_thread;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < SENTRY_CRASH_SIGNALS; i++) sigaction(crash_signals[i], &sa, &previous[i]);
}
