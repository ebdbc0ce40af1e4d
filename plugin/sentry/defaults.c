/* One line of config: `plugin = sentry` and a DSN (SENTRY_DSN, or sentry-dsn) turn
   on every default; each one can be turned off with its own sentry-* option.

   This runs from uWSGI's call-asap list, so after every option has been read and
   before uWSGI turns its alarm and exception-handler lists into instances. Without
   a DSN nothing is added: old configs (alarm = NAME sentry:OPTIONS) get exactly
   the events they name. A default that the config already routes to the sentry
   engine is left out, so nothing is reported twice. Then ONE log line says what is on. */

#include "sentry.h"

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

void uwsgi_sentry_configure(void) {
	char *env = getenv("SENTRY_DSN");
	sentry.defaults = (sentry.dsn && *sentry.dsn) || (env && *env);
	sentry.path = sentry_resolve_sender();
	uwsgi.master_process = 1; /* the master starts and keeps the daemon */
	/* Which instance this is (its first socket): the daemon's spool, and that of every
	   child uWSGI starts (a cron's `uwsgi-sentry monitor`, a safeexec hook), is its. */
	setenv("UWSGI_SENTRY_INSTANCE", uwsgi.sockets && uwsgi.sockets->name ? uwsgi.sockets->name : uwsgi.cwd ? uwsgi.cwd : "uwsgi", 0);
	on(&sentry.harakiri, sentry.defaults);
	on(&sentry.breadcrumbs, sentry.defaults ? 30 : 0);
	if (!sentry.defaults) {
		on(&sentry.exceptions, 0); on(&sentry.segfault, 0); on(&sentry.listen_queue, 0); on(&sentry.deaths, 0);
		uwsgi_log("[sentry] no SENTRY_DSN and no sentry-dsn: only the events this config names%s\n",
		          sentry.path ? "" : " (and uwsgi-sentry is not on PATH: set sentry-sender)");
		return;
	}
	if (!sentry.path) {
		uwsgi_log("[sentry] %s not found: set sentry-sender; nothing will be reported\n", sentry.sender ? sentry.sender : "uwsgi-sentry (on PATH)");
		return;
	}
	uwsgi.log_master = 1; /* log alarms need the master's log loop */
	uwsgi_string_new_list(&uwsgi.alarm_list, "sentry-default sentry:");
	struct uwsgi_string_list *usl;
	if (on(&sentry.exceptions, 1) && sentry_handler_configured()) sentry.exceptions = 0;
	if (sentry.exceptions) uwsgi_string_new_list(&uwsgi.exception_handlers_instance, "sentry:");
	if (on(&sentry.segfault, 1) && !sentry_engine_attached(uwsgi.alarm_segfault))
		uwsgi_string_new_list(&uwsgi.alarm_segfault, "sentry-default");
	if (on(&sentry.listen_queue, 1) && !sentry_engine_attached(uwsgi.alarm_backlog))
		uwsgi_string_new_list(&uwsgi.alarm_backlog, "sentry-default");
	/* FIRST among log alarms: our own lines never feed an alarm (a matching negative
	   rule stops uWSGI's scan). */
	usl = uwsgi_calloc(sizeof(struct uwsgi_string_list));
	usl->value = "sentry-default uwsgi-sentry: |^\\[sentry\\] ";
	usl->len = strlen(usl->value);
	usl->custom = 1;
	usl->next = uwsgi.alarm_logs_list;
	uwsgi.alarm_logs_list = usl;
	if (on(&sentry.deaths, 1))
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, "sentry-default DAMN ! worker [0-9]+ \\(pid: [0-9]+\\) (died|MISTERIOUSLY)");
	uwsgi_foreach(usl, sentry.log_regex) {
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, uwsgi_concat2("sentry-default ", usl->value));
	}
	if (sentry.breadcrumbs > 0) {
		uwsgi_string_new_list(&uwsgi.alarm_list, "sentry-log sentry-log:");
		uwsgi_string_new_list(&uwsgi.alarm_logs_list, "sentry-log .");
	}
	__atomic_store_n(&sentry.needed, 1, __ATOMIC_RELAXED);
	uwsgi_log("[sentry] reporting %s%s%s%s%s; %d log lines as breadcrumbs; sender %s (one daemon)\n",
	          sentry.exceptions ? "exceptions, " : "", sentry.segfault ? "segfaults, " : "",
	          sentry.listen_queue ? "full listen queues, " : "", sentry.deaths ? "worker deaths, " : "",
	          sentry.harakiri ? "harakiri" : "no harakiri", sentry.breadcrumbs, sentry.path);
}
