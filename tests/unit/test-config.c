/*
 * The run configuration: defaults, both KDL versions, file vs inline, and
 * the exact message (position, line, caret) of every mistake it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/xalloc.h"

static struct config cfg;

static int teardown(void **state)
{
	(void)state;
	config_fini(&cfg);
	return 0;
}

static void parse_ok(const char *text)
{
	struct err err;

	config_fini(&cfg);
	if (config_parse(&cfg, text, "cfg.kdl", &err))
		fail_msg("rejected: %s", err.msg);
}

static void expect_error(const char *text, const char *expected)
{
	struct err err;

	config_fini(&cfg);
	assert_int_equal(config_parse(&cfg, text, "cfg.kdl", &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_string_equal(err.msg, expected);
	assert_null(cfg.scopes); /* nothing is left behind on failure */
	assert_null(cfg.source);
}

static void assert_scope(size_t i, const char *symbol, const char *binary, int depth)
{
	assert_true(i < cfg.n_scopes);
	assert_string_equal(cfg.scopes[i].symbol, symbol);
	assert_string_equal(cfg.scopes[i].binary, binary);
	assert_int_equal(cfg.scopes[i].call_depth, depth);
}

static void test_defaults(void **state)
{
	(void)state;
	parse_ok("");
	assert_int_equal(cfg.call_depth, CONFIG_DEFAULT_CALL_DEPTH);
	assert_int_equal(cfg.backtrace_depth, CONFIG_DEFAULT_BACKTRACE_DEPTH);
	assert_null(cfg.engine);
	assert_int_equal(cfg.n_scopes, 0);
	assert_string_equal(cfg.source, "cfg.kdl");
	assert_string_equal(cfg.text, "");
	parse_ok("// only a comment\n/* and another */\n");
	assert_int_equal(cfg.call_depth, 250);
}

static void test_v2(void **state)
{
	(void)state;
	parse_ok("backtrace-depth 8\n"
	         "trace main binary=echo\n"
	         "trace \"dlopen\" binary=\"libc.so.6\" call-depth=0\n"
	         "trace f binary=b call-depth=#null\n"
	         "engine dbt\n");
	assert_int_equal(cfg.backtrace_depth, 8);
	assert_string_equal(cfg.engine, "dbt");
	assert_int_equal(cfg.n_scopes, 3);
	assert_scope(0, "main", "echo", 250);
	assert_scope(1, "dlopen", "libc.so.6", 0);
	assert_scope(2, "f", "b", 250);
	assert_int_equal(cfg.scopes[1].line, 3);
	assert_int_equal(cfg.scopes[1].col, 1);
}

static void test_v1_style(void **state)
{
	(void)state;
	parse_ok("trace \"main\" binary=\"echo\" call-depth=3\n"
	         "trace \"g\" binary=\"echo\" call-depth=null\n"
	         "call-depth 7\n"
	         "engine \"step\"\n");
	assert_string_equal(cfg.engine, "step");
	assert_scope(0, "main", "echo", 3);
	assert_scope(1, "g", "echo", 7);
}

static void test_order_does_not_matter(void **state)
{
	(void)state;
	parse_ok("trace a binary=x\ncall-depth 3\ntrace b binary=x call-depth=9");
	assert_int_equal(cfg.call_depth, 3);
	assert_scope(0, "a", "x", 3);
	assert_scope(1, "b", "x", 9);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("call-depth 3 {",
	             "cfg.kdl:1:15: expected '}' to close the children block opened at 1:14, found "
	             "end of input\n"
	             "call-depth 3 {\n"
	             "              ^");
	expect_error("trace \"main binary=x\n",
	             "cfg.kdl:1:21: expected '\"' to close the string before the end of the line "
	             "(a newline in a string is written \\n)\n"
	             "trace \"main binary=x\n"
	             "                    ^");
	/* tabs are kept in the caret line so that it lines up */
	expect_error("call-depth 1\n\t trace \t\"x\" binary=y=z\n",
	             "cfg.kdl:2:22: expected whitespace between node entries, found '='\n"
	             "\t trace \t\"x\" binary=y=z\n"
	             "\t       \t            ^");
	/* a document that is neither v2 nor v1 gets the v2 complaint */
	expect_error("call-depth true x=",
	             "cfg.kdl:1:12: 'true' cannot be a bare identifier: write #true for the "
	             "keyword or \"true\" for the string\n"
	             "call-depth true x=\n"
	             "           ^");
	/* columns count characters, not bytes */
	expect_error("trace \"\xc3\xa9t\xc3\xa9\" binary=\"x\" {",
	             "cfg.kdl:1:25: expected '}' to close the children block opened at 1:24, "
	             "found end of input\n"
	             "trace \"\xc3\xa9t\xc3\xa9\" binary=\"x\" {\n"
	             "                        ^");
}

