/*
 * Unit tests of the KDL dump views (thread-info, call-info, call-trace,
 * binary-info) and of symbolication: on the synthetic trace of
 * test-view.h, each output compared in full and read back by the KDL
 * reader.
 */
#include "test-view.h"
#include "view/internal.h"

/* Run a KDL view, check its whole output and that it parses. */
static void check(int (*fn)(const struct view_args *, struct err *), const char *words,
                  const struct view_opts_test *t, const char *want)
{
	struct run r;

	run_view(&r, trace_path, t, fn, words);
	expect_out(&r, want);
	expect_kdl(&r);
	run_free(&r);
}

static void expect_fail(int (*fn)(const struct view_args *, struct err *), const char *words,
                        enum err_kind kind, const char *msg)
{
	struct run r;

	run_view(&r, trace_path, NULL, fn, words);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.kind, kind);
	if (!strstr(r.err.msg, msg))
		fail_msg("message '%s' does not say '%s'", r.err.msg, msg);
	run_free(&r);
}

static void test_thread_info(void **state)
{
	(void)state;
	check(view_thread_info, "thread-info", NULL,
	      "thread 1000 {\n"
	      "    traced main call_id=\"0\"\n"
	      "    exited code=3\n"
	      "}\n"
	      "thread 1001 {\n"
	      "    created main call_id=\"0\" thread=1000\n"
	      "    fork child_pid=4242 syscall=vfork\n"
	      "    traced <0x1000> call_id=\"4\" end=exit\n"
	      "    exited signal=SIGKILL <0x1000> call_id=\"4\"\n"
	      "}\n");
}

static void test_thread_info_backtrace(void **state)
{
	(void)state;
	check(view_thread_info, "thread-info --addresses --backtrace", NULL,
	      "thread 1000 {\n"
	      "    traced main call_id=\"0\" addr=\"0x401000\" {\n"
	      "        backtrace {\n"
	      "            dies+0x6 addr=\"0x401306\"\n"
	      "        }\n"
	      "    }\n"
	      "    exited code=3 {\n"
	      "        backtrace {\n"
	      "            dies+0x6 addr=\"0x401306\"\n"
	      "        }\n"
	      "    }\n"
	      "}\n"
	      "thread 1001 {\n"
	      "    created main call_id=\"0\" addr=\"0x401009\" thread=1000 {\n"
	      "        backtrace {\n"
	      "            dies+0x6 addr=\"0x401306\"\n"
	      "        }\n"
	      "    }\n"
	      "    fork child_pid=4242 syscall=vfork\n"
	      "    traced <0x1000> call_id=\"4\" addr=\"0x1000\" end=exit {\n"
	      "        backtrace <none>\n"
	      "    }\n"
	      "    exited signal=SIGKILL <0x1000> call_id=\"4\" addr=\"0x1001\" {\n"
	      "        backtrace <none>\n"
	      "    }\n"
	      "}\n");
}

static void test_thread_info_tid(void **state)
{
	(void)state;
	check(view_thread_info, "thread-info 1000", NULL,
	      "thread 1000 {\n"
	      "    traced main call_id=\"0\"\n"
	      "    exited code=3\n"
	      "}\n");
	expect_fail(view_thread_info, "thread-info 999", ERR_NOT_FOUND,
	            "has no thread with Linux thread id 999");
}

static void test_call_info(void **state)
{
	(void)state;
	check(view_call_info, "call-info 1", NULL,
	      "work call_id=\"1\" thread=1000 {\n"
	      "    load_binary \"/nonexistent/libgone.so\" "
	      "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	      "}\n");
	check(view_call_info, "call-info 0", NULL,
	      "main call_id=\"0\" thread=1000 {\n"
	      "    create_thread 1001\n"
	      "    signal SIGUSR1\n"
	      "}\n");
	check(view_call_info, "call-info 2", NULL, "libgone.so+0x1234 call_id=\"2\" thread=1000\n");
	check(view_call_info, "call-info --backtrace --addresses 2", NULL,
	      "libgone.so+0x1234 call_id=\"2\" addr=\"0x7f0000001234\" thread=1000 {\n"
	      "    backtrace {\n"
	      "        dies+0x6 addr=\"0x401306\"\n"
	      "        main+0x4 call_id=\"0\" addr=\"0x401004\"\n"
	      "        work+0x1 call_id=\"1\" addr=\"0x401101\"\n"
	      "    }\n"
	      "}\n");
	expect_fail(view_call_info, "call-info 5", ERR_NOT_FOUND,
	            "has no call 5 (its calls are 0 to 4");
}

