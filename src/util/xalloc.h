/*
 * Allocation helpers. Running out of memory is the one failure nosco does
 * not try to recover from: these print a message and abort.
 */
#ifndef NOSCO_UTIL_XALLOC_H
#define NOSCO_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray - like reallocarray(3), aborting on overflow or OOM */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - a newly allocated formatted string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * xalloc_reserve - make the next bytes of the heap present now, in one
 * system call, rather than one page fault at a time as they are first
 * used (a fault costs 5 to 10 us in a VM, making a page present in bulk
 * under 1 us); allocations up to bytes, every thread's, come from that
 * heap from then on, and what the heap grows by later is made present at
 * the next allocation of these helpers.
 * Best effort: nothing happens where the heap cannot grow that way.
 */
void xalloc_reserve(size_t bytes);

#endif
