/*
 * The KDL module: the reader's tree and positions, its error messages, the
 * canonical printer, and the streaming emitter's layout and quoting.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kdl/emit.h"
#include "kdl/kdl.h"

static struct kdl_document doc;

static int teardown(void **state)
{
	(void)state;
	kdl_document_fini(&doc);
	return 0;
}

static void parse_ok(const char *text, enum kdl_version v)
{
	struct kdl_parse_opts opts = { .version = v };
	struct err err = { 0 };

	kdl_document_fini(&doc);
	if (kdl_parse(&doc, text, strlen(text), &opts, NULL, &err))
		fail_msg("rejected: %s", err.msg);
}

/* The error message for text, checked to start with the position it reports. */
static const char *parse_err(const char *text, enum kdl_version v)
{
	static struct err err;
	struct kdl_parse_opts opts = { .version = v };
	struct kdl_pos where = { 0, 0 };
	char prefix[32];

	kdl_document_fini(&doc);
	assert_int_equal(kdl_parse(&doc, text, strlen(text), &opts, &where, &err), -1);
	assert_int_equal(err.kind, ERR_INPUT);
	assert_int_equal(doc.nodes.len, 0);
	snprintf(prefix, sizeof(prefix), "%u:%u: ", where.line, where.col);
	assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
	return err.msg;
}

static void assert_canonical(enum kdl_version v, const char *expected)
{
	struct err err;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(kdl_print_canonical(&doc, f, v, &err), 0);
	fclose(f);
	assert_string_equal(out, expected);
	free(out);
}

static void assert_pos(struct kdl_pos pos, unsigned line, unsigned col)
{
	assert_int_equal(pos.line, line);
	assert_int_equal(pos.col, col);
}

static void test_tree(void **state)
{
	const struct kdl_node *n, *c;

	(void)state;
	parse_ok("// comment\n(t)node \"arg\" key=(u8)1 #true {\n\tchild #null; other\n}\n",
	         KDL_V2);
	assert_int_equal(doc.version, KDL_V2);
	assert_int_equal(doc.nodes.len, 1);
	n = &doc.nodes.data[0];
	assert_string_equal(n->type.ptr, "t");
	assert_string_equal(n->name.ptr, "node");
	assert_pos(n->pos, 2, 1);
	assert_pos(n->name_pos, 2, 4);
	assert_int_equal(n->args.len, 2);
	assert_int_equal(n->args.data[0].kind, KDL_STRING);
	assert_string_equal(n->args.data[0].text.ptr, "arg");
	assert_pos(n->args.data[0].pos, 2, 9);
	assert_int_equal(n->args.data[1].kind, KDL_BOOL);
	assert_true(n->args.data[1].boolean);
	assert_int_equal(n->props.len, 1);
	assert_string_equal(n->props.data[0].name.ptr, "key");
	assert_pos(n->props.data[0].pos, 2, 15);
	assert_string_equal(n->props.data[0].value.type.ptr, "u8");
	assert_pos(n->props.data[0].value.pos, 2, 19);
	assert_int_equal(n->props.data[0].value.integer, 1);
	assert_true(n->has_children);
	assert_pos(n->block_pos, 2, 31);
	assert_int_equal(n->children.len, 2);
	c = &n->children.data[0];
	assert_string_equal(c->name.ptr, "child");
	assert_pos(c->pos, 3, 2);
	assert_int_equal(c->args.data[0].kind, KDL_NULL);
	assert_pos(n->children.data[1].pos, 3, 15);
	assert_ptr_equal(kdl_node_prop(n, "key"), &n->props.data[0]);
	assert_null(kdl_node_prop(n, "nope"));
}

static void test_positions_count_code_points(void **state)
{
	(void)state;
	parse_ok("\xef\xbb\xbfnode \"\xc3\xa9t\xc3\xa9\" x\r\n\xe2\x80\xa8y \"a\\\n  b\" z",
	         KDL_V2);
	assert_pos(doc.nodes.data[0].pos, 1, 1); /* the BOM is not a column */
	assert_pos(doc.nodes.data[0].args.data[1].pos, 1, 12);
	assert_pos(doc.nodes.data[1].pos, 3, 1); /* CRLF is one newline, LS another */
	assert_pos(doc.nodes.data[1].args.data[1].pos, 4, 6);
	assert_string_equal(doc.nodes.data[1].args.data[0].text.ptr, "ab");
}