/*
 * What the message quotes of the document reaches a terminal: control
 * characters, NUL and bytes that are not UTF-8 are escaped, and the caret
 * still points at the column.
 */
static void test_control_characters(void **state)
{
	struct err err;

	(void)state;
	/* a CR from a string's escape would rewrite the terminal line */
	expect_error("call-depth \"tr\\rue\"",
	             "cfg.kdl:1:12: call-depth must be a non-negative integer, found a string "
	             "(\"tr\\rue\")\n"
	             "call-depth \"tr\\rue\"\n"
	             "           ^");
	/* an ESC would drive the terminal (v1 allows it in a string) */
	expect_error("call-depth \"\x1b[2J\"",
	             "cfg.kdl:1:12: call-depth must be a non-negative integer, found a string "
	             "(\"\\u{1b}[2J\")\n"
	             "call-depth \"\\u{1b}[2J\"\n"
	             "           ^");
	/* the caret lines up with the escaped text; a C1 control is escaped too */
	expect_error("call-depth \"\x01\xc2\x9b\" 3",
	             "cfg.kdl:1:17: 'call-depth' takes one argument, found 2 (write: call-depth "
	             "10)\n"
	             "call-depth \"\\u{1}\\u{9b}\" 3\n"
	             "                         ^");
	/* bytes that are not UTF-8 */
	expect_error("call-depth 1\nfrob\xffnicate 2", "cfg.kdl:2:5: invalid UTF-8 (byte 0xff)\n"
	                                               "frob\\xffnicate 2\n"
	                                               "    ^");
	/* the source's name is shown escaped as well */
	config_fini(&cfg);
	assert_int_equal(config_parse(&cfg, "frobnicate", "a\x1b.kdl", &err), -1);
	assert_string_equal(err.msg, "a\\u{1b}.kdl:1:1: unknown node 'frobnicate' (valid nodes: "
	                             "call-depth, backtrace-depth, engine, trace)\n"
	                             "frobnicate\n"
	                             "^");
}

static void test_unknown_node(void **state)
{
	(void)state;
	expect_error("call_depth 3",
	             "cfg.kdl:1:1: unknown node 'call_depth', did you mean 'call-depth'? (valid "
	             "nodes: call-depth, backtrace-depth, engine, trace)\n"
	             "call_depth 3\n"
	             "^");
	expect_error("call-depth 1\n  tarce main binary=x",
	             "cfg.kdl:2:3: unknown node 'tarce', did you mean 'trace'? (valid nodes: "
	             "call-depth, backtrace-depth, engine, trace)\n"
	             "  tarce main binary=x\n"
	             "  ^");
	expect_error("output \"x\"", "cfg.kdl:1:1: unknown node 'output' (valid nodes: call-depth, "
	                             "backtrace-depth, engine, trace)\n"
	                             "output \"x\"\n"
	                             "^");
}

static void test_unknown_property(void **state)
{
	(void)state;
	expect_error("trace main binray=echo",
	             "cfg.kdl:1:12: unknown property 'binray' on 'trace', did you mean 'binary'? "
	             "(valid properties: binary, call-depth)\n"
	             "trace main binray=echo\n"
	             "           ^");
	expect_error("trace main binary=echo depth=3",
	             "cfg.kdl:1:24: unknown property 'depth' on 'trace', did you mean "
	             "'call-depth'? (valid properties: binary, call-depth)\n"
	             "trace main binary=echo depth=3\n"
	             "                       ^");
	expect_error("trace main bin=echo",
	             "cfg.kdl:1:12: unknown property 'bin' on 'trace', did you mean 'binary'? "
	             "(valid properties: binary, call-depth)\n"
	             "trace main bin=echo\n"
	             "           ^");
	expect_error("trace main binary=echo mode=3",
	             "cfg.kdl:1:24: unknown property 'mode' on 'trace' (valid properties: binary, "
	             "call-depth)\n"
	             "trace main binary=echo mode=3\n"
	             "                       ^");
	expect_error("call-depth 3 max=4",
	             "cfg.kdl:1:14: 'call-depth' takes no properties, found 'max' (write: "
	             "call-depth 10)\n"
	             "call-depth 3 max=4\n"
	             "             ^");
}

