/* A C library that fails an assert() or divides by zero: the tests build it (gcc
   -shared) and the app loads it with ctypes at request time, as a late-loaded
   extension would be. */
#include <assert.h>

int crashy_check(int n) {
	assert(n > 0 && "crashy_check wants a positive n");
	return n;
}

int crashy_divide(int n) {
	return 100 / n;
}
