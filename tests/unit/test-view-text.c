/*
 * Unit tests of the text views (exec-trace, calls) on the synthetic trace
 * of test-view.h, of --lines, and of `nosco dump` itself on bad inputs:
 * missing, not a trace, newer schema, truncated, unknown ids, bad command
 * lines (exit codes 1 and 2).
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "test-view.h"

static void check(int (*fn)(const struct view_args *, struct err *), const char *words,
                  const struct view_opts_test *t, const char *want)
{
	struct run r;

	run_view(&r, trace_path, t, fn, words);
	expect_out(&r, want);
	run_free(&r);
}

/* The listing must assemble: it is a GNU as source file. */
static void expect_assembles(const char *text, const char *as_flags)
{
	FILE *f = fopen(tpath("listing.s"), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (sh("as %s -o %s %s", as_flags, tpath("listing.o"), tpath("listing.s")))
		fail_msg("as rejects:\n%s", text);
}

static void check_asm(const char *words, const char *want)
{
	struct run r;

	run_view(&r, trace_path, NULL, view_exec_trace, words);
	expect_out(&r, want);
	expect_assembles(r.out, "--64");
	run_free(&r);
}

static void test_exec_trace(void **state)
{
	(void)state;
	check_asm("exec-trace 0",
	          ".intel_syntax noprefix\n"
	          "\n"
	          "main: # call_id=0\n"
	          "    push rbp\n"
	          "    mov rbp, rsp\n"
	          "    call 0x401100   # work call_id=1 create_thread=1001\n"
	          "    call 0x401200   # ns::f(int) call_id=3 end=unwind signal=SIGUSR1\n"
	          "    xor eax, eax\n"
	          "    pop rbp\n"
	          "    ret\n");
}

static void test_exec_trace_addresses(void **state)
{
	(void)state;
	check_asm("exec-trace --addresses 0",
	          ".intel_syntax noprefix\n"
	          "\n"
	          "main: # call_id=0 addr=0x401000\n"
	          " /* 0x401000 */    push rbp\n"
	          " /* 0x401001 */    mov rbp, rsp\n"
	          " /* 0x401004 */    call 0x401100   # work call_id=1 addr=0x401100 "
	          "create_thread=1001\n"
	          " /* 0x401009 */    call 0x401200   # ns::f(int) call_id=3 addr=0x401200 "
	          "end=unwind signal=SIGUSR1\n"
	          " /* 0x40100e */    xor eax, eax\n"
	          " /* 0x401010 */    pop rbp\n"
	          " /* 0x401011 */    ret\n");
}

/* --depth inlines nested calls; comments of the caller after them stand alone. */
static void test_exec_trace_depth(void **state)
{
	(void)state;
	check_asm("exec-trace --depth 1 0",
	          ".intel_syntax noprefix\n"
	          "\n"
	          "main: # call_id=0\n"
	          "    push rbp\n"
	          "    mov rbp, rsp\n"
	          "    call 0x401100   # work call_id=1\n"
	          "    work.1: # call_id=1\n"
	          "        push rbx   # load_binary=/nonexistent/libgone.so\n"
	          "        call rax   # libgone.so+0x1234 call_id=2\n"
	          "        pop rbx\n"
	          "        ret\n"
	          "    # create_thread=1001\n"
	          "    call 0x401200   # ns::f(int) call_id=3 end=unwind\n"
	          "    ns__f_int_.3: # ns::f(int) call_id=3 end=unwind\n"
	          "        nop dword ptr [rax]   # unload_binary=0x7f0000000000\n"
	          "    # signal=SIGUSR1\n"
	          "    xor eax, eax\n"
	          "    pop rbp\n"
	          "    ret\n");
	check_asm(
	        "exec-trace --depth 2 --addresses 1",
	        ".intel_syntax noprefix\n"
	        "\n"
	        "work: # call_id=1 addr=0x401100\n"
	        " /* 0x401100 */    push rbx   # load_binary=/nonexistent/libgone.so\n"
	        " /* 0x401101 */    call rax   # libgone.so+0x1234 call_id=2 addr=0x7f0000001234\n"
	        "                   libgone.so_0x1234.2: # libgone.so+0x1234 call_id=2 "
	        "addr=0x7f0000001234 truncated\n"
	        " /* 0x401103 */    pop rbx\n"
	        " /* 0x401104 */    ret\n");
}

/* Labels are valid symbols whatever the name; the real name is in the comment. */
static void test_exec_trace_labels(void **state)
{
	(void)state;
	check_asm("exec-trace 3", ".intel_syntax noprefix\n"
	                          "\n"
	                          "ns__f_int_: # ns::f(int) call_id=3 end=unwind\n"
	                          "    nop dword ptr [rax]   # unload_binary=0x7f0000000000\n");
	check_asm("exec-trace 2", ".intel_syntax noprefix\n"
	                          "\n"
	                          "libgone.so_0x1234: # libgone.so+0x1234 call_id=2 truncated\n");
	/* 0x40 alone is no x86-64 instruction: its byte is kept */
	check_asm("exec-trace 4", ".intel_syntax noprefix\n"
	                          "\n"
	                          "_0x1000: # <0x1000> call_id=4 end=exit\n"
	                          "    .byte 0x40\n"
	                          "    ret   # exit_thread=1001\n");
}

/* The recorded arch decides the mode: 0x40 is inc eax in 32-bit code. */
static void test_exec_trace_i386(void **state)
{
	struct trace_opts o = { .arch = "i386" };
	const char *path = tpath("i386.trace");
	struct run r;

	(void)state;
	write_trace(path, &o);
	run_view(&r, path, NULL, view_exec_trace, "exec-trace 4");
	expect_out(&r, ".intel_syntax noprefix\n"
	               ".code32\n"
	               "\n"
	               "_0x1000: # <0x1000> call_id=4 end=exit\n"
	               "    inc eax\n"
	               "    ret   # exit_thread=1001\n");
	expect_assembles(r.out, "--32");
	run_free(&r);
	o.arch = "sparc";
	write_trace(path, &o);
	run_view(&r, path, NULL, view_exec_trace, "exec-trace 4");
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.kind, ERR_UNSUPPORTED);
	run_free(&r);
}