static void test_numbers(void **state)
{
	const struct kdl_value *a;

	(void)state;
	parse_ok("n 0x7fffffffffffffff -9223372036854775808 9223372036854775808 0b1_0 -0o17 "
	         "1_000.5e-1_0 #inf #-inf #nan 0xABCDEF0123456789abcdef",
	         KDL_V2);
	a = doc.nodes.data[0].args.data;
	assert_int_equal(a[0].kind, KDL_INT);
	assert_int_equal(a[0].radix, 16);
	assert_false(a[0].big);
	assert_true(a[0].integer == INT64_MAX);
	assert_true(a[1].integer == INT64_MIN);
	assert_true(a[2].big);
	assert_string_equal(a[2].text.ptr, "9223372036854775808");
	assert_int_equal(a[3].integer, 2);
	assert_int_equal(a[3].radix, 2);
	assert_int_equal(a[4].integer, -15);
	assert_int_equal(a[5].kind, KDL_FLOAT);
	assert_string_equal(a[5].text.ptr, "1000.5e-10");
	assert_true(fabs(a[5].real - 1000.5e-10) < 1e-20);
	assert_true(isinf(a[6].real) && a[6].real > 0);
	assert_true(isinf(a[7].real) && a[7].real < 0);
	assert_true(isnan(a[8].real));
	assert_true(a[9].big);
	assert_canonical(KDL_V2, "n 9223372036854775807 -9223372036854775808 "
	                         "9223372036854775808 2 -15 1000.5E-10 #inf #-inf "
	                         "#nan 207698809136909011942886895\n");
}

static void test_strings(void **state)
{
	const struct kdl_value *a;

	(void)state;
	parse_ok("n \"a\\u{0}b\" #\"raw\\n\"# ##\"x\"#y\"## \"\\s\\t\\u{1F600}\" \"\"\"\n"
	         "    one\n      two\n\n    \\\"three\n    \"\"\" bare-id",
	         KDL_V2);
	a = doc.nodes.data[0].args.data;
	assert_int_equal(a[0].text.len, 3);
	assert_memory_equal(a[0].text.ptr, "a\0b", 3);
	assert_string_equal(a[1].text.ptr, "raw\\n");
	assert_string_equal(a[2].text.ptr, "x\"#y");
	assert_string_equal(a[3].text.ptr, " \t\xf0\x9f\x98\x80");
	assert_string_equal(a[4].text.ptr, "one\n  two\n\n\"three");
	assert_string_equal(a[5].text.ptr, "bare-id");
}

static void test_props_last_wins(void **state)
{
	(void)state;
	parse_ok("n b=1 a=2 b=3 /-a=4", KDL_V2);
	assert_int_equal(doc.nodes.data[0].props.len, 2);
	assert_int_equal(kdl_node_prop(&doc.nodes.data[0], "b")->value.integer, 3);
	assert_pos(kdl_node_prop(&doc.nodes.data[0], "b")->pos, 1, 11);
	assert_canonical(KDL_V2, "n a=2 b=3\n");
}

static void test_slashdash_and_children(void **state)
{
	(void)state;
	parse_ok("/- gone { x }\nkept /-1 2 /-{ no } {\n    c\n}\nempty {}", KDL_V2);
	assert_int_equal(doc.nodes.len, 2);
	assert_int_equal(doc.nodes.data[0].args.len, 1);
	assert_true(doc.nodes.data[1].has_children);
	assert_int_equal(doc.nodes.data[1].children.len, 0);
	assert_canonical(KDL_V2, "kept 2 {\n    c\n}\nempty\n");
	assert_canonical(KDL_V1, "kept 2 {\n    c\n}\nempty {\n}\n");
}

