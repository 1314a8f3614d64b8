/*
 * Number tokens: decimal integers and floats, 0x/0o/0b integers, with '_'
 * separators. Integers that do not fit int64_t keep their exact text.
 */
#include "kdl/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/**
 * kdl_rd_at_number - whether a number starts at the cursor
 */
bool kdl_rd_at_number(const struct kdl_reader *rd)
{
	char c0 = kdl_rd_byte(rd, 0), c1 = kdl_rd_byte(rd, 1), c2 = kdl_rd_byte(rd, 2);

	if (kdl_is_digit(c0) || (kdl_is_sign(c0) && kdl_is_digit(c1)))
		return true;
	/* v2 bans these from identifiers so that they can be reported as numbers */
	return rd->version == KDL_V2 && ((c0 == '.' && kdl_is_digit(c1)) ||
	                                 (kdl_is_sign(c0) && c1 == '.' && kdl_is_digit(c2)));
}

static int digit_value(char c, unsigned radix)
{
	int d = -1;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	return d >= 0 && (unsigned)d < radix ? d : -1;
}

struct num_scan {
	const char *s;
	size_t len, i;
	struct strbuf *clean; /* the literal without '_' */
	const char *why;
	char why_buf[64];
};

static char ns_peek(const struct num_scan *ns)
{
	return ns->i < ns->len ? ns->s[ns->i] : '\0';
}

/* digit (digit | '_')*, in the given radix; false if no leading digit. */
static bool ns_digits(struct num_scan *ns, unsigned radix)
{
	if (digit_value(ns_peek(ns), radix) < 0)
		return false;
	while (digit_value(ns_peek(ns), radix) >= 0 || ns_peek(ns) == '_') {
		if (ns_peek(ns) != '_')
			sb_addc(ns->clean, ns_peek(ns));
		ns->i++;
	}
	return true;
}

static unsigned ns_radix(struct num_scan *ns)
{
	char c = ns->i + 1 < ns->len && ns_peek(ns) == '0' ? ns->s[ns->i + 1] : '\0';

	switch (c) {
	case 'x':
		return 16;
	case 'o':
		return 8;
	case 'b':
		return 2;
	default:
		return 10;
	}
}

static bool ns_decimal(struct num_scan *ns, bool *is_float)
{
	if (!ns_digits(ns, 10)) {
		ns->why = ns_peek(ns) == '.' ? "a number needs a digit before '.'"
		                             : "expected a digit";
		return false;
	}
	if (ns_peek(ns) == '.') {
		*is_float = true;
		sb_addc(ns->clean, '.');
		ns->i++;
		if (!ns_digits(ns, 10)) {
			ns->why = "expected a digit after '.'";
			return false;
		}
	}
	if (ns_peek(ns) == 'e' || ns_peek(ns) == 'E') {
		*is_float = true;
		sb_addc(ns->clean, ns_peek(ns));
		ns->i++;
		if (kdl_is_sign(ns_peek(ns)))
			sb_addc(ns->clean, ns->s[ns->i++]);
		if (!ns_digits(ns, 10)) {
			ns->why = "expected digits in the exponent";
			return false;
		}
	}
	return true;
}

/* Scans the whole literal; false with ns->why set if it is malformed. */
static bool ns_scan(struct num_scan *ns, unsigned *radix, bool *is_float)
{
	static const char *const names[] = { [2] = "binary", [8] = "octal", [16] = "hexadecimal" };

	if (kdl_is_sign(ns_peek(ns)))
		sb_addc(ns->clean, ns->s[ns->i++]);
	*radix = ns_radix(ns);
	*is_float = false;
	if (*radix == 10) {
		if (!ns_decimal(ns, is_float))
			return false;
	} else {
		sb_addn(ns->clean, ns->s + ns->i, 2);
		ns->i += 2;
		if (!ns_digits(ns, *radix)) {
			snprintf(ns->why_buf, sizeof(ns->why_buf),
			         "expected a %s digit after '0%c'", names[*radix],
			         ns->s[ns->i - 1]);
			ns->why = ns->why_buf;
			return false;
		}
	}
	if (ns->i < ns->len) {
		snprintf(ns->why_buf, sizeof(ns->why_buf), "'%c' does not belong in a %s number",
		         ns->s[ns->i], *radix == 10 ? "decimal" : names[*radix]);
		ns->why = ns->why_buf;
		return false;
	}
	return true;
}

