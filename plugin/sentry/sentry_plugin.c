/* sentry: options, the old plugin's four names, registration. See sentry.h.

   exception-handler = sentry:OPTIONS   the master's exception thread: the packet
   alarm = NAME sentry:OPTIONS           alarm thread or log loop: the line, and what
                                         every worker is doing at that moment
   hook-PHASE = sentry:OPTIONS           the hook's process; never fatal
   route = REGEX sentry:OPTIONS          the worker; ${VAR}s expanded; never holds it
   and, on its own: a request's exception, from its worker (exceptions.c), harakiri
   (capture.c), the log lines as breadcrumbs, how each
   request ended (requests.c) and, sampled, each request as a transaction (traces.c). Each is one
   frame on the channel to the daemon (channel.c): a write, not a fork. */

#include "sentry.h"

int sentry_locals = 1;

struct sentry_config sentry = {
	.exceptions = -1, .sessions = -1, .traces = -1, .segfault = -1, .listen_queue = -1, .deaths = -1, .harakiri = -1, .breadcrumbs = -1,
	.events = {-1, -1}, .lines = {-1, -1}, .pidfd = -1,
};

/* true/false, yes/no, on/off, 1/0 (sentry-exceptions also takes always); anything
   else stops uWSGI at start-up, as its own options do. */
