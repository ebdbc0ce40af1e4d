/* sentry_pyframes: real Python frames in uWSGI exception packets on uWSGI < 2.0.27.

   uWSGI 2.0.21 (Debian 12) reads traceback.extract_tb() entries as tuples; since
   Python 3.5 they are FrameSummary objects, so every frame arrives empty (fixed
   upstream in 2.0.27, commit 738030d7). Loaded after python3, this plugin puts in
   the Python plugin's place a backtrace hook that reads FrameSummary attributes.
   `plugins = python3,sentry_pyframes` */

#include <Python.h>
#include <uwsgi.h>

extern struct uwsgi_server uwsgi;

/* One uwsgi array item: u16le length + bytes of str(obj) (or empty). */
static int pyframes_item(struct uwsgi_buffer *ub, PyObject *obj) {
	const char *s = "";
	Py_ssize_t len = 0;
	PyObject *str = NULL;
	if (obj && obj != Py_None) {
		str = PyObject_Str(obj);
		if (str) s = PyUnicode_AsUTF8AndSize(str, &len);
		if (!s) { PyErr_Clear(); s = ""; len = 0; }
	}
	if (len > 0xffff) len = 0xffff;
	int ret = uwsgi_buffer_u16le(ub, (uint16_t) len) || uwsgi_buffer_append(ub, (char *) s, (size_t) len);
	Py_XDECREF(str);
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

static void pyframes_on_load(void) {
	/* uwsgi.p[0] is the Python plugin (modifier1 0) once python3 is loaded. */
	if (!uwsgi.p[0] || !uwsgi.p[0]->name || strcmp(uwsgi.p[0]->name, "python")) {
		uwsgi_log("[sentry_pyframes] load it after python3 (plugins = python3,sentry_pyframes)\n");
		return;
	}
	uwsgi.p[0]->backtrace = pyframes_backtrace;
}

struct uwsgi_plugin sentry_pyframes_plugin = {
	.name = "sentry_pyframes",
	.on_load = pyframes_on_load,
};
