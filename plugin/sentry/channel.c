/* Frames, the two lanes they travel on, and the count of what did not fit.

   A frame is "USF1" then items: u8 key length, key, u32le value length, value.
   It goes in one send() on a SOCK_SEQPACKET pair: atomic, never blocking, safe from
   every thread of the master and from the workers (which inherit the write ends).
   Events and log lines have a lane each. A full lane drops the frame and counts it
   in shared memory; the master tells the count on its next cycle (at most a second
   later), so a drop reaches Sentry even when no frame follows it. */

#include "sentry.h"

/* Room for bursts: 4 MiB if we may (root at load time, or net.core.wmem_max allows
   it), else what the kernel grants. Returns what it granted. */
static int sentry_lane_open(int pair[2]) {
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair)) {
		uwsgi_error("[sentry] socketpair()");
		pair[0] = pair[1] = -1;
		return 0;
	}
	int size = 4 << 20, granted = 0;
	socklen_t len = sizeof(granted);
	if (setsockopt(pair[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	getsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &granted, &len);
	return granted / 2; /* the kernel doubles what it grants, for its own bookkeeping */
}

void sentry_channel_open(void) {
	sentry.shared = uwsgi_calloc_shared(sizeof(struct sentry_shared));
	sentry.shared->epoch = (int64_t) uwsgi_micros();
	sentry.lane_bytes = sentry_lane_open(sentry.events);
	sentry_lane_open(sentry.lines);
	sentry_ring_open();
}

struct uwsgi_buffer *sentry_frame(const char *kind) {
	struct uwsgi_buffer *ub = uwsgi_buffer_new(512);
	if (uwsgi_buffer_append(ub, "USF1", 4) || sentry_field(ub, "kind", kind, strlen(kind))) {
		uwsgi_buffer_destroy(ub);
		return NULL;
	}
	return ub;
}

int sentry_field(struct uwsgi_buffer *ub, const char *key, const char *value, size_t len) {
	uint8_t klen = (uint8_t) strlen(key);
	uint32_t vlen = (uint32_t) len;
	unsigned char le[4] = {vlen & 0xff, (vlen >> 8) & 0xff, (vlen >> 16) & 0xff, vlen >> 24};
	return uwsgi_buffer_append(ub, (char *) &klen, 1) || uwsgi_buffer_append(ub, (char *) key, klen) ||
	       uwsgi_buffer_append(ub, (char *) le, 4) || uwsgi_buffer_append(ub, (char *) value, len);
}

int sentry_field_num(struct uwsgi_buffer *ub, const char *key, int64_t n) {
	char num[24];
	int len = snprintf(num, sizeof(num), "%lld", (long long) n);
	return sentry_field(ub, key, num, (size_t) len);
}

/* Sends and destroys `ub` (NULL: a frame that could not be made). Never blocks, never
   logs (a line per event would feed the log alarms that produce events). An event's
   frame gets an id of the instance's own: a daemon killed after reading it, before
   spooling it, leaves it to the next, which makes the same event of it (same id). */
void sentry_send(struct uwsgi_buffer *ub, enum sentry_lane lane) {
	struct sentry_shared *s = sentry.shared;
	int fd = lane == SENTRY_LINE || lane == SENTRY_TRACE ? sentry.lines[1] : sentry.events[1];
	if (ub && lane != SENTRY_LINE && lane != SENTRY_TRACE) {
		char id[48];
		int n = snprintf(id, sizeof(id), "%lld.%llu", (long long) s->epoch,
		                 (unsigned long long) __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELAXED));
		if (sentry_field(ub, "id", id, (size_t) n)) { uwsgi_buffer_destroy(ub); ub = NULL; }
	}
	size_t len = ub ? ub->pos : 0;
	__atomic_store_n(&s->needed, 1, __ATOMIC_RELAXED);
	int ringed = ub && lane == SENTRY_LINE ? sentry_ring_line(ub) : 0;
	if (ringed > 0 || (ub && !ringed && fd >= 0 && send(fd, ub->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) len)) {
		uwsgi_buffer_destroy(ub);
		return;
	}
	if (lane == SENTRY_ERROR) __atomic_add_fetch(&s->dropped_errors, 1, __ATOMIC_RELAXED);
	if (lane == SENTRY_EVENT) __atomic_add_fetch(&s->dropped, 1, __ATOMIC_RELAXED);
	if (lane == SENTRY_TRACE) __atomic_add_fetch(&s->traces_dropped, 1, __ATOMIC_RELAXED);
	if (lane == SENTRY_LINE) {
		__atomic_add_fetch(&s->lines_dropped, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->lines_dropped_bytes, len, __ATOMIC_RELAXED);
	}
	if (ub) uwsgi_buffer_destroy(ub);
}

