/*
 * Rust v0 symbol names ("_R..."), the subset described in demangle.h.
 * The grammar is RFC 2603's; this is a recursive-descent printer that
 * gives up (returns NULL) on anything outside the subset.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sym/demangle.h"
#include "util/strbuf.h"

#define V0_MAX_DEPTH 64   /* nesting of paths and types */
#define V0_MAX_OUT   4096 /* back-references can repeat text: cap the output */

struct v0 {
	const char *s; /* the name after "_R" */
	size_t len;
	size_t pos;
	int depth;
	int silent; /* > 0 while parsing what is not printed (impl paths) */
	bool err;
	struct strbuf out;
};

static void v0_path(struct v0 *p, bool in_value);
static void v0_type(struct v0 *p);
static void v0_const(struct v0 *p);

static char peek(const struct v0 *p)
{
	return p->pos < p->len ? p->s[p->pos] : '\0';
}

static char next(struct v0 *p)
{
	char c = peek(p);

	if (!c)
		p->err = true;
	else
		p->pos++;
	return c;
}

static bool eat(struct v0 *p, char c)
{
	if (peek(p) != c)
		return false;
	p->pos++;
	return true;
}

static void put_n(struct v0 *p, const char *s, size_t n)
{
	if (p->silent || p->err)
		return;
	sb_addn(&p->out, s, n);
	if (p->out.len > V0_MAX_OUT)
		p->err = true;
}

static void put(struct v0 *p, const char *s)
{
	put_n(p, s, strlen(s));
}

/* {0-9a-zA-Z} "_": "_" is 0, otherwise the digits' value plus one. */
static uint64_t base62(struct v0 *p)
{
	uint64_t v = 0;
	char c;

	if (eat(p, '_'))
		return 0;
	while (!p->err && (c = next(p)) != '_') {
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'Z')
			d = c - 'A' + 36;
		else {
			p->err = true;
			return 0;
		}
		if (v > (UINT64_MAX - 61) / 62) {
			p->err = true;
			return 0;
		}
		v = v * 62 + (uint64_t)d;
	}
	return v + 1;
}

/* An optional "s" <base-62-number>: 0 when absent. */
static uint64_t disambiguator(struct v0 *p)
{
	return eat(p, 's') ? base62(p) + 1 : 0;
}

/* <undisambiguated-identifier>; punycode ("u" prefix) is not handled. */
static void ident(struct v0 *p, const char **name, size_t *len)
{
	size_t n = 0;

	*name = "";
	*len = 0;
	if (peek(p) == 'u' || !isdigit((unsigned char)peek(p))) {
		p->err = true;
		return;
	}
	if (eat(p, '0')) {
		eat(p, '_');
		return;
	}
	while (isdigit((unsigned char)peek(p)) && n < 100000)
		n = n * 10 + (size_t)(next(p) - '0');
	eat(p, '_');
	if (n > p->len - p->pos) {
		p->err = true;
		return;
	}
	*name = p->s + p->pos;
	*len = n;
	p->pos += n;
}

/* "B" <base-62-number>: parse fn at an earlier position, then come back. */
static void backref(struct v0 *p, void (*fn)(struct v0 *p, bool arg), bool arg)
{
	size_t start = p->pos - 1, saved;
	uint64_t target = base62(p);

	if (p->err || target >= start) {
		p->err = true;
		return;
	}
	saved = p->pos;
	p->pos = (size_t)target;
	fn(p, arg);
	p->pos = saved;
}

static void type_fn(struct v0 *p, bool arg)
{
	(void)arg;
	v0_type(p);
}

static void const_fn(struct v0 *p, bool arg)
{
	(void)arg;
	v0_const(p);
}

static const char *basic_type(char c)
{
	static const char *const names[26] = {
		['a' - 'a'] = "i8",   ['b' - 'a'] = "bool",  ['c' - 'a'] = "char",
		['d' - 'a'] = "f64",  ['e' - 'a'] = "str",   ['f' - 'a'] = "f32",
		['h' - 'a'] = "u8",   ['i' - 'a'] = "isize", ['j' - 'a'] = "usize",
		['l' - 'a'] = "i32",  ['m' - 'a'] = "u32",   ['n' - 'a'] = "i128",
		['o' - 'a'] = "u128", ['p' - 'a'] = "_",     ['s' - 'a'] = "i16",
		['t' - 'a'] = "u16",  ['u' - 'a'] = "()",    ['v' - 'a'] = "...",
		['x' - 'a'] = "i64",  ['y' - 'a'] = "u64",   ['z' - 'a'] = "!",
	};

	return c >= 'a' && c <= 'z' ? names[c - 'a'] : NULL;
}

static void lifetime_opt(struct v0 *p)
{
	/* only erased lifetimes: bound ones need binders (fn/dyn types) */
	if (eat(p, 'L') && base62(p) != 0)
		p->err = true;
}

static void type_list(struct v0 *p)
{
	size_t n = 0;

	put(p, "(");
	while (!p->err && !eat(p, 'E')) {
		if (n++)
			put(p, ", ");
		v0_type(p);
	}
	put(p, n == 1 ? ",)" : ")");
}

