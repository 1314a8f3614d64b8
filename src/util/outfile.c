/* A command's output file: see outfile.h. */
#include "util/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"
#include "util/xalloc.h"

/* The stream's writes: all of it, or remember why not (stdio keeps no errno). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	struct outfile *o = cookie;
	size_t done = 0;
	ssize_t w;

	o->bytes += n;
	while (done < n && !o->error) {
		w = write(o->fd, buf + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w < 0 && errno != EINTR)
			o->error = errno;
		else if (w == 0)
			o->error = EIO;
	}
	return o->error ? 0 : (ssize_t)n; /* 0: an error, for stdio */
}

static int cookie_close(void *cookie)
{
	struct outfile *o = cookie;

	/* close() reports what NFS could not write back */
	if (o->own_fd && close(o->fd) && !o->error)
		o->error = errno;
	return o->error ? -1 : 0;
}

/* The stream over o->fd; the descriptor is closed on failure when owned. */
static int open_stream(struct outfile *o, int fd, bool own, struct err *err)
{
	static const cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };

	if (fd < 0)
		return err_sys(err, ERR_IO, "cannot write %s", o->name);
	o->fd = fd;
	o->own_fd = own;
	o->f = fopencookie(o, "w", io);
	if (!o->f) {
		err_sys(err, ERR_IO, "cannot write %s", o->name);
		if (own)
			close(fd);
		return -1;
	}
	/* as stdio does: a terminal sees each line as it is written */
	if (isatty(fd))
		setvbuf(o->f, NULL, _IOLBF, 0);
	return 0;
}

/*
 * /dev/stdout and its kin name a descriptor nosco already has; opening the
 * name again would start at offset 0 of a file the shell opened for
 * appending. The descriptor, or -1.
 */
static int std_fd(const char *out)
{
	static const char *const prefixes[] = { "/dev/fd/", "/proc/self/fd/" };
	const char *digits;
	size_t i;

	if (!strcmp(out, "/dev/stdout"))
		return 1;
	if (!strcmp(out, "/dev/stderr"))
		return 2;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(out, prefixes[i], strlen(prefixes[i])))
			continue;
		digits = out + strlen(prefixes[i]);
		if (*digits && strlen(digits) < 6 && strspn(digits, "0123456789") == strlen(digits))
			return atoi(digits);
	}
	return -1;
}

/* The new file looks like the one it replaces (or like any new file). */
static void set_mode(int fd, const char *path, const struct stat *old)
{
	mode_t mask;

	if (old) {
		path_take_mode(path, old);
		return;
	}
	/* mkstemp makes it private; a new output is an ordinary file. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
}

/* A temporary file next to path, to be renamed to it; old: what is there now. */
static int open_replacement(struct outfile *o, const char *path, const struct stat *old,
                            struct err *err)
{
	int fd;

	o->path = xstrdup(path);
	o->tmp = xasprintf("%s.nosco-XXXXXX", path);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, "cannot write %s", o->name);
	set_mode(fd, o->tmp, old);
	if (open_stream(o, fd, true, err)) {
		unlink(o->tmp);
		return -1;
	}
	return 0;
}

/* OUT is a regular file, or nothing yet: replace it, or what its links point to. */
static int open_regular(struct outfile *o, const char *out, const struct stat *st, struct err *err)
{
	char *path;
	struct stat target;
	int ret;

	if (st && st->st_nlink > 1)
		return err_set(
		        err, ERR_USAGE,
		        "%s has other hard links (%ju): replacing it would break them, writing "
		        "into it would change them (remove it first, or choose another name)",
		        out, (uintmax_t)st->st_nlink - 1);
	path = path_follow(out, err);
	if (!path)
		return -1;
	/* a name that leads elsewhere than it says (/proc/PID/fd/N of a deleted file) */
	if (st &&
	    (lstat(path, &target) || target.st_dev != st->st_dev || target.st_ino != st->st_ino))
		ret = err_set(err, ERR_USAGE, "%s does not name a file that can be replaced", out);
	else
		ret = open_replacement(o, path, st, err);
	free(path);
	return ret;
}

/* What OUT is decides how it is written: see outfile.h. */
static int open_by_kind(struct outfile *o, const char *out, struct err *err)
{
	struct stat st;
	int fd = std_fd(out);

	if (fd >= 0)
		return open_stream(o, fcntl(fd, F_DUPFD_CLOEXEC, 3), true, err);
	if (stat(out, &st)) {
		if (errno != ENOENT)
			return err_sys(err, ERR_IO, "cannot write %s", out);
		return open_regular(o, out, NULL, err);
	}
	if (S_ISREG(st.st_mode))
		return open_regular(o, out, &st, err);
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		return open_stream(o, open(out, O_WRONLY | O_NOCTTY | O_CLOEXEC), true, err);
	return err_set(err, ERR_USAGE,
	               "%s is %s: the output can be a regular file, a FIFO or a character device",
	               out, path_kind(st.st_mode));
}

static void release(struct outfile *o)
{
	free(o->name);
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}

int outfile_open(struct outfile *o, const char *out, struct err *err)
{
	memset(o, 0, sizeof(*o));
	if (!out) {
		o->name = xstrdup("standard output");
		if (!open_stream(o, STDOUT_FILENO, false, err))
			return 0;
	} else {
		o->name = xstrdup(out);
		if (!open_by_kind(o, out, err))
			return 0;
	}
	release(o);
	return -1;
}

bool outfile_wrote(struct outfile *o)
{
	fflush(o->f);
	return o->bytes > 0;
}

int outfile_close(struct outfile *o, bool keep_output, struct err *err)
{
	int ret = 0;

	/* a dropped temporary file's errors do not matter */
	if (fclose(o->f) && (keep_output || !o->tmp))
		ret = err_set(err, ERR_IO, "cannot write %s: %s", o->name,
		              strerror(o->error ? o->error : EIO));
	if (o->tmp) {
		if (keep_output && !ret && rename(o->tmp, o->path))
			ret = err_sys(err, ERR_IO, "cannot write %s", o->name);
		if (!keep_output || ret)
			unlink(o->tmp);
	}
	release(o);
	return ret;
}
