/* Where the dynamic linker looks for libraries: see libpath.h. */
#include "trace/libpath.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define LD_SO_CACHE   "/etc/ld.so.cache"
#define CACHE_MAGIC   "glibc-ld.so.cache1.1"
#define CACHE_HDR_LEN 48 /* magic and version, nlibs, len_strings, flags, extension, unused */
#define CACHE_ENT_LEN 24 /* flags, key, value, osversion, hwcap */
#define CACHE_MAX     (64u << 20)

static const char *const default_dirs[] = {
	"/lib/" ARCH_MULTIARCH,
	"/usr/lib/" ARCH_MULTIARCH,
	"/lib64",
	"/usr/lib64",
	"/lib",
	"/usr/lib",
};

/* in_dir - is there a file dir/name; dir may be len bytes of a longer string */
static bool in_dir(const char *dir, size_t len, const char *name, const char *origin)
{
	struct strbuf sb;
	struct stat st;
	bool found;

	sb_init(&sb);
	if (len >= 7 && !strncmp(dir, "$ORIGIN", 7) && (len == 7 || dir[7] == '/')) {
		sb_adds(&sb, origin);
		dir += 7;
		len -= 7;
	}
	sb_addf(&sb, "%.*s/%s", (int)len, dir, name);
	found = len && !stat(sb.buf, &st) && S_ISREG(st.st_mode);
	sb_fini(&sb);
	return found;
}

/* in_path - is there a file named name in one of the colon-separated directories */
static bool in_path(const char *path, const char *name, const char *origin)
{
	while (path && *path) {
		size_t len = strcspn(path, ":;");

		if (in_dir(path, len, name, origin))
			return true;
		path += len;
		path += *path != '\0';
	}
	return false;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The string at offset off of the cache's new-format part (hdr), or NULL. */
static const char *cache_str(const uint8_t *hdr, const uint8_t *end, uint32_t off)
{
	const char *s = (const char *)hdr + off;

	if (off >= (size_t)(end - hdr) || !memchr(s, '\0', (size_t)(end - hdr) - off))
		return NULL;
	return s;
}

/* A directory of the cache's libraries: len bytes of one of its strings. */
struct cache_dir {
	const char *s;
	size_t len;
};
typedef VEC(struct cache_dir) cache_dirs;

/* add_dir - note the directory of a cached library's path, once each */
static void add_dir(cache_dirs *dirs, const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	struct cache_dir *d, nd;

	if (!slash)
		return;
	nd = (struct cache_dir){ path, (size_t)(slash - path) };
	vec_foreach (dirs, d)
		if (d->len == nd.len && !memcmp(d->s, nd.s, nd.len))
			return;
	vec_push(dirs, nd);
}

/*
 * cache_has - does the cache (its new-format part at hdr) list the name,
 * or a library in a directory holding it? Many libraries share a
 * directory: each directory is looked in once.
 */
static bool cache_has(const uint8_t *hdr, const uint8_t *end, const char *name)
{
	cache_dirs dirs = { 0 };
	const struct cache_dir *d;
	uint32_t n = le32(hdr + 20), i;
	bool found = false;

	for (i = 0;
	     i < n && !found && (size_t)(end - hdr) >= CACHE_HDR_LEN + (i + 1) * CACHE_ENT_LEN;
	     i++) {
		const uint8_t *e = hdr + CACHE_HDR_LEN + (size_t)i * CACHE_ENT_LEN;
		const char *key = cache_str(hdr, end, le32(e + 4));

		found = key && !strcmp(key, name);
		add_dir(&dirs, cache_str(hdr, end, le32(e + 8)));
	}
	vec_foreach (&dirs, d)
		if (!found)
			found = in_dir(d->s, d->len, name, "");
	vec_free(&dirs);
	return found;
}

/* in_cache - does ld.so.cache list the name, or a library in a directory holding it? */
static bool in_cache(const char *name)
{
	int fd = open(LD_SO_CACHE, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL, *hdr;
	struct stat st;
	bool found = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > CACHE_MAX)
		goto out;
	buf = xmalloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	hdr = memmem(buf, (size_t)st.st_size, CACHE_MAGIC, strlen(CACHE_MAGIC));
	if (hdr && buf + st.st_size - hdr >= CACHE_HDR_LEN)
		found = cache_has(hdr, buf + st.st_size, name);
out:
	free(buf);
	close(fd);
	return found;
}

bool libpath_has(const char *name, const char *exe, const char *runpath)
{
	char *origin = exe ? path_dir(exe) : xstrdup(".");
	bool found =
	        in_path(getenv("LD_LIBRARY_PATH"), name, origin) || in_path(runpath, name, origin);
	size_t i;

	for (i = 0; !found && i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
		found = in_dir(default_dirs[i], strlen(default_dirs[i]), name, origin);
	free(origin);
	return found || in_cache(name);
}
