/*
 * Where a trace is written: checking the output path before the program
 * starts, clearing an old trace, and opening the new database with the
 * writer's settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/writer-int.h"
#include "util/fdio.h"
#include "util/path.h"
#include "util/xalloc.h"

/*
 * Where the file system has no O_TMPFILE (/proc, some network file
 * systems), create the missing output itself and remove it at once.
 */
static int probe_create(const char *path, struct err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : err_sys(err, ERR_IO, "cannot create %s", path);
	close(fd);
	unlink(path);
	return 0;
}

/*
 * access() says yes to root even on read-only mounts, so also create an
 * unnamed temporary file (O_TMPFILE) in the directory, which leaves
 * nothing behind.
 */
static int check_dir_writable(const char *path, bool missing, struct err *err)
{
	char *dir = path_dir(path); /* it receives the file and its journal */
	struct stat st;
	int fd, ret = 0;

	if (stat(dir, &st))
		ret = err_sys(err, ERR_IO, "cannot create %s: directory %s", path, dir);
	else if (!S_ISDIR(st.st_mode))
		ret = err_set(err, ERR_IO, "cannot create %s: %s is not a directory", path, dir);
	else if (access(dir, W_OK | X_OK))
		ret = err_sys(err, ERR_IO, "cannot create %s", path);
	if (!ret) {
		fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			ret = err_sys(err, ERR_IO, "cannot create %s", path);
		else if (missing)
			ret = probe_create(path, err);
	}
	free(dir);
	return ret;
}

/*
 * What no --force replaces: a device, a FIFO or a socket cannot hold a
 * database (and must never be replaced by one), and a new file in place of
 * one with other hard links would break them.
 */
static int check_kind(const char *path, struct err *err)
{
	struct stat st;

	if (stat(path, &st) || S_ISDIR(st.st_mode))
		return 0; /* store_probe_file() says what is wrong */
	if (!S_ISREG(st.st_mode))
		return err_set(
		        err, ERR_IO,
		        "%s is %s: a trace is an SQLite database, which needs a regular file", path,
		        path_kind(st.st_mode));
	if (st.st_nlink > 1)
		return err_set(
		        err, ERR_IO,
		        "%s has other hard links (%ju): replacing it would break them (remove "
		        "it first, or choose another name)",
		        path, (uintmax_t)st.st_nlink - 1);
	return 0;
}

/* The output checks of the file itself, its links followed. */
static int check_target(const char *path, bool force, struct err *err)
{
	enum store_file_kind kind;

	if (check_kind(path, err) || store_probe_file(path, &kind, err))
		return -1;
	if (kind == STORE_FILE_OTHER && !force)
		return err_set(err, ERR_IO,
		               "%s exists and is not a nosco trace (use --force to replace it)",
		               path);
	return check_dir_writable(path, kind == STORE_FILE_MISSING, err);
}

char *store_output_path(const char *path, struct err *err)
{
	size_t len = strlen(path);

	if (!len || path[len - 1] == '/')
		return err_set(err, ERR_IO, "%s is not a file name", len ? path : "''"), NULL;
	/* what path leads to, /dev/stdout's pipe too, before its links are read */
	if (check_kind(path, err))
		return NULL;
	return path_follow(path, err);
}

/* Remove path, ignoring a missing file. */
static int remove_file(const char *path, struct err *err)
{
	if (unlink(path) && errno != ENOENT)
		return err_sys(err, ERR_IO, "cannot replace %s", path);
	return 0;
}

int store_prepare_output(const char *path, bool force, struct stat *old, int *old_fd,
                         struct err *err)
{
	static const char *const sidecars[] = { "-journal", "-wal", "-shm" };
	size_t i;
	int ret;

	*old_fd = -1;
	if (check_target(path, force, err))
		return -1;
	if (stat(path, old))
		old->st_nlink = 0;
	if (old->st_nlink && S_ISREG(old->st_mode))
		*old_fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ret = remove_file(path, err);
	/* A journal left by an old trace would be rolled back into the new one. */
	for (i = 0; !ret && i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		char *side = xasprintf("%s%s", path, sidecars[i]);

		ret = remove_file(side, err);
		free(side);
	}
	if (ret && *old_fd >= 0) {
		close(*old_fd);
		*old_fd = -1;
	}
	return ret;
}

int store_write_template(const char *path, struct err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	const unsigned char *bytes = store_template;
	bool ok = fd >= 0;

	if (!ok)
		return err_sys(err, ERR_IO, "cannot create %s", path);
	/* the runs that are not zeros, and the rest a hole */
	for (size_t i = 0; ok && i < store_template_runs_n; i++) {
		ok = fd_write_all(fd, bytes, store_template_runs[i][1], store_template_runs[i][0]);
		bytes += store_template_runs[i][1];
	}
	ok = ok && !ftruncate(fd, (off_t)store_template_size);
	if (!ok || close(fd)) {
		err_sys(err, ERR_IO, "cannot write %s", path);
		if (!ok)
			close(fd);
		unlink(path);
		return -1;
	}
	return 0;
}

int store_open_db(struct store *s, const struct stat *old, struct err *err)
{
	int rc;

	rc = sqlite3_open_v2(s->path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		err_set(err, ERR_IO, "cannot create %s: %s", s->path,
		        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sqlite3_close(s->db);
		s->db = NULL;
		return -1;
	}
	/* A private trace stays private; SQLite gives its journals the same mode. */
	if (old->st_nlink)
		path_take_mode(s->path, old);
	sqlite3_extended_result_codes(s->db, 1);
	/* Readers of a live trace hold short read locks: wait a little for them. */
	sqlite3_busy_timeout(s->db, 50);
	if (sqlite3_exec(s->db, store_writer_pragmas, NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, ERR_IO, "cannot create %s: %s", s->path, sqlite3_errmsg(s->db));
	return 0;
}
