/*
 * The KDL views' outputs read back by nosco's own KDL reader.
 *
 * Without arguments (tests/run-tests): parses every expected output of a
 * KDL view under tests/e2e/expected/ (thread-info, call-info, call-trace,
 * binary-info), which the end-to-end cases compare in full with what nosco
 * prints. With arguments (tests/e2e/run.py): parses each FILE and says
 * where the first one that is not KDL v2 goes wrong; exit status 1 then.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kdl/kdl.h"
#include "util/xalloc.h"

#define EXPECTED "tests/e2e/expected"

static const char *const kdl_views[] = { "thread-info", "call-info", "call-trace", "binary-info" };

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	*len = n < 0 ? 0 : (size_t)n;
	if (n < 0) {
		free(buf);
		buf = xstrdup("");
	}
	return buf;
}

/* 0 when the file is a KDL v2 document, else -1 with the error in msg. */
static int parse_file(const char *path, struct err *e)
{
	struct kdl_document doc;
	size_t len;
	char *text = slurp(path, &len);
	int rc;

	if (!text)
		return err_set(e, ERR_IO, "%s: cannot read", path);
	rc = kdl_parse(&doc, text, len, &(struct kdl_parse_opts){ .source = path }, NULL, e);
	kdl_document_fini(&doc);
	free(text);
	return rc;
}

/* Is this expected file the output of a KDL view ("CASE.call-trace_--depth_1_0")? */
static bool is_kdl_output(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i, n;

	if (!dot)
		return false;
	for (i = 0; i < sizeof(kdl_views) / sizeof(kdl_views[0]); i++) {
		n = strlen(kdl_views[i]);
		if (!strncmp(dot + 1, kdl_views[i], n) && (!dot[1 + n] || dot[1 + n] == '_'))
			return true;
	}
	return false;
}

static void test_expected_outputs_parse(void **state)
{
	DIR *d = opendir(EXPECTED);
	struct dirent *de;
	int checked = 0;

	(void)state;
	if (!d)
		skip(); /* no expected outputs written yet */
	while ((de = readdir(d))) {
		char *path;
		struct err e = { 0 };

		if (!is_kdl_output(de->d_name))
			continue;
		path = xasprintf("%s/%s", EXPECTED, de->d_name);
		if (parse_file(path, &e))
			fail_msg("%s", e.msg);
		free(path);
		checked++;
	}
	closedir(d);
	print_message("kdl: %d expected view outputs parsed\n", checked);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(is_kdl_output("hello-main@pie.call-trace_0"));
	assert_true(is_kdl_output("calls-main-depth4@pie.call-trace_--depth_1_0"));
	assert_true(is_kdl_output("hello-main.thread-info"));
	assert_false(is_kdl_output("hello-main.exec-trace_0"));
	assert_false(is_kdl_output("hello-main.calls"));
	assert_false(is_kdl_output("hello-main.events"));
	assert_false(is_kdl_output("err-dump-bad-ids.cmd"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_expected_outputs_parse),
	};
	int i, bad = 0;

	if (argc == 1)
		return cmocka_run_group_tests(tests, NULL, NULL);
	for (i = 1; i < argc; i++) {
		struct err e = { 0 };

		if (parse_file(argv[i], &e)) {
			fprintf(stderr, "%s\n", e.msg);
			bad = 1;
		}
	}
	return bad;
}
