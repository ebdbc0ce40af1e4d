/* sentry_pyframes: a Python exception as Sentry wants it, captured while it is raised.

   - Frames: sentry_capture.py (compiled in, once per interpreter) gives uWSGI's
     backtrace array, with each frame's module, absolute path and bounded locals in the
     item uWSGI leaves to plugins, the exception chain, the runtime, and whether the
     app's own Sentry SDK is active. Should it fail, plain frames (uWSGI 2.0.21 reads
     traceback.extract_tb() entries as tuples: its own frames are empty).
   - Value and repr: uWSGI encodes str(exception) with PyUnicode_AsUTF8String, which
     fails on a lone surrogate ("bad \udcff bytes"): the exception arrived without its
     value. Here a character UTF-8 cannot carry becomes U+FFFD; a value is cut at
     16 KiB (Sentry keeps 8,192 characters; a 100 KB one made uWSGI drop the packet).

   The `sentry` loader loads this plugin by itself when Python runs the app; naming it
   (`plugins = python3,sentry_pyframes`) still works. */

#include <Python.h>
#include <uwsgi.h>
#include <dlfcn.h>
#include "sentry_capture.h" /* sentry_capture_source[]: sentry_capture.py, made by the Makefile */

extern struct uwsgi_server uwsgi;

/* str(obj) as UTF-8 into `ub` (nothing for None or NULL): a character UTF-8 cannot
   carry (a lone surrogate) becomes U+FFFD, by a round trip through UTF-16. */
static int pyframes_text(struct uwsgi_buffer *ub, PyObject *obj) {
	Py_ssize_t len = 0;
	const char *s = NULL;
	PyObject *str = NULL, *wide = NULL, *fixed = NULL;
	if (obj && obj != Py_None && (str = PyObject_Str(obj))) {
		if (!(s = PyUnicode_AsUTF8AndSize(str, &len))) {
			PyErr_Clear();
			wide = PyUnicode_AsEncodedString(str, "utf-16-le", "surrogatepass");
			fixed = wide ? PyUnicode_Decode(PyBytes_AsString(wide), PyBytes_Size(wide), "utf-16-le", "replace") : NULL;
			s = fixed ? PyUnicode_AsUTF8AndSize(fixed, &len) : NULL;
		}
	}
	if (!s) { PyErr_Clear(); s = ""; len = 0; }
	if (len > 16384) len = 16384;
	int ret = uwsgi_buffer_append(ub, (char *) s, (size_t) len);
	Py_XDECREF(fixed);
	Py_XDECREF(wide);
	Py_XDECREF(str);
	return ret;
}

/* One uwsgi array item: u16le length + the text of obj. */
static int pyframes_item(struct uwsgi_buffer *ub, PyObject *obj) {
	struct uwsgi_buffer *text = uwsgi_buffer_new(64);
	int ret = pyframes_text(text, obj);
	size_t len = text->pos > 0xffff ? 0xffff : text->pos;
	ret = ret || uwsgi_buffer_u16le(ub, (uint16_t) len) || uwsgi_buffer_append(ub, text->buf, len);
	uwsgi_buffer_destroy(text);
	return ret;
}

/* Plain frames (file, line, function, source line), from traceback.extract_tb. */
static struct uwsgi_buffer *pyframes_plain(PyObject *tb) {
	struct uwsgi_buffer *ub = NULL;
	PyObject *module = PyImport_ImportModule("traceback");
	PyObject *summary = module ? PyObject_CallMethod(module, "extract_tb", "O", tb) : NULL;
	Py_XDECREF(module);
	if (!summary) return NULL;
	Py_ssize_t i, n = PySequence_Size(summary);
	ub = uwsgi_buffer_new(4096);
	for (i = 0; i < n; i++) {
		PyObject *frame = PySequence_GetItem(summary, i);
		if (!frame) break;
		const char *attrs[] = {"filename", "lineno", "name", "line"};
		int j, failed = 0;
		for (j = 0; j < 4 && !failed; j++) {
			PyObject *attr = PyObject_GetAttrString(frame, attrs[j]);
			if (!attr) PyErr_Clear();
			failed = pyframes_item(ub, attr);
			Py_XDECREF(attr);
		}
		Py_DECREF(frame);
		if (failed || pyframes_item(ub, NULL)) { /* 5th item: custom, unused */
			uwsgi_buffer_destroy(ub);
			ub = NULL;
			break;
		}
	}
	Py_DECREF(summary);
	return ub;
}

