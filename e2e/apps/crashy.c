/* A C library that fails an assert(): the tests build it (gcc -shared) and the app
   loads it with ctypes at request time, as a late-loaded extension would be. */
#include <assert.h>

int crashy_check(int n) {
	assert(n > 0 && "crashy_check wants a positive n");
	return n;
}
