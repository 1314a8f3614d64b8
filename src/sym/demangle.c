/* C++ and Rust legacy demangling; Rust v0 is in demangle-rust-v0.c. See demangle.h. */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sym/demangle.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define RUST_HASH_LEN 17 /* "h" and 16 hex digits */

/*
 * libstdc++'s demangler (abi::__cxa_demangle has C linkage), loaded the
 * first time a C++ name is met: linked, libstdc++ and its thousands of
 * relocations would slow every nosco command's start-up by a millisecond
 * or two, and most traces name no C++ function. Without it, C++ names
 * stay mangled.
 */
static char *(*cxa_demangle)(const char *mangled, char *buf, size_t *len, int *status);
static pthread_once_t cxa_once = PTHREAD_ONCE_INIT;

static void cxa_load(void)
{
	void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);

	if (lib)
		*(void **)&cxa_demangle = dlsym(lib, "__cxa_demangle");
}

static char *cxx_demangle(const char *raw)
{
	int status = 0;
	char *out, *copy;

	pthread_once(&cxa_once, cxa_load);
	if (!cxa_demangle)
		return NULL;
	out = cxa_demangle(raw, NULL, NULL, &status);
	if (status != 0 || !out) {
		free(out);
		return NULL;
	}
	/* allocated by libstdc++'s malloc: the same, but keep ownership obvious */
	copy = xstrdup(out);
	free(out);
	return copy;
}

static bool is_rust_hash(const char *s, size_t len)
{
	if (len != RUST_HASH_LEN || s[0] != 'h')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The $-escapes of Rust legacy names. */
static const struct {
	const char *esc;
	char c;
} rust_escapes[] = {
	{ "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
	{ "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' },
};

/* One "$...$" escape at s; returns its length, 0 when unknown. */
static size_t rust_unescape_one(const char *s, size_t len, struct strbuf *sb)
{
	char *end;
	unsigned long c;

	for (size_t i = 0; i < sizeof(rust_escapes) / sizeof(rust_escapes[0]); i++) {
		size_t n = strlen(rust_escapes[i].esc);

		if (n <= len && !memcmp(s, rust_escapes[i].esc, n)) {
			sb_addc(sb, rust_escapes[i].c);
			return n;
		}
	}
	if (len < 4 || s[1] != 'u')
		return 0;
	c = strtoul(s + 2, &end, 16);
	if (end == s + 2 || *end != '$' || (size_t)(end - s) >= len || c < 0x20 || c > 0x7e)
		return 0;
	sb_addc(sb, (char)c);
	return (size_t)(end - s) + 1;
}

static bool rust_component(const char *s, size_t len, struct strbuf *sb)
{
	size_t i = 0, n;

	if (len >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < len) {
		if (s[i] == '$') {
			n = rust_unescape_one(s + i, len - i, sb);
			if (!n)
				return false;
			i += n;
		} else if (s[i] == '.' && i + 1 < len && s[i + 1] == '.') {
			sb_adds(sb, "::");
			i += 2;
		} else {
			sb_addc(sb, s[i++]);
		}
	}
	return true;
}

/* _ZN <len><ident>... 17h<hash> E, the format of rustc before v0. */
static char *rust_legacy_demangle(const char *raw)
{
	const char *p = raw + 3, *last = NULL;
	size_t last_len = 0, ncomp = 0;
	struct strbuf sb;
	char *end, *out;

	if (strncmp(raw, "_ZN", 3))
		return NULL;
	sb_init(&sb);
	while (isdigit((unsigned char)*p)) {
		unsigned long len = strtoul(p, &end, 10);

		if (len == 0 || strnlen(end, len) < len)
			goto fail;
		if (last) {
			if (ncomp++)
				sb_adds(&sb, "::");
			if (!rust_component(last, last_len, &sb))
				goto fail;
		}
		last = end;
		last_len = len;
		p = end + len;
	}
	if (*p != 'E' || p[1] || !last || !ncomp || !is_rust_hash(last, last_len))
		goto fail;
	out = sb_detach(&sb);
	return out;
fail:
	sb_fini(&sb);
	return NULL;
}

char *sym_demangle(const char *raw)
{
	char *out;

	if (!raw)
		return NULL;
	if (!strncmp(raw, "_R", 2))
		return sym_demangle_rust_v0(raw);
	if (strncmp(raw, "_Z", 2))
		return NULL;
	out = rust_legacy_demangle(raw);
	return out ? out : cxx_demangle(raw);
}

char *sym_demangle_symbol(const char *raw)
{
	const char *at = strchr(raw, '@');
	char *base, *dem, *out;

	if (!at || at == raw)
		return sym_demangle(raw);
	base = xstrndup(raw, (size_t)(at - raw));
	dem = sym_demangle(base);
	free(base);
	if (!dem)
		return NULL;
	out = xasprintf("%s%s", dem, at);
	free(dem);
	return out;
}
