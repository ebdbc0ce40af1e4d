/* The log lines' ring (ring.h), the master's side: made with the lanes, handed to
   the daemon as fd 5. Only the process that made it writes (a child of any kind
   forgets it at fork: its lines take the lane); that process's threads (the log
   loop, the alarm thread) take turns. */

#include "sentry.h"
#include "ring.h"
#include <sys/mman.h>

#define SENTRY_RING_BYTES (1 << 20) /* ~7,000 lines of 130 bytes: more than the lane held */

static struct sentry_ring *ring;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t ring_size;
int sentry_ring_fd = -1;

static void sentry_ring_forget(void) { ring = NULL; }

/* No ring (no memfd here): the lines take the lane, as before. */
void sentry_ring_open(void) {
	size_t bytes = sizeof(struct sentry_ring) + SENTRY_RING_BYTES;
	int fd = memfd_create("uwsgi-sentry-lines", MFD_CLOEXEC);
	if (fd < 0) return;
	void *p = ftruncate(fd, (off_t) bytes) ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	ring = p;
	ring->magic = SENTRY_RING_MAGIC;
	ring->size = ring_size = SENTRY_RING_BYTES;
	sentry_ring_fd = fd;
	pthread_atfork(NULL, NULL, sentry_ring_forget);
}

/* 1: the frame is in the ring; 0: no ring in this process (the lane, then); -1: no
   room (the caller counts it as dropped: the lane would put it out of order). */
int sentry_ring_line(struct uwsgi_buffer *ub) {
	if (!ring) return 0;
	if (ub->pos > UINT32_MAX) return -1;
	pthread_mutex_lock(&ring_lock);
	int in = sentry_ring_put(ring, ring_size, ub->buf, (uint32_t) ub->pos);
	pthread_mutex_unlock(&ring_lock);
	/* The daemon asked for a wake: one record on its lines lane (lost when the lane is
	   full: the daemon looks at the ring at least once a second anyway). */
	if (in == 1 && sentry.lines[1] >= 0) send(sentry.lines[1], "USR1", 4, MSG_DONTWAIT | MSG_NOSIGNAL);
	return in < 0 ? -1 : 1;
}