static void test_call_trace(void **state)
{
	(void)state;
	check(view_call_trace, "call-trace 0", NULL,
	      "main call_id=\"0\" {\n"
	      "    work call_id=\"1\" {\n"
	      "        load_binary \"/nonexistent/libgone.so\" "
	      "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	      "        libgone.so+0x1234 call_id=\"2\"\n"
	      "    }\n"
	      "    create_thread 1001\n"
	      "    \"ns::f(int)\" call_id=\"3\" end=unwind {\n"
	      "        unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	      "    }\n"
	      "    signal SIGUSR1\n"
	      "}\n");
	check(view_call_trace, "call-trace 4", NULL,
	      "<0x1000> call_id=\"4\" end=exit {\n"
	      "    exit_thread 1001 signal=SIGKILL\n"
	      "}\n");
}

/* --depth N shows N levels of calls; the calls at the limit keep their own state changes. */
static void test_call_trace_depth(void **state)
{
	(void)state;
	check(view_call_trace, "call-trace --depth 0 0", NULL,
	      "main call_id=\"0\" {\n"
	      "    create_thread 1001\n"
	      "    signal SIGUSR1\n"
	      "}\n");
	check(view_call_trace, "call-trace --depth 1 0", NULL,
	      "main call_id=\"0\" {\n"
	      "    work call_id=\"1\" {\n"
	      "        load_binary \"/nonexistent/libgone.so\" "
	      "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	      "    }\n"
	      "    create_thread 1001\n"
	      "    \"ns::f(int)\" call_id=\"3\" end=unwind {\n"
	      "        unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	      "    }\n"
	      "    signal SIGUSR1\n"
	      "}\n");
	check(view_call_trace, "call-trace --depth 0 2", NULL, "libgone.so+0x1234 call_id=\"2\"\n");
}

static void test_call_trace_backtrace(void **state)
{
	(void)state;
	check(view_call_trace, "call-trace --backtrace --addresses 1", NULL,
	      "work call_id=\"1\" addr=\"0x401100\" {\n"
	      "    backtrace {\n"
	      "        dies+0x6 addr=\"0x401306\"\n"
	      "        main+0x4 call_id=\"0\" addr=\"0x401004\"\n"
	      "    }\n"
	      "    load_binary \"/nonexistent/libgone.so\" "
	      "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	      "    libgone.so+0x1234 call_id=\"2\" addr=\"0x7f0000001234\"\n"
	      "}\n");
	expect_fail(view_call_trace, "call-trace 99", ERR_NOT_FOUND, "has no call 99");
}

static void test_binary_info(void **state)
{
	char *want;

	(void)state;
	want = xasprintf("binary \"%s\" addr_range=\"0x400000..0x402000\"\n"
	                 "binary \"/nonexistent/libgone.so\" "
	                 "addr_range=\"0x7f0000000000..0x7f0000010000\" {\n"
	                 "    loaded_by work call_id=\"1\" thread=1000\n"
	                 "    unloaded_by \"ns::f(int)\" call_id=\"3\" thread=1000\n"
	                 "}\n",
	                 tpath("viewprog"));
	check(view_binary_info, "binary-info", NULL, want);
	free(want);
	check(view_binary_info, "binary-info --backtrace --addresses nonexistent/libgone.so", NULL,
	      "binary \"/nonexistent/libgone.so\" addr_range=\"0x7f0000000000..0x7f0000010000\" {\n"
	      "    loaded_by work call_id=\"1\" addr=\"0x401101\" thread=1000 {\n"
	      "        backtrace {\n"
	      "            dies+0x6 addr=\"0x401306\"\n"
	      "            main+0x4 call_id=\"0\" addr=\"0x401004\"\n"
	      "        }\n"
	      "    }\n"
	      "    unloaded_by \"ns::f(int)\" call_id=\"3\" addr=\"0x401203\" thread=1000 {\n"
	      "        backtrace {\n"
	      "            dies+0x6 addr=\"0x401306\"\n"
	      "            main+0x9 call_id=\"0\" addr=\"0x401009\"\n"
	      "        }\n"
	      "    }\n"
	      "}\n");
	/* SUFFIX matches whole path components only */
	expect_fail(view_binary_info, "binary-info gone.so", ERR_NOT_FOUND,
	            "has no binary whose path ends with 'gone.so'");
}