static void test_argument_count(void **state)
{
	(void)state;
	expect_error("call-depth",
	             "cfg.kdl:1:1: 'call-depth' needs one argument (write: call-depth 10)\n"
	             "call-depth\n"
	             "^");
	expect_error("backtrace-depth 1 2",
	             "cfg.kdl:1:19: 'backtrace-depth' takes one argument, found 2 (write: "
	             "backtrace-depth 10)\n"
	             "backtrace-depth 1 2\n"
	             "                  ^");
	expect_error("engine", "cfg.kdl:1:1: 'engine' needs one argument (write: engine \"step\")\n"
	                       "engine\n"
	                       "^");
	expect_error("trace binary=echo",
	             "cfg.kdl:1:1: 'trace' needs the symbol to trace as its argument (write: trace "
	             "\"main\" binary=\"prog\")\n"
	             "trace binary=echo\n"
	             "^");
	expect_error("trace main other binary=echo",
	             "cfg.kdl:1:12: 'trace' takes one argument (the symbol), found 2\n"
	             "trace main other binary=echo\n"
	             "           ^");
}

static void test_types(void **state)
{
	(void)state;
	expect_error("call-depth \"10\"",
	             "cfg.kdl:1:12: call-depth must be a non-negative integer, found a string "
	             "(\"10\")\n"
	             "call-depth \"10\"\n"
	             "           ^");
	expect_error("call-depth 2.5",
	             "cfg.kdl:1:12: call-depth must be a non-negative integer, found a float "
	             "(2.5)\n"
	             "call-depth 2.5\n"
	             "           ^");
	expect_error("backtrace-depth #true",
	             "cfg.kdl:1:17: backtrace-depth must be a non-negative integer, found a "
	             "boolean (#true)\n"
	             "backtrace-depth #true\n"
	             "                ^");
	expect_error("backtrace-depth false",
	             "cfg.kdl:1:17: backtrace-depth must be a non-negative integer, found a "
	             "boolean (false)\n"
	             "backtrace-depth false\n"
	             "                ^");
	expect_error("call-depth #null",
	             "cfg.kdl:1:12: call-depth must be a non-negative integer, found #null\n"
	             "call-depth #null\n"
	             "           ^");
	expect_error("trace main binary=echo call-depth=\"3\"",
	             "cfg.kdl:1:35: call-depth must be a non-negative integer, found a string "
	             "(\"3\")\n"
	             "trace main binary=echo call-depth=\"3\"\n"
	             "                                  ^");
	expect_error("trace 42 binary=echo",
	             "cfg.kdl:1:7: the symbol must be a string, found an integer (42)\n"
	             "trace 42 binary=echo\n"
	             "      ^");
	expect_error("trace main binary=#false",
	             "cfg.kdl:1:19: binary must be a string, found a boolean (#false)\n"
	             "trace main binary=#false\n"
	             "                  ^");
	expect_error("engine 1", "cfg.kdl:1:8: the engine must be a string, found an integer (1)\n"
	                         "engine 1\n"
	                         "       ^");
}

