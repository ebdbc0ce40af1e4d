/* How every request ended: release health, counted where uWSGI keeps its own counts,
   and (sentry-logs) a record of the request for Sentry Logs.

   A worker counts each request it finishes (uWSGI's after-request chain): crashed
   when an exception escaped the app during it (uWSGI's per-core exception count
   moved), errored when it answered 5xx, exited otherwise. The master counts the
   requests a worker died in (sentry_watch_deaths). Counts live in shared memory by
   minute, so a worker's death or the daemon's restart loses none; the master hands
   each minute to the daemon when it is over, as one frame. A few atomic additions
   per request, nothing else: the daemon makes Sentry's `sessions` item. */

#include "sentry.h"
#include <dlfcn.h>

static uint64_t *seen;        /* per core of this worker: uWSGI's exception count after its last request */
static struct sentry_sdk_answer sessions_asked;

/* The counts of `minute`, or the unslotted ones (the master has not prepared it). */
static uint64_t *sentry_counts(int64_t minute) {
	struct sentry_minute *m = &sentry.shared->minutes[minute % SENTRY_MINUTES];
	return __atomic_load_n(&m->minute, __ATOMIC_ACQUIRE) == minute ? m->ends : sentry.shared->unslotted;
}

void sentry_count_session(enum sentry_end end) {
	if (sentry.sessions > 0 && !(sentry.sessions == 2 && sentry.shared->app_sdk_sessions))
		__atomic_add_fetch(&sentry_counts(uwsgi_now() / 60)[end], 1, __ATOMIC_RELAXED);
}

/* Does the app's own sentry-sdk do what `symbol` asks (sentry_pyframes answers, under
   the GIL)? Asked every 10 s per worker, as an app may start its SDK late; a yes is
   noted in `shared` for the master to say once. Python apps only (modifier1 0). */
int sentry_app_sdk(struct wsgi_request *wsgi_req, const char *symbol, struct sentry_sdk_answer *a, int *shared) {
	if (wsgi_req->uh->modifier1 != 0) return 0;
	time_t now = uwsgi_now();
	if (now - a->checked >= 10) {
		int (*ask)(void) = (int (*)(void)) dlsym(RTLD_DEFAULT, symbol);
		a->yes = ask && ask();
		a->checked = now;
		if (a->yes) __atomic_store_n(shared, 1, __ATOMIC_RELAXED);
	}
	return a->yes;
}

const char *sentry_levels[7] = {"off", "trace", "debug", "info", "warning", "error", "fatal"};

/* sentry-logs = LEVEL (warn, like Sentry's, for warning); off or false: none. */
void sentry_opt_level(char *opt, char *value, void *flag) {
	int i;
	for (i = 0; i < 7; i++) if (!strcasecmp(value, sentry_levels[i])) break;
	if (i == 7 && !strcasecmp(value, "warn")) i = 4;
	if (i == 7 && !strcasecmp(value, "false")) i = 0;
	if (i == 7) {
		uwsgi_log("[sentry] %s = %s: expected trace, debug, info, warning, error, fatal or off\n", opt, value);
		exit(1);
	}
	*((int *) flag) = i;
}

static int sentry_text(struct uwsgi_buffer *ub, const char *key, char *p, uint16_t len) {
	return len && sentry_field(ub, key, p, len);
}

/* sentry-logs: the request as a record, on the lines lane (a storm of them never takes
   an event's place), when its level (5xx or an exception: error; 4xx: warning; else
   info) is the option's or above. The daemon names, scrubs and batches it. */
