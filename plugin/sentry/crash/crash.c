/* A crash, told from inside the crashing thread of a worker: the signal, the
   registers and the stack of the crash's own context, the Python stack when Python
   runs there, and the process's mappings, as ONE frame on the events lane; then
   what was installed before us runs (uWSGI's handler: its log lines, its exit; an
   app's faulthandler), or the default action, as if we had not been there.

   Only async-signal-safe work in the handler: no allocation, no lock, no stdio.
   What it needs is made at worker start and in each core thread: the frame's
   memory, an alternate stack (a stack overflow still gets here), a memfd for the
   Python stack, CPython's dumper, a first backtrace() (its lazy load of libgcc_s is
   not safe in a handler). The daemon turns the mappings into images (ELF build ids,
   symbols, read from the files) and the addresses into frames: Swift thinks. */

#include "../sentry.h"
#include <execinfo.h>
#include <sys/mman.h>

#define SENTRY_CRASH_BYTES (1 << 20)
#define SENTRY_ALTSTACK (256 << 10)
#define SENTRY_CRASH_SIGNALS 5
static const int crash_signals[SENTRY_CRASH_SIGNALS] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction previous[SENTRY_CRASH_SIGNALS];
static char *out;
static size_t pos, limit;
static int python_fd = -1, crashing;
static void (*dump_python)(int, void *);
static void *(*python_thread)(void);
static void (*their_init_thread)(int);

/* A frame's item (channel.c's layout), into the frame's own memory; what does not fit is left out. */
static void put(const char *key, const char *value, size_t len) {
	size_t klen = strlen(key);
	if (pos + 5 + klen + len > limit) return;
	out[pos++] = (char) klen;
	memcpy(out + pos, key, klen);
	pos += klen;
	for (int i = 0; i < 4; i++) out[pos++] = (char) ((len >> (8 * i)) & 0xff);
	memcpy(out + pos, value, len);
	pos += len;
}

/* `n` in base 10 (signed) or 16 (with 0x): snprintf is not async-signal-safe. */
static size_t number(char *buf, int64_t n, int hex) {
	char digits[24];
	size_t i = 0, k = 0;
	uint64_t u = hex || n >= 0 ? (uint64_t) n : (uint64_t) -n;
	if (!hex && n < 0) buf[k++] = '-';
	if (hex) { buf[k++] = '0'; buf[k++] = 'x'; }
	do { digits[i++] = "0123456789abcdef"[u % (hex ? 16 : 10)]; u /= hex ? 16 : 10; } while (u);
	while (i) buf[k++] = digits[--i];
	return k;
}

static void put_number(const char *key, int64_t n, int hex) {
	char buf[24];
	put(key, buf, number(buf, n, hex));
}

/* The rest of `fd` (the Python stack, the mappings), up to the frame's end. */
static void put_file(const char *key, int fd) {
	size_t klen = strlen(key), start, len;
	ssize_t n;
	if (fd < 0 || pos + 5 + klen > limit) return;
	out[pos++] = (char) klen;
	memcpy(out + pos, key, klen);
	start = pos + klen;
	pos = start + 4;
	while (pos < limit && (n = read(fd, out + pos, limit - pos)) > 0) pos += (size_t) n;
	len = pos - start - 4;
	for (int i = 0; i < 4; i++) out[start + i] = (char) ((len >> (8 * i)) & 0xff);
}

