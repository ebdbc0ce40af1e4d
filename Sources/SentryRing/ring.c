/* SwiftPM builds a C target from sources; the ring is all static inline, in the header. */
#include "SentryRing.h"
