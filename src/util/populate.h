/*
 * Making memory present at once instead of a page fault at a time: a
 * fault costs 5 to 10 us on the VMs nosco is developed on, a page made
 * present in bulk under 1 us. Best effort: Linux 5.14 on, and nothing
 * happens where the call fails.
 */
#ifndef NOSCO_UTIL_POPULATE_H
#define NOSCO_UTIL_POPULATE_H

#include <stddef.h>
#include <sys/mman.h>

/* for headers older than Linux 5.14 (the program's madvise() gets them too) */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* populate_read - the pages of [p, p + len) mapped readable, as a read would fault them in */
void populate_read(const void *p, size_t len);

/* populate_write - the pages of [p, p + len) present and writable (private ones copied) */
void populate_write(void *p, size_t len);

/*
 * populate_code - the read-only segments of nosco and its libraries mapped:
 * a page cache page costs a fault of 13 to 16 us here at its first use
 */
void populate_code(void);

#endif
