/* The JSON writer of json.h. */
#include "web/json.h"

#include <inttypes.h>
#include <string.h>

#include "kdl/kdl.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
	sb_init(&j->sb);
}

void json_fini(struct json *j)
{
	sb_fini(&j->sb);
}

/* Before a value or a key: the comma that separates it from the previous one. */
static void sep(struct json *j)
{
	if (j->need_comma[j->depth])
		sb_addc(&j->sb, ',');
	j->need_comma[j->depth] = true;
}

static void open(struct json *j, char c)
{
	sep(j);
	sb_addc(&j->sb, c);
	/* Deeper nesting is a bug of the caller: commas stay right at the last level. */
	if (j->depth < JSON_DEPTH_MAX - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close(struct json *j, char c)
{
	sb_addc(&j->sb, c);
	if (j->depth > 0)
		j->depth--;
}

void json_obj(struct json *j)
{
	open(j, '{');
}

void json_obj_end(struct json *j)
{
	close(j, '}');
}

void json_arr(struct json *j)
{
	open(j, '[');
}

void json_arr_end(struct json *j)
{
	close(j, ']');
}

void json_key(struct json *j, const char *key)
{
	json_str(j, key);
	sb_addc(&j->sb, ':');
	/* The value that follows takes no comma. */
	j->need_comma[j->depth] = false;
}

void json_escape(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		int32_t cp;
		size_t len = kdl_utf8_decode((const char *)p, (size_t)(end - p), &cp);

		if (!len) {
			sb_adds(sb, "\\ufffd");
			p++;
		} else if (len > 1) {
			sb_addn(sb, (const char *)p, len);
			p += len;
		} else if (*p == '"' || *p == '\\') {
			sb_addc(sb, '\\');
			sb_addc(sb, (char)*p++);
		} else if (*p == '\n') {
			sb_adds(sb, "\\n");
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			sb_addf(sb, "\\u%04x", *p++);
		} else {
			sb_addc(sb, (char)*p++);
		}
	}
}

void json_strn(struct json *j, const char *s, size_t n)
{
	sep(j);
	sb_addc(&j->sb, '"');
	json_escape(&j->sb, s, n);
	sb_addc(&j->sb, '"');
}

void json_str(struct json *j, const char *s)
{
	if (!s)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
	sep(j);
	sb_addf(&j->sb, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
	sep(j);
	sb_addf(&j->sb, "%" PRIu64, v);
}

void json_bool(struct json *j, bool v)
{
	sep(j);
	sb_adds(&j->sb, v ? "true" : "false");
}

void json_null(struct json *j)
{
	sep(j);
	sb_adds(&j->sb, "null");
}

void json_hex(struct json *j, uint64_t v)
{
	sep(j);
	sb_addf(&j->sb, "\"0x%" PRIx64 "\"", v);
}

void json_raw(struct json *j, const char *text)
{
	sep(j);
	sb_adds(&j->sb, text);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kint(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kuint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_khex(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_hex(j, v);
}
