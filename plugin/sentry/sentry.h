/* sentry: the uWSGI side of uwsgi-sentry. C captures, Swift thinks.

   The loader turns uWSGI's troubles into frames and hands each to ONE long-lived
   `uwsgi-sentry daemon` per instance, with a non-blocking write on a socket pair
   the master made at load time: no fork per event, and no frame is lost while the
   daemon restarts (the master keeps the socket, so the kernel keeps what is queued).
   Everything else (options, grouping, budgets, scrubbing, sending) is Swift's.

   Files: sentry_plugin.c (options, handlers, registration), channel.c (frames and
   the daemon), capture.c (what workers are doing), defaults.c (one line of config). */

#include <uwsgi.h>

extern struct uwsgi_server uwsgi;

struct sentry_config {
	/* options */
	char *dsn, *options, *sender, *spool, *budget;
	struct uwsgi_string_list *log_regex;
	int exceptions, segfault, listen_queue, deaths, harakiri, breadcrumbs;
	/* state */
	int channel[2];   /* SOCK_SEQPACKET: [0] the daemon reads, [1] every sender writes */
	char *path;       /* the sender, resolved once at start-up; NULL: not found */
	int defaults;     /* a DSN is configured: the defaults are on */
	int needed;       /* something was queued for the daemon (atomic) */
	uint64_t *dropped; /* frames the channel could not take since the last one it took: shared
	                      memory, so a drop counted in one worker rides on any process's next frame */
	pid_t daemon;
	int pidfd;
	time_t started, next_start;
	int failures;
};
extern struct sentry_config sentry;

/* channel.c */
void sentry_channel_open(void);
struct uwsgi_buffer *sentry_frame(const char *kind);
int sentry_field(struct uwsgi_buffer *ub, const char *key, const char *value, size_t len);
int sentry_field_num(struct uwsgi_buffer *ub, const char *key, int64_t n);
void sentry_send(struct uwsgi_buffer *ub, int counted);
void sentry_daemon_check(void);
char *sentry_resolve_sender(void);

/* capture.c */
void sentry_add_cores(struct uwsgi_buffer *ub, int only_wid);
void sentry_harakiri(int wid);
void sentry_watch_deaths(void);

/* defaults.c */
void uwsgi_sentry_configure(void);
