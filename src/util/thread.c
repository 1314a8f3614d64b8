#include "util/thread.h"

#include <signal.h>

int thread_start(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	sigset_t all, mask;
	int rc;

	/* the new thread starts with the mask of the one that creates it */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &mask);
	rc = pthread_create(thread, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	return rc;
}