static void v0_type(struct v0 *p)
{
	const char *basic = basic_type(peek(p));
	char c = '\0';

	if (basic) {
		p->pos++;
		put(p, basic);
		return;
	}
	if (++p->depth > V0_MAX_DEPTH)
		p->err = true;
	switch (p->err ? '\0' : (c = peek(p))) {
	case 'R':
	case 'Q':
		p->pos++;
		put(p, c == 'R' ? "&" : "&mut ");
		lifetime_opt(p);
		v0_type(p);
		break;
	case 'P':
	case 'O':
		p->pos++;
		put(p, c == 'P' ? "*const " : "*mut ");
		v0_type(p);
		break;
	case 'A':
	case 'S':
		p->pos++;
		put(p, "[");
		v0_type(p);
		if (c == 'A') {
			put(p, "; ");
			v0_const(p);
		}
		put(p, "]");
		break;
	case 'T':
		p->pos++;
		type_list(p);
		break;
	case 'B':
		p->pos++;
		backref(p, type_fn, false);
		break;
	case 'C':
	case 'M':
	case 'X':
	case 'Y':
	case 'N':
	case 'I':
		v0_path(p, false);
		break;
	default: /* 'F' fn pointers, 'D' dyn traits, or malformed */
		p->err = true;
	}
	p->depth--;
}

static void print_const_value(struct v0 *p, char ty, bool neg, uint64_t v)
{
	char buf[32];

	switch (ty) {
	case 'b':
		if (v > 1 || neg)
			p->err = true;
		put(p, v ? "true" : "false");
		return;
	case 'c':
		if (v < 0x20 || v > 0x7e || neg) {
			p->err = true;
			return;
		}
		snprintf(buf, sizeof(buf), "'%c'", (char)v);
		break;
	case 'a':
	case 'h':
	case 'i':
	case 'j':
	case 'l':
	case 'm':
	case 'n':
	case 'o':
	case 's':
	case 't':
	case 'x':
	case 'y':
		snprintf(buf, sizeof(buf), "%s%" PRIu64, neg ? "-" : "", v);
		break;
	default:
		p->err = true;
		return;
	}
	put(p, buf);
}

static void v0_const(struct v0 *p)
{
	uint64_t v = 0;
	int digits = 0;
	bool neg;
	char ty, c;

	if (eat(p, 'B')) {
		backref(p, const_fn, false);
		return;
	}
	if (eat(p, 'p')) {
		put(p, "_");
		return;
	}
	ty = next(p);
	neg = eat(p, 'n');
	while (!p->err && (c = next(p)) != '_') {
		if (!isxdigit((unsigned char)c) || ++digits > 16) {
			p->err = true;
			return;
		}
		v = v * 16 +
		    (uint64_t)(isdigit((unsigned char)c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	if (!p->err)
		print_const_value(p, ty, neg, v);
}

static void generic_arg(struct v0 *p)
{
	if (eat(p, 'L')) {
		base62(p);
		put(p, "'_");
	} else if (eat(p, 'K')) {
		v0_const(p);
	} else {
		v0_type(p);
	}
}

static void nested(struct v0 *p, bool in_value)
{
	char ns = next(p);
	uint64_t dis;
	const char *name;
	size_t len;

	v0_path(p, in_value);
	dis = disambiguator(p);
	ident(p, &name, &len);
	if (isupper((unsigned char)ns)) {
		char buf[32];

		put(p, "::{");
		put(p, ns == 'C' ? "closure" : ns == 'S' ? "shim" : (char[]){ ns, '\0' });
		if (len) {
			put(p, ":");
			put_n(p, name, len);
		}
		snprintf(buf, sizeof(buf), "#%" PRIu64 "}", dis);
		put(p, buf);
	} else if (len) {
		put(p, "::");
		put_n(p, name, len);
	}
}

static void impl_self(struct v0 *p, bool trait)
{
	disambiguator(p);
	p->silent++; /* the impl's own path only says where it is written */
	v0_path(p, false);
	p->silent--;
	put(p, "<");
	v0_type(p);
	if (trait) {
		put(p, " as ");
		v0_path(p, false);
	}
	put(p, ">");
}

static void generic_args(struct v0 *p, bool in_value)
{
	size_t n = 0;

	v0_path(p, in_value);
	put(p, in_value ? "::<" : "<");
	while (!p->err && !eat(p, 'E')) {
		if (n++)
			put(p, ", ");
		generic_arg(p);
	}
	put(p, ">");
}

static void path_fn(struct v0 *p, bool in_value)
{
	v0_path(p, in_value);
}

static void v0_path(struct v0 *p, bool in_value)
{
	const char *name;
	size_t len;

	if (++p->depth > V0_MAX_DEPTH)
		p->err = true;
	switch (p->err ? '\0' : next(p)) {
	case 'C':
		disambiguator(p);
		ident(p, &name, &len);
		put_n(p, name, len);
		break;
	case 'M':
		impl_self(p, false);
		break;
	case 'X':
		impl_self(p, true);
		break;
	case 'Y':
		put(p, "<");
		v0_type(p);
		put(p, " as ");
		v0_path(p, false);
		put(p, ">");
		break;
	case 'N':
		nested(p, in_value);
		break;
	case 'I':
		generic_args(p, in_value);
		break;
	case 'B':
		backref(p, path_fn, in_value);
		break;
	default:
		p->err = true;
	}
	p->depth--;
}

char *sym_demangle_rust_v0(const char *raw)
{
	struct v0 p = { 0 };
	char *out;

	if (!raw || strncmp(raw, "_R", 2))
		return NULL;
	p.s = raw + 2;
	p.len = strlen(p.s);
	/* an encoding version number would follow "_R": only version 0 (none) exists */
	if (isdigit((unsigned char)peek(&p)))
		return NULL;
	sb_init(&p.out);
	v0_path(&p, true);
	/* what may follow (instantiating crate, ".llvm.N" suffixes) is not shown */
	if (p.err) {
		sb_fini(&p.out);
		return NULL;
	}
	out = sb_detach(&p.out);
	return out;
}