/* sentry_capture's `name`, compiled once per interpreter (uWSGI may run several). */
static PyObject *pyframes_function(const char *name) {
	PyObject *module = PyDict_GetItemString(PyImport_GetModuleDict(), "uwsgi_sentry_capture"); /* borrowed */
	if (module) Py_INCREF(module);
	else {
		PyObject *code = Py_CompileString(sentry_capture_source, "sentry_capture.py", Py_file_input);
		module = code ? PyImport_ExecCodeModule("uwsgi_sentry_capture", code) : NULL;
		Py_XDECREF(code);
	}
	PyObject *function = module ? PyObject_GetAttrString(module, name) : NULL;
	Py_XDECREF(module);
	return function;
}

/* Asks sentry_capture.py's `question` (no arguments) under the GIL: true or not. */
static int pyframes_ask(const char *question) {
	int yes = 0;
	if (!Py_IsInitialized()) return 0;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *ask = pyframes_function(question);
	PyObject *answer = ask ? PyObject_CallNoArgs(ask) : NULL;
	yes = answer && PyObject_IsTrue(answer) == 1;
	Py_XDECREF(answer);
	Py_XDECREF(ask);
	PyErr_Clear();
	PyGILState_Release(gil);
	return yes;
}

/* The sentry loader's sentry-sessions = auto asks (from a worker, after a request):
   does the app's own sentry-sdk track sessions? */
int sentry_pyframes_sdk_sessions(void) { return pyframes_ask("sdk_sessions"); }

/* ... and sentry-traces (unless `always`): does it trace its requests? */
int sentry_pyframes_sdk_traces(void) { return pyframes_ask("sdk_traces"); }

/* The sentry loader's crash handler, where CPython exports no dumper of a thread's
   Python stack (3.13): faulthandler writes it to `fd` (the loader's memfd), unless
   the app enabled faulthandler for itself. At worker start, before the loader puts
   its own handler on top. True when faulthandler now writes there. */
int sentry_pyframes_faulthandler(int fd) {
	int ours = 0;
	if (!Py_IsInitialized()) return 0;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *faulthandler = PyImport_ImportModule("faulthandler");
	PyObject *enabled = faulthandler ? PyObject_CallMethod(faulthandler, "is_enabled", NULL) : NULL;
	if (enabled && PyObject_IsTrue(enabled) == 0) {
		PyObject *done = PyObject_CallMethod(faulthandler, "enable", "(ii)", fd, 0);
		ours = done != NULL;
		Py_XDECREF(done);
	}
	Py_XDECREF(enabled);
	Py_XDECREF(faulthandler);
	PyErr_Clear();
	PyGILState_Release(gil);
	return ours;
}

/* sentry-locals (the sentry loader's option, when it is loaded): read locals or not. */
static int pyframes_locals(void) {
	int *locals = dlsym(RTLD_DEFAULT, "sentry_locals");
	return locals ? *locals : 1;
}

static struct uwsgi_buffer *pyframes_backtrace(struct wsgi_request *wsgi_req) {
	PyObject *type = NULL, *value = NULL, *tb = NULL, *capture, *got = NULL;
	struct uwsgi_buffer *ub = NULL;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (value && (capture = pyframes_function("capture"))) {
		got = PyObject_CallFunction(capture, "OOLiii", value, tb ? tb : Py_None, (long long) wsgi_req->start_of_request,
		                            (int) uwsgi.mypid, wsgi_req->async_id, pyframes_locals());
		Py_DECREF(capture);
	}
	if (got && PyBytes_Check(got)) {
		ub = uwsgi_buffer_new(PyBytes_Size(got) + 1);
		if (uwsgi_buffer_append(ub, PyBytes_AsString(got), PyBytes_Size(got))) { uwsgi_buffer_destroy(ub); ub = NULL; }
	}
	Py_XDECREF(got);
	PyErr_Clear();
	if (!ub && tb) ub = pyframes_plain(tb);
	PyErr_Clear();
	PyErr_Restore(type, value, tb);
	return ub;
}

/* str(exception), whole: uWSGI's own hook drops it on a lone surrogate. */
static struct uwsgi_buffer *pyframes_msg(struct wsgi_request *wsgi_req) {
	(void) wsgi_req;
	PyObject *type = NULL, *value = NULL, *tb = NULL;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	struct uwsgi_buffer *ub = NULL;
	if (value) {
		ub = uwsgi_buffer_new(128);
		if (pyframes_text(ub, value)) { uwsgi_buffer_destroy(ub); ub = NULL; }
	}
	PyErr_Clear();
	PyErr_Restore(type, value, tb);
	return ub;
}

