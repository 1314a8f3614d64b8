/*
 * Which thread may use an object that is not thread-safe: the tracer core
 * and the trace writer belong to one thread at a time (the tracer thread,
 * or the dbt engine's replay worker while it has work: dbt/async.c), and
 * pass from one to the other only by an explicit hand-over.
 *
 * OWNER_CHECK() at an object's entry points aborts with a message naming
 * the function when the calling thread is not the owner. It is compiled in
 * debug builds only (NOSCO_DEBUG: `make DEBUG=1` and `make ASAN=1`), so
 * that other builds run at the same speed; owner_check() itself is always
 * there (the unit test calls it).
 */
#ifndef NOSCO_UTIL_OWNER_H
#define NOSCO_UTIL_OWNER_H

#include <pthread.h>
#include <stdbool.h>

struct owner {
	pthread_t thread; /* read and written with atomics: another thread may check */
};

/* owner_init - o belongs to the calling thread */
void owner_init(struct owner *o);
/* owner_give - o belongs to the thread to from now on */
void owner_give(struct owner *o, pthread_t to);
/* owner_take - o belongs to the calling thread from now on (owner_give to itself) */
void owner_take(struct owner *o);
/* owner_is_me - does o belong to the calling thread? */
bool owner_is_me(const struct owner *o);
/* owner_check - abort, naming what (a function), if o does not belong to the calling thread */
void owner_check(const struct owner *o, const char *what);
/* owner_checks_on - was the library built with the checks (NOSCO_DEBUG)? */
bool owner_checks_on(void);

#ifdef NOSCO_DEBUG
#define OWNER_CHECK(o) owner_check((o), __func__)
#else
#define OWNER_CHECK(o) ((void)0)
#endif

#endif
