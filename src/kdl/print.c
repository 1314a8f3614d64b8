/*
 * The canonical form of the kdl-org test suite (tests/README.md there):
 * what a parsed document is compared against. The v1 suite (tag 1.0.0)
 * prints differently from the v2 one: values always quoted, integers in
 * their own radix, empty children blocks kept, '/' escaped.
 */
#include "kdl/kdl.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kdl/internal.h"
#include "util/xalloc.h"

struct printer {
	FILE *out;
	enum kdl_version v;
};

static void print_name(const struct printer *p, const struct kdl_str *s)
{
	kdl_write_string_v(p->out, s->ptr, s->len, p->v);
}

static void print_type(const struct printer *p, const struct kdl_str *type)
{
	if (!type->ptr)
		return;
	fputc('(', p->out);
	print_name(p, type);
	fputc(')', p->out);
}

/* Floats keep their digits; only the spelling is normalized (1e10 -> 1E+10). */
static void print_float(const struct printer *p, const struct kdl_value *v)
{
	const char *t = v->text.ptr, *e;

	if (!t) { /* #inf, #-inf, #nan */
		if (isnan(v->real))
			fputs("#nan", p->out);
		else if (isinf(v->real))
			fputs(v->real > 0 ? "#inf" : "#-inf", p->out);
		else
			fprintf(p->out, "%.17g", v->real);
		return;
	}
	if (*t == '-')
		fputc('-', p->out);
	t += strspn(t, "+-");
	t += strspn(t, "0");
	if (!kdl_is_digit(*t))
		fputc('0', p->out);
	e = t + strcspn(t, "eE");
	fwrite(t, 1, (size_t)(e - t), p->out);
	if (!*e)
		return;
	e++;
	fprintf(p->out, "E%s%s", kdl_is_sign(*e) ? "" : "+", e);
}

/* v1 keeps the radix: 0x01 -> 0x1, 0xAB -> 0xab. */
static void print_radix_int(const struct printer *p, const char *t)
{
	const char *d;

	if (*t == '-')
		fputc('-', p->out);
	t += strspn(t, "+-");
	fputc('0', p->out);
	fputc(t[1], p->out);
	d = t + 2 + strspn(t + 2, "0");
	if (!*d)
		d--;
	for (; *d; d++)
		fputc(*d >= 'A' && *d <= 'F' ? *d - 'A' + 'a' : *d, p->out);
}

static void print_int(const struct printer *p, const struct kdl_value *v)
{
	struct strbuf sb;

	if (p->v == KDL_V1 && v->radix != 10 && v->text.ptr) {
		print_radix_int(p, v->text.ptr);
		return;
	}
	if (!v->big || !v->text.ptr) {
		fprintf(p->out, "%" PRId64, v->integer);
		return;
	}
	sb_init(&sb);
	kdl_int_to_decimal(&sb, v->text.ptr, v->text.len, v->radix);
	fputs(sb.buf, p->out);
	sb_fini(&sb);
}

static void print_value(const struct printer *p, const struct kdl_value *v)
{
	bool v1 = p->v == KDL_V1;

	print_type(p, &v->type);
	switch (v->kind) {
	case KDL_NULL:
		fputs(v1 ? "null" : "#null", p->out);
		break;
	case KDL_BOOL:
		if (v1)
			fputs(v->boolean ? "true" : "false", p->out);
		else
			fputs(v->boolean ? "#true" : "#false", p->out);
		break;
	case KDL_INT:
		print_int(p, v);
		break;
	case KDL_FLOAT:
		print_float(p, v);
		break;
	case KDL_STRING:
		if (v1)
			kdl_write_quoted_v(p->out, v->text.ptr, v->text.len, p->v);
		else
			print_name(p, &v->text);
		break;
	}
}

static int prop_cmp(const void *a, const void *b)
{
	const struct kdl_prop *pa = *(const struct kdl_prop *const *)a;
	const struct kdl_prop *pb = *(const struct kdl_prop *const *)b;
	size_t n = pa->name.len < pb->name.len ? pa->name.len : pb->name.len;
	int c = memcmp(pa->name.ptr, pb->name.ptr, n);

	if (c)
		return c;
	return pa->name.len < pb->name.len ? -1 : pa->name.len > pb->name.len;
}

static void print_props(const struct printer *p, const struct kdl_node *node)
{
	const struct kdl_prop **sorted;
	size_t i;

	if (!node->props.len)
		return;
	sorted = xcalloc(node->props.len, sizeof(*sorted));
	for (i = 0; i < node->props.len; i++)
		sorted[i] = &node->props.data[i];
	qsort(sorted, node->props.len, sizeof(*sorted), prop_cmp);
	for (i = 0; i < node->props.len; i++) {
		fputc(' ', p->out);
		print_name(p, &sorted[i]->name);
		fputc('=', p->out);
		print_value(p, &sorted[i]->value);
	}
	free(sorted);
}

static void print_node(const struct printer *p, const struct kdl_node *node, unsigned depth)
{
	bool block = p->v == KDL_V1 ? node->has_children : node->children.len > 0;
	size_t i;

	fprintf(p->out, "%*s", (int)(4 * depth), "");
	print_type(p, &node->type);
	print_name(p, &node->name);
	for (i = 0; i < node->args.len; i++) {
		fputc(' ', p->out);
		print_value(p, &node->args.data[i]);
	}
	print_props(p, node);
	if (block) {
		fputs(" {\n", p->out);
		for (i = 0; i < node->children.len; i++)
			print_node(p, &node->children.data[i], depth + 1);
		fprintf(p->out, "%*s}", (int)(4 * depth), "");
	}
	fputc('\n', p->out);
}

int kdl_print_canonical(const struct kdl_document *doc, FILE *out, enum kdl_version version,
                        struct err *err)
{
	struct printer p = { out, version == KDL_V1 ? KDL_V1 : KDL_V2 };
	size_t i;

	for (i = 0; i < doc->nodes.len; i++)
		print_node(&p, &doc->nodes.data[i], 0);
	if (!doc->nodes.len)
		fputc('\n', out);
	if (ferror(out))
		return err_set(err, ERR_IO, "writing the KDL document failed");
	return 0;
}
