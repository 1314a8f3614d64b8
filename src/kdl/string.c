/*
 * String tokens: identifiers, quoted strings with escapes, raw strings and
 * the dedented multi-line strings of v2 (plus v1's r"raw" strings).
 */
#include "kdl/internal.h"

#include <stdlib.h>
#include <string.h>

/**
 * kdl_rd_ident_run - how many bytes of identifier characters start at the cursor
 */
size_t kdl_rd_ident_run(const struct kdl_reader *rd)
{
	size_t pos = rd->cur.pos, n;
	int32_t cp;

	while (pos < rd->len) {
		n = kdl_utf8_decode(rd->src + pos, rd->len - pos, &cp);
		if (!n || !kdl_is_ident_char(cp, rd->version))
			break;
		pos += n;
	}
	return pos - rd->cur.pos;
}

/* v2 #"raw"#, v1 r#"raw"#: the number of '#', or -1 if not a raw string here. */
static int raw_hashes(const struct kdl_reader *rd)
{
	size_t k = rd->version == KDL_V1 ? 1 : 0;
	int n = 0;

	if (rd->version == KDL_V1 && kdl_rd_byte(rd, 0) != 'r')
		return -1;
	while (kdl_rd_byte(rd, k + (size_t)n) == '#')
		n++;
	if (rd->version == KDL_V2 && n == 0)
		return -1;
	if (rd->version == KDL_V2 || kdl_rd_byte(rd, k + (size_t)n) == '"')
		return n;
	return -1;
}

/**
 * kdl_rd_at_string - whether a string token (of any form) starts at the cursor
 */
