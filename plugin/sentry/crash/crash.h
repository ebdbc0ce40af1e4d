/* crash/: a worker's crash, told from inside the crashing thread (handler.c), with
   its Python stack (python.c), as one frame (frame.c). Only async-signal-safe work
   runs at a crash; everything it needs is made at worker start. */

#include "../sentry.h"

/* frame.c */
int sentry_crash_frame_reserve(void);
int sentry_crash_frame_begin(void);
void sentry_crash_put(const char *key, const char *value, size_t len);
size_t sentry_crash_number(char *buf, int64_t n, int hex);
void sentry_crash_put_number(const char *key, int64_t n, int hex);
void sentry_crash_put_file(const char *key, int fd);
void sentry_crash_send(void);

/* python.c */
void sentry_crash_python_start(void);
int sentry_crash_python(int sig, struct sigaction *below);
