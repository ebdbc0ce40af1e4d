/* One line of config: `plugin = sentry` and a DSN (SENTRY_DSN, or sentry-dsn) turn
   on every default; each one can be turned off with its own sentry-* option.

   This runs from uWSGI's call-asap list, so after every option has been read and
   before uWSGI turns its alarm and exception-handler lists into instances. Without
   a DSN nothing is added: old configs (alarm = NAME sentry:OPTIONS) get exactly
   the events they name. A default that the config already routes to the sentry
   engine is left out, so nothing is reported twice. Then ONE log line says what is on. */

#include "sentry.h"
#include <dlfcn.h>

extern struct uwsgi_plugin sentry_plugin;

/* Is one of the alarms named in `names` defined with the sentry engine? */
static int sentry_engine_attached(struct uwsgi_string_list *names) {
	struct uwsgi_string_list *n, *a;
	uwsgi_foreach(n, names) {
		uwsgi_foreach(a, uwsgi.alarm_list) {
			size_t len = strlen(n->value);
			if (!strncmp(a->value, n->value, len) && a->value[len] == ' ' && !strncmp(a->value + len + 1, "sentry:", 7))
				return 1;
		}
	}
	return 0;
}

static int sentry_handler_configured(void) {
	struct uwsgi_string_list *h;
	uwsgi_foreach(h, uwsgi.exception_handlers_instance) if (!strncmp(h->value, "sentry:", 7) || !strcmp(h->value, "sentry")) return 1;
	return 0;
}

/* -1 (not set) takes the default. */
static int on(int *flag, int dflt) { if (*flag < 0) *flag = dflt; return *flag; }

/* FIRST among log alarms: our own lines never feed an alarm (a matching negative rule
   stops uWSGI's scan). Added whenever there are log alarms at all; `alarm` names one
   that exists, as uWSGI requires even of a negative rule. Anchored: uWSGI runs it on
   every line, and unanchored it searched the whole of each (perf: the master's
   costliest rule); our lines start so (the daemon's stderr, the loader's log lines). */
static void sentry_guard_log_alarms(char *alarm) {
	if (!uwsgi.alarm_logs_list || !alarm) return;
	struct uwsgi_string_list *usl = uwsgi_calloc(sizeof(struct uwsgi_string_list));
	usl->value = uwsgi_concat2(alarm, " ^(?:uwsgi-sentry: |\\[sentry\\] )");
	usl->len = strlen(usl->value);
	usl->custom = 1;
	usl->next = uwsgi.alarm_logs_list;
	uwsgi.alarm_logs_list = usl;
}

/* The app's language's own view of its exceptions, from the plugin beside this one:
   sentry_pyframes when Python runs the app (modifier1 0), sentry_rbframes when Rack
   does (7). */
static void sentry_load_frames(int modifier, const char *runs, const char *name) {
	int i;
	Dl_info self;
	if (!uwsgi.p[modifier] || !uwsgi.p[modifier]->name || strcmp(uwsgi.p[modifier]->name, runs)) return;
	for (i = 0; i < uwsgi.gp_cnt; i++) if (!strcmp(uwsgi.gp[i]->name, name)) return;
	if (!dladdr(&sentry_plugin, &self) || !self.dli_fname || !strrchr(self.dli_fname, '/')) return;
	char *dir = uwsgi_concat2n((char *) self.dli_fname, strrchr(self.dli_fname, '/') - self.dli_fname, "", 0);
	char *path = uwsgi_concat4(dir, "/", (char *) name, "_plugin.so");
	if (!access(path, R_OK)) uwsgi_load_plugin(-1, path, NULL);
	free(dir);
	free(path);
}

