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

/* The request `wsgi_req` (a worker's own): who serves it since when, and the trace
   headers it came with. */
int sentry_add_request(struct uwsgi_buffer *ub, struct wsgi_request *wsgi_req) {
	const char *names[] = {"HTTP_SENTRY_TRACE", "HTTP_TRACEPARENT", "HTTP_BAGGAGE"};
	int i;
	uint16_t len;
	if (sentry_field_num(ub, "req_pid", uwsgi.mypid) || sentry_field_num(ub, "req_core", wsgi_req->async_id) ||
	    sentry_field_num(ub, "req_start_us", (int64_t) wsgi_req->start_of_request)) return -1;
	for (i = 0; i < 3; i++) {
		char *v = uwsgi_get_var(wsgi_req, (char *) names[i], strlen(names[i]), &len);
		if (v && sentry_field(ub, names[i], v, len)) return -1;
	}
	return 0;
}

/* A route's event belongs to its request: the request's identity and trace headers
   ride along (one trace for every event of a request). */
int sentry_route_func(struct wsgi_request *wsgi_req, struct uwsgi_route *ur) {
	char **subject = (char **) (((char *) (wsgi_req)) + ur->subject);
	uint16_t *subject_len = (uint16_t *) (((char *) (wsgi_req)) + ur->subject_len);
	struct uwsgi_buffer *ub = uwsgi_routing_translate(wsgi_req, ur, *subject, *subject_len, ur->data, ur->data_len);
	struct uwsgi_buffer *frame = sentry_frame("route");
	if (frame && ub && (sentry_field(frame, "options", ub->buf, ub->pos) || sentry_add_request(frame, wsgi_req) ||
	                    sentry_field_num(frame, "now_us", uwsgi_micros()))) {
		uwsgi_buffer_destroy(frame);
		frame = NULL;
	}
	if (ub) uwsgi_buffer_destroy(ub);
	sentry_send(frame, SENTRY_EVENT);
	return UWSGI_ROUTE_CONTINUE; /* as the old plugin did */
}

static void sentry_trace_var(char *key, uint16_t klen, char *val, uint16_t vlen, void *ub) {
	if ((klen == 17 && !memcmp(key, "HTTP_SENTRY_TRACE", 17)) || (klen == 16 && !memcmp(key, "HTTP_TRACEPARENT", 16))) {
		char name[18] = {0};
		memcpy(name, key, klen);
		sentry_field((struct uwsgi_buffer *) ub, name, val, vlen);
	}
}

/* In a request that has not ended: uWSGI marks the end (end_of_request) before its
   after-request work, while in_request still says 1. */
static int sentry_running(struct uwsgi_core *uc) {
	return uc->in_request && uc->req.end_of_request < uc->req.start_of_request;
}

/* A log line (sentry-logs) is most likely the request's that is in flight, when
   exactly one is: its identity and trace headers, read from its core's buffer
   (bounded by it; torn at worst, as every read of another process's core here). */
int sentry_add_in_flight(struct uwsgi_buffer *ub) {
	int wid, c, found = 0, fw = 0, fc = 0;
	for (wid = 1; uwsgi.workers && wid <= uwsgi.numproc; wid++)
		for (c = 0; c < uwsgi.cores && uwsgi.workers[wid].cores; c++)
			if (sentry_running(&uwsgi.workers[wid].cores[c]) && !found++) { fw = wid; fc = c; }
	if (found != 1) return 0;
	struct uwsgi_core *uc = &uwsgi.workers[fw].cores[fc];
	if (sentry_field_num(ub, "req_pid", uwsgi.workers[fw].pid) || sentry_field_num(ub, "req_core", fc) ||
	    sentry_field_num(ub, "req_start_us", (int64_t) uc->req.start_of_request)) return -1;
	uint16_t size = uc->buffer ? ((struct uwsgi_header *) uc->buffer)->pktsize : 0;
	if (size) uwsgi_hooked_parse(uc->buffer + 4, size > uwsgi.buffer_size ? uwsgi.buffer_size : size, sentry_trace_var, ub);
	return 0;
}

/* One nested "core" item per core that is in a request (all workers, or one; with
   `vars`, the request's variables as uWSGI keeps them, its trace headers among them). */
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
				(only_wid && sentry_core_string(core, uc, "vars", uc->buffer + 4, ((struct uwsgi_header *) uc->buffer)->pktsize)) ||
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
