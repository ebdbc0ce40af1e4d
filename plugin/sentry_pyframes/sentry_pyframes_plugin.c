/* sentry_pyframes: what uWSGI's Python plugin gets wrong about an exception, put right.

   - Frames: uWSGI 2.0.21 (Debian 12) reads traceback.extract_tb() entries as tuples;
     since Python 3.5 they are FrameSummary objects, so every frame arrives empty
     (fixed upstream in 2.0.27, commit 738030d7).
   - Value and repr: uWSGI encodes str(exception) with PyUnicode_AsUTF8String, which
     fails on a lone surrogate ("bad \udcff bytes"): the exception arrives without its
     value. Here a character UTF-8 cannot carry becomes U+FFFD, the rest is kept.

   The `sentry` loader loads this plugin by itself when Python runs the app; naming it
   (`plugins = python3,sentry_pyframes`) still works. */

#include <Python.h>
#include <uwsgi.h>

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

static struct uwsgi_buffer *pyframes_backtrace(struct wsgi_request *wsgi_req) {
	(void) wsgi_req;
	PyObject *type = NULL, *value = NULL, *tb = NULL, *summary = NULL;
	struct uwsgi_buffer *ub = NULL;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (!tb) goto end;
	PyObject *module = PyImport_ImportModule("traceback");
	if (!module) goto end;
	summary = PyObject_CallMethod(module, "extract_tb", "O", tb);
	Py_DECREF(module);
	if (!summary) goto end;
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
end:
	Py_XDECREF(summary);
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

static void pyframes_on_load(void) {
	/* uwsgi.p[0] is the Python plugin (modifier1 0) once python3 is loaded. */
	if (!uwsgi.p[0] || !uwsgi.p[0]->name || strcmp(uwsgi.p[0]->name, "python")) {
		uwsgi_log("[sentry_pyframes] load it after python3 (plugins = python3,sentry_pyframes)\n");
		return;
	}
	uwsgi.p[0]->backtrace = pyframes_backtrace;
	uwsgi.p[0]->exception_msg = pyframes_msg;
	uwsgi.p[0]->exception_repr = pyframes_repr;
}

struct uwsgi_plugin sentry_pyframes_plugin = {
	.name = "sentry_pyframes",
	.on_load = pyframes_on_load,
};