/* The master's own frames (counts it holds): sent on the events lane, or kept by the
   caller for its next cycle (-1). Destroys `ub` either way. */
int sentry_send_now(struct uwsgi_buffer *ub) {
	int sent = ub && sentry.events[1] >= 0 &&
	           send(sentry.events[1], ub->buf, ub->pos, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) ub->pos;
	if (ub) uwsgi_buffer_destroy(ub);
	return sent ? 0 : -1;
}

/* From the master's loop: what the lanes refused since the last time, as one frame,
   at most once a second (uWSGI turns its loop for every log record: in a log storm,
   a tally per turn would fill the events lane with tallies). When the frame does
   not fit either, the counts wait for the next second. */
void sentry_tell_drops(void) {
	static time_t last;
	struct sentry_shared *s = sentry.shared;
	time_t now = uwsgi_now();
	if (now == last) return;
	last = now;
	if (!s || !(__atomic_load_n(&s->dropped, __ATOMIC_RELAXED) | __atomic_load_n(&s->dropped_errors, __ATOMIC_RELAXED) |
	            __atomic_load_n(&s->lines_dropped, __ATOMIC_RELAXED) | __atomic_load_n(&s->unsampled, __ATOMIC_RELAXED) |
	            __atomic_load_n(&s->traces_dropped, __ATOMIC_RELAXED))) return;
	uint64_t events = __atomic_exchange_n(&s->dropped, 0, __ATOMIC_RELAXED);
	uint64_t errors = __atomic_exchange_n(&s->dropped_errors, 0, __ATOMIC_RELAXED);
	uint64_t lines = __atomic_exchange_n(&s->lines_dropped, 0, __ATOMIC_RELAXED);
	uint64_t bytes = __atomic_exchange_n(&s->lines_dropped_bytes, 0, __ATOMIC_RELAXED);
	uint64_t unsampled = __atomic_exchange_n(&s->unsampled, 0, __ATOMIC_RELAXED);
	uint64_t traces = __atomic_exchange_n(&s->traces_dropped, 0, __ATOMIC_RELAXED);
	struct uwsgi_buffer *ub = sentry_frame("tally");
	if (ub && !sentry_field_num(ub, "dropped", (int64_t) events) && !sentry_field_num(ub, "dropped_errors", (int64_t) errors) &&
	    !sentry_field_num(ub, "lines_dropped", (int64_t) lines) &&
	    !sentry_field_num(ub, "lines_dropped_bytes", (int64_t) bytes) && !sentry_field_num(ub, "unsampled", (int64_t) unsampled) &&
	    !sentry_field_num(ub, "traces_dropped", (int64_t) traces) && !sentry_send_now(ub)) return;
	__atomic_add_fetch(&s->dropped, events, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->dropped_errors, errors, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->lines_dropped, lines, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->lines_dropped_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->unsampled, unsampled, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->traces_dropped, traces, __ATOMIC_RELAXED);
}

/* sentry_pyframes (by name), from whichever process: an exception no request carries
   (a packet of uWSGI's shape), or a check-in of the app's own cron. */
void sentry_forward(const char *kind, char *body, size_t len) {
	if (!sentry.defaults || (!strcmp(kind, "exception") && sentry.exceptions <= 0) || (!strcmp(kind, "task") && sentry.traces < 0)) return;
	struct uwsgi_buffer *ub = sentry_frame(kind);
	if (ub && (sentry_field(ub, "body", body, len) || sentry_field_num(ub, "now_us", uwsgi_micros()))) {
		uwsgi_buffer_destroy(ub);
		ub = NULL;
	}
	sentry_send(ub, strcmp(kind, "exception") ? SENTRY_EVENT : SENTRY_ERROR);
}