static void test_v1_mode(void **state)
{
	(void)state;
	parse_ok("trace \"main\" binary=\"echo\" call-depth=null on=true r=r#\"a\"b\"# s=\"\\/\"",
	         KDL_V1);
	assert_int_equal(doc.version, KDL_V1);
	assert_int_equal(kdl_node_prop(&doc.nodes.data[0], "call-depth")->value.kind, KDL_NULL);
	assert_true(kdl_node_prop(&doc.nodes.data[0], "on")->value.boolean);
	assert_string_equal(kdl_node_prop(&doc.nodes.data[0], "r")->value.text.ptr, "a\"b");
	assert_string_equal(kdl_node_prop(&doc.nodes.data[0], "s")->value.text.ptr, "/");
	assert_string_equal(parse_err("node bare", KDL_V1),
	                    "1:6: string values must be quoted in KDL v1: \"bare\"");
	assert_string_equal(parse_err("n #true", KDL_V1),
	                    "1:3: string values must be quoted in KDL v1: \"#true\"");
}

static void test_detect(void **state)
{
	struct kdl_parse_opts opts = { .version = KDL_DETECT, .source = "x.kdl" };
	struct kdl_pos where;
	struct err err;

	(void)state;
	parse_ok("n #true bare", KDL_DETECT);
	assert_int_equal(doc.version, KDL_V2);
	parse_ok("n true r\"raw\"", KDL_DETECT);
	assert_int_equal(doc.version, KDL_V1);
	assert_string_equal(doc.nodes.data[0].args.data[1].text.ptr, "raw");
	/* both fail: the v2 complaint is the one reported */
	kdl_document_fini(&doc);
	assert_int_equal(kdl_parse(&doc, "n\nm true {", 10, &opts, &where, &err), -1);
	assert_string_equal(err.msg, "x.kdl:2:3: 'true' cannot be a bare identifier: write #true "
	                             "for the keyword or \"true\" for the string");
	assert_pos(where, 2, 3);
}

static void test_errors(void **state)
{
	(void)state;
	assert_string_equal(parse_err("a \"open", KDL_V2),
	                    "1:3: unterminated string (missing '\"')");
	assert_string_equal(parse_err("a /* x", KDL_V2),
	                    "1:3: unterminated block comment (missing '*/')");
	assert_string_equal(parse_err("a {\n  b\n", KDL_V2),
	                    "3:1: expected '}' to close the children block opened at 1:3, found "
	                    "end of input");
	assert_string_equal(parse_err("a }", KDL_V2),
	                    "1:3: unexpected '}' outside of a children block");
	assert_string_equal(parse_err("a\"b\"", KDL_V2),
	                    "1:2: expected whitespace between node entries, found '\"'");
	assert_string_equal(
	        parse_err("n 0x1g", KDL_V2),
	        "1:3: invalid number '0x1g': 'g' does not belong in a hexadecimal number");
	assert_string_equal(parse_err("n .5", KDL_V2),
	                    "1:3: invalid number '.5': a number needs a digit before '.'");
	assert_string_equal(parse_err("n 1.", KDL_V2),
	                    "1:3: invalid number '1.': expected a digit after '.'");
	assert_string_equal(
	        parse_err("n #yes", KDL_V2),
	        "1:3: unknown keyword '#yes' (expected #true, #false, #null, #inf, #-inf "
	        "or #nan)");
	assert_string_equal(
	        parse_err("n \"\\q\"", KDL_V2),
	        "1:4: invalid escape '\\q' (valid are \\n \\r \\t \\\\ \\\" \\b \\f \\s "
	        "\\u{...})");
	assert_string_equal(
	        parse_err("n \"\\u{d800}\"", KDL_V2),
	        "1:4: \\u{...} must be a Unicode scalar value (not a surrogate, at most "
	        "10FFFF)");
	assert_string_equal(parse_err("n \"a\nb\"", KDL_V2),
	                    "1:5: expected '\"' to close the string before the end of the line (a "
	                    "newline in a string is written \\n)");
	assert_string_equal(parse_err("n (t)k=1", KDL_V2),
	                    "1:3: a property name cannot have a type annotation");
	assert_string_equal(parse_err("n k=", KDL_V2), "1:5: expected a value, found end of input");
	assert_string_equal(parse_err("n /-", KDL_V2),
	                    "1:5: expected an argument, a property or '{' after '/-', found end of "
	                    "input");
	assert_string_equal(parse_err("()n", KDL_V2),
	                    "1:2: expected a type name after '(', found ')'");
	assert_string_equal(parse_err("n \\ x", KDL_V2),
	                    "1:5: expected a newline after the line continuation '\\', found 'x'");
	assert_string_equal(parse_err("n {} x", KDL_V2),
	                    "1:6: expected ';' or a newline after the children block, found 'x'");
}