static void sentry_request_record(struct wsgi_request *r, int crashed) {
	int level = crashed || r->status >= 500 ? 5 : r->status >= 400 ? 4 : 3;
	if (level < sentry.logs) return;
	struct uwsgi_buffer *ub = sentry_frame("request");
	if (ub && (sentry_add_request(ub, r) || sentry_text(ub, "method", r->method, r->method_len) ||
	           sentry_text(ub, "uri", r->uri, r->uri_len) || sentry_text(ub, "remote", r->remote_addr, r->remote_addr_len) ||
	           sentry_text(ub, "host", r->host, r->host_len) || sentry_field_num(ub, "status", r->status) ||
	           sentry_field_num(ub, "size", (int64_t) r->response_size) || sentry_field_num(ub, "wid", uwsgi.mywid) ||
	           sentry_field_num(ub, "now_us", (int64_t) r->end_of_request) || sentry_field_num(ub, "exception", crashed))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	sentry_send(ub, SENTRY_LINE);
}

/* uWSGI's after-request chain calls it by name (defaults.c adds it). */
void uwsgi_sentry_after_request(struct wsgi_request *wsgi_req) {
	if (!seen || wsgi_req->async_id < 0 || wsgi_req->async_id >= uwsgi.cores) return;
	uint64_t exceptions = uwsgi.workers[uwsgi.mywid].cores[wsgi_req->async_id].exceptions;
	int crashed = exceptions != seen[wsgi_req->async_id];
	seen[wsgi_req->async_id] = exceptions;
	if (sentry.logs > 0) sentry_request_record(wsgi_req, crashed);
	if (sentry.traces >= 0) sentry_trace_request(wsgi_req, crashed);
	if (sentry.sessions > 0 && !(sentry.sessions == 2 && sentry_app_sdk(wsgi_req, "sentry_pyframes_sdk_sessions", &sessions_asked,
	                                                                       &sentry.shared->app_sdk_sessions)))
		sentry_count_session(crashed ? SENTRY_CRASHED : wsgi_req->status >= 500 ? SENTRY_ERRORED : SENTRY_EXITED);
}

void sentry_requests_start(void) {
	char *period = getenv("UWSGI_SENTRY_SESSION_PERIOD");
	sentry.session_period = period ? atoi(period) : 0;
	uwsgi_string_new_list(&uwsgi.after_request_hooks, "uwsgi_sentry_after_request");
}

void sentry_requests_post_fork(void) {
	int c;
	if ((sentry.sessions <= 0 && sentry.logs <= 0 && sentry.traces < 0) || uwsgi.mywid <= 0) return;
	seen = uwsgi_calloc(sizeof(uint64_t) * uwsgi.cores);
	for (c = 0; c < uwsgi.cores; c++) seen[c] = uwsgi.workers[uwsgi.mywid].cores[c].exceptions;
}

/* Hands `counts` (of the minute starting at `minute`) to the daemon; what does not fit
   in the lane stays for the next cycle. */
static void sentry_hand_over(int64_t minute, uint64_t *counts) {
	const char *names[SENTRY_ENDS] = {"exited", "errored", "crashed", "abnormal"};
	uint64_t n[SENTRY_ENDS];
	int i, any = 0, failed;
	for (i = 0; i < SENTRY_ENDS; i++) any |= (n[i] = __atomic_exchange_n(&counts[i], 0, __ATOMIC_RELAXED)) != 0;
	if (!any) return;
	struct uwsgi_buffer *ub = sentry_frame("sessions");
	failed = !ub || sentry_field_num(ub, "minute", minute * 60);
	for (i = 0; i < SENTRY_ENDS && !failed; i++) failed = sentry_field_num(ub, names[i], (int64_t) n[i]);
	if (failed && ub) uwsgi_buffer_destroy(ub);
	if (failed || sentry_send_now(ub))
		for (i = 0; i < SENTRY_ENDS; i++) __atomic_add_fetch(&counts[i], n[i], __ATOMIC_RELAXED);
}

/* From the master's loop, once a second: each minute over for 2 s (a request ending
   at :59.999 counts in it) goes to the daemon, and its slot is prepared for the
   minute that comes next to it. A worker that read a slot just before it was handed
   over adds to it afterwards: those counts go over on the next cycle. */
void sentry_tell_sessions(void) {
	static time_t last, last_period;
	static int told_sdk;
	time_t now = uwsgi_now();
	int64_t current = now / 60;
	int i;
	/* Reloading or stopping: every cycle, every minute so far (the shared memory goes
	   with this master). */
	int leaving = uwsgi_instance_is_reloading || uwsgi_instance_is_dying;
	if (sentry.sessions <= 0 || (now == last && !leaving)) return;
	last = now;
	if (!told_sdk && __atomic_load_n(&sentry.shared->app_sdk_sessions, __ATOMIC_RELAXED)) {
		told_sdk = 1;
		uwsgi_log("[sentry] the app's own sentry-sdk tracks sessions: release health is left to it (sentry-sessions = true counts here too)\n");
	}
	int period = leaving || (sentry.session_period > 0 && now - last_period >= sentry.session_period);
	if (period) last_period = now;
	for (i = 0; i < SENTRY_MINUTES; i++) {
		struct sentry_minute *m = &sentry.shared->minutes[i];
		int64_t minute = __atomic_load_n(&m->minute, __ATOMIC_ACQUIRE);
		if (minute && (period || (minute + 1) * 60 + 2 <= now)) sentry_hand_over(minute, m->ends);
		int64_t next = current + ((i - current % SENTRY_MINUTES) + SENTRY_MINUTES) % SENTRY_MINUTES;
		if (minute < next && (minute + 1) * 60 + 2 <= now && !(m->ends[0] | m->ends[1] | m->ends[2] | m->ends[3]))
			__atomic_store_n(&m->minute, next, __ATOMIC_RELEASE);
	}
	if (period || now % 60 >= 2) sentry_hand_over(current - (now % 60 < 2), sentry.shared->unslotted);
}
