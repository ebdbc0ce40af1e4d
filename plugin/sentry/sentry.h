/* sentry: the uWSGI side of uwsgi-sentry. C captures, Swift thinks.

   The loader turns uWSGI's troubles into frames and hands each to ONE long-lived
   `uwsgi-sentry daemon` per instance, with a non-blocking write on a socket pair
   the master made at load time: no fork per event, and no frame is lost while the
   daemon restarts (the master keeps the socket, so the kernel keeps what is queued).
   Everything else (options, grouping, budgets, scrubbing, sending) is Swift's.

   Files: sentry_plugin.c (options, handlers, registration), channel.c (frames, the
   two lanes, drop counts), ring.c and ring.h (log lines through shared memory),
   daemon.c (the daemon's start and supervision), capture.c (what workers are
   doing), deaths.c (a worker's death, before uWSGI reaps it), requests.c (how each
   request ended: release health), traces.c (each sampled request as a transaction),
   defaults.c (one line of config); crash/ (a crash told from inside the crashing
   thread). */

#include <uwsgi.h>

extern struct uwsgi_server uwsgi;

/* Where a frame travels, and how its loss is counted. Events have a lane of their
   own, so a storm of log lines (breadcrumbs) can never take an event's place; a
   dropped event is counted for a client report (an exception's as an error, the
   rest as default events), a dropped line for the line count, context not at all.
   A request's transaction travels with the lines (a flood of requests never takes an
   event's place) and is counted as a dropped transaction. */
enum sentry_lane { SENTRY_ERROR, SENTRY_EVENT, SENTRY_CONTEXT, SENTRY_LINE, SENTRY_TRACE };

/* What every process of the instance shares (mapped shared at load time): a frame
   written by a worker, a mule, a hook's process or a master thread must start the
   daemon, and its drops must reach Sentry even if no frame ever follows them. */
/* How a request ended, as Sentry's session aggregates count it (one each). */
enum sentry_end { SENTRY_EXITED, SENTRY_ERRORED, SENTRY_CRASHED, SENTRY_ABNORMAL, SENTRY_ENDS };

/* One minute's counts (`minute`: minutes since the epoch). Four slots, reused in turn:
   the master prepares each before its minute starts and hands it on after it ends. */
#define SENTRY_MINUTES 4
struct sentry_minute {
	int64_t minute;
	uint64_t ends[SENTRY_ENDS];
};

struct sentry_shared {
	int needed;              /* something was queued for the daemon */
	int64_t epoch;           /* when the instance made its lanes (us): with seq, each event frame's id */
	uint64_t seq;
	uint64_t dropped, dropped_errors; /* events a full lane refused, not yet told */
	uint64_t lines_dropped;  /* log lines likewise, and their bytes */
	uint64_t lines_dropped_bytes;
	struct sentry_minute minutes[SENTRY_MINUTES];
	uint64_t unslotted[SENTRY_ENDS]; /* counted before the master prepared the minute */
	int app_sdk_sessions;    /* a worker found the app's own sentry-sdk tracking sessions */
	uint64_t unsampled;      /* requests the sampling left out, not yet told */
	uint64_t traces_dropped; /* transactions the lines lane refused, not yet told */
	int app_sdk_traces;      /* a worker found the app's own sentry-sdk tracing */
	pid_t crashed;           /* the last worker whose crash the loader caught (its death is a crash, whatever its exit) */
};

struct sentry_config {
	/* options */
	char *dsn, *options, *sender, *spool, *budget;
	struct uwsgi_string_list *log_regex;
	int exceptions, segfault, listen_queue, deaths, harakiri, breadcrumbs;  /* exceptions 2: always */
	int sessions;             /* 1: count, 2: auto (not when the app's sentry-sdk does), 0: off */
	int session_period;       /* seconds between hand-overs of the current minute too (tests); 0: at its end */
	int logs;                 /* sentry-logs: records at this level or above (1 trace ... 6 fatal); 0: off */
	double traces;            /* sentry-traces: the sample rate, 0 to 1; < 0: off */
	char *traces_rate;        /* the same as the config wrote it (the sampling context's sample_rate) */
	int traces_always;        /* also when the app's own sentry-sdk traces */
	struct uwsgi_string_list *traces_routes; /* sentry-traces-route = REGEX NAME */
	/* state */
	int events[2], lines[2];  /* SOCK_SEQPACKET pairs: [0] the daemon reads, [1] every sender writes */
	int lane_bytes;           /* the events lane's send buffer, as the kernel granted it */
	char *path;               /* the sender, resolved once at start-up; NULL: not usable */
	char *path_problem;       /* why not, in a few words */
	int defaults;             /* a DSN is configured: the defaults are on */
	struct sentry_shared *shared;
	pid_t daemon;
	int pidfd;
	time_t started, next_start;
	int failures;
};
extern struct sentry_config sentry;
/* sentry-locals: sentry_pyframes reads it (by name) before it reads a frame's locals. */
extern int sentry_locals;

/* channel.c */
void sentry_channel_open(void);
struct uwsgi_buffer *sentry_frame(const char *kind);
int sentry_field(struct uwsgi_buffer *ub, const char *key, const char *value, size_t len);
int sentry_field_num(struct uwsgi_buffer *ub, const char *key, int64_t n);
void sentry_send(struct uwsgi_buffer *ub, enum sentry_lane lane);
int sentry_send_now(struct uwsgi_buffer *ub);
void sentry_tell_drops(void);

/* ring.c */
extern int sentry_ring_fd;
void sentry_ring_open(void);
int sentry_ring_line(struct uwsgi_buffer *ub);

/* daemon.c */
void sentry_resolve_sender(void);
void sentry_daemon_check(void);

/* capture.c */
void sentry_add_cores(struct uwsgi_buffer *ub, int only_wid);
int sentry_add_request(struct uwsgi_buffer *ub, struct wsgi_request *wsgi_req);
int sentry_add_in_flight(struct uwsgi_buffer *ub);
int sentry_route_func(struct wsgi_request *wsgi_req, struct uwsgi_route *ur);
void sentry_harakiri(int wid);

/* deaths.c */
void sentry_watch_deaths(void);

/* requests.c */
struct sentry_sdk_answer { time_t checked; int yes; };
int sentry_app_sdk(struct wsgi_request *wsgi_req, const char *symbol, struct sentry_sdk_answer *a, int *shared);
extern const char *sentry_levels[7];
void sentry_opt_level(char *opt, char *value, void *flag);
void sentry_requests_start(void);
void sentry_requests_post_fork(void);
void sentry_count_session(enum sentry_end end);
void sentry_tell_sessions(void);

/* traces.c */
void sentry_opt_traces(char *opt, char *value, void *flag);
void sentry_traces_configure(void);
void sentry_trace_request(struct wsgi_request *wsgi_req, int crashed);
void sentry_traces_post_fork(void);
void sentry_tell_traces(void);

/* crash/handler.c */
void sentry_crash_start(void);

/* sentry_plugin.c: one frame of `kind` (options, body, the time; `cores`: what every
   worker is doing), sent on its lane */
void sentry_event(const char *kind, char *options, char *body, size_t len, int cores);

/* exceptions.c */
int sentry_exceptions_from_workers(void);

/* defaults.c */
void uwsgi_sentry_configure(void);
