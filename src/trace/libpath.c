/* Where the dynamic linker looks for libraries: see libpath.h. */
#include "trace/libpath.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define LD_SO_CACHE   "/etc/ld.so.cache"
#define CACHE_MAGIC   "glibc-ld.so.cache1.1"
#define CACHE_HDR_LEN 48 /* magic and version, nlibs, len_strings, flags, extension, unused */
#define CACHE_ENT_LEN 24 /* flags, key, value, osversion, hwcap */
#define CACHE_MAX     (64u << 20)

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
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

/* in_cache - does ld.so.cache list the name, or a library in a directory holding it? */
static bool in_cache(const char *name)
{
	int fd = open(LD_SO_CACHE, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL, *hdr, *end;
	struct stat st;
	bool found = false;
	uint32_t n, i;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > CACHE_MAX)
		goto out;
	buf = xmalloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	end = buf + st.st_size;
	hdr = memmem(buf, (size_t)st.st_size, CACHE_MAGIC, strlen(CACHE_MAGIC));
	if (!hdr || end - hdr < CACHE_HDR_LEN)
		goto out;
	n = le32(hdr + 20);
	for (i = 0;
	     i < n && !found && (size_t)(end - hdr) >= CACHE_HDR_LEN + (i + 1) * CACHE_ENT_LEN;
	     i++) {
		const uint8_t *e = hdr + CACHE_HDR_LEN + (size_t)i * CACHE_ENT_LEN;
		const char *key = cache_str(hdr, end, le32(e + 4));
		const char *value = cache_str(hdr, end, le32(e + 8));
		const char *slash = value ? strrchr(value, '/') : NULL;

		found = (key && !strcmp(key, name)) ||
		        (slash && in_dir(value, (size_t)(slash - value), name, ""));
	}
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
