/* sentry: the uWSGI side of uwsgi-sentry.

   It registers the old uwsgi-sentry plugin's four names (exception handler,
   alarm engine, hook action, route action) and does one thing for all of them:
   start the `uwsgi-sentry` sender, detached, with the option string and the
   payload on its stdin. No network I/O happens here, nothing waits for the
   sender, and no handler can fail uWSGI: a broken Sentry costs one fork. */

#include <uwsgi.h>
#include <sys/mman.h>

extern struct uwsgi_server uwsgi;

static char *sentry_sender; /* option sentry-sender; default: uwsgi-sentry on PATH */
static char *sentry_budget_opt; /* option sentry-budget = N/SECONDS, for the alarm engine */

static struct uwsgi_option sentry_options[] = {
	{"sentry-sender", required_argument, 0, "path of the uwsgi-sentry executable (default: found on PATH)",
	 uwsgi_opt_set_str, &sentry_sender, 0},
	{"sentry-budget", required_argument, 0, "alarm engine: at most N events per fingerprint per SECONDS (default 10/60, 0 = off)",
	 uwsgi_opt_set_str, &sentry_budget_opt, 0},
	UWSGI_END_OF_OPTIONS
};

/* The sender's path, resolved once in the parent (the child may only exec). */
static char *sentry_path(void) {
	static char *path;
	if (path) return path;
	char *name = sentry_sender ? sentry_sender : "uwsgi-sentry";
	if (strchr(name, '/')) return path = name;
	char *dirs = getenv("PATH");
	char *copy = uwsgi_str(dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
	char *ctx = NULL, *dir;
	for (dir = strtok_r(copy, ":", &ctx); dir; dir = strtok_r(NULL, ":", &ctx)) {
		char *candidate = uwsgi_concat3(dir, "/", name);
		if (!access(candidate, X_OK)) { path = candidate; break; }
		free(candidate);
	}
	free(copy);
	if (!path) uwsgi_log("[sentry] %s not found in PATH: set sentry-sender\n", name);
	return path;
}

static int sentry_write_all(int fd, const char *buf, size_t len) {
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return -1;
		buf += n;
		len -= (size_t) n;
	}
	return 0;
}

/* Starts `sender [mode]` with stdin = head (newlines flattened: it is one line),
   "\n", body. The payload goes into a memfd, so writing it never blocks; the
   double fork makes the sender nobody's child here: no zombie, and nothing for
   uWSGI's master to reap and log. */
static void sentry_spawn(char *mode, char *head, size_t head_len, char *body, size_t body_len) {
	char *path = sentry_path();
	if (!path) return;
	int fd = memfd_create("uwsgi-sentry", MFD_CLOEXEC);
	if (fd < 0) { uwsgi_error("[sentry] memfd_create()"); return; }
	size_t i;
	for (i = 0; i < head_len; i++) if (head[i] == '\n' || head[i] == '\r') head[i] = ' ';
	if (sentry_write_all(fd, head, head_len) || sentry_write_all(fd, "\n", 1) ||
	    sentry_write_all(fd, body, body_len) || lseek(fd, 0, SEEK_SET) < 0) {
		uwsgi_error("[sentry] writing the payload");
		close(fd);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		uwsgi_error("[sentry] fork()");
	} else if (pid == 0) {
		if (fork() == 0) {
			dup2(fd, 0);
			if (close_range(3, ~0U, 0)) {
				int max = (int) sysconf(_SC_OPEN_MAX), j;
				for (j = 3; j < max && j < 65536; j++) close(j);
			}
			setsid();
			char *argv[] = {path, mode, NULL};
			execv(path, argv);
			_exit(127);
		}
		_exit(0);
	} else {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR);
	}
	close(fd);
}

/* exception-handler = sentry:OPTIONS (runs in the master's exception thread, which
   serves every worker: it must return at once). */
static int sentry_exception(struct uwsgi_exception_handler_instance *uehi, char *buf, size_t len) {
	char *arg = uehi->arg ? uehi->arg : "";
	sentry_spawn("--uwsgi-exception", arg, strlen(arg), buf, len);
	return 0;
}

/* Storm control inside uWSGI: an alarm-log storm would otherwise cost a fork per
   line. Lines whose digit/hex runs mask alike share a budget; over it, a line costs
   a hash and a counter. The count goes to the next sender started (--dropped=N),
   which reports it to Sentry in a client report. */
#define SENTRY_SLOTS 64
static struct { uint64_t key; time_t start; unsigned used; } sentry_slots[SENTRY_SLOTS];
static unsigned long sentry_dropped;