/* The integer's value from its clean text; false if it does not fit int64_t. */
static bool int_value(const char *t, unsigned radix, int64_t *out, double *approx)
{
	bool neg = t[0] == '-', fits = true;
	uint64_t mag = 0;
	double d = 0;
	int dv;

	t += kdl_is_sign(t[0]) + (radix != 10 ? 2 : 0);
	for (; *t; t++) {
		dv = digit_value(*t, radix);
		d = d * radix + dv;
		if (mag > (UINT64_MAX - (uint64_t)dv) / radix)
			fits = false;
		else
			mag = mag * radix + (uint64_t)dv;
	}
	*approx = neg ? -d : d;
	if (!fits || mag > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

/**
 * kdl_rd_number - read a number token
 * @rd: the reader, where kdl_rd_at_number() is true
 * @v: receives kind, value, radix and text
 *
 * The token runs as far as identifier characters do, so that "1.0v2" or
 * "0x1g" are reported as bad numbers instead of being split.
 *
 * Return: 0 on success, -1 on a syntax error.
 */
int kdl_rd_number(struct kdl_reader *rd, struct kdl_value *v)
{
	struct kdl_cursor start = rd->cur;
	struct strbuf clean;
	struct num_scan ns;
	bool is_float;
	unsigned radix;

	while (kdl_is_ident_char(kdl_rd_peek(rd), rd->version))
		kdl_rd_next(rd);
	sb_init(&clean);
	ns = (struct num_scan){ .s = rd->src + start.pos,
		                .len = rd->cur.pos - start.pos,
		                .clean = &clean };
	if (!ns_scan(&ns, &radix, &is_float)) {
		sb_fini(&clean);
		return kdl_rd_fail(rd, start, "invalid number '%.*s': %s", (int)ns.len, ns.s,
		                   ns.why);
	}
	v->kind = is_float ? KDL_FLOAT : KDL_INT;
	v->radix = radix;
	if (is_float)
		v->real = strtod(clean.buf, NULL);
	else
		v->big = !int_value(clean.buf, radix, &v->integer, &v->real);
	v->text.len = clean.len;
	v->text.ptr = sb_detach(&clean);
	return 0;
}

/**
 * kdl_int_to_decimal - convert an integer literal of any size to decimal
 * @sb: receives the digits, with '-' for negative non-zero values
 * @text: the literal without underscores ("-0xff", "+12")
 * @len: its length
 * @radix: 2, 8, 10 or 16, matching the literal's prefix
 */
void kdl_int_to_decimal(struct strbuf *sb, const char *text, size_t len, unsigned radix)
{
	const uint32_t base = 1000000000;
	size_t i = 0, n = 0, k;
	uint32_t *limb;
	bool neg = len && text[0] == '-';
	uint64_t t;

	if (len && kdl_is_sign(text[0]))
		i++;
	if (radix != 10)
		i += 2;
	limb = xcalloc(len + 1, sizeof(*limb)); /* little-endian base 1e9 */
	for (; i < len; i++) {
		t = (uint64_t)digit_value(text[i], radix);
		for (k = 0; k < n; k++) {
			t += (uint64_t)limb[k] * radix;
			limb[k] = (uint32_t)(t % base);
			t /= base;
		}
		if (t)
			limb[n++] = (uint32_t)t;
	}
	if (!n) {
		sb_addc(sb, '0');
	} else {
		sb_addf(sb, "%s%u", neg ? "-" : "", limb[n - 1]);
		for (k = n - 1; k-- > 0;)
			sb_addf(sb, "%09u", limb[k]);
	}
	free(limb);
}