static void test_ranges(void **state)
{
	(void)state;
	expect_error("call-depth -1", "cfg.kdl:1:12: call-depth must not be negative, found -1\n"
	                              "call-depth -1\n"
	                              "           ^");
	expect_error("backtrace-depth 100001",
	             "cfg.kdl:1:17: backtrace-depth 100001 is too large (the maximum is 100000)\n"
	             "backtrace-depth 100001\n"
	             "                ^");
	expect_error("trace m binary=b call-depth=0x1_0000_0000_0000_0000",
	             "cfg.kdl:1:29: call-depth 0x10000000000000000 is too large (the maximum is "
	             "100000)\n"
	             "trace m binary=b call-depth=0x1_0000_0000_0000_0000\n"
	             "                            ^");
	parse_ok("call-depth 100000\nbacktrace-depth 0");
	assert_int_equal(cfg.call_depth, CONFIG_MAX_DEPTH);
	assert_int_equal(cfg.backtrace_depth, 0);
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_error("call-depth 1\n// two\ncall-depth 2",
	             "cfg.kdl:3:1: duplicate 'call-depth' (the first one is on line 1)\n"
	             "call-depth 2\n"
	             "^");
	expect_error("backtrace-depth 1; backtrace-depth 1",
	             "cfg.kdl:1:20: duplicate 'backtrace-depth' (the first one is on line 1)\n"
	             "backtrace-depth 1; backtrace-depth 1\n"
	             "                   ^");
	expect_error("engine step\nengine dbt",
	             "cfg.kdl:2:1: duplicate 'engine' (the first one is on line 1)\n"
	             "engine dbt\n"
	             "^");
	expect_error("trace main binary=echo\ntrace other binary=echo\n"
	             "trace main binary=echo call-depth=2",
	             "cfg.kdl:3:1: duplicate trace of 'main' in 'echo' (the first one is on line "
	             "1)\n"
	             "trace main binary=echo call-depth=2\n"
	             "^");
	parse_ok("trace main binary=echo\ntrace main binary=cat");
	assert_int_equal(cfg.n_scopes, 2);
}

static void test_trace_contents(void **state)
{
	(void)state;
	expect_error("trace main",
	             "cfg.kdl:1:1: 'trace' needs a binary=\"NAME\" property: the file name of the "
	             "executable or library that defines 'main'\n"
	             "trace main\n"
	             "^");
	expect_error("trace \"\" binary=echo", "cfg.kdl:1:7: the symbol must not be empty\n"
	                                       "trace \"\" binary=echo\n"
	                                       "      ^");
	expect_error("trace main binary=\"\"", "cfg.kdl:1:19: binary must not be empty\n"
	                                       "trace main binary=\"\"\n"
	                                       "                  ^");
	expect_error("trace \"a\\u{0}b\" binary=x",
	             "cfg.kdl:1:7: the symbol must not contain U+0000\n"
	             "trace \"a\\u{0}b\" binary=x\n"
	             "      ^");
}

static void test_engine(void **state)
{
	struct err err;

	(void)state;
	parse_ok("engine \"step\"");
	assert_string_equal(cfg.engine, "step");
	/* The engines are known above the configuration: test-core checks the name. */
	parse_ok("\nengine  jit");
	assert_string_equal(cfg.engine, "jit");
	assert_int_equal(cfg.engine_line, 2);
	assert_int_equal(cfg.engine_col, 9);
	assert_int_equal(config_unknown(&cfg, cfg.engine_line, cfg.engine_col, "engine", "engines",
	                                cfg.engine, (const char *const[]){ "step", "jet" }, 2,
	                                &err),
	                 -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_string_equal(err.msg, "cfg.kdl:2:9: unknown engine 'jit', did you mean 'jet'? "
	                             "(valid engines: step, jet)\n"
	                             "engine  jit\n"
	                             "        ^");
}

static void test_annotations_and_children(void **state)
{
	(void)state;
	expect_error("(u8)call-depth 3",
	             "cfg.kdl:1:1: type annotations are not allowed in the configuration, found "
	             "'(u8)'\n"
	             "(u8)call-depth 3\n"
	             "^");
	expect_error("call-depth (u8)3",
	             "cfg.kdl:1:12: type annotations are not allowed in the configuration, found "
	             "'(u8)'\n"
	             "call-depth (u8)3\n"
	             "           ^");
	expect_error("trace main binary=(file)echo",
	             "cfg.kdl:1:19: type annotations are not allowed in the configuration, found "
	             "'(file)'\n"
	             "trace main binary=(file)echo\n"
	             "                  ^");
	expect_error("call-depth 3 {\n}", "cfg.kdl:1:14: 'call-depth' takes no children block\n"
	                                  "call-depth 3 {\n"
	                                  "             ^");
	expect_error("trace main binary=echo {\n    call-depth 2\n}",
	             "cfg.kdl:1:24: 'trace' takes no children block\n"
	             "trace main binary=echo {\n"
	             "                       ^");
}

static void test_load_inline(void **state)
{
	struct err err;

	(void)state;
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, "call-depth 4", &err), 0);
	assert_string_equal(cfg.source, "<inline>");
	assert_int_equal(cfg.call_depth, 4);
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, "", &err), 0);
	assert_int_equal(cfg.call_depth, 250);
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, "trace \"main\" binary=\"/bin/x\"", &err), 0);
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, "depth 4", &err), -1);
	/* Both depths end in "depth"; the one closer in length is the likelier. */
	assert_string_equal(err.msg,
	                    "<inline>:1:1: unknown node 'depth', did you mean 'call-depth'? "
	                    "(valid nodes: call-depth, backtrace-depth, engine, trace)\n"
	                    "depth 4\n"
	                    "^");
}

