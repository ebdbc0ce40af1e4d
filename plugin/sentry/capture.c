/* What the workers are doing, read the way uwsgi_dump_worker() reads it: the
   cores' request fields live in shared memory, and a request's strings in the
   core's shared buffer. Nothing here waits or takes a lock: a field a worker is
   rewriting at that moment may come out torn, never out of bounds (every string
   is checked to lie inside its core's buffer). */

#include "sentry.h"

/* `len` bytes at `p` if they lie inside the core's buffer, else nothing. */
static int sentry_core_string(struct uwsgi_buffer *ub, struct uwsgi_core *uc, const char *key, char *p, uint16_t len) {
	char *lo = uc->buffer, *hi = uc->buffer + uwsgi.buffer_size + 4;
	if (!p || !lo || p < lo || p + len > hi) return 0;
	return sentry_field(ub, key, p, len);
}

/* One nested "core" item per core that is in a request (all workers, or one). */
void sentry_add_cores(struct uwsgi_buffer *ub, int only_wid) {
	int wid, c;
	if (!uwsgi.workers) return;
	for (wid = only_wid ? only_wid : 1; wid <= (only_wid ? only_wid : uwsgi.numproc); wid++) {
		for (c = 0; c < uwsgi.cores && uwsgi.workers[wid].cores; c++) {
			struct uwsgi_core *uc = &uwsgi.workers[wid].cores[c];
			if (!uc->in_request) continue;
			struct wsgi_request *r = &uc->req;
			struct uwsgi_buffer *core = uwsgi_buffer_new(256);
			int failed = sentry_field_num(core, "wid", wid) || sentry_field_num(core, "core", c) ||
				sentry_field_num(core, "pid", uwsgi.workers[wid].pid) ||
				sentry_field_num(core, "start_us", (int64_t) r->start_of_request) ||
				sentry_core_string(core, uc, "method", r->method, r->method_len) ||
				sentry_core_string(core, uc, "uri", r->uri, r->uri_len) ||
				sentry_core_string(core, uc, "remote", r->remote_addr, r->remote_addr_len) ||
				sentry_field(ub, "core", core->buf, core->pos);
			uwsgi_buffer_destroy(core);
			if (failed) return;
		}
	}
}

/* uWSGI calls this in the master before it dumps and kills the worker: the request
   is still there to read. The Python stack (py-tracebacker) comes after, in the
   log, where the daemon collects it. */
void sentry_harakiri(int wid) {
	if (!sentry.harakiri || wid < 1 || wid > uwsgi.numproc) return;
	struct uwsgi_buffer *ub = sentry_frame("harakiri");
	if (ub && (sentry_field_num(ub, "wid", wid) || sentry_field_num(ub, "pid", uwsgi.workers[wid].pid) ||
	           sentry_field_num(ub, "try", uwsgi.workers[wid].pending_harakiri + 1) ||
	           sentry_field_num(ub, "limit", uwsgi.harakiri_options.workers) ||
	           sentry_field_num(ub, "now_us", uwsgi_micros()))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	if (ub) sentry_add_cores(ub, wid);
	sentry_send(ub, SENTRY_ERROR); /* a Harakiri exception */
}

/* From the master's loop, before it reaps anyone: a worker that has died is still
   a zombie here, and its cores still say what it was serving (the worker uWSGI
   respawns clears them). One waitid() that reaps nothing; the daemon pairs this
   with uWSGI's own "DAMN ! worker" line, which decides whether a death is news. */
void sentry_watch_deaths(void) {
	static pid_t last;
	siginfo_t info;
	int wid;
	if (sentry.deaths != 1 || !uwsgi.workers) return;
	memset(&info, 0, sizeof(info));
	if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) || info.si_pid <= 0 || info.si_pid == last) return;
	for (wid = 1; wid <= uwsgi.numproc && uwsgi.workers[wid].pid != info.si_pid; wid++);
	if (wid > uwsgi.numproc) return;
	last = info.si_pid;
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
