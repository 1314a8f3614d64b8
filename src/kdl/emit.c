/* The streaming KDL v2 writer, and the string quoting it shares with the printer. */
#include "kdl/emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kdl/internal.h"

/* The escape for cp, or NULL if it may appear literally in a quoted string. */
static const char *escape_for(int32_t cp, enum kdl_version v, char *buf, size_t size)
{
	static const char from[] = "\"\\\b\f\n\r\t/";
	static const char *const to[] = {
		"\\\"", "\\\\", "\\b", "\\f", "\\n", "\\r", "\\t", "\\/"
	};
	const char *p = cp > 0 && cp < 0x80 ? strchr(from, (int)cp) : NULL;

	if (p && (cp != '/' || v == KDL_V1))
		return to[p - from];
	if (cp < 0x20 || kdl_is_disallowed(cp) || kdl_is_newline(cp, KDL_V2)) {
		snprintf(buf, size, "\\u{%x}", (unsigned)cp);
		return buf;
	}
	return NULL;
}

/* escape_for() of an ASCII byte is NULL, without its lookups */
static inline bool plain_ascii(unsigned char b, enum kdl_version v)
{
	return b >= 0x20 && b < 0x7f && b != '"' && b != '\\' && (b != '/' || v != KDL_V1);
}

/**
 * kdl_write_quoted_v - write a quoted string with the escapes of a KDL version
 * @out: where to write
 * @s: the string; bytes that are not UTF-8 become U+FFFD
 * @len: its length in bytes
 * @v: KDL_V1 also escapes '/', as the v1 suite expects
 */
void kdl_write_quoted_v(FILE *out, const char *s, size_t len, enum kdl_version v)
{
	size_t pos = 0, run = 0, n;
	const char *esc;
	char buf[16];
	int32_t cp;

	fputc('"', out);
	while (pos < len) {
		/* printable ASCII that needs no escape: most of a dump's text, skipped at once */
		if (plain_ascii((unsigned char)s[pos], v)) {
			pos++;
			continue;
		}
		n = kdl_utf8_decode(s + pos, len - pos, &cp);
		esc = n ? escape_for(cp, v, buf, sizeof(buf)) : "\xef\xbf\xbd";
		if (!esc) {
			pos += n;
			continue;
		}
		/* plain text goes out in runs: dumps write millions of strings */
		fwrite(s + run, 1, pos - run, out);
		fputs(esc, out);
		pos += n ? n : 1;
		run = pos;
	}
	fwrite(s + run, 1, pos - run, out);
	fputc('"', out);
}

/**
 * kdl_write_string_v - write a string bare if the KDL version allows, else quoted
 * @out: where to write
 * @s: the string
 * @len: its length in bytes
 * @v: KDL_V1 or KDL_V2
 */
void kdl_write_string_v(FILE *out, const char *s, size_t len, enum kdl_version v)
{
	if (kdl_is_identifier_v(s, len, v))
		fwrite(s, 1, len, out);
	else
		kdl_write_quoted_v(out, s, len, v);
}

void kdl_write_quoted(FILE *out, const char *s, size_t len)
{
	kdl_write_quoted_v(out, s, len, KDL_V2);
}

void kdl_write_string(FILE *out, const char *s, size_t len)
{
	kdl_write_string_v(out, s, len, KDL_V2);
}

/* The shortest text that reads back as v, in a form KDL reads as a float. */
static void write_float(FILE *out, double v)
{
	char buf[40], *e;
	int prec;

	if (isnan(v)) {
		fputs("#nan", out);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "#inf" : "#-inf", out);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*g", prec, v);
	e = strchr(buf, 'e');
	if (e)
		*e = '\0';
	fputs(buf, out);
	if (!strchr(buf, '.'))
		fputs(".0", out);
	if (e) {
		int exp = atoi(e + 1);

		fprintf(out, "E%c%d", exp < 0 ? '-' : '+', abs(exp));
	}
}

void kdl_emitter_init(struct kdl_emitter *em, FILE *out)
{
	memset(em, 0, sizeof(*em));
	em->out = out;
}

int kdl_emitter_fini(struct kdl_emitter *em, struct err *err)
{
	bool unfinished;

	if (!em)
		return 0;
	unfinished = em->depth || em->state != KDL_EMIT_BETWEEN;
	if (fflush(em->out) || ferror(em->out))
		return err_set(err, ERR_IO, "writing the KDL output failed");
	if (em->misuse || unfinished)
		return err_set(err, ERR_INTERNAL, "KDL emitter: %s",
		               em->misuse ? "calls out of order" : "nodes left open");
	return 0;
}

/*
 * Indentation grows with the depth, and a document 20,000 levels deep
 * would be made of spaces (its size the square of the depth): past
 * KDL_INDENT_MAX levels, lines stay at that indentation and a node says
 * its level in a comment, which KDL allows before a node.
 */
