/* Character classes of KDL v1 and v2, and UTF-8. */
#include "kdl/internal.h"

#include <string.h>

size_t kdl_utf8_decode(const char *s, size_t len, int32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;
	int32_t c;

	if (!len)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		c = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		c = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		c = u[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (u[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/**
 * kdl_utf8_encode - append a code point as UTF-8
 */
void kdl_utf8_encode(struct strbuf *sb, int32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_addn(sb, b, n);
}

/**
 * kdl_is_space - whether cp is whitespace other than a newline (unicode-space)
 */
bool kdl_is_space(int32_t cp, enum kdl_version v)
{
	switch (cp) {
	case '\t':
	case ' ':
	case 0xa0:
	case 0x1680:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	case 0xfeff:
		/* v1 counts the BOM as whitespace anywhere */
		return v == KDL_V1;
	default:
		return cp >= 0x2000 && cp <= 0x200a;
	}
}

/**
 * kdl_is_newline - whether cp is a newline (CR of a CRLF included)
 */
bool kdl_is_newline(int32_t cp, enum kdl_version v)
{
	switch (cp) {
	case '\n':
	case '\r':
	case '\f':
	case 0x85:
	case 0x2028:
	case 0x2029:
		return true;
	case '\v':
		return v != KDL_V1;
	default:
		return false;
	}
}

/**
 * kdl_is_disallowed - whether v2 bans cp as literal text anywhere
 *
 * The BOM is among them: it is only allowed first, and the reader skips it
 * before looking.
 */
bool kdl_is_disallowed(int32_t cp)
{
	return (cp >= 0 && cp <= 8) || (cp >= 0x0e && cp <= 0x1f) || cp == 0x7f ||
	       (cp >= 0xd800 && cp <= 0xdfff) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/**
 * kdl_is_digit - whether cp is 0-9
 */
bool kdl_is_digit(int32_t cp)
{
	return cp >= '0' && cp <= '9';
}

/**
 * kdl_is_sign - whether cp is '+' or '-'
 */
bool kdl_is_sign(int32_t cp)
{
	return cp == '+' || cp == '-';
}

/**
 * kdl_is_ident_char - whether cp may appear in a bare identifier of version v
 */
bool kdl_is_ident_char(int32_t cp, enum kdl_version v)
{
	if (cp < 0 || kdl_is_space(cp, v) || kdl_is_newline(cp, v))
		return false;
	if (v == KDL_V1)
		return cp > 0x20 && cp != 0xfeff && !strchr("\\/(){}<>;[]=,\"", (int)cp);
	return !kdl_is_disallowed(cp) && !(cp < 0x80 && strchr("\\/(){}[];\"#=", (int)cp));
}

static bool is_keyword_word(const char *s, size_t len, enum kdl_version v)
{
	static const char *const words[] = { "true", "false", "null", "inf", "-inf", "nan" };
	size_t i, n = v == KDL_V1 ? 3 : 6;

	for (i = 0; i < n; i++)
		if (strlen(words[i]) == len && !memcmp(words[i], s, len))
			return true;
	return false;
}

/* The first code points of s, KDL_EOF past its end (invalid UTF-8 too). */
static void first_three(const char *s, size_t len, int32_t c[3])
{
	size_t i, pos = 0, n;

	for (i = 0; i < 3; i++) {
		n = kdl_utf8_decode(s + pos, len - pos, &c[i]);
		if (!n) {
			c[i] = KDL_EOF;
			continue;
		}
		pos += n;
	}
}

static bool looks_like_number(const char *s, size_t len, enum kdl_version v)
{
	int32_t c[3];

	first_three(s, len, c);
	if (kdl_is_digit(c[0]))
		return true;
	if (kdl_is_sign(c[0]) && kdl_is_digit(c[1]))
		return true;
	if (v == KDL_V1)
		return false;
	/* ".5" and "+.5" are neither numbers nor identifiers in v2 */
	return (c[0] == '.' && kdl_is_digit(c[1])) ||
	       (kdl_is_sign(c[0]) && c[1] == '.' && kdl_is_digit(c[2]));
}

/* kdl_is_ident_char(b, KDL_V2) for an ASCII byte: every byte up to the space is a space, a
 * newline or banned, and so is DEL */
static bool ascii_ident_v2(unsigned char b)
{
	switch (b) {
	case '\\':
	case '/':
	case '(':
	case ')':
	case '{':
	case '}':
	case '[':
	case ']':
	case ';':
	case '"':
	case '#':
	case '=':
		return false;
	default:
		return b > 0x20 && b != 0x7f;
	}
}

/**
 * kdl_is_identifier_v - kdl_is_identifier() for either version
 */
bool kdl_is_identifier_v(const char *s, size_t len, enum kdl_version v)
{
	size_t pos = 0, n;
	int32_t cp;

	if (!len || looks_like_number(s, len, v) || is_keyword_word(s, len, v))
		return false;
	while (pos < len) {
		/* a v2 identifier's ASCII without kdl_is_ident_char()'s lookups: dumps write
		 * millions */
		if (v == KDL_V2 && (unsigned char)s[pos] < 0x80) {
			if (!ascii_ident_v2((unsigned char)s[pos]))
				return false;
			pos++;
			continue;
		}
		n = kdl_utf8_decode(s + pos, len - pos, &cp);
		if (!n || !kdl_is_ident_char(cp, v))
			return false;
		pos += n;
	}
	return true;
}

bool kdl_is_identifier(const char *s, size_t len)
{
	return kdl_is_identifier_v(s, len, KDL_V2);
}

/* Newline length at s (CRLF is one), 0 if none; v2 rules. */
static size_t newline_at(const char *s, size_t len)
{
	int32_t cp;
	size_t n = kdl_utf8_decode(s, len, &cp);

	if (!n || !kdl_is_newline(cp, KDL_V2))
		return 0;
	return cp == '\r' && len > 1 && s[1] == '\n' ? 2 : n;
}

bool kdl_source_line(const char *text, size_t len, unsigned line, size_t *start, size_t *end)
{
	size_t pos = 0, n;
	unsigned cur = 1;

	*start = 0;
	while (pos < len && cur < line) {
		n = newline_at(text + pos, len - pos);
		pos += n ? n : 1;
		if (n) {
			cur++;
			*start = pos;
		}
	}
	if (cur != line)
		return false;
	for (pos = *start; pos < len && !newline_at(text + pos, len - pos); pos++)
		;
	*end = pos;
	return true;
}