static void sentry_opt_bool(char *opt, char *value, void *flag) {
	if (!value || !strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on") || !strcmp(value, "1"))
		*((int *) flag) = 1;
	else if ((flag == &sentry.exceptions && !strcasecmp(value, "always")) || (flag == &sentry.sessions && !strcasecmp(value, "auto")))
		*((int *) flag) = 2;
	else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off") || !strcmp(value, "0"))
		*((int *) flag) = 0;
	else {
		uwsgi_log("[sentry] %s = %s: expected true or false%s\n", opt, value,
		          flag == &sentry.exceptions ? " (or always)" : flag == &sentry.sessions ? " (or auto)" : "");
		exit(1);
	}
}

static struct uwsgi_option sentry_options[] = {
	{"sentry-dsn", required_argument, 0, "Sentry DSN for every default event; with one, the defaults are on (default: $SENTRY_DSN)",
	 uwsgi_opt_set_str, &sentry.dsn, 0},
	{"sentry-options", required_argument, 0, "an option string for every event, e.g. logger=uwsgi,tags=app:shop",
	 uwsgi_opt_set_str, &sentry.options, 0},
	{"sentry-sender", required_argument, 0, "path of the uwsgi-sentry executable (default: uwsgi-sentry on PATH)",
	 uwsgi_opt_set_str, &sentry.sender, 0},
	{"sentry-spool", required_argument, 0, "where what Sentry has not taken yet waits (default: private, per instance)",
	 uwsgi_opt_set_str, &sentry.spool, 0},
	{"sentry-budget", required_argument, 0, "storm control: at most N events per fingerprint per SECONDS, 0 = none (default: 10/60)",
	 uwsgi_opt_set_str, &sentry.budget, 0},
	{"sentry-exceptions", required_argument, 0, "report exceptions that escape the app; always: also those of an app that runs its own sentry-sdk (default: true with a DSN)",
	 sentry_opt_bool, &sentry.exceptions, 0},
	{"sentry-locals", required_argument, 0, "read the local variables of Python exceptions' frames (scrubbed) (default: true)",
	 sentry_opt_bool, &sentry_locals, 0},
	{"sentry-segfault", required_argument, 0, "report crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) with the Python stack, native frames and loaded images (default: true with a DSN)",
	 sentry_opt_bool, &sentry.segfault, 0},
	{"sentry-listen-queue", required_argument, 0, "report a full listen queue with what every worker was doing (default: true with a DSN)",
	 sentry_opt_bool, &sentry.listen_queue, 0},
	{"sentry-worker-deaths", required_argument, 0, "report workers that die, with the signal and the request (default: true with a DSN)",
	 sentry_opt_bool, &sentry.deaths, 0},
	{"sentry-harakiri", required_argument, 0, "report harakiri with the request and the stuck stack (default: true with a DSN)",
	 sentry_opt_bool, &sentry.harakiri, 0},
	{"sentry-sessions", required_argument, 0, "release health: how every request ended, each minute; auto: not when the app's own sentry-sdk tracks sessions (default: auto with a DSN and a release)",
	 sentry_opt_bool, &sentry.sessions, 0},
	{"sentry-logs", required_argument, 0, "uWSGI's log lines and its requests at LEVEL or above as Sentry Logs: trace, debug, info, warning, error, fatal, or off (default: off)",
	 sentry_opt_level, &sentry.logs, 0},
	{"sentry-traces", required_argument, 0, "every request a transaction, sampled at RATE (0 to 1); always: also when the app's own sentry-sdk traces (default: off)",
	 sentry_opt_traces, NULL, 0},
	{"sentry-traces-route", required_argument, 0, "a request whose path matches REGEX is the transaction NAME (repeatable)",
	 uwsgi_opt_add_string_list, &sentry.traces_routes, 0},
	{"sentry-breadcrumbs", required_argument, 0, "log lines before an event as breadcrumbs, 0 = none (default: 30 with a DSN)",
	 uwsgi_opt_set_int, &sentry.breadcrumbs, 0},
	{"sentry-log-regex", required_argument, 0, "also report log lines matching this regex (repeatable)",
	 uwsgi_opt_add_string_list, &sentry.log_regex, 0},
	UWSGI_END_OF_OPTIONS
};

void sentry_event(const char *kind, char *options, char *body, size_t len, int cores) {
	struct uwsgi_buffer *ub = sentry_frame(kind);
	if (ub && ((options && sentry_field(ub, "options", options, strlen(options))) || sentry_field(ub, "body", body, len) ||
	           sentry_field_num(ub, "now_us", uwsgi_micros()) || (!strcmp(kind, "log") && sentry.logs > 0 && sentry_add_in_flight(ub)))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	if (ub && cores) sentry_add_cores(ub, 0);
	sentry_send(ub, !strcmp(kind, "log") ? SENTRY_LINE : !strcmp(kind, "exception") ? SENTRY_ERROR : SENTRY_EVENT);
}

static int sentry_exception(struct uwsgi_exception_handler_instance *uehi, char *buf, size_t len) {
	return sentry_event("exception", uehi->arg, buf, len, 0), 0;
}

static void sentry_alarm_init(struct uwsgi_alarm_instance *uai) { (void) uai; }

static void sentry_alarm(struct uwsgi_alarm_instance *uai, char *msg, size_t len) {
	sentry_event("alarm", uai->arg, msg, len, 1);
}

/* Every log line, for the daemon's ring of breadcrumbs and (sentry-logs) as a record,
   with the request in flight (defaults.c adds the rule). */
static void sentry_log_line(struct uwsgi_alarm_instance *uai, char *msg, size_t len) {
	(void) uai;
	sentry_event("log", NULL, msg, len, 0);
}

static int sentry_hook(char *arg) {
	sentry_event("hook", arg, "", 0, 0);
	return 0;
}

static int sentry_route(struct uwsgi_route *ur, char *arg) {
	ur->func = sentry_route_func;
	ur->data = arg;
	ur->data_len = strlen(arg);
	return 0;
}

/* Workers only write: the read ends stay with the master and the daemon. */
static void sentry_post_fork(void) {
	if (uwsgi.mywid <= 0) return;
	sentry_requests_post_fork();
	sentry_traces_post_fork();
	sentry_crash_start();
	if (sentry.events[0] >= 0) close(sentry.events[0]);
	if (sentry.lines[0] >= 0) close(sentry.lines[0]);
	sentry.events[0] = sentry.lines[0] = -1;
}

/* Every turn of the master's loop (at least once a second): a worker's death, seen
   before it is reaped; what the lanes refused; the daemon, started or started again. */
static void sentry_master_cycle(void) {
	sentry_watch_deaths();
	sentry_tell_drops();
	sentry_tell_sessions();
	sentry_tell_traces();
	sentry_daemon_check();
}

static void sentry_on_load(void) {
	sentry_channel_open();
	uwsgi_register_exception_handler("sentry", sentry_exception);
	uwsgi_register_alarm("sentry", sentry_alarm_init, sentry_alarm);
	uwsgi_register_alarm("sentry-log", sentry_alarm_init, sentry_log_line);
	uwsgi_register_hook("sentry", sentry_hook);
	uwsgi_register_router("sentry", sentry_route);
	/* After every option is read, before uWSGI builds its alarms (defaults.c). */
	uwsgi_string_new_list(&uwsgi.call_asap, "uwsgi_sentry_configure");
}

struct uwsgi_plugin sentry_plugin = {
	.name = "sentry",
	.options = sentry_options,
	.on_load = sentry_on_load,
	.post_fork = sentry_post_fork,
	.master_cycle = sentry_master_cycle,
	.harakiri = sentry_harakiri,
};
