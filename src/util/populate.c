#include "util/populate.h"

#include <stdint.h>

static void populate(const void *p, size_t len, int advice)
{
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095, hi = (uintptr_t)p + len;

	if (len)
		madvise((void *)lo, hi - lo, advice);
}

void populate_read(const void *p, size_t len)
{
	populate(p, len, MADV_POPULATE_READ);
}

void populate_write(void *p, size_t len)
{
	populate(p, len, MADV_POPULATE_WRITE);
}