/* `Class: message`, as uWSGI writes it, from the class hook and ours. */
static struct uwsgi_buffer *pyframes_repr(struct wsgi_request *wsgi_req) {
	struct uwsgi_buffer *class = uwsgi.p[0]->exception_class ? uwsgi.p[0]->exception_class(wsgi_req) : NULL;
	struct uwsgi_buffer *msg = pyframes_msg(wsgi_req);
	struct uwsgi_buffer *ub = NULL;
	if (class && msg) {
		ub = uwsgi_buffer_new(class->pos + 2 + msg->pos);
		if (uwsgi_buffer_append(ub, class->buf, class->pos) || uwsgi_buffer_append(ub, ": ", 2) ||
		    uwsgi_buffer_append(ub, msg->buf, msg->pos)) {
			uwsgi_buffer_destroy(ub);
			ub = NULL;
		}
	}
	if (class) uwsgi_buffer_destroy(class);
	if (msg) uwsgi_buffer_destroy(msg);
	return ub;
}

/* Exceptions that no request carries (a spooler task, a mule, a signal handler and so
   every timer and cron, an RPC function, a post-fork hook): uWSGI's Python plugin
   only PyErr_Print()s them, which calls sys.excepthook. Ours (sentry_capture.py's)
   hands their packet to the loader; a request's exception comes the same way (uWSGI
   logs it with PyErr_Print too) while the loader reports it (its wrapper of this
   exception_log, or uWSGI's exception handlers): that one is refused here. */
static void (*pyframes_request_log)(struct wsgi_request *);
static int pyframes_in_request;

static void pyframes_exception_log(struct wsgi_request *wsgi_req) {
	pyframes_in_request = 1;
	if (pyframes_request_log) pyframes_request_log(wsgi_req);
	pyframes_in_request = 0;
}

/* To the sentry loader's daemon (by name): an exception's packet, a check-in. */
static void pyframes_forward(const char *kind, PyObject *body) {
	void (*forward)(const char *, char *, size_t) = (void (*)(const char *, char *, size_t)) dlsym(RTLD_DEFAULT, "sentry_forward");
	if (forward && PyBytes_Check(body)) forward(kind, PyBytes_AsString(body), (size_t) PyBytes_Size(body));
}

static PyObject *pyframes_send(PyObject *self, PyObject *packet) {
	(void) self;
	if (!pyframes_in_request) pyframes_forward("exception", packet);
	Py_RETURN_NONE;
}

/* Asked by the hook before it builds a packet: a request's exception is reported
   already (its packet was built for it), and building a second one only to have it
   refused was as much again of what a request's exception costs its worker. */
static PyObject *pyframes_reported(PyObject *self, PyObject *unused) {
	(void) self; (void) unused;
	return PyBool_FromLong(pyframes_in_request);
}

static PyObject *pyframes_check_in(PyObject *self, PyObject *body) {
	(void) self;
	pyframes_forward("checkin", body);
	Py_RETURN_NONE;
}

static PyObject *pyframes_with_locals(PyObject *self, PyObject *unused) {
	(void) self; (void) unused;
	return PyBool_FromLong(pyframes_locals());
}

/* The request this worker is serving, as the loader names it ("PID CORE START_US",
   then its sentry-trace and traceparent headers, tab-separated), or None: a spooled
   task carries it, so that its transaction joins the request's trace. */
static PyObject *pyframes_request(PyObject *self, PyObject *unused) {
	(void) self; (void) unused;
	struct wsgi_request *r = uwsgi.mywid > 0 && uwsgi.current_wsgi_req ? current_wsgi_req() : NULL;
	if (!r || r->async_id < 0 || r->async_id >= uwsgi.cores || !uwsgi.workers[uwsgi.mywid].cores[r->async_id].in_request)
		Py_RETURN_NONE;
	uint16_t tlen = 0, plen = 0;
	char *st = uwsgi_get_var(r, "HTTP_SENTRY_TRACE", 17, &tlen), *tp = uwsgi_get_var(r, "HTTP_TRACEPARENT", 16, &plen);
	char who[512];
	int n = snprintf(who, sizeof(who), "%d %d %llu\t%.*s\t%.*s", (int) uwsgi.mypid, r->async_id, (unsigned long long) r->start_of_request,
	                 st && tlen < 200 ? (int) tlen : 0, st ? st : "", tp && plen < 200 ? (int) plen : 0, tp ? tp : "");
	return PyUnicode_DecodeUTF8(who, n < (int) sizeof(who) ? n : (int) sizeof(who) - 1, "replace");
}

static PyObject *pyframes_task(PyObject *self, PyObject *body) {
	(void) self;
	pyframes_forward("task", body);
	Py_RETURN_NONE;
}