/* -n: raw addresses, no binary opened, no warning. */
static void test_no_symbols(void **state)
{
	struct view_opts_test t = { .no_symbols = true };
	struct run r;

	(void)state;
	run_view(&r, trace_path, &t, view_call_trace, "call-trace --backtrace 0");
	expect_out(
	        &r,
	        "<0x401000> call_id=\"0\" {\n"
	        "    backtrace {\n"
	        "        <0x401306>\n"
	        "    }\n"
	        "    <0x401100> call_id=\"1\" {\n"
	        "        load_binary \"/nonexistent/libgone.so\" "
	        "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	        "        <0x7f0000001234> call_id=\"2\"\n"
	        "    }\n"
	        "    create_thread 1001\n"
	        "    <0x401200> call_id=\"3\" end=unwind {\n"
	        "        unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	        "    }\n"
	        "    signal SIGUSR1\n"
	        "}\n");
	expect_kdl(&r);
	assert_int_equal(r.warnings, 0);
	run_free(&r);
}

/* A binary missing on disk: one warning, its addresses as file+offset. */
static void test_missing_binary_warns_once(void **state)
{
	struct run r;

	(void)state;
	run_view(&r, trace_path, NULL, view_call_trace, "call-trace 0");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.warnings, 1);
	assert_non_null(strstr(r.warned.buf, "/nonexistent/libgone.so"));
	assert_non_null(strstr(r.warned.buf, "shown as libgone.so+0xOFFSET"));
	run_free(&r);
}

/* The file on disk is not the traced one: never its names, one warning. */
static void test_build_id_mismatch(void **state)
{
	struct trace_opts o = { .wrong_build_id = true };
	const char *path = tpath("badid.trace");
	struct run r;

	(void)state;
	write_trace(path, &o);
	run_view(&r, path, NULL, view_call_trace, "call-trace --depth 1 --backtrace 0");
	expect_out(
	        &r,
	        "viewprog+0x401000 call_id=\"0\" {\n"
	        "    backtrace {\n"
	        "        viewprog+0x401306\n"
	        "    }\n"
	        "    viewprog+0x401100 call_id=\"1\" {\n"
	        "        load_binary \"/nonexistent/libgone.so\" "
	        "addr_range=\"0x7f0000000000..0x7f0000010000\"\n"
	        "    }\n"
	        "    create_thread 1001\n"
	        "    viewprog+0x401200 call_id=\"3\" end=unwind {\n"
	        "        unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	        "    }\n"
	        "    signal SIGUSR1\n"
	        "}\n");
	assert_int_equal(r.warnings, 1);
	assert_non_null(strstr(r.warned.buf, "is not the binary that was traced (build-id"));
	run_free(&r);
}

/* --sysroot: the recorded path is looked for under DIR. */
static void test_sysroot(void **state)
{
	struct trace_opts o = { .prog = "/opt/viewprog" };
	struct view_opts_test t = { .sysroot = tpath("sysroot") };
	const char *path = tpath("sysroot.trace");
	struct run r;

	(void)state;
	write_trace(path, &o);
	run_view(&r, path, &t, view_call_info, "call-info 3");
	expect_out(&r,
	           "\"ns::f(int)\" call_id=\"3\" thread=1000 end=unwind {\n"
	           "    unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	           "}\n");
	assert_int_equal(r.warnings, 0);
	run_free(&r);
	/* without it, the same trace names the binary by its file name */
	run_view(&r, path, NULL, view_call_info, "call-info 3");
	expect_out(&r,
	           "viewprog+0x401200 call_id=\"3\" thread=1000 end=unwind {\n"
	           "    unload_binary addr=\"0x7f0000000000\" path=\"/nonexistent/libgone.so\"\n"
	           "}\n");
	assert_int_equal(r.warnings, 1);
	run_free(&r);
}

