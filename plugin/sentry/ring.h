/* The log lines' ring: the loader's busiest path (uWSGI's master reads a log line per
   turn of its loop, and the loader forwards each) as a copy into shared memory, not a
   send() per line (perf: the send, an skb each, was most of what forwarding a line
   cost the master). One writing process (the master; its threads take turns), one
   reader (the daemon), which is woken only when it asked to be: `wanted` is set
   before it waits, and the line that finds it set sends one wake on the lines lane.

   Header-only, one definition of the layout for both sides: the loader writes
   (ring.c); the daemon reads (Swift, through Sources/SentryRing).

   The ring is a memfd (the daemon's fd 5, UWSGI_SENTRY_RING): this header, then
   `size` bytes of records, each a u32 length (host order) and a frame ("USF1 ...").
   A record never wraps: where the rest of the ring is too short for the next one, a
   length of SENTRY_RING_SKIP (or fewer than 4 bytes left) says "go on at 0". head and
   tail count the bytes ever written and ever read. */

#ifndef SENTRY_RING_H
#define SENTRY_RING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SENTRY_RING_MAGIC 0x31474e52u /* "RNG1" */
#define SENTRY_RING_SKIP 0xffffffffu

struct sentry_ring {
	uint32_t magic;
	uint32_t size;   /* bytes of records after this header */
	uint32_t wanted; /* the reader is about to wait: wake it */
	uint32_t unused;
	uint64_t head;   /* written by the writer only */
	uint64_t tail;   /* written by the reader only */
	unsigned char data[];
};

/* The writer's side. `size` is the writer's own copy. 1: the record is in and the
   reader asked for a wake; 0: in; -1: no room (too large: more than half the ring). */
static inline int sentry_ring_put(struct sentry_ring *r, uint32_t size, const void *bytes, uint32_t n) {
	uint64_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint64_t at = head % size, room = size - at, skip = room < 4 + (uint64_t) n ? room : 0;
	if (4 + (uint64_t) n > size / 2 || head - tail > size || head - tail + skip + 4 + n > size) return -1;
	if (skip) {
		uint32_t mark = SENTRY_RING_SKIP;
		if (room >= 4) memcpy(r->data + at, &mark, 4);
		at = 0;
	}
	memcpy(r->data + at, &n, 4);
	memcpy(r->data + at + 4, bytes, n);
	/* Sequentially consistent with the reader's arm: either it sees this record, or
	   this writer sees that it waits. */
	__atomic_store_n(&r->head, head + skip + 4 + n, __ATOMIC_SEQ_CST);
	return __atomic_exchange_n(&r->wanted, 0, __ATOMIC_SEQ_CST) ? 1 : 0;
}

/* The reader's side; `size` is its own copy, checked when it mapped the ring. The
   record at `*pos`: 1 (its bytes, in place, until the reader releases them), 0: none
   yet, -1: what is there makes no sense (the reader starts over at head). */
static inline int sentry_ring_next(const struct sentry_ring *r, uint32_t size, uint64_t *pos,
                                   const unsigned char **bytes, uint32_t *n) {
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	while (*pos != head) {
		if (head - *pos > size) return -1;
		uint64_t at = *pos % size, room = size - at;
		uint32_t len = SENTRY_RING_SKIP;
		if (room >= 4) memcpy(&len, r->data + at, 4);
		if (len == SENTRY_RING_SKIP) {
			*pos += room;
			continue;
		}
		if (len > room - 4 || 4 + (uint64_t) len > head - *pos) return -1;
		*bytes = r->data + at + 4;
		*n = len;
		*pos += 4 + len;
		return 1;
	}
	return 0;
}

static inline size_t sentry_ring_header(void) { return offsetof(struct sentry_ring, data); }

static inline uint64_t sentry_ring_tail(const struct sentry_ring *r) { return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE); }

static inline uint64_t sentry_ring_head(const struct sentry_ring *r) { return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE); }

/* What the reader has read is the writer's again. */
static inline void sentry_ring_release(struct sentry_ring *r, uint64_t pos) { __atomic_store_n(&r->tail, pos, __ATOMIC_RELEASE); }

/* The reader is about to wait for a wake: 1 when records are there already (it
   need not wait). */
static inline int sentry_ring_arm(struct sentry_ring *r, uint64_t pos) {
	__atomic_store_n(&r->wanted, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&r->head, __ATOMIC_SEQ_CST) != pos;
}

static inline void sentry_ring_disarm(struct sentry_ring *r) { __atomic_store_n(&r->wanted, 0, __ATOMIC_RELAXED); }

#endif
