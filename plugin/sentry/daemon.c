/* The one daemon that reads the lanes: found at start-up, started by the master from
   its loop (after privileges are dropped), with the events lane as fd 3 and the
   lines lane as fd 4, and started again when it dies. The master keeps the read
   ends open, so frames queued meanwhile wait in the kernel, not in the air. */

#include "sentry.h"
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Why `path` cannot be the sender, or NULL when it can. */
static char *sentry_unusable(const char *path) {
	if (access(path, F_OK)) return "no such file";
	if (access(path, X_OK)) return "not executable";
	return NULL;
}

/* The sender's path, resolved once (the master may chdir or chroot later); when it
   is not usable, `path_problem` says why, naming what was tried. */
void sentry_resolve_sender(void) {
	char *name = sentry.sender ? sentry.sender : "uwsgi-sentry";
	if (strchr(name, '/')) {
		char *why = sentry_unusable(name);
		if (why) sentry.path_problem = uwsgi_concat4("sentry-sender ", name, ": ", why);
		else sentry.path = uwsgi_str(name);
		return;
	}
	char *path = getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
	char *dirs = uwsgi_str(path), *ctx = NULL, *dir;
	for (dir = strtok_r(dirs, ":", &ctx); dir && !sentry.path; dir = strtok_r(NULL, ":", &ctx)) {
		char *candidate = uwsgi_concat3(dir, "/", name);
		if (!sentry_unusable(candidate)) sentry.path = candidate;
		else free(candidate);
	}
	free(dirs);
	if (!sentry.path) sentry.path_problem = uwsgi_concat4(name, " is not on PATH (", path, "): set sentry-sender");
}

static int sentry_daemon_alive(void) {
	if (sentry.daemon <= 0) return 0;
	if (sentry.pidfd >= 0) {
		struct pollfd p = {.fd = sentry.pidfd, .events = POLLIN};
		return poll(&p, 1, 0) == 0; /* readable: it has exited */
	}
	return !(kill(sentry.daemon, 0) && errno == ESRCH);
}

/* What the daemon's process gets: uWSGI's environment with ours set. Made in the
   master before fork: the master runs threads, so between fork and exec the child
   only makes async-signal-safe calls (no malloc, no setenv). */
static char **sentry_daemon_env(int *ours_from) {
	static const char *ours[] = {"SENTRY_DSN=", "UWSGI_SENTRY_SPOOL=", "UWSGI_SENTRY_OPTIONS=", "UWSGI_SENTRY_UWSGI_VERSION=",
	                             "UWSGI_SENTRY_RING="};
	int i, j, n = 0, k = 0;
	while (environ[n]) n++;
	char **env = uwsgi_calloc(sizeof(char *) * (n + 6));
	for (i = 0; i < n; i++) {
		for (j = 0; j < 5 && strncmp(environ[i], ours[j], strlen(ours[j])); j++);
		if (j == 5 || (j == 0 && !sentry.dsn) || (j == 1 && !sentry.spool)) env[k++] = environ[i];
	}
	*ours_from = k;
	if (sentry.dsn) env[k++] = uwsgi_concat2("SENTRY_DSN=", sentry.dsn);
	if (sentry.spool) env[k++] = uwsgi_concat2("UWSGI_SENTRY_SPOOL=", sentry.spool);
	env[k++] = uwsgi_concat4("UWSGI_SENTRY_OPTIONS=", sentry.options ? sentry.options : "", sentry.budget ? ",budget=" : "",
	                         sentry.budget ? sentry.budget : "");
	env[k++] = uwsgi_concat2("UWSGI_SENTRY_UWSGI_VERSION=", UWSGI_VERSION);
	/* An environment variable, not a flag: a sender older than the ring still starts
	   (and reads the lines lane only). */
	if (sentry_ring_fd >= 0) env[k++] = uwsgi_str("UWSGI_SENTRY_RING=5");
	return env;
}

static void sentry_daemon_exec(char **env) {
	int i;
	for (i = 1; i < NSIG; i++) signal(i, SIG_DFL);
	/* The stop signals stay blocked across exec until the daemon reads them from its
	   signalfd: a stop (PR_SET_PDEATHSIG below, a reload) that comes while it starts is
	   then a stop, after the frames queued for it are read, not a death before. */
	sigset_t stops;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM); sigaddset(&stops, SIGINT); sigaddset(&stops, SIGHUP); sigaddset(&stops, SIGQUIT);
	sigprocmask(SIG_SETMASK, &stops, NULL);
	setsid(); /* a terminal's Ctrl-C is uWSGI's to handle; we stop when it is gone */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1) _exit(0);
	/* Out of the way first (any may sit on 3, 4 or 5), then into place without CLOEXEC.
	   The lines' ring (fd 5) is named in the environment (sentry_daemon_env). */
	int events = fcntl(sentry.events[0], F_DUPFD_CLOEXEC, 10), lines = fcntl(sentry.lines[0], F_DUPFD_CLOEXEC, 10);
	int ring = sentry_ring_fd >= 0 ? fcntl(sentry_ring_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (events < 0 || dup2(events, 3) < 0 || (lines >= 0 && dup2(lines, 4) < 0) || (ring >= 0 && dup2(ring, 5) < 0)) _exit(126);
	if (close_range(6, ~0U, 0))
		for (i = 6; i < (int) uwsgi.max_fd && i < 65536; i++) close(i);
	if (lines < 0) close(4);
	if (ring < 0) close(5);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) { dup2(null, 0); close(null); }
	char *argv[] = {sentry.path, "--channel=3", lines >= 0 ? "--lines=4" : "--lines=-1", "daemon", NULL};
	execve(sentry.path, argv, env);
	_exit(127);
}

/* From the master's loop: start the daemon once any process has queued something,
   and start it again when it dies: at once if it had run 10 s or more, else after
   1, 3, 7, 15, 31 s, then every 60 s while it keeps dying young. One log line per
   death, none per event. */
void sentry_daemon_check(void) {
	static time_t last;
	time_t now = uwsgi_now();
	if (!sentry.path || sentry.events[0] < 0 || !__atomic_load_n(&sentry.shared->needed, __ATOMIC_RELAXED)) return;
	if (sentry.daemon > 0 && now == last) return; /* once a second is enough to notice a death */
	last = now;
	if (sentry_daemon_alive()) return;
	if (sentry.daemon > 0) {
		uwsgi_log("[sentry] uwsgi-sentry daemon (pid %d) exited; starting it again\n", (int) sentry.daemon);
		sentry.failures = now - sentry.started < 10 ? (sentry.failures < 6 ? sentry.failures + 1 : 6) : 0;
		sentry.next_start = now + (sentry.failures >= 6 ? 60 : (1 << sentry.failures) - 1);
		if (sentry.pidfd >= 0) close(sentry.pidfd);
		sentry.daemon = 0;
		sentry.pidfd = -1;
	}
	if (now < sentry.next_start) return;
	int k, ours;
	char **env = sentry_daemon_env(&ours);
	pid_t pid = fork();
	if (pid == 0) sentry_daemon_exec(env);
	for (k = ours; env[k]; k++) free(env[k]);
	free(env);
	if (pid < 0) { uwsgi_error("[sentry] fork()"); return; }
	sentry.daemon = pid;
	sentry.started = now;
#ifdef SYS_pidfd_open
	sentry.pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	if (sentry.pidfd >= 0) fcntl(sentry.pidfd, F_SETFD, FD_CLOEXEC);
#else
	sentry.pidfd = -1;
#endif
}