/* Usage mistakes are ERR_USAGE (exit code 2), checked before anything is read. */
static void test_usage_errors(void **state)
{
	static const struct {
		const char *words, *msg;
	} cases[] = {
		{ "call-trace", "missing CALL_ID" },
		{ "call-trace abc", "invalid call id 'abc'" },
		{ "call-trace -1", "invalid call id '-1'" },
		{ "call-trace 1 2", "unexpected argument '2'" },
		{ "call-trace --depth -2 0", "--depth needs a number" },
		{ "call-trace --depth x 0", "--depth needs a number" },
		{ "call-trace --depth", "option '--depth' needs an argument" },
		{ "call-trace --frobnicate 0", "unknown option '--frobnicate'" },
		{ "call-info --depth 1 0", "unknown option '--depth'" },
		{ "call-info --backtrace=yes 0", "option '--backtrace' takes no argument" },
		{ "thread-info abc", "invalid thread id 'abc'" },
		{ "calls --thread x", "--thread needs a Linux thread id" },
		{ "calls 3", "unexpected argument '3'" },
		{ "events x", "unexpected argument 'x'" },
		{ "exec-trace -x 0", "unknown option '-x'" },
		{ "frobnicate", "unknown view 'frobnicate'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *copy = xstrdup(cases[i].words), *argv[8], *save = NULL, *w;
		struct err e = { 0 };
		int argc = 0;

		for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		argv[argc] = NULL;
		if (view_check_args(argc, argv, &e) != -1)
			fail_msg("'%s' was accepted", cases[i].words);
		assert_int_equal(e.kind, ERR_USAGE);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("'%s': message '%s' does not say '%s'", cases[i].words, e.msg,
			         cases[i].msg);
		free(copy);
	}
}

static void test_help(void **state)
{
	char *argv[] = { "call-trace", "--help", NULL };
	struct err e = { 0 };
	struct run r;

	(void)state;
	assert_int_equal(view_check_args(2, argv, &e), 1);
	run_view(&r, trace_path, NULL, view_call_trace, "call-trace --help");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, view_find("call-trace")->usage);
	run_free(&r);
}

/* Every view of the table is found by its name and by its function, once. */
static void test_table_names(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(view_count > 0);
	for (i = 0; i < view_count; i++) {
		const struct view_def *d = &view_defs[i];
		char head[64];

		assert_ptr_equal(view_find(d->name), d);
		assert_ptr_equal(view_of(d->run), d);
		assert_non_null(d->summary);
		snprintf(head, sizeof(head), "Usage: nosco dump -i FILE %s", d->name);
		if (strncmp(d->usage, head, strlen(head)))
			fail_msg("the help of %s does not begin with '%s'", d->name, head);
		for (j = 0; j < i; j++)
			assert_string_not_equal(view_defs[j].name, d->name);
	}
	assert_null(view_find("no-such-view"));
}

/* The command-line word of an option, with a valid argument when it takes one. */
static void option_word(const char *name, char *buf, size_t size)
{
	static const char *const samples[][2] = {
		{ "depth", "1" }, { "thread", "1" },  { "symbol", "x" },   { "min-insns", "1" },
		{ "limit", "1" }, { "range", "0.." }, { "sort", "calls" },
	};
	size_t i;

	snprintf(buf, size, "--%s", name);
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (!strcmp(name, samples[i][0]))
			snprintf(buf, size, "--%s=%s", name, samples[i][1]);
}

/*
 * Every option a view lists exists, its help names it and its parser
 * takes it; an option it does not list is refused.
 */
static void test_table_options(void **state)
{
	unsigned bit;
	size_t i;

	(void)state;
	for (i = 0; i < view_count; i++) {
		const struct view_def *d = &view_defs[i];

		for (bit = 1; bit; bit <<= 1) {
			const char *name = view_option_name(bit);
			char word[64], *argv[] = { (char *)d->name, word, "--help", NULL };
			struct err e = { 0 };

			if (!name) {
				if (d->options & bit)
					fail_msg("%s lists the unknown option %#x", d->name, bit);
				continue;
			}
			option_word(name, word, sizeof(word));
			if (!(d->options & bit)) {
				assert_int_equal(view_check_args(3, argv, &e), -1);
				continue;
			}
			if (!strstr(d->usage, name))
				fail_msg("the help of %s does not name --%s", d->name, name);
			if (view_check_args(3, argv, &e) != 1)
				fail_msg("%s refuses %s: %s", d->name, word, e.msg);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_info),
		cmocka_unit_test(test_thread_info_backtrace),
		cmocka_unit_test(test_thread_info_tid),
		cmocka_unit_test(test_call_info),
		cmocka_unit_test(test_call_trace),
		cmocka_unit_test(test_call_trace_depth),
		cmocka_unit_test(test_call_trace_backtrace),
		cmocka_unit_test(test_binary_info),
		cmocka_unit_test(test_no_symbols),
		cmocka_unit_test(test_missing_binary_warns_once),
		cmocka_unit_test(test_build_id_mismatch),
		cmocka_unit_test(test_sysroot),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_table_names),
		cmocka_unit_test(test_table_options),
	};

	return cmocka_run_group_tests(tests, view_setup, view_teardown);
}