static void test_exec_trace_lines(void **state)
{
	struct view_opts_test t = { .lines = true };
	char *want;

	(void)state;
	want = xasprintf(".intel_syntax noprefix\n"
	                 "\n"
	                 "ns__f_int_: # ns::f(int) call_id=3 end=unwind\n"
	                 "    # %s:27\n"
	                 "    nop dword ptr [rax]   # unload_binary=0x7f0000000000\n",
	                 tpath("viewprog.s"));
	check(view_exec_trace, "exec-trace 3", &t, want);
	free(want);
	want = xasprintf("main call_id=\"0\" thread=1000 line=\"%s:6\" {\n"
	                 "    create_thread 1001\n"
	                 "    signal SIGUSR1\n"
	                 "}\n",
	                 tpath("viewprog.s"));
	check(view_call_info, "call-info 0", &t, want);
	free(want);
}

static void test_calls(void **state)
{
	(void)state;
	check(view_calls, "calls", NULL,
	      "0  tid=1000  depth=1    insns=7   calls=2  main\n"
	      "1  tid=1000  depth=2    insns=4   calls=1    work\n"
	      "2  tid=1000  depth=3    insns=-   calls=0      libgone.so+0x1234\n"
	      "3  tid=1000  depth=2    insns=1   calls=0    ns::f(int) end=unwind\n"
	      "4  tid=1001  depth=1    insns=2   calls=0  <0x1000> end=exit\n");
	check(view_calls, "calls --thread 1001", NULL,
	      "4  tid=1001  depth=1    insns=2   calls=0  <0x1000> end=exit\n");
	check(view_calls, "calls --symbol *::*", NULL,
	      "3  tid=1000  depth=2    insns=1   calls=0    ns::f(int) end=unwind\n");
	check(view_calls, "calls --symbol nothing*", NULL, "");
}

static void test_calls_unknown_thread(void **state)
{
	struct run r;

	(void)state;
	run_view(&r, trace_path, NULL, view_calls, "calls --thread 77");
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.kind, ERR_NOT_FOUND);
	run_free(&r);
}