static void indent(struct kdl_emitter *em, bool node)
{
	unsigned i;

	for (i = 0; i < em->depth && i < KDL_INDENT_MAX; i++)
		fputs("    ", em->out);
	if (node && em->depth > KDL_INDENT_MAX)
		fprintf(em->out, "/* depth %u */ ", em->depth);
}

/* Checks the order of calls; a wrong one is remembered for kdl_emitter_fini(). */
static bool expect(struct kdl_emitter *em, enum kdl_emit_state state)
{
	if (em->state == state)
		return true;
	em->misuse = true;
	return false;
}

void kdl_emit_node(struct kdl_emitter *em, const char *type, const char *name)
{
	if (!expect(em, KDL_EMIT_BETWEEN))
		return;
	indent(em, true);
	if (type) {
		fputc('(', em->out);
		kdl_write_string(em->out, type, strlen(type));
		fputc(')', em->out);
	}
	kdl_write_string(em->out, name, strlen(name));
	em->state = KDL_EMIT_ENTRIES;
}

void kdl_emit_node_end(struct kdl_emitter *em)
{
	if (em->state == KDL_EMIT_BETWEEN) {
		em->misuse = true;
		return;
	}
	fputc('\n', em->out);
	em->state = KDL_EMIT_BETWEEN;
}

void kdl_emit_children_begin(struct kdl_emitter *em)
{
	if (!expect(em, KDL_EMIT_ENTRIES))
		return;
	fputs(" {\n", em->out);
	em->depth++;
	em->state = KDL_EMIT_BETWEEN;
}

void kdl_emit_children_end(struct kdl_emitter *em)
{
	if (!em->depth || !expect(em, KDL_EMIT_BETWEEN)) {
		em->misuse = true;
		return;
	}
	em->depth--;
	indent(em, false);
	fputc('}', em->out);
	em->state = KDL_EMIT_CLOSED;
}

/* Starts an entry: " " for an argument, " key=" for a property. */
static bool entry(struct kdl_emitter *em, const char *key)
{
	if (!expect(em, KDL_EMIT_ENTRIES))
		return false;
	fputc(' ', em->out);
	if (key) {
		kdl_write_string(em->out, key, strlen(key));
		fputc('=', em->out);
	}
	return true;
}

static void emit_string(struct kdl_emitter *em, const char *key, const char *s)
{
	if (entry(em, key))
		kdl_write_string(em->out, s, strlen(s));
}

static void emit_int(struct kdl_emitter *em, const char *key, int64_t v)
{
	if (entry(em, key))
		fprintf(em->out, "%" PRId64, v);
}

static void emit_uint(struct kdl_emitter *em, const char *key, uint64_t v)
{
	if (entry(em, key))
		fprintf(em->out, "%" PRIu64, v);
}

static void emit_float(struct kdl_emitter *em, const char *key, double v)
{
	if (entry(em, key))
		write_float(em->out, v);
}

static void emit_word(struct kdl_emitter *em, const char *key, const char *word)
{
	if (entry(em, key))
		fputs(word, em->out);
}

void kdl_emit_arg_string(struct kdl_emitter *em, const char *s)
{
	emit_string(em, NULL, s);
}

void kdl_emit_arg_int(struct kdl_emitter *em, int64_t v)
{
	emit_int(em, NULL, v);
}

void kdl_emit_arg_uint(struct kdl_emitter *em, uint64_t v)
{
	emit_uint(em, NULL, v);
}

void kdl_emit_arg_float(struct kdl_emitter *em, double v)
{
	emit_float(em, NULL, v);
}

void kdl_emit_arg_bool(struct kdl_emitter *em, bool v)
{
	emit_word(em, NULL, v ? "#true" : "#false");
}

void kdl_emit_arg_null(struct kdl_emitter *em)
{
	emit_word(em, NULL, "#null");
}

void kdl_emit_prop_string(struct kdl_emitter *em, const char *key, const char *s)
{
	emit_string(em, key, s);
}

void kdl_emit_prop_int(struct kdl_emitter *em, const char *key, int64_t v)
{
	emit_int(em, key, v);
}

void kdl_emit_prop_uint(struct kdl_emitter *em, const char *key, uint64_t v)
{
	emit_uint(em, key, v);
}

void kdl_emit_prop_float(struct kdl_emitter *em, const char *key, double v)
{
	emit_float(em, key, v);
}

void kdl_emit_prop_bool(struct kdl_emitter *em, const char *key, bool v)
{
	emit_word(em, key, v ? "#true" : "#false");
}

void kdl_emit_prop_null(struct kdl_emitter *em, const char *key)
{
	emit_word(em, key, "#null");
}
