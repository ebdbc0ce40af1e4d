/* A request's exception, sent by the worker it happened in.

   uWSGI's own route for it, `exception-handler = sentry:OPTIONS` (kept for configs
   that name it), hands the worker's packet to a thread of the master, which wakes
   for each one only to pass the packet on: 14 us of the master's CPU per exception
   (schedstat, 600 exceptions), the master the issue asks to leave alone. The default
   instead wraps the exception_log of the two plugins that call uWSGI's
   uwsgi_manage_exception (Python, modifier1 0, and Rack, 7): uWSGI calls it in the
   worker, after its handlers would have run and while the exception is still set,
   and the wrapper builds the very packet uWSGI would (uwsgi_exception_handler_object)
   and sends it on the events lane, then lets the plugin log the exception as before.
   Each plugin gets a wrapper of its own: Rack's fiber plugin calls exception_log
   with no request, which cannot say whose it is. */

#include "sentry.h"

/* In uWSGI since 1.9 and exported by both builds (Debian's and PyPI's), not in uwsgi.h. */
struct uwsgi_buffer *uwsgi_exception_handler_object(struct wsgi_request *);

static void (*sentry_python_log)(struct wsgi_request *);
static void (*sentry_rack_log)(struct wsgi_request *);

static void sentry_report(struct wsgi_request *wsgi_req) {
	if (!wsgi_req || !wsgi_req->uh) return;
	struct uwsgi_buffer *packet = uwsgi_exception_handler_object(wsgi_req);
	if (!packet) {
		sentry_send(NULL, SENTRY_ERROR); /* counted, as a full lane would be */
		return;
	}
	sentry_event("exception", "", packet->buf, packet->pos, 0);
	uwsgi_buffer_destroy(packet);
}

static void sentry_python_exception(struct wsgi_request *wsgi_req) {
	sentry_report(wsgi_req);
	if (sentry_python_log) sentry_python_log(wsgi_req);
}

static void sentry_rack_exception(struct wsgi_request *wsgi_req) {
	sentry_report(wsgi_req);
	if (sentry_rack_log) sentry_rack_log(wsgi_req);
}

/* From defaults.c, once every plugin is loaded (sentry_pyframes' wrapper is then
   inside this one). 1: a plugin that raises exceptions is wrapped. */
int sentry_exceptions_from_workers(void) {
	int wrapped = 0;
	if (uwsgi.p[0] && uwsgi.p[0]->exception_log && uwsgi.p[0]->exception_log != sentry_python_exception) {
		sentry_python_log = uwsgi.p[0]->exception_log;
		uwsgi.p[0]->exception_log = sentry_python_exception;
		wrapped = 1;
	}
	if (uwsgi.p[7] && uwsgi.p[7]->exception_log && uwsgi.p[7]->exception_log != sentry_rack_exception) {
		sentry_rack_log = uwsgi.p[7]->exception_log;
		uwsgi.p[7]->exception_log = sentry_rack_exception;
		wrapped = 1;
	}
	return wrapped;
}
