/*
 * Unit tests of the table of engines (src/trace/backend.c): every engine
 * is found by its name and described, the default is one of them, and an unknown name,
 * in the configuration or on the command line, gets the message that
 * lists the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "trace/backend.h"

static struct config cfg;

static void parse(const char *text)
{
	struct err err;

	config_fini(&cfg);
	if (config_parse(&cfg, text, "cfg.kdl", &err))
		fail_msg("rejected: %s", err.msg);
}

static int teardown(void **state)
{
	(void)state;
	config_fini(&cfg);
	return 0;
}

static void test_every_engine_by_name(void **state)
{
	const char *names[BACKEND_MAX];
	size_t i, j, n = backend_names(names);
	struct err err;

	(void)state;
	assert_true(n >= 2);
	parse("");
	for (i = 0; i < n; i++) {
		assert_non_null(backend_find(names[i]));
		assert_string_equal(backend_find(names[i])->name, names[i]);
		assert_non_null(backend_find(names[i])->run);
		assert_ptr_equal(backend_choose(names[i], &cfg, &err), backend_find(names[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[j], names[i]);
	}
	assert_null(backend_find("jit"));
}

/* What run --help says of each engine is there, and the default is in the table. */
static void test_entries(void **state)
{
	const struct backend_entry *e;
	size_t i, n = backend_entries(&e), defaults = 0;

	(void)state;
	for (i = 0; i < n; i++) {
		assert_ptr_equal(backend_find(e[i].ops->name), e[i].ops);
		assert_true(e[i].what && *e[i].what);
		assert_true(e[i].more && *e[i].more);
		defaults += e[i].ops == backend_default();
	}
	assert_int_equal(defaults, 1);
}

static void test_default_and_precedence(void **state)
{
	struct err err;

	(void)state;
	parse("");
	assert_ptr_equal(backend_choose(NULL, &cfg, &err), &backend_dbt);
	parse("engine step");
	assert_ptr_equal(backend_choose(NULL, &cfg, &err), &backend_step);
	/* -e wins over the configuration */
	assert_ptr_equal(backend_choose("dbt", &cfg, &err), &backend_dbt);
}

static void test_unknown_engine(void **state)
{
	struct err err;

	(void)state;
	parse("engine stpe");
	/* the configuration's mistake is told even when -e names a good engine */
	assert_null(backend_choose("dbt", &cfg, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_string_equal(
	        err.msg, "cfg.kdl:1:8: unknown engine 'stpe', did you mean 'step'? (valid engines: "
	                 "step, dbt)\n"
	                 "engine stpe\n"
	                 "       ^");
	parse("engine \"jit\"");
	assert_null(backend_choose(NULL, &cfg, &err));
	assert_string_equal(err.msg,
	                    "cfg.kdl:1:8: unknown engine 'jit' (valid engines: step, dbt)\n"
	                    "engine \"jit\"\n"
	                    "       ^");
	parse("");
	assert_null(backend_choose("jit", &cfg, &err));
	assert_int_equal(err.kind, ERR_USAGE);
	assert_string_equal(err.msg, "unknown engine 'jit' (known: step, dbt)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_every_engine_by_name, teardown),
		cmocka_unit_test(test_entries),
		cmocka_unit_test_teardown(test_default_and_precedence, teardown),
		cmocka_unit_test_teardown(test_unknown_engine, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
