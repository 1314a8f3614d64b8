/*
 * The reader's cursor: code points, positions, errors, and the whitespace,
 * comments and line continuations that may appear between tokens.
 */
#include "kdl/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/**
 * kdl_rd_peek_at - the code point at a byte offset, KDL_EOF at the end
 */
int32_t kdl_rd_peek_at(const struct kdl_reader *rd, size_t pos)
{
	int32_t cp;

	if (pos >= rd->len || !kdl_utf8_decode(rd->src + pos, rd->len - pos, &cp))
		return KDL_EOF;
	return cp;
}

/**
 * kdl_rd_peek - the code point at the cursor, KDL_EOF at the end
 */
int32_t kdl_rd_peek(const struct kdl_reader *rd)
{
	return kdl_rd_peek_at(rd, rd->cur.pos);
}

/**
 * kdl_rd_byte - the byte k bytes past the cursor
 *
 * Return: the byte, or 0 past the end, which cannot be mistaken for text
 * because kdl_rd_validate() refuses NUL.
 */
char kdl_rd_byte(const struct kdl_reader *rd, size_t k)
{
	return rd->cur.pos + k < rd->len ? rd->src[rd->cur.pos + k] : '\0';
}

/**
 * kdl_rd_at - whether the text at the cursor starts with an ASCII string
 */
bool kdl_rd_at(const struct kdl_reader *rd, const char *ascii)
{
	size_t n = strlen(ascii);

	return rd->cur.pos + n <= rd->len && !memcmp(rd->src + rd->cur.pos, ascii, n);
}

/**
 * kdl_rd_next - move the cursor past one code point, counting lines and columns
 */
void kdl_rd_next(struct kdl_reader *rd)
{
	int32_t cp;
	size_t n = kdl_utf8_decode(rd->src + rd->cur.pos, rd->len - rd->cur.pos, &cp);

	if (!n)
		return;
	rd->cur.pos += n;
	/* CRLF is one newline: the LF ends the line */
	if (kdl_is_newline(cp, rd->version) && !(cp == '\r' && kdl_rd_byte(rd, 0) == '\n')) {
		rd->cur.line++;
		rd->cur.col = 1;
	} else {
		rd->cur.col++;
	}
}

/**
 * kdl_rd_skip - move the cursor past n code points
 */
void kdl_rd_skip(struct kdl_reader *rd, size_t n)
{
	while (n--)
		kdl_rd_next(rd);
}

/**
 * kdl_rd_fail - record a syntax error
 * @rd: the reader
 * @at: where the error is
 * @fmt: what was expected and found
 *
 * Return: always -1.
 */
int kdl_rd_fail(struct kdl_reader *rd, struct kdl_cursor at, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rd->where.line = at.line;
	rd->where.col = at.col;
	if (rd->source)
		return err_set(rd->err, ERR_INPUT, "%s:%u:%u: %s", rd->source, at.line, at.col,
		               msg);
	return err_set(rd->err, ERR_INPUT, "%u:%u: %s", at.line, at.col, msg);
}

/**
 * kdl_rd_describe - name what is at the cursor, for "found ..." in messages
 * @rd: the reader
 * @buf: room for the description
 * @size: its size
 *
 * Return: buf, or a constant string.
 */
const char *kdl_rd_describe(const struct kdl_reader *rd, char *buf, size_t size)
{
	int32_t cp = kdl_rd_peek(rd);
	size_t n;

	if (cp == KDL_EOF)
		return "end of input";
	if (kdl_is_newline(cp, rd->version))
		return "end of line";
	if (cp < 0x20 || kdl_is_disallowed(cp)) {
		snprintf(buf, size, "U+%04X", (unsigned)cp);
		return buf;
	}
	n = kdl_utf8_decode(rd->src + rd->cur.pos, rd->len - rd->cur.pos, &cp);
	snprintf(buf, size, "'%.*s'", (int)n, rd->src + rd->cur.pos);
	return buf;
}

/**
 * kdl_rd_expected - record "expected WHAT, found ..." at the cursor
 *
 * Return: always -1.
 */
int kdl_rd_expected(struct kdl_reader *rd, const char *what)
{
	char buf[32];

	return kdl_rd_fail(rd, rd->cur, "expected %s, found %s", what,
	                   kdl_rd_describe(rd, buf, sizeof(buf)));
}

/**
 * kdl_rd_validate - reject invalid UTF-8 and banned code points anywhere in the text
 *
 * Done once up front so that the grammar code can decode without checking,
 * and so that every such error has a position.
 *
 * Return: 0 if the text is clean, -1 with the position of the first problem.
 */
