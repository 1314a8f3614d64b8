/* Output paths: see path.h. */
#include "util/path.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

#define PATH_MAX_LINKS 40 /* as the kernel allows (ELOOP) */

char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The target of the link at path, relative targets made relative to path's directory. */
static char *link_target(const char *path, struct err *err)
{
	char buf[PATH_MAX], *dir, *next;
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return err_sys(err, ERR_IO, "cannot read the link %s", path), NULL;
	buf[n] = '\0';
	if (buf[0] == '/' || !strchr(path, '/'))
		return xstrdup(buf);
	dir = path_dir(path);
	next = xasprintf("%s/%s", dir, buf);
	free(dir);
	return next;
}

char *path_follow(const char *path, struct err *err)
{
	char *cur = xstrdup(path), *next;
	struct stat st;
	int hops;

	for (hops = 0; hops <= PATH_MAX_LINKS; hops++) {
		if (lstat(cur, &st) || !S_ISLNK(st.st_mode))
			return cur; /* missing, or not a link: this is the file */
		next = link_target(cur, err);
		free(cur);
		if (!next)
			return NULL;
		cur = next;
	}
	err_set(err, ERR_IO, "%s: too many levels of symbolic links", path);
	free(cur);
	return NULL;
}

void path_take_mode(const char *path, const struct stat *old)
{
	bool owned = !chown(path, old->st_uid, old->st_gid);

	chmod(path, old->st_mode & (owned ? 07777 : 0777));
}

const char *path_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "a file of an unknown kind";
	}
}
