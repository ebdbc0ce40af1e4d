/* The crash's frame, written in a signal handler: the frame's own memory (reserved
   at worker start, touched only at a crash), items laid out as channel.c's, numbers
   formatted by hand (snprintf is not async-signal-safe), files read with read(),
   and one send() on the events lane, which may wait a moment for room. */

#include "crash.h"
#include <sys/mman.h>

#define SENTRY_CRASH_BYTES (1 << 20)
static char *out;
static size_t pos, limit;

int sentry_crash_frame_reserve(void) {
	if (out) return 1;
	out = mmap(NULL, SENTRY_CRASH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED) out = NULL;
	return out != NULL;
}

/* A frame the lane can take whole: no bigger than its send buffer. */
int sentry_crash_frame_begin(void) {
	limit = sentry.lane_bytes > 4096 ? (size_t) sentry.lane_bytes - 512 : 0;
	if (limit > SENTRY_CRASH_BYTES) limit = SENTRY_CRASH_BYTES;
	if (!out || limit < 4) return 0;
	memcpy(out, "USF1", 4);
	pos = 4;
	return 1;
}

/* An item's key and its value's length (u32le at `at`). */
static void sentry_crash_key(const char *key, size_t klen) {
	out[pos++] = (char) klen;
	memcpy(out + pos, key, klen);
	pos += klen;
}

static void sentry_crash_length(size_t at, size_t len) {
	for (int i = 0; i < 4; i++) out[at + i] = (char) ((len >> (8 * i)) & 0xff);
}

/* What does not fit is left out. */
void sentry_crash_put(const char *key, const char *value, size_t len) {
	size_t klen = strlen(key);
	if (pos + 5 + klen + len > limit) return;
	sentry_crash_key(key, klen);
	sentry_crash_length(pos, len);
	memcpy(out + pos + 4, value, len);
	pos += 4 + len;
}

/* `n` in base 10 (signed) or 16 (with 0x). */
size_t sentry_crash_number(char *buf, int64_t n, int hex) {
	char digits[24];
	size_t i = 0, k = 0;
	uint64_t u = hex || n >= 0 ? (uint64_t) n : 0 - (uint64_t) n; /* INT64_MIN too */
	if (!hex && n < 0) buf[k++] = '-';
	if (hex) { buf[k++] = '0'; buf[k++] = 'x'; }
	do { digits[i++] = "0123456789abcdef"[u % (hex ? 16 : 10)]; u /= hex ? 16 : 10; } while (u);
	while (i) buf[k++] = digits[--i];
	return k;
}

void sentry_crash_put_number(const char *key, int64_t n, int hex) {
	char buf[24];
	sentry_crash_put(key, buf, sentry_crash_number(buf, n, hex));
}

/* The rest of `fd` (the Python stack, the mappings), up to the frame's end. */
void sentry_crash_put_file(const char *key, int fd) {
	size_t klen = strlen(key), start, len;
	ssize_t n;
	if (fd < 0 || pos + 5 + klen > limit) return;
	sentry_crash_key(key, klen);
	start = pos;
	pos = start + 4;
	while (pos < limit && (n = read(fd, out + pos, limit - pos)) > 0) pos += (size_t) n;
	len = pos - start - 4;
	sentry_crash_length(start, len);
}

/* The lane may be full for a moment (a storm): a dying worker can wait a second.
   What never fits is counted, as every refused event is. */
void sentry_crash_send(void) {
	struct pollfd p = {.fd = sentry.events[1], .events = POLLOUT};
	__atomic_store_n(&sentry.shared->needed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sentry.shared->crashed, getpid(), __ATOMIC_RELAXED);
	for (int tries = 0; p.fd >= 0 && pos > 4 && tries < 20; tries++) {
		if (send(p.fd, out, pos, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) pos) return;
		if (errno != EAGAIN && errno != EWOULDBLOCK) break;
		poll(&p, 1, 50);
	}
	__atomic_add_fetch(&sentry.shared->dropped_errors, 1, __ATOMIC_RELAXED);
}