void uwsgi_sentry_configure(void) {
	char *env = getenv("SENTRY_DSN");
	sentry.defaults = (sentry.dsn && *sentry.dsn) || (env && *env);
	sentry_resolve_sender();
	sentry_load_frames(0, "python", "sentry_pyframes");
	sentry_load_frames(7, "rack", "sentry_rbframes");
	uwsgi.master_process = 1; /* the master starts and keeps the daemon */
	/* Which instance this is (its first socket): the daemon's spool, and that of every
	   child uWSGI starts (a cron's `uwsgi-sentry monitor`, a safeexec hook), is its. */
	setenv("UWSGI_SENTRY_INSTANCE", uwsgi.sockets && uwsgi.sockets->name ? uwsgi.sockets->name : uwsgi.cwd ? uwsgi.cwd : "uwsgi", 0);
	on(&sentry.harakiri, sentry.defaults);
	on(&sentry.breadcrumbs, sentry.defaults ? 30 : 0);
	if (!sentry.defaults) {
		on(&sentry.exceptions, 0); on(&sentry.segfault, 0); on(&sentry.listen_queue, 0); on(&sentry.deaths, 0);
		sentry.sessions = sentry.logs = 0; /* no project to count or log for */
		sentry.traces = -1;
		char *first = uwsgi.alarm_list ? uwsgi_str(uwsgi.alarm_list->value) : NULL;
		if (first && strchr(first, ' ')) *strchr(first, ' ') = 0;
		sentry_guard_log_alarms(first);
		uwsgi_log("[sentry] no SENTRY_DSN and no sentry-dsn: only the events this config names%s%s%s\n",
		          sentry.path ? "" : " (and ", sentry.path ? "" : sentry.path_problem, sentry.path ? "" : ")");
		return;
	}
	if (!sentry.path) {
		uwsgi_log("[sentry] %s; nothing will be reported\n", sentry.path_problem);
		return;
	}
	uwsgi.log_master = 1; /* log alarms need the master's log loop */
	uwsgi_string_new_list(&uwsgi.alarm_list, "sentry-default sentry:");
	if (on(&sentry.exceptions, 1) && sentry_handler_configured()) sentry.exceptions = 0;
	/* What the daemon needs to know of these two: in the options every event carries. */
	if (sentry.exceptions == 2 || !sentry_locals)
		sentry.options = uwsgi_concat3(sentry.options ? sentry.options : "", sentry.exceptions == 2 ? ",own_sdk=report" : "",
		                               sentry_locals ? "" : ",locals=false");
	/* From the worker itself (exceptions.c); uWSGI's exception handler only where no
	   plugin we know raises them. */
	if (sentry.exceptions && !sentry_exceptions_from_workers()) uwsgi_string_new_list(&uwsgi.exception_handlers_instance, "sentry:");
	if (on(&sentry.segfault, 1) && !sentry_engine_attached(uwsgi.alarm_segfault))
		uwsgi_string_new_list(&uwsgi.alarm_segfault, "sentry-default");
	if (on(&sentry.listen_queue, 1) && !sentry_engine_attached(uwsgi.alarm_backlog))
		uwsgi_string_new_list(&uwsgi.alarm_backlog, "sentry-default");
	if (on(&sentry.deaths, 1))
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, "sentry-default DAMN ! worker [0-9]+ \\(pid: [0-9]+\\) (died|MISTERIOUSLY)");
	struct uwsgi_string_list *usl;
	uwsgi_foreach(usl, sentry.log_regex) {
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, uwsgi_concat2("sentry-default ", usl->value));
	}
	/* Relay refuses sessions without a release: none is counted then, and the line says why. */
	char *release = getenv("SENTRY_RELEASE"), *o = sentry.options ? sentry.options : "";
	int has_release = (release && *release) || !strncmp(o, "release=", 8) || strstr(o, ",release=");
	if (!on(&sentry.sessions, 2) || !has_release) sentry.sessions = sentry.sessions ? -2 : 0;
	if (sentry.sessions > 0 || sentry.logs > 0 || sentry.traces >= 0) sentry_requests_start();
	sentry_traces_configure();
	if (sentry.logs > 0)  /* the daemon makes the records: it needs the level too */
		sentry.options = uwsgi_concat3(sentry.options ? sentry.options : "", ",logs=", (char *) sentry_levels[sentry.logs]);
	if (sentry.breadcrumbs > 0 || sentry.logs > 0) {
		uwsgi_string_new_list(&uwsgi.alarm_list, "sentry-log sentry-log:");
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, "sentry-log .");
	}
	sentry_guard_log_alarms("sentry-default");
	__atomic_store_n(&sentry.shared->needed, 1, __ATOMIC_RELAXED);
	char traces[64];
	if (sentry.traces >= 0) snprintf(traces, sizeof(traces), "traces at %s%s", sentry.traces_rate, sentry.traces_always ? " (always)" : "");
	uwsgi_log("[sentry] reporting %s%s%s%s%s; %d log lines as breadcrumbs; %s; %s%s; %s; sender %s (one daemon, %d KiB for events)\n",
	          sentry.exceptions ? "exceptions, " : "", sentry.segfault ? "segfaults, " : "",
	          sentry.listen_queue ? "full listen queues, " : "", sentry.deaths ? "worker deaths, " : "",
	          sentry.harakiri ? "harakiri" : "no harakiri", sentry.breadcrumbs,
	          sentry.sessions > 0 ? "release health" : sentry.sessions ? "no release health (no release: set SENTRY_RELEASE or release= in sentry-options)"
	                                                                  : "no release health",
	          sentry.logs > 0 ? "Sentry Logs at " : "no Sentry Logs", sentry.logs > 0 ? sentry_levels[sentry.logs] : "",
	          sentry.traces >= 0 ? traces : "no traces", sentry.path, sentry.lane_bytes >> 10);
}
