/* The owner of an object that is not thread-safe, checked in debug builds (owner.h). */
#include <stdio.h>
#include <stdlib.h>

#include "util/owner.h"

void owner_init(struct owner *o)
{
	owner_take(o);
}

void owner_give(struct owner *o, pthread_t to)
{
	__atomic_store_n(&o->thread, to, __ATOMIC_RELEASE);
}

void owner_take(struct owner *o)
{
	owner_give(o, pthread_self());
}

bool owner_is_me(const struct owner *o)
{
	return pthread_equal(__atomic_load_n(&o->thread, __ATOMIC_ACQUIRE), pthread_self());
}

void owner_check(const struct owner *o, const char *what)
{
	if (owner_is_me(o))
		return;
	/* An assertion: the program is wrong, not its input. */
	fprintf(stderr, "nosco: internal error: %s called by a thread that does not own it\n",
	        what);
	abort();
}

bool owner_checks_on(void)
{
#ifdef NOSCO_DEBUG
	return true;
#else
	return false;
#endif
}
