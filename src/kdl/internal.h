/*
 * Shared between the KDL reader's files: character classes, UTF-8, and the
 * reader's cursor. Not part of the module's interface.
 */
#ifndef NOSCO_KDL_INTERNAL_H
#define NOSCO_KDL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kdl/kdl.h"
#include "util/strbuf.h"

#define KDL_EOF       (-1)
#define KDL_MAX_DEPTH 200 /* children blocks nested deeper than this are refused */

/* chars.c */
void kdl_utf8_encode(struct strbuf *sb, int32_t cp);
bool kdl_is_space(int32_t cp, enum kdl_version v);
bool kdl_is_newline(int32_t cp, enum kdl_version v);
bool kdl_is_disallowed(int32_t cp);
bool kdl_is_ident_char(int32_t cp, enum kdl_version v);
bool kdl_is_identifier_v(const char *s, size_t len, enum kdl_version v);
bool kdl_is_digit(int32_t cp);
bool kdl_is_sign(int32_t cp);

struct kdl_cursor {
	size_t pos; /* byte offset */
	unsigned line, col;
};

struct kdl_reader {
	const char *src;
	size_t len;
	struct kdl_cursor cur;
	enum kdl_version version; /* KDL_V1 or KDL_V2 */
	const char *source;
	struct kdl_pos where; /* of the error, once failed */
	struct err *err;
	unsigned depth;
};

/* scan.c */
int32_t kdl_rd_peek(const struct kdl_reader *rd);
int32_t kdl_rd_peek_at(const struct kdl_reader *rd, size_t pos);
char kdl_rd_byte(const struct kdl_reader *rd, size_t k);
bool kdl_rd_at(const struct kdl_reader *rd, const char *ascii);
void kdl_rd_next(struct kdl_reader *rd);
void kdl_rd_skip(struct kdl_reader *rd, size_t n);
int kdl_rd_fail(struct kdl_reader *rd, struct kdl_cursor at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int kdl_rd_expected(struct kdl_reader *rd, const char *what);
const char *kdl_rd_describe(const struct kdl_reader *rd, char *buf, size_t size);
int kdl_rd_validate(struct kdl_reader *rd);
bool kdl_rd_at_newline(const struct kdl_reader *rd);
void kdl_rd_newline(struct kdl_reader *rd);
int kdl_rd_skip_ws(struct kdl_reader *rd);
int kdl_rd_skip_node_space(struct kdl_reader *rd);
int kdl_rd_skip_line_space(struct kdl_reader *rd);
void kdl_rd_skip_line_comment(struct kdl_reader *rd);

/* string.c */
size_t kdl_rd_ident_run(const struct kdl_reader *rd);
bool kdl_rd_at_string(const struct kdl_reader *rd);
int kdl_rd_string(struct kdl_reader *rd, struct kdl_str *out, bool *bare);

/* emit.c */
void kdl_write_quoted_v(FILE *out, const char *s, size_t len, enum kdl_version v);
void kdl_write_string_v(FILE *out, const char *s, size_t len, enum kdl_version v);

/* number.c */
bool kdl_rd_at_number(const struct kdl_reader *rd);
int kdl_rd_number(struct kdl_reader *rd, struct kdl_value *v);
void kdl_int_to_decimal(struct strbuf *sb, const char *text, size_t len, unsigned radix);

#endif
