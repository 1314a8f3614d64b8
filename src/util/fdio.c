#include "util/fdio.h"

#include <errno.h>
#include <unistd.h>

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
