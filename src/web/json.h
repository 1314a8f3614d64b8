/*
 * A JSON writer into a strbuf, for the viewer's API (docs/view.md). It
 * keeps track of commas itself: the caller opens and closes objects and
 * arrays and adds keys and values in order. Strings are any bytes: valid
 * UTF-8 is copied, control characters and quotes are escaped, and a byte
 * that is not part of valid UTF-8 (a binary's path may hold any) becomes
 * U+FFFD, so the output is always valid JSON.
 */
#ifndef NOSCO_WEB_JSON_H
#define NOSCO_WEB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define JSON_DEPTH_MAX 32

struct json {
	struct strbuf sb;
	int depth;
	bool need_comma[JSON_DEPTH_MAX]; /* a value was written at this level */
};

void json_init(struct json *j);
void json_fini(struct json *j);

void json_obj(struct json *j); /* { */
void json_obj_end(struct json *j);
void json_arr(struct json *j); /* [ */
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key); /* "key": (the value follows) */

void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* json_hex - an address as a "0x..." string (JavaScript numbers lose 64-bit precision) */
void json_hex(struct json *j, uint64_t v);

/* json_raw - a value that is JSON text already (another struct json's) */
void json_raw(struct json *j, const char *text);

/* "key": value shorthands */
void json_kstr(struct json *j, const char *key, const char *s);
void json_kint(struct json *j, const char *key, int64_t v);
void json_kuint(struct json *j, const char *key, uint64_t v);
void json_kbool(struct json *j, const char *key, bool v);
void json_khex(struct json *j, const char *key, uint64_t v);

/* json_escape - append s (n bytes) to sb as the inside of a JSON string */
void json_escape(struct strbuf *sb, const char *s, size_t n);

#endif
