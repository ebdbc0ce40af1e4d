/* The loader's log-lines ring, for the daemon to read: its one definition (layout,
   writer and reader) is the loader's own header. */
#include "../../../plugin/sentry/ring.h"