static char *write_temp_bytes(const char *suffix, const char *text, size_t len)
{
	char *path = xasprintf("/tmp/nosco-test-config-XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static char *write_temp(const char *suffix, const char *text)
{
	return write_temp_bytes(suffix, text, strlen(text));
}

static void test_load_file(void **state)
{
	char *path = write_temp(".kdl", "// v1 style\ntrace \"main\" binary=\"echo\" call-depth=3\n"
	                                "call-depth x\n");
	char *plain = write_temp("", "backtrace-depth 2\n");
	char expected[512];
	struct err err;

	(void)state;
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, path, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	snprintf(expected, sizeof(expected),
	         "%s:3:12: call-depth must be a non-negative integer, found a string (\"x\")\n"
	         "call-depth x\n"
	         "           ^",
	         path);
	assert_string_equal(err.msg, expected);
	/* a file is a file whatever its name */
	assert_int_equal(config_load(&cfg, plain, &err), 0);
	assert_string_equal(cfg.source, plain);
	assert_string_equal(cfg.text, "backtrace-depth 2\n");
	assert_int_equal(cfg.backtrace_depth, 2);
	unlink(path);
	unlink(plain);
	free(path);
	free(plain);
}

/* A NUL in a file neither cuts the quoted line nor loses the caret. */
static void test_load_nul(void **state)
{
	static const char text[] = "call-depth 1\nfrob\0nicate 2\n";
	char *path = write_temp_bytes(".kdl", text, sizeof(text) - 1);
	char expected[512];
	struct err err;

	(void)state;
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, path, &err), -1);
	snprintf(expected, sizeof(expected),
	         "%s:2:5: U+0000 may not appear literally in a KDL document (inside a quoted "
	         "string, write \\u{0})\n"
	         "frob\\u{0}nicate 2\n"
	         "    ^",
	         path);
	assert_string_equal(err.msg, expected);
	unlink(path);
	free(path);
}

static void test_load_missing(void **state)
{
	struct err err;

	(void)state;
	config_fini(&cfg);
	assert_int_equal(config_load(&cfg, "no-such-config.kdl", &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_string_equal(err.msg, "config file 'no-such-config.kdl' not found");
	assert_int_equal(config_load(&cfg, "configs/run", &err), -1);
	assert_string_equal(err.msg, "config file 'configs/run' not found");
	assert_int_equal(config_load(&cfg, "/tmp", &err), -1);
	assert_string_equal(err.msg, "config file '/tmp' is not a regular file");
	/* the name is quoted as typed, escaped like the document */
	assert_int_equal(config_load(&cfg, "/tmp/no-such\x1b[2J.kdl", &err), -1);
	assert_string_equal(err.msg, "config file '/tmp/no-such\\u{1b}[2J.kdl' not found");
	config_fini(&cfg);
	config_fini(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_v2, teardown),
		cmocka_unit_test_teardown(test_v1_style, teardown),
		cmocka_unit_test_teardown(test_order_does_not_matter, teardown),
		cmocka_unit_test_teardown(test_syntax_errors, teardown),
		cmocka_unit_test_teardown(test_control_characters, teardown),
		cmocka_unit_test_teardown(test_unknown_node, teardown),
		cmocka_unit_test_teardown(test_unknown_property, teardown),
		cmocka_unit_test_teardown(test_argument_count, teardown),
		cmocka_unit_test_teardown(test_types, teardown),
		cmocka_unit_test_teardown(test_ranges, teardown),
		cmocka_unit_test_teardown(test_duplicates, teardown),
		cmocka_unit_test_teardown(test_trace_contents, teardown),
		cmocka_unit_test_teardown(test_engine, teardown),
		cmocka_unit_test_teardown(test_annotations_and_children, teardown),
		cmocka_unit_test_teardown(test_load_inline, teardown),
		cmocka_unit_test_teardown(test_load_file, teardown),
		cmocka_unit_test_teardown(test_load_nul, teardown),
		cmocka_unit_test_teardown(test_load_missing, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