/* nosco dump itself: exit codes 0, 1 and 2. */
static int dump(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dump(const char *fmt, ...)
{
	char line[1024], *argv[16], *save = NULL, *w;
	va_list ap;
	int argc = 0;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[argc++] = "dump";
	for (w = strtok_r(line, " ", &save); w && argc < 15; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return cmd_dump(argc, argv);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	assert_non_null(f);
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return xstrdup("");
	}
	return buf;
}

static void test_dump_exit_codes(void **state)
{
	const char *out = tpath("dump.out");
	char *text;

	(void)state;
	assert_int_equal(dump("-i %s -o %s call-trace --depth 0 0", trace_path, out), EXIT_OK);
	text = slurp(out);
	assert_string_equal(text, "main call_id=\"0\" {\n"
	                          "    create_thread 1001\n"
	                          "    signal SIGUSR1\n"
	                          "}\n");
	free(text);
	assert_int_equal(dump("-i %s -n calls", trace_path), EXIT_OK);
	assert_int_equal(dump("-i %s -o %s events", trace_path, out), EXIT_OK);
	assert_int_equal(dump("-i %s call-info 12345", trace_path), EXIT_FAILURE_INPUT);
	assert_int_equal(dump("-i %s thread-info 12345", trace_path), EXIT_FAILURE_INPUT);
	assert_int_equal(dump("-i %s binary-info libnothing.so", trace_path), EXIT_FAILURE_INPUT);
	assert_int_equal(dump("-i %s call-trace --depth -1 0", trace_path), EXIT_USAGE);
	assert_int_equal(dump("-i %s exec-trace abc", trace_path), EXIT_USAGE);
	assert_int_equal(dump("-i %s frobnicate", trace_path), EXIT_USAGE);
	/* a usage error wins over a missing file: nothing is opened */
	assert_int_equal(dump("-i %s call-trace", tpath("missing.trace")), EXIT_USAGE);
	assert_int_equal(dump("-i %s call-trace 0", tpath("missing.trace")), EXIT_FAILURE_INPUT);
	assert_int_equal(dump("-i %s call-trace 0", tpath("viewprog.s")), EXIT_FAILURE_INPUT);
}

/* A file written by a newer nosco is refused, not misread. */
static void test_dump_newer_schema(void **state)
{
	const char *path = tpath("newer.trace");
	struct trace_opts o = { 0 };
	sqlite3 *db;

	(void)state;
	write_trace(path, &o);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(dump("-i %s thread-info", path), EXIT_FAILURE_INPUT);
}

/*
 * A trace whose call 0 runs n instructions, committed every 10000: its
 * row is written (open) at the start of the file, then the chunks.
 */
static void write_long_trace(const char *path, uint64_t n)
{
	struct writer wr = { 0 }, *w = &wr;
	char hex[8];
	uint64_t i;
	int64_t c;

	unlink(path);
	w->s = store_create(path, true, &w->err);
	assert_non_null(w->s);
	WRITE_OK(store_thread_add(w->s, 1000, STORE_NONE, &w->err));
	c = w_call(w, 0, STORE_NONE, STORE_CALL_ROOT, 0x401000, 0, 0, 100, false);
	WRITE_OK(store_commit(w->s, &w->err));
	for (i = 0; i < n; i++) {
		/* ids that do not repeat in a short cycle, so that chunks stay large */
		uint64_t k = (i * 2654435761u) % 4093;

		snprintf(hex, sizeof(hex), "b0%02x", (unsigned)(k & 0xff)); /* mov al, imm8 */
		w_insn(w, 0, 0x401000 + 2 * k, hex);
		if (i % 10000 == 9999)
			WRITE_OK(store_commit(w->s, &w->err));
	}
	w_close(w, 0, c, STORE_END_RETURN, n, 200);
	WRITE_OK(store_close(w->s, &w->err));
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* A damaged chunk: the instructions before it are shown, then exit code 1. */
static void test_dump_corrupted(void **state)
{
	const char *path = tpath("bad-chunk.trace"), *out = tpath("bad-chunk.out");
	sqlite3 *db;
	char *text;

	(void)state;
	write_long_trace(path, 100000);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE chunks SET data = x'00' WHERE first_pos = 50000",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_int_equal(dump("-i %s -o %s -n exec-trace 0", path, out), EXIT_FAILURE_INPUT);
	text = slurp(out);
	/* three header lines, then every instruction up to the damaged chunk */
	assert_int_equal(count_lines(text), 3 + 50000);
	free(text);
}

/*
 * A truncated file: opened, what can be read is shown, then exit code 1.
 * Here the call index, rewritten at the last commit, is in the lost half:
 * call 0 cannot be found, and no output file is left behind.
 */
static void test_dump_truncated(void **state)
{
	const char *path = tpath("big.trace"), *out = tpath("big.out");
	struct stat st;

	(void)state;
	write_long_trace(path, 100000);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_int_equal(dump("-i %s -o %s -n exec-trace 0", path, out), EXIT_FAILURE_INPUT);
	assert_int_equal(stat(out, &st), -1);
	assert_int_equal(dump("-i %s -o %s thread-info", path, out), EXIT_FAILURE_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_trace),
		cmocka_unit_test(test_exec_trace_addresses),
		cmocka_unit_test(test_exec_trace_depth),
		cmocka_unit_test(test_exec_trace_labels),
		cmocka_unit_test(test_exec_trace_i386),
		cmocka_unit_test(test_exec_trace_lines),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_calls_unknown_thread),
		cmocka_unit_test(test_dump_exit_codes),
		cmocka_unit_test(test_dump_newer_schema),
		cmocka_unit_test(test_dump_corrupted),
		cmocka_unit_test(test_dump_truncated),
	};

	return cmocka_run_group_tests(tests, view_setup, view_teardown);
}
