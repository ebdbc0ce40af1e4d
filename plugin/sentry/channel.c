/* Frames, and the one daemon that reads them.

   A frame is "USF1" then items: u8 key length, key, u32le value length, value.
   It goes in one sendmsg() on a SOCK_SEQPACKET pair: atomic, never blocking, safe
   from every thread of the master and from the workers (which inherit the write
   end). A full channel drops the frame and counts it; the count rides on the next
   frame that gets through, and reaches Sentry in a client report.

   The master starts the daemon (from its loop, after privileges are dropped) with
   the read end as fd 3, and starts it again when it dies. The master keeps the
   read end open, so frames queued meanwhile wait in the kernel, not in the air. */

#include "sentry.h"
#include <sys/prctl.h>
#include <sys/syscall.h>

void sentry_channel_open(void) {
	sentry.dropped = uwsgi_calloc_shared(sizeof(uint64_t));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sentry.channel)) {
		uwsgi_error("[sentry] socketpair()");
		sentry.channel[0] = sentry.channel[1] = -1;
		return;
	}
	/* Room for bursts: 4 MiB if we may (root at load time), else what the system allows. */
	int size = 4 << 20;
	if (setsockopt(sentry.channel[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(sentry.channel[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

struct uwsgi_buffer *sentry_frame(const char *kind) {
	struct uwsgi_buffer *ub = uwsgi_buffer_new(512);
	if (uwsgi_buffer_append(ub, "USF1", 4) || sentry_field(ub, "kind", kind, strlen(kind))) {
		uwsgi_buffer_destroy(ub);
		return NULL;
	}
	return ub;
}

int sentry_field(struct uwsgi_buffer *ub, const char *key, const char *value, size_t len) {
	uint8_t klen = (uint8_t) strlen(key);
	uint32_t vlen = (uint32_t) len;
	unsigned char le[4] = {vlen & 0xff, (vlen >> 8) & 0xff, (vlen >> 16) & 0xff, vlen >> 24};
	return uwsgi_buffer_append(ub, (char *) &klen, 1) || uwsgi_buffer_append(ub, (char *) key, klen) ||
	       uwsgi_buffer_append(ub, (char *) le, 4) || uwsgi_buffer_append(ub, (char *) value, len);
}

int sentry_field_num(struct uwsgi_buffer *ub, const char *key, int64_t n) {
	char num[24];
	int len = snprintf(num, sizeof(num), "%lld", (long long) n);
	return sentry_field(ub, key, num, (size_t) len);
}

/* Sends and destroys `ub`. Never blocks, never logs (a line per event would feed
   the log alarms that produce events). A lost event is counted for a client report;
   a lost breadcrumb (`counted` 0) is not an event and is not. */
void sentry_send(struct uwsgi_buffer *ub, int counted) {
	if (!ub) { __atomic_add_fetch(sentry.dropped, counted, __ATOMIC_RELAXED); return; }
	__atomic_store_n(&sentry.needed, 1, __ATOMIC_RELAXED);
	uint64_t dropped = __atomic_exchange_n(sentry.dropped, 0, __ATOMIC_RELAXED);
	if (dropped && sentry_field_num(ub, "dropped", (int64_t) dropped)) dropped++;
	ssize_t n = sentry.channel[1] < 0 ? -1 : send(sentry.channel[1], ub->buf, ub->pos, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t) ub->pos) __atomic_add_fetch(sentry.dropped, dropped + counted, __ATOMIC_RELAXED);
	uwsgi_buffer_destroy(ub);
}

/* The sender's path, resolved once (the master may chdir or chroot later). */
char *sentry_resolve_sender(void) {
	char *name = sentry.sender ? sentry.sender : "uwsgi-sentry";
	if (strchr(name, '/')) return access(name, X_OK) ? NULL : uwsgi_str(name);
	char *dirs = uwsgi_str(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
	char *ctx = NULL, *dir, *found = NULL;
	for (dir = strtok_r(dirs, ":", &ctx); dir && !found; dir = strtok_r(NULL, ":", &ctx)) {
		char *candidate = uwsgi_concat3(dir, "/", name);
		if (!access(candidate, X_OK)) found = candidate;
		else free(candidate);
	}
	free(dirs);
	return found;
}

static int sentry_daemon_alive(void) {
	if (sentry.daemon <= 0) return 0;
	if (sentry.pidfd >= 0) {
		struct pollfd p = {.fd = sentry.pidfd, .events = POLLIN};
		return poll(&p, 1, 0) == 0; /* readable: it has exited */
	}
	return !(kill(sentry.daemon, 0) && errno == ESRCH);
}

static void sentry_daemon_exec(void) {
	int i;
	for (i = 1; i < NSIG; i++) signal(i, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid(); /* a terminal's Ctrl-C is uWSGI's to handle; we stop when it is gone */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1) _exit(0);
	if (sentry.channel[0] == 3) fcntl(3, F_SETFD, 0); /* dup2(3, 3) would keep CLOEXEC */
	else if (dup2(sentry.channel[0], 3) < 0) _exit(126);
	if (close_range(4, ~0U, 0))
		for (i = 4; i < (int) uwsgi.max_fd && i < 65536; i++) close(i);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) { dup2(null, 0); close(null); }
	if (sentry.dsn) setenv("SENTRY_DSN", sentry.dsn, 1);
	if (sentry.spool) setenv("UWSGI_SENTRY_SPOOL", sentry.spool, 1);
	char *options = uwsgi_concat3(sentry.options ? sentry.options : "", sentry.budget ? ",budget=" : "",
	                              sentry.budget ? sentry.budget : "");
	setenv("UWSGI_SENTRY_OPTIONS", options, 1);
	setenv("UWSGI_SENTRY_UWSGI_VERSION", UWSGI_VERSION, 1);
	char *argv[] = {sentry.path, "--channel=3", "daemon", NULL};
	execv(sentry.path, argv);
	_exit(127);
}

/* From the master's loop: start the daemon when there is work for it, and start it
   again when it has died (at most once a second, backing off to a minute when it
   keeps dying young). One log line per death, none per event. */
void sentry_daemon_check(void) {
	if (!sentry.path || sentry.channel[0] < 0 || !__atomic_load_n(&sentry.needed, __ATOMIC_RELAXED)) return;
	if (sentry_daemon_alive()) return;
	time_t now = uwsgi_now();
	if (sentry.daemon > 0) {
		uwsgi_log("[sentry] uwsgi-sentry daemon (pid %d) exited; starting it again\n", (int) sentry.daemon);
		sentry.failures = now - sentry.started < 10 ? sentry.failures + 1 : 0;
		sentry.next_start = now + (sentry.failures > 6 ? 60 : (1 << sentry.failures) - 1);
		if (sentry.pidfd >= 0) close(sentry.pidfd);
		sentry.daemon = 0;
		sentry.pidfd = -1;
	}
	if (now < sentry.next_start) return;
	pid_t pid = fork();
	if (pid < 0) { uwsgi_error("[sentry] fork()"); return; }
	if (pid == 0) sentry_daemon_exec();
	sentry.daemon = pid;
	sentry.started = now;
#ifdef SYS_pidfd_open
	sentry.pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	if (sentry.pidfd >= 0) fcntl(sentry.pidfd, F_SETFD, FD_CLOEXEC);
#else
	sentry.pidfd = -1;
#endif
}