int kdl_rd_validate(struct kdl_reader *rd)
{
	struct kdl_cursor start = rd->cur;
	int32_t cp;
	size_t n;

	while (rd->cur.pos < rd->len) {
		n = kdl_utf8_decode(rd->src + rd->cur.pos, rd->len - rd->cur.pos, &cp);
		if (!n)
			return kdl_rd_fail(rd, rd->cur, "invalid UTF-8 (byte 0x%02x)",
			                   (unsigned char)rd->src[rd->cur.pos]);
		if (cp == 0 || (rd->version == KDL_V2 && kdl_is_disallowed(cp)))
			return kdl_rd_fail(rd, rd->cur,
			                   "U+%04X may not appear literally in a KDL document "
			                   "(inside a quoted string, write \\u{%x})",
			                   (unsigned)cp, (unsigned)cp);
		kdl_rd_next(rd);
	}
	rd->cur = start;
	return 0;
}

/**
 * kdl_rd_at_newline - whether a newline is at the cursor
 */
bool kdl_rd_at_newline(const struct kdl_reader *rd)
{
	return kdl_is_newline(kdl_rd_peek(rd), rd->version);
}

/**
 * kdl_rd_newline - move past the newline at the cursor (CRLF is one)
 */
void kdl_rd_newline(struct kdl_reader *rd)
{
	if (kdl_rd_at(rd, "\r\n"))
		kdl_rd_next(rd);
	kdl_rd_next(rd);
}

/**
 * kdl_rd_skip_line_comment - move past a // comment and the newline ending it
 */
void kdl_rd_skip_line_comment(struct kdl_reader *rd)
{
	kdl_rd_skip(rd, 2);
	while (kdl_rd_peek(rd) != KDL_EOF && !kdl_rd_at_newline(rd))
		kdl_rd_next(rd);
	if (kdl_rd_at_newline(rd))
		kdl_rd_newline(rd);
}

static int skip_block_comment(struct kdl_reader *rd)
{
	struct kdl_cursor start = rd->cur;
	unsigned nesting = 0;

	do {
		if (kdl_rd_at(rd, "/*")) {
			nesting++;
			kdl_rd_skip(rd, 2);
		} else if (kdl_rd_at(rd, "*/")) {
			nesting--;
			kdl_rd_skip(rd, 2);
		} else if (kdl_rd_peek(rd) == KDL_EOF) {
			return kdl_rd_fail(rd, start, "unterminated block comment (missing '*/')");
		} else {
			kdl_rd_next(rd);
		}
	} while (nesting);
	return 0;
}

/**
 * kdl_rd_skip_ws - move past spaces and block comments
 *
 * Return: 1 if any were skipped, 0 if none, -1 on an unterminated comment.
 */
int kdl_rd_skip_ws(struct kdl_reader *rd)
{
	int skipped = 0;

	for (;;) {
		if (kdl_is_space(kdl_rd_peek(rd), rd->version)) {
			kdl_rd_next(rd);
		} else if (kdl_rd_at(rd, "/*")) {
			if (skip_block_comment(rd))
				return -1;
		} else {
			return skipped;
		}
		skipped = 1;
	}
}

/* A line continuation: '\' ws* then a line comment, a newline or the end. */
static int skip_escline(struct kdl_reader *rd)
{
	kdl_rd_next(rd);
	if (kdl_rd_skip_ws(rd) < 0)
		return -1;
	if (kdl_rd_at(rd, "//"))
		kdl_rd_skip_line_comment(rd);
	else if (kdl_rd_at_newline(rd))
		kdl_rd_newline(rd);
	else if (kdl_rd_peek(rd) != KDL_EOF)
		return kdl_rd_expected(rd, "a newline after the line continuation '\\'");
	return 0;
}

/**
 * kdl_rd_skip_node_space - move past whitespace allowed inside a node
 *
 * That is spaces, block comments and line continuations: a newline needs a
 * '\\' before it.
 *
 * Return: 1 if any were skipped, 0 if none, -1 on a syntax error.
 */
int kdl_rd_skip_node_space(struct kdl_reader *rd)
{
	int skipped = 0, r;

	for (;;) {
		r = kdl_rd_skip_ws(rd);
		if (r < 0)
			return -1;
		skipped |= r;
		if (kdl_rd_peek(rd) != '\\')
			return skipped;
		if (skip_escline(rd))
			return -1;
		skipped = 1;
	}
}

/**
 * kdl_rd_skip_line_space - move past whitespace allowed between nodes
 *
 * Node space plus newlines and line comments.
 *
 * Return: 1 if any were skipped, 0 if none, -1 on a syntax error.
 */
int kdl_rd_skip_line_space(struct kdl_reader *rd)
{
	int skipped = 0, r;

	for (;;) {
		r = kdl_rd_skip_node_space(rd);
		if (r < 0)
			return -1;
		skipped |= r;
		if (kdl_rd_at(rd, "//"))
			kdl_rd_skip_line_comment(rd);
		else if (kdl_rd_at_newline(rd))
			kdl_rd_newline(rd);
		else
			return skipped;
		skipped = 1;
	}
}