static void sentry_crash_capture(int sig, siginfo_t *info, ucontext_t *uc) {
	char text[128 * 20];
	void *stack[128];
	size_t n = 0;
	struct timespec now;
	int depth = backtrace(stack, 128), i;
	struct wsgi_request *wsgi_req = uwsgi.current_wsgi_req ? current_wsgi_req() : NULL;
	limit = sentry.lane_bytes > 4096 ? (size_t) sentry.lane_bytes - 512 : 0;
	if (limit > SENTRY_CRASH_BYTES) limit = SENTRY_CRASH_BYTES;
	if (limit < 4) return;
	memcpy(out, "USF1", 4);
	pos = 4;
	put("kind", "crash", 5);
	put_number("signal", sig, 0);
	put_number("code", info->si_code, 0);
	put_number("addr", (int64_t) (uintptr_t) info->si_addr, 1);
	put_number("pid", getpid(), 0);
	put_number("wid", uwsgi.mywid, 0);
	put_number("tid", gettid(), 0);
	if (wsgi_req) put_number("crash_core", wsgi_req->async_id, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	put_number("now_us", (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000, 0);
#if defined(__x86_64__)
	static const char *names[] = {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi",
	                              "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip"};
	for (i = 0; i <= REG_RIP; i++) {
		memcpy(text + n, names[i], strlen(names[i]));
		n += strlen(names[i]);
		text[n++] = '=';
		n += number(text + n, uc->uc_mcontext.gregs[i], 1);
		text[n++] = ' ';
	}
	put("registers", text, n);
#else
	(void) uc;
#endif
	/* Newest first, from this handler through the signal frame to the crash and on. */
	for (i = 0, n = 0; i < depth; i++) {
		n += number(text + n, (int64_t) (uintptr_t) stack[i], 1);
		text[n++] = ' ';
	}
	put("stack", text, n);
	void *thread_state = python_thread ? python_thread() : NULL;
	if (thread_state && dump_python && lseek(python_fd, 0, SEEK_SET) == 0 && !ftruncate(python_fd, 0)) {
		dump_python(python_fd, thread_state);
		if (lseek(python_fd, 0, SEEK_SET) == 0) put_file("python", python_fd);
	}
	n = number(text, sentry.shared->epoch, 0);
	text[n++] = '.';
	n += number(text + n, (int64_t) __atomic_add_fetch(&sentry.shared->seq, 1, __ATOMIC_RELAXED), 0);
	put("id", text, n);
	int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	put_file("maps", maps); /* last: a process of many mappings loses its last lines, nothing else */
	if (maps >= 0) close(maps);
}

/* The lane may be full for a moment (a storm): a dying worker can wait a second. */
static void sentry_crash_send(void) {
	struct pollfd p = {.fd = sentry.events[1], .events = POLLOUT};
	__atomic_store_n(&sentry.shared->needed, 1, __ATOMIC_RELAXED);
	for (int tries = 0; p.fd >= 0 && pos > 4 && tries < 20; tries++) {
		if (send(p.fd, out, pos, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) pos) return;
		if (errno != EAGAIN && errno != EWOULDBLOCK) break;
		poll(&p, 1, 50);
	}
	__atomic_add_fetch(&sentry.shared->dropped_errors, 1, __ATOMIC_RELAXED);
}

static void sentry_crashed(int sig, siginfo_t *info, void *context) {
	int i, saved = errno;
	for (i = 0; i < SENTRY_CRASH_SIGNALS && crash_signals[i] != sig; i++);
	if (i == SENTRY_CRASH_SIGNALS) return;
	/* Once: a second thread's crash, or a crash in here (SA_NODEFER), goes straight on. */
	if (!__atomic_exchange_n(&crashing, 1, __ATOMIC_SEQ_CST)) {
		sentry_crash_capture(sig, info, context);
		sentry_crash_send();
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

/* At worker start. The frame's memory is reserved, not touched: it costs nothing
   until a crash. */
void sentry_crash_start(void) {
	void *warm[2];
	struct sigaction sa = {.sa_sigaction = sentry_crashed, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
	if (sentry.segfault <= 0 || out) return;
	out = mmap(NULL, SENTRY_CRASH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED) { out = NULL; return; }
	python_fd = memfd_create("uwsgi-sentry-crash", MFD_CLOEXEC);
	*(void **) &dump_python = dlsym(RTLD_DEFAULT, "_Py_DumpTraceback");
	*(void **) &python_thread = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	backtrace(warm, 2);
	sentry_crash_thread(0);
	int app = 0; /* the request plugin that has an init_thread (Python's), else the first; every slot it fills calls us: once is enough, more is harmless */
	while (app < 255 && !uwsgi.p[app]->init_thread) app++;
	if (!uwsgi.p[app]->init_thread) app = 0;
	their_init_thread = uwsgi.p[app]->init_thread;
	uwsgi.p[app]->init_thread = sentry_crash_thread;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < SENTRY_CRASH_SIGNALS; i++) sigaction(crash_signals[i], &sa, &previous[i]);
}
