#ifndef NOSCO_UTIL_THREAD_H
#define NOSCO_UTIL_THREAD_H

#include <pthread.h>

/*
 * thread_start - pthread_create() with every signal blocked in the new
 * thread: signals (the commit ticker, Ctrl-C) are the tracer thread's, and
 * must wake it, never a helper. Return: pthread_create()'s.
 */
int thread_start(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

#endif
