#include "util/fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "util/thread.h"

#define CLOSER_STACK (64u << 10)

bool fd_write_all(int fd, const void *p, size_t n, off_t at)
{
	const char *s = p;

	while (n) {
		ssize_t w = at < 0 ? write(fd, s, n) : pwrite(fd, s, n, at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
		if (at >= 0)
			at += w;
	}
	return true;
}

static void *closer(void *arg)
{
	pthread_setname_np(pthread_self(), "nosco-closer");
	close((int)(intptr_t)arg);
	return NULL;
}

void fd_close_later(int fd)
{
	pthread_attr_t attr;
	pthread_t thread;

	if (fd < 0)
		return;
	if (pthread_attr_init(&attr)) {
		close(fd);
		return;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CLOSER_STACK);
	if (thread_start(&thread, &attr, closer, (void *)(intptr_t)fd))
		close(fd);
	pthread_attr_destroy(&attr);
}
