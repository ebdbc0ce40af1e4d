/* A worker's death, seen from the master's loop before uWSGI reaps it.

   uWSGI's master turns its loop for every log line it reads, and a waitid() per
   turn was the loader's largest cost there after the lines themselves (perf). So
   the master's SIGCHLD (left at SIG_DFL by uWSGI, which reaps in its loop) gets a
   handler that only notes that a child exited, and the waitid() is made only in
   the turns after one did. The handler is installed only over SIG_DFL, restarts
   interrupted calls (SA_RESTART; uWSGI's epoll_wait takes EINTR as any turn), and
   every child the master forks gets SIG_DFL back at once (pthread_atfork), as it
   had it before. */

#include "sentry.h"

static volatile sig_atomic_t sentry_child_exited = 1;
static int sentry_gated = -1;

static void sentry_sigchld(int sig) { (void) sig; sentry_child_exited = 1; }

static void sentry_sigchld_default(void) { signal(SIGCHLD, SIG_DFL); }

static void sentry_gate(void) {
	struct sigaction old, sa;
	sentry_gated = 0;
	if (sigaction(SIGCHLD, NULL, &old) || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sentry_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (pthread_atfork(NULL, NULL, sentry_sigchld_default) == 0) sentry_gated = !sigaction(SIGCHLD, &sa, NULL);
}

/* From the master's loop, before it reaps anyone: a worker that has died is still
   a zombie here, and its cores still say what it was serving (the worker uWSGI
   respawns clears them). One waitid() that reaps nothing; the daemon pairs this
   with uWSGI's own "DAMN ! worker" line, which decides whether a death is news.
   The requests it was serving end here, for release health. */
void sentry_watch_deaths(void) {
	static pid_t last;
	siginfo_t info;
	int wid;
	if ((sentry.deaths != 1 && sentry.sessions <= 0) || !uwsgi.workers) return;
	if (sentry_gated < 0) sentry_gate();
	if (sentry_gated) {
		if (!sentry_child_exited) return;
		sentry_child_exited = 0;
	}
	memset(&info, 0, sizeof(info));
	if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) || info.si_pid <= 0) return;
	sentry_child_exited = 1; /* uWSGI reaps one child per turn: look again next turn */
	if (info.si_pid == last) return;
	for (wid = 1; wid <= uwsgi.numproc && uwsgi.workers[wid].pid != info.si_pid; wid++);
	if (wid > uwsgi.numproc) return;
	last = info.si_pid;
	/* The requests it died in: cut (harakiri's SIGKILL, the OOM killer, an exit; uWSGI's
	   own SIGSEGV handler exits too), or crashed by a signal that is a crash. */
	int c, sig = info.si_code == CLD_EXITED ? 0 : info.si_status;
	for (c = 0; c < uwsgi.cores && uwsgi.workers[wid].cores; c++)
		if (uwsgi.workers[wid].cores[c].in_request)
			sentry_count_session(sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT ||
			                     info.si_pid == __atomic_load_n(&sentry.shared->crashed, __ATOMIC_RELAXED) ? SENTRY_CRASHED : SENTRY_ABNORMAL);
	if (sentry.deaths != 1) return;
	struct uwsgi_buffer *ub = sentry_frame("death");
	if (ub && (sentry_field_num(ub, "wid", wid) || sentry_field_num(ub, "pid", info.si_pid) ||
	           sentry_field_num(ub, info.si_code == CLD_EXITED ? "exit" : "signal", info.si_status) ||
	           sentry_field_num(ub, "now_us", uwsgi_micros()))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	if (ub) sentry_add_cores(ub, wid);
	sentry_send(ub, SENTRY_CONTEXT); /* context for the DAMN line's event, not an event */
}