bool kdl_rd_at_string(const struct kdl_reader *rd)
{
	int32_t cp = kdl_rd_peek(rd);

	if (cp == '"' || raw_hashes(rd) >= 0)
		return true;
	return kdl_is_ident_char(cp, rd->version) && !kdl_rd_at_number(rd);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \u{...}: s points after the 'u'. Returns the bytes used, 0 if malformed. */
static size_t decode_unicode(const char *s, size_t len, int32_t *cp, const char **why)
{
	size_t i;
	int32_t v = 0;

	*why = "expected '{' and 1 to 6 hex digits after \\u";
	if (!len || s[0] != '{')
		return 0;
	for (i = 1; i < len && hex_value(s[i]) >= 0; i++) {
		if (i > 6) {
			*why = "a \\u{...} escape has at most 6 hex digits";
			return 0;
		}
		v = v * 16 + hex_value(s[i]);
	}
	if (i == 1 || i >= len || s[i] != '}') {
		*why = "expected 1 to 6 hex digits and '}' in \\u{...}";
		return 0;
	}
	if ((v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
		*why = "\\u{...} must be a Unicode scalar value (not a surrogate, at most 10FFFF)";
		return 0;
	}
	*cp = v;
	return i + 1;
}

/*
 * Decodes the escape at s[0] == '\\' (whitespace escapes excepted) into out.
 * Returns the bytes used, 0 if invalid (with the reason in *why).
 */
static size_t decode_escape(const char *s, size_t len, enum kdl_version v, struct strbuf *out,
                            const char **why)
{
	static const char from[] = "nrt\\\"bfs/";
	static const char to[] = "\n\r\t\\\"\b\f /";
	const char *p;
	int32_t cp;
	size_t n;

	*why = v == KDL_V2 && len > 1 && s[1] == '/'
	               ? "invalid escape '\\/' (that is KDL v1; write '/')"
	               : NULL;
	if (len < 2)
		return 0;
	p = s[1] ? strchr(from, s[1]) : NULL;
	if (p && !(v == KDL_V1 && s[1] == 's') && !(v == KDL_V2 && s[1] == '/')) {
		sb_addc(out, to[p - from]);
		return 2;
	}
	if (s[1] != 'u')
		return 0;
	n = decode_unicode(s + 2, len - 2, &cp, why);
	if (!n)
		return 0;
	kdl_utf8_encode(out, cp);
	return n + 2;
}

static bool at_ws_escape(const struct kdl_reader *rd)
{
	int32_t cp = kdl_rd_peek_at(rd, rd->cur.pos + 1);

	return rd->version == KDL_V2 && kdl_rd_byte(rd, 0) == '\\' &&
	       (kdl_is_space(cp, rd->version) || kdl_is_newline(cp, rd->version));
}

static void skip_ws_escape(struct kdl_reader *rd)
{
	kdl_rd_next(rd);
	while (kdl_is_space(kdl_rd_peek(rd), rd->version) || kdl_rd_at_newline(rd))
		kdl_rd_next(rd);
}

/* An escape at the cursor, decoded into out. */
static int read_escape(struct kdl_reader *rd, struct strbuf *out)
{
	const char *why;
	size_t n;

	n = decode_escape(rd->src + rd->cur.pos, rd->len - rd->cur.pos, rd->version, out, &why);
	if (!n && why)
		return kdl_rd_fail(rd, rd->cur, "%s", why);
	if (!n) {
		size_t len = kdl_utf8_decode(rd->src + rd->cur.pos + 1, rd->len - rd->cur.pos - 1,
		                             &(int32_t){ 0 });

		return kdl_rd_fail(rd, rd->cur, "invalid escape '\\%.*s' (valid are %s)", (int)len,
		                   rd->src + rd->cur.pos + 1,
		                   rd->version == KDL_V2
		                           ? "\\n \\r \\t \\\\ \\\" \\b \\f \\s \\u{...}"
		                           : "\\n \\r \\t \\\\ \\\" \\b \\f \\/ \\u{...}");
	}
	kdl_rd_skip(rd, n); /* escapes are ASCII: bytes are code points */
	return 0;
}

static int read_quoted(struct kdl_reader *rd, struct strbuf *sb)
{
	struct kdl_cursor start = rd->cur;
	int32_t cp;

	kdl_rd_next(rd);
	for (;;) {
		cp = kdl_rd_peek(rd);
		if (cp == KDL_EOF)
			return kdl_rd_fail(rd, start, "unterminated string (missing '\"')");
		if (cp == '"')
			break;
		if (rd->version == KDL_V2 && kdl_rd_at_newline(rd))
			return kdl_rd_fail(
			        rd, rd->cur,
			        "expected '\"' to close the string before the end of the line "
			        "(a newline in a string is written \\n)");
		if (at_ws_escape(rd)) {
			skip_ws_escape(rd);
		} else if (cp == '\\') {
			if (read_escape(rd, sb))
				return -1;
		} else {
			kdl_utf8_encode(sb, cp);
			kdl_rd_next(rd);
		}
	}
	kdl_rd_next(rd);
	return 0;
}

static bool at_raw_close(const struct kdl_reader *rd, const char *quotes, int hashes)
{
	size_t q = strlen(quotes);
	int i;

	if (!kdl_rd_at(rd, quotes))
		return false;
	for (i = 0; i < hashes; i++)
		if (kdl_rd_byte(rd, q + (size_t)i) != '#')
			return false;
	return true;
}

static int read_raw(struct kdl_reader *rd, struct strbuf *sb, int hashes, struct kdl_cursor start)
{
	for (;;) {
		if (at_raw_close(rd, "\"", hashes))
			break;
		if (kdl_rd_peek(rd) == KDL_EOF)
			return kdl_rd_fail(rd, start, "unterminated raw string (missing '\"%.*s')",
			                   hashes, "################");
		if (rd->version == KDL_V2 && kdl_rd_at_newline(rd))
			return kdl_rd_fail(rd, rd->cur,
			                   "newline in a single-line raw string (use #\"\"\" for "
			                   "a multi-line one)");
		kdl_utf8_encode(sb, kdl_rd_peek(rd));
		kdl_rd_next(rd);
	}
	kdl_rd_skip(rd, 1 + (size_t)hashes);
	return 0;
}

static bool only_spaces(const char *s, size_t len)
{
	size_t pos = 0, n;
	int32_t cp;

	while (pos < len) {
		n = kdl_utf8_decode(s + pos, len - pos, &cp);
		if (!n || !kdl_is_space(cp, KDL_V2))
			return false;
		pos += n;
	}
	return true;
}

static void resolve_escapes(const char *s, size_t len, struct strbuf *out)
{
	const char *why;
	size_t i = 0, n;

	while (i < len) {
		n = s[i] == '\\' ? decode_escape(s + i, len - i, KDL_V2, out, &why) : 0;
		if (!n) {
			sb_addc(out, s[i]);
			n = 1;
		}
		i += n;
	}
}

struct ml_body {
	struct strbuf text;            /* whitespace escapes gone, newlines as \n */
	VEC(struct kdl_cursor) starts; /* where each line of text starts */
	struct kdl_cursor close;       /* the closing quotes */
};

/* Collects a multi-line body up to its closing quotes. */
static int ml_collect(struct kdl_reader *rd, struct ml_body *b, int hashes, struct kdl_cursor start)
{
	vec_push(&b->starts, rd->cur);
	for (;;) {
		if (at_raw_close(rd, "\"\"\"", hashes))
			break;
		if (kdl_rd_peek(rd) == KDL_EOF)
			return kdl_rd_fail(rd, start,
			                   "unterminated multi-line string (missing '\"\"\"%.*s')",
			                   hashes, "################");
		if (kdl_rd_at_newline(rd)) {
			sb_addc(&b->text, '\n');
			kdl_rd_newline(rd);
			vec_push(&b->starts, rd->cur);
		} else if (!hashes && at_ws_escape(rd)) {
			skip_ws_escape(rd);
		} else if (!hashes && kdl_rd_peek(rd) == '\\') {
			size_t from = rd->cur.pos;
			struct strbuf scratch;
			int r;

			/* validated now for the position, resolved after dedenting */
			sb_init(&scratch);
			r = read_escape(rd, &scratch);
			sb_fini(&scratch);
			if (r)
				return -1;
			sb_addn(&b->text, rd->src + from, rd->cur.pos - from);
		} else {
			kdl_utf8_encode(&b->text, kdl_rd_peek(rd));
			kdl_rd_next(rd);
		}
	}
	b->close = rd->cur;
	kdl_rd_skip(rd, 3 + (size_t)hashes);
	return 0;
}

/* Removes the closing line's whitespace from every line. */
static int ml_dedent(struct kdl_reader *rd, struct ml_body *b, struct strbuf *out)
{
	const char *s = b->text.buf, *end = s + b->text.len, *prefix, *nl;
	size_t plen, line = 0;

	prefix = memrchr(s, '\n', b->text.len);
	prefix = prefix ? prefix + 1 : s;
	plen = (size_t)(end - prefix);
	if (!only_spaces(prefix, plen))
		return kdl_rd_fail(
		        rd, b->close,
		        "the closing \"\"\" of a multi-line string must be on a line of its "
		        "own, after whitespace only");
	for (; s < prefix; s = nl + 1, line++) {
		nl = memchr(s, '\n', (size_t)(prefix - s));
		if (line)
			sb_addc(out, '\n');
		if (only_spaces(s, (size_t)(nl - s)))
			continue;
		if ((size_t)(nl - s) < plen || memcmp(s, prefix, plen))
			return kdl_rd_fail(
			        rd, b->starts.data[line],
			        "this line of the multi-line string does not start with the "
			        "whitespace of its closing line");
		sb_addn(out, s + plen, (size_t)(nl - s) - plen);
	}
	return 0;
}

/* The cursor is after the opening quotes. */
static int read_multiline(struct kdl_reader *rd, struct strbuf *sb, int hashes,
                          struct kdl_cursor start)
{
	struct ml_body b;
	struct strbuf dedented;
	int r;

	if (!kdl_rd_at_newline(rd))
		return kdl_rd_fail(rd, rd->cur,
		                   "a multi-line string must start with a newline right after its "
		                   "opening \"\"\" (use \"...\" for a single line)");
	kdl_rd_newline(rd);
	sb_init(&b.text);
	sb_init(&dedented);
	b.starts.data = NULL;
	b.starts.len = b.starts.cap = 0;
	r = ml_collect(rd, &b, hashes, start);
	if (!r)
		r = ml_dedent(rd, &b, &dedented);
	if (!r && hashes)
		sb_addn(sb, dedented.buf, dedented.len);
	else if (!r)
		resolve_escapes(dedented.buf, dedented.len, sb);
	sb_fini(&dedented);
	sb_fini(&b.text);
	vec_free(&b.starts);
	return r;
}

static int read_identifier(struct kdl_reader *rd, struct strbuf *sb)
{
	size_t n = kdl_rd_ident_run(rd);
	const char *s = rd->src + rd->cur.pos;

	if (!n)
		return kdl_rd_expected(rd, "a string");
	if (!kdl_is_identifier_v(s, n, rd->version)) {
		if (rd->version == KDL_V1)
			return kdl_rd_fail(rd, rd->cur,
			                   "'%.*s' is a keyword; quote it to use it as a name",
			                   (int)n, s);
		return kdl_rd_fail(
		        rd, rd->cur,
		        "'%.*s' cannot be a bare identifier: write #%.*s for the keyword or "
		        "\"%.*s\" for the string",
		        (int)n, s, (int)n, s, (int)n, s);
	}
	sb_addn(sb, s, n);
	while (rd->cur.pos < (size_t)(s - rd->src) + n)
		kdl_rd_next(rd);
	return 0;
}

static int read_any(struct kdl_reader *rd, struct strbuf *sb, bool *bare)
{
	struct kdl_cursor start = rd->cur;
	int hashes = raw_hashes(rd);

	*bare = false;
	if (hashes >= 0) {
		kdl_rd_skip(rd, (size_t)hashes + (rd->version == KDL_V1 ? 1 : 0));
		if (kdl_rd_peek(rd) != '"')
			return kdl_rd_expected(rd, "'\"' to open a raw string");
		if (rd->version == KDL_V2 && kdl_rd_at(rd, "\"\"\"")) {
			kdl_rd_skip(rd, 3);
			return read_multiline(rd, sb, hashes, start);
		}
		kdl_rd_next(rd);
		return read_raw(rd, sb, hashes, start);
	}
	if (rd->version == KDL_V2 && kdl_rd_at(rd, "\"\"\"")) {
		kdl_rd_skip(rd, 3);
		return read_multiline(rd, sb, 0, start);
	}
	if (kdl_rd_peek(rd) == '"')
		return read_quoted(rd, sb);
	*bare = true;
	return read_identifier(rd, sb);
}

/**
 * kdl_rd_string - read a string token in any of its forms
 * @rd: the reader, at the token
 * @out: the string's value, allocated
 * @bare: set when it was an identifier string (v1 allows those only as names)
 *
 * Return: 0 on success, -1 on a syntax error.
 */
int kdl_rd_string(struct kdl_reader *rd, struct kdl_str *out, bool *bare)
{
	struct strbuf sb;

	sb_init(&sb);
	if (read_any(rd, &sb, bare)) {
		sb_fini(&sb);
		return -1;
	}
	out->len = sb.len;
	out->ptr = sb_detach(&sb);
	return 0;
}
