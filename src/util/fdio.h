#ifndef NOSCO_UTIL_FDIO_H
#define NOSCO_UTIL_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * fd_write_all - all n bytes of p written to fd, at offset at (pwrite), or
 * at the file's position when at is negative (write: a terminal, a pipe),
 * through EINTRs (the commit ticker's signal); false on any other failure,
 * errno saying why
 */
bool fd_write_all(int fd, const void *p, size_t n, off_t at);

/*
 * fd_close_later - close fd on a thread of its own that nothing waits for
 * (here where none can be started; nothing for a negative fd): the last
 * close of a file already unlinked frees its space, a gigabyte's blocks in
 * about 250 ms here
 */
void fd_close_later(int fd);

#endif
