/* sentry_rbframes: Ruby exceptions as sentry-ruby tells them, for the sentry loader
   (which loads it whenever the rack plugin runs the app). uWSGI's rack plugin gives
   an exception's class, message and backtrace (`file:line:in 'label'` strings, paths
   as loaded); this plugin takes over its backtrace hook with sentry_capture.rb
   (compiled in as a C string, evaluated once per process): every frame's absolute
   path, its file relative to the app's root or load path and whether it is the
   app's, the causes, and the packet's facts (runtime, gems, whether the app's own
   sentry-ruby captured it). Any failure of ours gives uWSGI's own backtrace. And it
   clears $! after each request, which uWSGI does not. */

#include <uwsgi.h>
#include <ruby.h>
#include "sentry_capture_rb.h"

extern struct uwsgi_server uwsgi;

static struct uwsgi_buffer *(*rack_backtrace)(struct wsgi_request *);
static void (*rack_after_request)(struct wsgi_request *);

struct rbframes_call {
	VALUE exception;
	struct wsgi_request *wsgi_req;
};

static VALUE rbframes_define(VALUE unused) {
	(void) unused;
	return rb_eval_string(sentry_capture_rb_source);
}

/* The folder of `rack = PATH`: the app's root when uWSGI runs from / (no chdir). */
static VALUE rbframes_app_dir(void) {
	for (int i = 0; i < uwsgi.exported_opts_cnt; i++) {
		char *v = uwsgi.exported_opts[i]->value, *slash = v ? strrchr(v, '/') : NULL;
		if (!strcmp(uwsgi.exported_opts[i]->key, "rack") && v[0] == '/' && slash > v) return rb_str_new(v, slash - v);
	}
	return Qnil;
}

static VALUE rbframes_static_facts(VALUE unused) {
	(void) unused;
	return rb_funcall(rb_const_get(rb_cObject, rb_intern("UwsgiSentryCapture")), rb_intern("static_facts"), 0);
}

/* Once the app is loaded (in the master: every worker forked after inherits it), the
   capture code and its once-per-process facts (the installed gems), so that no
   worker's first exception pays for them. */
static void rbframes_prepare(void) {
	int failed = 0;
	if (!rack_backtrace) return;
	if (!rb_const_defined(rb_cObject, rb_intern("UwsgiSentryCapture"))) rb_protect(rbframes_define, Qnil, &failed);
	if (!failed) rb_protect(rbframes_static_facts, Qnil, &failed);
	rb_set_errinfo(Qnil);
}

static VALUE rbframes_capture(VALUE arg) {
	struct rbframes_call *c = (struct rbframes_call *) arg;
	VALUE capture = rb_const_get(rb_cObject, rb_intern("UwsgiSentryCapture"));
	return rb_funcall(capture, rb_intern("capture"), 5, c->exception, LL2NUM(c->wsgi_req ? (long long) c->wsgi_req->start_of_request : 0),
	                  INT2NUM(uwsgi.mypid), INT2NUM(c->wsgi_req ? c->wsgi_req->async_id : 0), rbframes_app_dir());
}

static struct uwsgi_buffer *rbframes_backtrace(struct wsgi_request *wsgi_req) {
	int failed = 0;
	VALUE exception = rb_errinfo();
	struct rbframes_call call = {exception, wsgi_req};
	struct uwsgi_buffer *ub = NULL;
	if (NIL_P(exception)) return rack_backtrace(wsgi_req);
	if (!rb_const_defined(rb_cObject, rb_intern("UwsgiSentryCapture"))) rb_protect(rbframes_define, Qnil, &failed);
	VALUE got = failed ? Qnil : rb_protect(rbframes_capture, (VALUE) &call, &failed);
	if (!failed && RB_TYPE_P(got, T_STRING)) {
		ub = uwsgi_buffer_new(RSTRING_LEN(got) + 1);
		if (uwsgi_buffer_append(ub, RSTRING_PTR(got), RSTRING_LEN(got))) { uwsgi_buffer_destroy(ub); ub = NULL; }
	}
	rb_set_errinfo(exception); /* what our own code raised is not the app's exception */
	return ub ? ub : rack_backtrace(wsgi_req);
}

/* uWSGI leaves a request's exception in $!: the next request's first raise would
   take it (and so every earlier request's) as its cause, in sentry-ruby's events too. */
static void rbframes_after_request(struct wsgi_request *wsgi_req) {
	if (rack_after_request) rack_after_request(wsgi_req);
	rb_set_errinfo(Qnil);
}

static void rbframes_on_load(void) {
	/* uwsgi.p[7] is the rack plugin (modifier1 7) once it is loaded. */
	if (!uwsgi.p[7] || !uwsgi.p[7]->name || strcmp(uwsgi.p[7]->name, "rack") || !uwsgi.p[7]->backtrace) {
		uwsgi_log("[sentry_rbframes] load it after the rack plugin (plugins = rack_ruby31,sentry_rbframes)\n");
		return;
	}
	rack_backtrace = uwsgi.p[7]->backtrace;
	uwsgi.p[7]->backtrace = rbframes_backtrace;
	rack_after_request = uwsgi.p[7]->after_request;
	uwsgi.p[7]->after_request = rbframes_after_request;
}

struct uwsgi_plugin sentry_rbframes_plugin = {
	.name = "sentry_rbframes",
	.on_load = rbframes_on_load,
	.init_apps = rbframes_prepare,
};
