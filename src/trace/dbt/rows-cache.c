/*
 * The frame rows of binaries kept from one run to the next. Writing a
 * binary's rows interprets all of its CFI (Python's: 64,575 rows, about
 * 4 ms of the tracer's time in a run, most of it while the program waits
 * or shares a core with it); a binary traced again finds them in a file
 * instead. A file is named by the hash of what its rows are made of (the
 * binary's CFI sections, their addresses and the binary's extent:
 * sym_rows_cursor.key), so a rebuilt or updated binary never finds
 * another's rows, and it is checked whole when read (its header, a hash
 * of its rows, their order): a file damaged or cut short is ignored, and
 * the rows are written as if it were not there.
 *
 * The directory is $XDG_CACHE_HOME/nosco/frame-rows, or
 * ~/.cache/nosco/frame-rows; NOSCO_NO_CACHE set (to anything) leaves it
 * alone. Everything here is best effort: a directory that cannot be
 * made, a file that cannot be written, only cost the next run the time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/dbt/dbt.h"
#include "util/fdio.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAGIC     0x73776f72636f6e6eull /* "nnocrows" in the file */
#define VERSION   1u                    /* of the file and of the rows' encoding (arch/dbt.h) */
#define MAX_FILES 512                   /* a directory that holds more gets no new file */
#define PART      8192u                 /* rows copied at once, and hashed: 64 KiB */

struct rows_file {
	uint64_t magic;
	uint32_t version, zero;
	uint64_t key;  /* sym_rows_cursor.key */
	uint64_t span; /* the binary's extent (hi - lo) */
	uint64_t n;    /* rows after the header */
	uint64_t hash; /* hash_of() the rows */
};

/* is_dir - path is a directory: the one the cache goes under is never made here */
static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

char *dbt_rows_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (getenv("NOSCO_NO_CACHE"))
		return NULL;
	if (xdg && *xdg == '/')
		return is_dir(xdg) ? xasprintf("%s/nosco/frame-rows", xdg) : NULL;
	if (home && *home == '/' && is_dir(home))
		return xasprintf("%s/.cache/nosco/frame-rows", home);
	return NULL;
}

static char *file_of(const char *dir, uint64_t key)
{
	return xasprintf("%s/%016llx.rows", dir, (unsigned long long)key);
}

/*
 * hash_of - the rows' hash, a PART at a time as they are copied
 * (dbt_rows_cache_copy()): checked on each part as it is read, not in a
 * pass over the file first (cold: half a millisecond more for Python)
 */
static uint64_t hash_of(const uint64_t *rows, size_t n)
{
	uint64_t h = 0;

	for (size_t i = 0; i < n; i += PART)
		h = hash_bytes(rows + i, (n - i < PART ? n - i : PART) * 8, h);
	return h;
}

bool dbt_rows_cache_has(const char *dir, uint64_t key)
{
	char *path = file_of(dir, key);
	bool has = !access(path, R_OK);

	free(path);
	return has;
}

bool dbt_rows_cache_open(const char *dir, uint64_t key, uint64_t span, size_t max,
                         struct dbt_rows_kept *k)
{
	char *path = file_of(dir, key);
	struct rows_file h;
	struct stat st;

	memset(k, 0, sizeof(*k));
	k->fd = open(path, O_RDONLY | O_CLOEXEC);
	k->open = k->fd >= 0;
	free(path);
	/* read, not mapped: a file cut short meanwhile would be a SIGBUS */
	if (k->open && !fstat(k->fd, &st) && pread(k->fd, &h, sizeof(h), 0) == sizeof(h) &&
	    h.magic == MAGIC && h.version == VERSION && !h.zero && h.key == key && h.span == span &&
	    h.n && h.n <= max && (uint64_t)st.st_size == sizeof(h) + h.n * 8) {
		k->n = h.n;
		k->span = span;
		k->want = h.hash;
		k->part = xmalloc(PART * 8);
		return true;
	}
	dbt_rows_cache_close(k);
	return false;
}

size_t dbt_rows_cache_copy(struct dbt_rows_kept *k, int to, uint64_t at)
{
	size_t i = k->done, n = k->n - i < PART ? k->n - i : PART;
	const uint64_t *p = k->part;

	/*
	 * Through a buffer of its own, and written with pwrite: the shared
	 * memory's fresh pages cost the tracer several microseconds each to
	 * write itself (Python's 516 KB: 1.4 ms read into them, 0.45 this way).
	 */
	k->bad |= pread(k->fd, k->part, n * 8, (off_t)(sizeof(struct rows_file) + i * 8)) !=
	          (ssize_t)(n * 8);
	k->hash = hash_bytes(p, n * 8, k->hash);
	/* in the order the walk's search needs, from offset 0, within the binary */
	k->bad |= (i ? k->last >> 16 >= p[0] >> 16 : p[0] >> 16 != 0);
	for (size_t j = 1; j < n; j++)
		k->bad |= p[j] >> 16 <= p[j - 1] >> 16;
	k->last = p[n - 1];
	k->bad |= !fd_write_all(to, p, n * 8, (off_t)(at + i * 8));
	k->done += n;
	k->bad |= k->done == k->n && k->last >> 16 > k->span;
	return n;
}

bool dbt_rows_cache_whole(const struct dbt_rows_kept *k)
{
	return k->done == k->n && !k->bad && k->hash == k->want;
}

void dbt_rows_cache_close(struct dbt_rows_kept *k)
{
	if (k->open)
		close(k->fd);
	free(k->part);
	memset(k, 0, sizeof(*k));
}

/* room - the directory exists (made if need be, below the existing one it is under) and holds
 * fewer than MAX_FILES files */
static bool room(const char *dir)
{
	char *p = xstrdup(dir);
	size_t files = 0;
	struct dirent *e;
	DIR *dp;

	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(p, 0700); /* the last mkdir says whether all went */
		*s = '/';
	}
	if (mkdir(p, 0700) && errno != EEXIST) {
		free(p);
		return false;
	}
	free(p);
	dp = opendir(dir);
	if (!dp)
		return false;
	while ((e = readdir(dp)) && files < MAX_FILES)
		files += e->d_name[0] != '.';
	closedir(dp);
	return files < MAX_FILES;
}

void dbt_rows_cache_save(const char *dir, uint64_t key, uint64_t span, const uint64_t *rows,
                         size_t n)
{
	struct rows_file h = { MAGIC, VERSION, 0, key, span, n, hash_of(rows, n) };
	char *path, *tmp;
	bool ok;
	int fd;

	if (!n || !room(dir))
		return;
	path = file_of(dir, key);
	tmp = xasprintf("%s/.rows-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd >= 0) {
		/* written whole, then renamed: a reader sees a whole file or none */
		ok = fd_write_all(fd, &h, sizeof(h), -1) && fd_write_all(fd, rows, n * 8, -1);
		ok = !close(fd) && ok && !rename(tmp, path);
		if (!ok)
			unlink(tmp);
		log_debug("dbt: frame rows %s %s", ok ? "kept in" : "not kept in", path);
	}
	free(tmp);
	free(path);
}