static void test_errors_multiline_and_bytes(void **state)
{
	(void)state;
	assert_string_equal(parse_err("n \"\"\"\n    a\n  b\n    \"\"\"", KDL_V2),
	                    "3:1: this line of the multi-line string does not start with the "
	                    "whitespace of its closing line");
	assert_string_equal(parse_err("n \"\"\"a\"\"\"", KDL_V2),
	                    "1:6: a multi-line string must start with a newline right after its "
	                    "opening \"\"\" (use \"...\" for a single line)");
	assert_string_equal(
	        parse_err("n \"\"\"\n  a\n  b\"\"\"", KDL_V2),
	        "3:4: the closing \"\"\" of a multi-line string must be on a line of its "
	        "own, after whitespace only");
	assert_string_equal(parse_err("n \xff", KDL_V2), "1:3: invalid UTF-8 (byte 0xff)");
	assert_string_equal(parse_err("n a\xe2\x80\x8e", KDL_V2),
	                    "1:4: U+200E may not appear literally in a KDL document (inside a "
	                    "quoted string, write \\u{200e})");
	assert_string_equal(parse_err("n \xef\xbb\xbf", KDL_V2),
	                    "1:3: U+FEFF may not appear literally in a KDL document (inside a "
	                    "quoted string, write \\u{feff})");
}

static void test_nesting_limit(void **state)
{
	char text[1000];
	int i;

	(void)state;
	for (i = 0; i < 300; i++)
		memcpy(text + 3 * i, "a {", 3);
	text[900] = '\0';
	assert_string_equal(parse_err(text, KDL_V2), "1:603: children blocks nested more than "
	                                             "200 deep");
}

static void test_source_line(void **state)
{
	const char *t = "one\r\ntwo\nthree";
	size_t s, e;

	(void)state;
	assert_true(kdl_source_line(t, strlen(t), 2, &s, &e));
	assert_int_equal(s, 5);
	assert_int_equal(e, 8);
	assert_true(kdl_source_line(t, strlen(t), 3, &s, &e));
	assert_int_equal(e - s, 5);
	assert_false(kdl_source_line(t, strlen(t), 4, &s, &e));
}

static void test_identifier_rule(void **state)
{
	static const char *const bare[] = { "main",   "<unknown>", "func1+0x5", "linux-vdso.so.1",
		                            "<none>", "+x",        "-",         "--x",
		                            ".md",    "+.",        "a,b",       "\xc3\xa9t\xc3\xa9",
		                            "_15",    "true1" };
	static const char *const quoted[] = {
		"",     "/usr/lib/x.so", "0x401000", "12",  "true", "false", "null",       "inf",
		"-inf", "nan",           "-5",       ".5",  "+.5",  "a#b",   "ns::f(int)", "a b",
		"a=b",  "a;b",           "[x]",      "{x}", "a\\b", "\"",    "a\tb",       "1x"
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bare) / sizeof(*bare); i++)
		if (!kdl_is_identifier(bare[i], strlen(bare[i])))
			fail_msg("should be bare: '%s'", bare[i]);
	for (i = 0; i < sizeof(quoted) / sizeof(*quoted); i++)
		if (kdl_is_identifier(quoted[i], strlen(quoted[i])))
			fail_msg("should be quoted: '%s'", quoted[i]);
}

static char *written(const char *s, size_t len)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	kdl_write_string(f, s, len);
	fclose(f);
	return out;
}

static void expect_written(const char *s, const char *expected)
{
	char *out = written(s, strlen(s));

	assert_string_equal(out, expected);
	free(out);
}

