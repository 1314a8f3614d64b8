/*
 * Unit tests of the viewer's JSON writer (src/web/json.c): commas and
 * nesting, every value kind, and strings of any bytes written as valid
 * JSON (quotes, backslashes and control characters escaped, UTF-8 kept,
 * other bytes replaced by U+FFFD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web/json.h"

static void test_nesting_and_commas(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_obj(&j);
	json_kint(&j, "a", -1);
	json_kuint(&j, "b", UINT64_MAX);
	json_key(&j, "c");
	json_arr(&j);
	json_bool(&j, true);
	json_null(&j);
	json_obj(&j);
	json_obj_end(&j);
	json_arr(&j);
	json_arr_end(&j);
	json_raw(&j, "[1,2]");
	json_arr_end(&j);
	json_khex(&j, "d", 0x401136);
	json_kstr(&j, "e", NULL);
	json_obj_end(&j);
	assert_string_equal(j.sb.buf, "{\"a\":-1,\"b\":18446744073709551615,\"c\":[true,null,{},[],"
	                              "[1,2]],\"d\":\"0x401136\",\"e\":null}");
	json_fini(&j);
}

static void escaped(const char *in, size_t n, const char *want)
{
	struct strbuf sb;

	sb_init(&sb);
	json_escape(&sb, in, n);
	assert_string_equal(sb.buf, want);
	sb_fini(&sb);
}

static void test_escaping(void **state)
{
	(void)state;
	escaped("plain", 5, "plain");
	escaped("a\"b\\c", 5, "a\\\"b\\\\c");
	escaped("\n\t\x01\x7f", 4, "\\n\\u0009\\u0001\\u007f");
	escaped("nul\0end", 7, "nul\\u0000end");
	/* é, €, 😀 are kept; a lone continuation byte, a truncated sequence,
	 * an overlong form and a surrogate are replaced */
	escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	escaped("\x80", 1, "\\ufffd");
	escaped("a\xe2\x82", 3, "a\\ufffd\\ufffd");
	escaped("\xc0\xaf", 2, "\\ufffd\\ufffd");
	escaped("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