static uint64_t sentry_fingerprint(const char *msg, size_t len) {
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char) msg[i];
		if (isdigit(c) && (i == 0 || !isalnum((unsigned char) msg[i - 1]))) {
			while (i < len && (isxdigit((unsigned char) msg[i]) || strchr("xX.:-", msg[i]))) i++;
			c = '#';
		} else i++;
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return h;
}

static int sentry_allow(const char *msg, size_t len) {
	int count = 10, seconds = 60;
	if (sentry_budget_opt && sscanf(sentry_budget_opt, "%d/%d", &count, &seconds) < 1) count = 10;
	if (count <= 0 || seconds <= 0) return 1;
	uint64_t key = sentry_fingerprint(msg, len);
	time_t now = uwsgi_now();
	int slot = (int) (key % SENTRY_SLOTS);
	if (sentry_slots[slot].key != key || now - sentry_slots[slot].start >= seconds) {
		sentry_slots[slot].key = key; /* a new window (or another fingerprint takes the slot) */
		sentry_slots[slot].start = now;
		sentry_slots[slot].used = 0;
	}
	if (sentry_slots[slot].used >= (unsigned) count) { sentry_dropped++; return 0; }
	sentry_slots[slot].used++;
	return 1;
}

/* alarm = NAME sentry:OPTIONS: the alarm's message follows the option string. */
static void sentry_alarm_init(struct uwsgi_alarm_instance *uai) { (void) uai; }

static void sentry_alarm(struct uwsgi_alarm_instance *uai, char *msg, size_t len) {
	if (!sentry_allow(msg, len)) return;
	char flag[48];
	snprintf(flag, sizeof(flag), "--dropped=%lu", sentry_dropped);
	sentry_spawn(sentry_dropped ? flag : NULL, uai->arg, strlen(uai->arg), msg, len);
	sentry_dropped = 0;
}

/* hook-PHASE = sentry:OPTIONS: never fatal, never waits. */
static int sentry_hook(char *arg) {
	sentry_spawn(NULL, arg, strlen(arg), "", 0);
	return 0;
}

/* route = REGEX sentry:OPTIONS: ${VAR}s expanded; the request is not held. A fork
   of a big worker costs milliseconds, so the expanded option string is queued to
   uWSGI's alarm thread (one writev) and the master starts the sender. Like every
   uWSGI alarm, a message identical to the previous one within alarm-freq is folded.
   Without an alarm thread (no master) the worker starts the sender itself. */
#define SENTRY_ROUTE_ALARM "uwsgi-sentry-route"

static void sentry_route_alarm(struct uwsgi_alarm_instance *uai, char *msg, size_t len) {
	(void) uai;
	sentry_spawn(NULL, msg, len, "", 0);
}

static int sentry_route_func(struct wsgi_request *wsgi_req, struct uwsgi_route *ur) {
	char **subject = (char **) (((char *) (wsgi_req)) + ur->subject);
	uint16_t *subject_len = (uint16_t *) (((char *) (wsgi_req)) + ur->subject_len);
	struct uwsgi_buffer *ub = uwsgi_routing_translate(wsgi_req, ur, *subject, *subject_len, ur->data, ur->data_len);
	if (!ub) return UWSGI_ROUTE_CONTINUE;
	if (uwsgi.alarm_thread && ub->pos <= (size_t) uwsgi.alarm_msg_size)
		uwsgi_alarm_trigger(SENTRY_ROUTE_ALARM, ub->buf, ub->pos);
	else
		sentry_spawn(NULL, ub->buf, ub->pos, "", 0);
	uwsgi_buffer_destroy(ub);
	return UWSGI_ROUTE_CONTINUE; /* as the old plugin did */
}

static int sentry_route(struct uwsgi_route *ur, char *arg) {
	static int alarm_defined;
	if (!alarm_defined++) uwsgi_string_new_list(&uwsgi.alarm_list, SENTRY_ROUTE_ALARM " sentry-route:");
	ur->func = sentry_route_func;
	ur->data = arg;
	ur->data_len = strlen(arg);
	return 0;
}

static void sentry_register(void) {
	uwsgi_register_exception_handler("sentry", sentry_exception);
	uwsgi_register_alarm("sentry", sentry_alarm_init, sentry_alarm);
	uwsgi_register_alarm("sentry-route", sentry_alarm_init, sentry_route_alarm);
	uwsgi_register_hook("sentry", sentry_hook);
	uwsgi_register_router("sentry", sentry_route);
}

struct uwsgi_plugin sentry_plugin = {
	.name = "sentry",
	.options = sentry_options,
	.on_load = sentry_register,
};