/*
 * Every ASCII byte inside a name, against KDL v2's rules as the spec says
 * them: bare where it may be in an identifier, else quoted, and escaped
 * only where it must be (a control, DEL, a quote, a backslash).
 */
static void test_ascii_bytes(void **state)
{
	char s[3] = { 'a', 0, 'a' }, literal[6] = { '"', 'a', 0, 'a', '"', 0 };
	int b;

	(void)state;
	for (b = 1; b < 0x80; b++) {
		bool ident = b > 0x20 && b != 0x7f && !strchr("\\/(){}[];\"#=", b);
		bool plain = b >= 0x20 && b != 0x7f && b != '"' && b != '\\';
		char *out;

		s[1] = (char)b;
		literal[2] = (char)b;
		if (kdl_is_identifier(s, 3) != ident)
			fail_msg("byte %#x: bare should be %d", b, ident);
		out = written(s, 3);
		if (ident)
			assert_memory_equal(out, s, 3);
		else if (plain)
			assert_string_equal(out, literal);
		else if (strlen(out) <= 5 || out[0] != '"')
			fail_msg("byte %#x should be escaped: %s", b, out);
		free(out);
	}
}

static void test_quoting(void **state)
{
	char *out;

	(void)state;
	expect_written("main", "main");
	expect_written("<unknown>", "<unknown>");
	expect_written("func1+0x5", "func1+0x5");
	expect_written("linux-vdso.so.1", "linux-vdso.so.1");
	expect_written("/usr/lib/x.so", "\"/usr/lib/x.so\"");
	expect_written("0x401000", "\"0x401000\"");
	expect_written("12", "\"12\"");
	expect_written("true", "\"true\"");
	expect_written("ns::f(int)", "\"ns::f(int)\"");
	expect_written("", "\"\"");
	expect_written("-5", "\"-5\"");
	expect_written(".5", "\".5\"");
	expect_written("+x", "+x");
	expect_written("#x", "\"#x\"");
	expect_written("\xc3\xbcnic\xc3\xb6\x64\x65", "\xc3\xbcnic\xc3\xb6\x64\x65");
	expect_written("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
	expect_written("t\tn\nr\rb\bf\f", "\"t\\tn\\nr\\rb\\bf\\f\"");
	expect_written("\x01\x7f\xc2\x85\xe2\x80\x8e", "\"\\u{1}\\u{7f}\\u{85}\\u{200e}\"");
	expect_written("bad\xff", "\"bad\xef\xbf\xbd\"");
	out = written("a\0b", 3);
	assert_string_equal(out, "\"a\\u{0}b\"");
	free(out);
}

static char *emit_sample(struct err *err, int *r)
{
	struct kdl_emitter em;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	kdl_emitter_init(&em, f);
	kdl_emit_node(&em, NULL, "thread");
	kdl_emit_arg_uint(&em, UINT64_MAX);
	kdl_emit_children_begin(&em);
	kdl_emit_node(&em, "ty", "main");
	kdl_emit_prop_string(&em, "call_id", "0");
	kdl_emit_prop_int(&em, "exit code", -1);
	kdl_emit_children_begin(&em);
	kdl_emit_node(&em, NULL, "load_binary");
	kdl_emit_arg_string(&em, "/lib/libc.so.6");
	kdl_emit_prop_string(&em, "addr_range", "0x1000..0x2000");
	kdl_emit_node_end(&em);
	kdl_emit_children_end(&em);
	kdl_emit_node_end(&em);
	kdl_emit_node(&em, NULL, "values");
	kdl_emit_arg_float(&em, 1.5);
	kdl_emit_arg_float(&em, 2);
	kdl_emit_arg_float(&em, 1e300);
	kdl_emit_arg_float(&em, -INFINITY);
	kdl_emit_arg_float(&em, NAN);
	kdl_emit_arg_bool(&em, true);
	kdl_emit_arg_null(&em);
	kdl_emit_prop_bool(&em, "b", false);
	kdl_emit_prop_null(&em, "n");
	kdl_emit_prop_uint(&em, "u", 7);
	kdl_emit_prop_float(&em, "f", 0.1);
	kdl_emit_arg_int(&em, INT64_MIN);
	kdl_emit_node_end(&em);
	kdl_emit_children_end(&em);
	kdl_emit_node_end(&em);
	*r = kdl_emitter_fini(&em, err);
	fclose(f);
	return out;
}

static void test_emitter(void **state)
{
	struct err err;
	char *out;
	int r;

	(void)state;
	out = emit_sample(&err, &r);
	assert_int_equal(r, 0);
	assert_string_equal(out,
	                    "thread 18446744073709551615 {\n"
	                    "    (ty)main call_id=\"0\" \"exit code\"=-1 {\n"
	                    "        load_binary \"/lib/libc.so.6\" addr_range=\"0x1000..0x2000\"\n"
	                    "    }\n"
	                    "    values 1.5 2.0 1.0E+300 #-inf #nan #true #null b=#false n=#null "
	                    "u=7 f=0.1 -9223372036854775808\n"
	                    "}\n");
	/* what the emitter writes reads back */
	parse_ok(out, KDL_V2);
	assert_string_equal(doc.nodes.data[0].children.data[0].props.data[1].name.ptr, "exit code");
	free(out);
}

static void test_emitter_misuse(void **state)
{
	struct kdl_emitter em;
	struct err err;
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	kdl_emitter_init(&em, f);
	kdl_emit_arg_int(&em, 1); /* no node */
	kdl_emit_node(&em, NULL, "n");
	kdl_emit_node_end(&em);
	assert_int_equal(kdl_emitter_fini(&em, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	kdl_emitter_init(&em, f);
	kdl_emit_node(&em, NULL, "n");
	kdl_emit_children_begin(&em);
	assert_int_equal(kdl_emitter_fini(&em, &err), -1);
	assert_string_equal(err.msg, "KDL emitter: nodes left open");
	kdl_emitter_init(&em, f);
	kdl_emit_node(&em, NULL, "n");
	kdl_emit_children_begin(&em);
	kdl_emit_children_end(&em);
	kdl_emit_arg_int(&em, 1); /* after '}' */
	kdl_emit_node_end(&em);
	assert_int_equal(kdl_emitter_fini(&em, &err), -1);
	assert_int_equal(kdl_emitter_fini(NULL, &err), 0);
	fclose(f);
}

static void test_emitter_write_error(void **state)
{
	struct kdl_emitter em;
	struct err err;
	FILE *f = fopen("/dev/full", "w");
	int i;

	(void)state;
	if (!f)
		skip();
	kdl_emitter_init(&em, f);
	for (i = 0; i < 10000; i++) {
		kdl_emit_node(&em, NULL, "node");
		kdl_emit_node_end(&em);
	}
	assert_int_equal(kdl_emitter_fini(&em, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	fclose(f);
}

static void test_fini_null(void **state)
{
	(void)state;
	kdl_document_fini(NULL);
	kdl_node_fini(NULL);
	kdl_value_fini(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tree, teardown),
		cmocka_unit_test_teardown(test_positions_count_code_points, teardown),
		cmocka_unit_test_teardown(test_numbers, teardown),
		cmocka_unit_test_teardown(test_strings, teardown),
		cmocka_unit_test_teardown(test_props_last_wins, teardown),
		cmocka_unit_test_teardown(test_slashdash_and_children, teardown),
		cmocka_unit_test_teardown(test_v1_mode, teardown),
		cmocka_unit_test_teardown(test_detect, teardown),
		cmocka_unit_test_teardown(test_errors, teardown),
		cmocka_unit_test_teardown(test_errors_multiline_and_bytes, teardown),
		cmocka_unit_test_teardown(test_nesting_limit, teardown),
		cmocka_unit_test(test_source_line),
		cmocka_unit_test(test_identifier_rule),
		cmocka_unit_test(test_ascii_bytes),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test_teardown(test_emitter, teardown),
		cmocka_unit_test(test_emitter_misuse),
		cmocka_unit_test(test_emitter_write_error),
		cmocka_unit_test(test_fini_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