static PyMethodDef pyframes_request_def = {"request", pyframes_request, METH_NOARGS, NULL};
static PyMethodDef pyframes_task_def = {"task", pyframes_task, METH_O, NULL};
static PyMethodDef pyframes_send_def = {"send", pyframes_send, METH_O, NULL};
static PyMethodDef pyframes_check_in_def = {"check_in", pyframes_check_in, METH_O, NULL};
static PyMethodDef pyframes_locals_def = {"with_locals", pyframes_with_locals, METH_NOARGS, NULL};
static PyMethodDef pyframes_reported_def = {"reported", pyframes_reported, METH_NOARGS, NULL};

/* In the master once the app is loaded (every process forked after inherits it), and
   in each process after its fork (lazy apps load there). */
static void pyframes_install(void) {
	if (!Py_IsInitialized() || !dlsym(RTLD_DEFAULT, "sentry_forward")) return;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *install = pyframes_function("install_excepthook");
	PyObject *send = PyCFunction_New(&pyframes_send_def, NULL), *locals = PyCFunction_New(&pyframes_locals_def, NULL);
	PyObject *reported = PyCFunction_New(&pyframes_reported_def, NULL);
	PyObject *done = install && send && locals && reported ? PyObject_CallFunctionObjArgs(install, send, locals, reported, NULL) : NULL;
	Py_XDECREF(done);
	Py_XDECREF(send);
	Py_XDECREF(locals);
	Py_XDECREF(reported);
	Py_XDECREF(install);
	PyErr_Clear();
	PyGILState_Release(gil);
}

/* sentry-crons = false: no check-ins from the app's own schedule. */
static int pyframes_crons = 1;

/* sentry_capture's `install`(args...), under the GIL; the arguments are stolen. */
static void pyframes_call_install(const char *install, PyObject *a, PyObject *b) {
	PyObject *f = pyframes_function(install);
	PyObject *done = f && a && b ? PyObject_CallFunctionObjArgs(f, a, b, NULL) : NULL;
	Py_XDECREF(done);
	Py_XDECREF(f);
	Py_XDECREF(a);
	Py_XDECREF(b);
	PyErr_Clear();
}

/* Before the app is loaded (its decorators register their signals and spooler then):
   the uwsgi module's functions note each signal's schedule and wrap its handler (the
   app's crons), and wrap the spooler and uwsgi.spool (tasks as queue transactions,
   joined to the request that spooled them; the loader drops them without traces). */
static void pyframes_install_wrappers(void) {
	if (!Py_IsInitialized() || !dlsym(RTLD_DEFAULT, "sentry_forward")) return;
	PyGILState_STATE gil = PyGILState_Ensure();
	if (pyframes_crons) pyframes_call_install("install_crons", PyCFunction_New(&pyframes_check_in_def, NULL), (Py_INCREF(Py_None), Py_None));
	pyframes_call_install("install_spooler", PyCFunction_New(&pyframes_request_def, NULL), PyCFunction_New(&pyframes_task_def, NULL));
	PyGILState_Release(gil);
}

static void pyframes_opt_crons(char *opt, char *value, void *flag) {
	(void) flag;
	if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off") || !strcmp(value, "0")) pyframes_crons = 0;
	else if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on") || !strcmp(value, "1")) pyframes_crons = 1;
	else { uwsgi_log("[sentry] %s = %s: expected true or false\n", opt, value); exit(1); }
}

static struct uwsgi_option pyframes_options[] = {
	{"sentry-crons", required_argument, 0, "the app's own crons and whole-minute timers (uwsgi.add_cron, @cron, @timer) check in to Sentry Crons (default: true with a DSN)",
	 pyframes_opt_crons, NULL, 0},
	UWSGI_END_OF_OPTIONS
};

static void pyframes_on_load(void) {
	/* uwsgi.p[0] is the Python plugin (modifier1 0) once python3 is loaded. */
	if (!uwsgi.p[0] || !uwsgi.p[0]->name || strcmp(uwsgi.p[0]->name, "python")) {
		uwsgi_log("[sentry_pyframes] load it after python3 (plugins = python3,sentry_pyframes)\n");
		return;
	}
	uwsgi.p[0]->backtrace = pyframes_backtrace;
	uwsgi.p[0]->exception_msg = pyframes_msg;
	uwsgi.p[0]->exception_repr = pyframes_repr;
	pyframes_request_log = uwsgi.p[0]->exception_log;
	uwsgi.p[0]->exception_log = pyframes_exception_log;
}

struct uwsgi_plugin sentry_pyframes_plugin = {
	.name = "sentry_pyframes",
	.on_load = pyframes_on_load,
	.options = pyframes_options,
	.preinit_apps = pyframes_install_wrappers,
	.init_apps = pyframes_install,
	.post_fork = pyframes_install,
};
