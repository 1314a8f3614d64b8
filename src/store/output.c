/*
 * Where a trace is written: checking the output path before the program
 * starts, clearing an old trace, and opening the new database with the
 * writer's settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

/* The directory that will hold path: it receives the file and its journal. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

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
	char *dir = dir_of(path);
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

int store_check_output(const char *path, bool force, struct err *err)
{
	enum store_file_kind kind;
	size_t len = strlen(path);

	if (!len || path[len - 1] == '/')
		return err_set(err, ERR_IO, "%s is not a file name", len ? path : "''");
	if (store_probe_file(path, &kind, err))
		return -1;
	if (kind == STORE_FILE_OTHER && !force)
		return err_set(err, ERR_IO,
		               "%s exists and is not a nosco trace (use --force to replace it)",
		               path);
	return check_dir_writable(path, kind == STORE_FILE_MISSING, err);
}

/* Remove path, ignoring a missing file. */
static int remove_file(const char *path, struct err *err)
{
	if (unlink(path) && errno != ENOENT)
		return err_sys(err, ERR_IO, "cannot replace %s", path);
	return 0;
}

int store_prepare_output(const char *path, bool force, struct err *err)
{
	static const char *const sidecars[] = { "-journal", "-wal", "-shm" };
	size_t i;
	int ret;

	if (store_check_output(path, force, err))
		return -1;
	if (remove_file(path, err))
		return -1;
	/* A journal left by an old trace would be rolled back into the new one. */
	for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		char *side = xasprintf("%s%s", path, sidecars[i]);

		ret = remove_file(side, err);
		free(side);
		if (ret)
			return -1;
	}
	return 0;
}

/*
 * Rollback journal with synchronous=OFF: the file survives crashes of nosco
 * and of the program (the OS still writes what was handed to it), not power
 * loss, and commits cost no fsync. A big page cache keeps an uncommitted
 * interval in memory instead of spilling it into the file.
 */
static const char writer_pragmas[] = "PRAGMA page_size=16384;"
                                     "PRAGMA journal_mode=DELETE;"
                                     "PRAGMA synchronous=OFF;"
                                     "PRAGMA cache_size=-32768;"
                                     "PRAGMA foreign_keys=OFF;";

int store_open_db(struct store *s, struct err *err)
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
	sqlite3_extended_result_codes(s->db, 1);
	/* Readers of a live trace hold short read locks: wait a little for them. */
	sqlite3_busy_timeout(s->db, 50);
	if (sqlite3_exec(s->db, writer_pragmas, NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, ERR_IO, "cannot create %s: %s", s->path, sqlite3_errmsg(s->db));
	return 0;
}
