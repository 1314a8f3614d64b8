/*
 * Unit tests of nosco export's formats (src/export/) on the synthetic
 * trace of test-view.h: whole outputs where they are short, the parts that
 * matter (totals, blocks) where they are not, and the errors of a bad
 * selection. tests/e2e/export_check.py reads the formats of real traces
 * with their consumers.
 */
#include "export/export.h"
#include "test-view.h"

/* How an export differs from the default (all of the trace, insns clock). */
struct sel {
	bool has_call;
	int64_t call;
	bool has_thread;
	int tid;
	bool has_depth;
	uint32_t depth;
	bool wall;
};

/* Run format @name on a trace; r->out is its output as a string (drcov's up to its first NUL). */
static void run_export(struct run *r, const char *trace, const char *name, const struct sel *s,
                       size_t *len)
{
	static const struct sel all;
	const struct export_format *f = export_find(name);
	struct export_args a = { 0 };
	size_t n = 0;

	s = s ? s : &all;
	memset(r, 0, sizeof(*r));
	sb_init(&r->warned);
	assert_non_null(f);
	a.reader = reader_open(trace, &r->err);
	if (!a.reader)
		fail_msg("reader_open %s: %s", trace, r->err.msg);
	a.out = open_memstream(&r->out, len ? len : &n);
	a.symbols = true;
	a.has_call = s->has_call;
	a.call = s->call;
	a.has_thread = s->has_thread;
	a.tid = s->tid;
	a.has_depth = s->has_depth;
	a.depth = s->depth;
	a.clock = s->wall ? EXPORT_CLOCK_WALL : EXPORT_CLOCK_INSNS;
	a.warn = count_warning;
	a.warn_ctx = r;
	r->rc = export_run(f, &a, &r->err);
	fclose(a.out);
	reader_close(a.reader);
}

static void check(const char *name, const struct sel *s, const char *want)
{
	struct run r;

	run_export(&r, trace_path, name, s, NULL);
	expect_out(&r, want);
	run_free(&r);
}

#define CHROME_HEAD                                                                                \
	"{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"%s\"},\n"                          \
	"\"traceEvents\":[\n"                                                                      \
	"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"nosco "  \
	"trace\"}}"
#define THREAD_NAME(tid)                                                                           \
	",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":0,\"tid\":" #tid                        \
	",\"args\":{\"name\":\"thread " #tid "\"}}"
#define SLICE(name, tid, ts, dur, id, insns, self, end)                                            \
	",\n{\"ph\":\"X\",\"cat\":\"call\",\"name\":\"" name "\",\"pid\":0,\"tid\":" #tid          \
	",\"ts\":" ts ",\"dur\":" dur ",\"args\":{\"call_id\":" #id ",\"insns\":" #insns           \
	",\"self_insns\":" #self ",\"end\":\"" end "\"}}"

static void test_chrome(void **state)
{
	char want[4096];

	(void)state;
	/* slices as the calls end; the truncated call is an empty slice */
	snprintf(want, sizeof(want),
	         CHROME_HEAD THREAD_NAME(1000) THREAD_NAME(1001)
	                 SLICE("libgone.so+0x1234", 1000, "5", "0", 2, 0, 0, "return")
	                         SLICE("work", 1000, "3", "4", 1, 4, 4, "return")
	                                 SLICE("ns::f(int)", 1000, "8", "1", 3, 1, 1, "unwind")
	                                         SLICE("main", 1000, "0", "12", 0, 12, 7, "return")
	                                                 SLICE("<0x1000>", 1001, "0", "2", 4, 2, 2,
	                                                       "exit") "\n]}\n",
	         "insns: 1 us = 1 instruction");
	check("chrome", NULL, want);
}

static void test_chrome_wall_thread(void **state)
{
	struct sel s = { .wall = true, .has_thread = true, .tid = 1001 };
	char want[1024];

	(void)state;
	/* no start_ns in this trace: the recorded nanoseconds as they are */
	snprintf(want, sizeof(want),
	         CHROME_HEAD THREAD_NAME(1001)
	                 SLICE("<0x1000>", 1001, "0.185", "0.025", 4, 2, 2, "exit") "\n]}\n",
	         "wall");
	check("chrome", &s, want);
}

static void test_folded(void **state)
{
	struct sel depth0 = { .has_depth = true }, call1 = { .has_call = true, .call = 1 };

	(void)state;
	/* own instructions; the truncated call has none and no line */
	check("folded", NULL, "main;work 4\nmain;ns::f(int) 1\nmain 7\n<0x1000> 2\n");
	/* the instructions below the limit count in the call at the limit */
	check("folded", &depth0, "main 12\n<0x1000> 2\n");
	check("folded", &call1, "work 4\n");
}

static void test_callgrind(void **state)
{
	struct run r;

	(void)state;
	run_export(&r, trace_path, "callgrind", NULL, NULL);
	if (r.rc)
		fail_msg("callgrind failed: %s", r.err.msg);
	/* lines from the fixture's DWARF; the truncated call costs nothing */
	if (!strstr(r.out, "events: Ir\n") || !strstr(r.out, "fn=(1) main\n0x401000 6 1\n") ||
	    !strstr(r.out, "cfn=(2) work\ncalls=1 0x401100 18\n0x401004 8 4\n") ||
	    !strstr(r.out,
	            "cfn=(4) libgone.so+0x1234\ncalls=1 0x7f0000001234 0\n0x401101 19 0\n") ||
	    !strstr(r.out, "fn=(5) <0x1000>\n0x1000 0 1\n0x1001 0 1\n"))
		fail_msg("unexpected profile:\n%s", r.out);
	run_free(&r);
}

/* drcov's BB table of this trace: the runs of thread 0 (thread 1 runs outside every binary). */
static void test_drcov(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x10, 0, 0, 9, 0, 0, 0, /* main: push, mov, call work */
		0x00, 0x11, 0, 0, 5, 0, 0, 0, /* work, run through after its call */
		0x09, 0x10, 0, 0, 5, 0, 0, 0, /* main's call of ns::f */
		0x00, 0x12, 0, 0, 3, 0, 0, 0, /* ns::f, left by unwinding */
		0x0e, 0x10, 0, 0, 4, 0, 0, 0, /* main's end */
	};
	static const char head[] =
	        "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\n"
	        "Module Table: version 2, count 2\n"
	        "Columns: id, base, end, entry, path\n"
	        " 0, 0x0000000000400000, 0x0000000000402000, 0x0000000000000000, ";
	const char *table;
	struct run r;
	size_t len;

	(void)state;
	run_export(&r, trace_path, "drcov", NULL, &len);
	if (r.rc)
		fail_msg("drcov failed: %s", r.err.msg);
	if (strncmp(r.out, head, strlen(head)))
		fail_msg("unexpected header:\n%s", r.out);
	table = strstr(r.out, "BB Table: 5 bbs\n");
	assert_non_null(table);
	table += strlen("BB Table: 5 bbs\n");
	assert_int_equal(r.out + len - table, sizeof(want));
	assert_memory_equal(table, want, sizeof(want));
	assert_int_equal(r.warnings, 1);
	assert_non_null(strstr(r.warned.buf, "1 executed blocks are in no recorded binary"));
	run_free(&r);
}

static void expect_error(const struct sel *s, const char *msg)
{
	struct run r;

	run_export(&r, trace_path, "chrome", s, NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.err.kind, ERR_NOT_FOUND);
	if (!strstr(r.err.msg, msg))
		fail_msg("message '%s' does not say '%s'", r.err.msg, msg);
	/* nothing is written for a selection that is not in the trace */
	assert_string_equal(r.out, "");
	run_free(&r);
}

static void test_bad_selection(void **state)
{
	struct sel no_call = { .has_call = true, .call = 99 };
	struct sel no_tid = { .has_thread = true, .tid = 4242 };
	struct sel other = { .has_call = true, .call = 4, .has_thread = true, .tid = 1000 };

	(void)state;
	expect_error(&no_call, "has no call 99");
	expect_error(&no_tid, "has no thread with Linux thread id 4242");
	expect_error(&other, "call 4 is in thread 1001, not in thread 1000");
}

/* Names that are not valid JSON as they are: escaped, and bytes that are not UTF-8 replaced. */
static void test_chrome_escapes(void **state)
{
	struct trace_opts o = { .prog = "/nonexistent/a\"b\\c\x01\xff\xc3\xa9" };
	const char *path = tpath("escapes.trace");
	struct run r;

	(void)state;
	write_trace(path, &o);
	run_export(&r, path, "chrome", NULL, NULL);
	if (r.rc || !strstr(r.out, "\"name\":\"a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9+0x401000\""))
		fail_msg("unexpected output (%s):\n%s", r.err.msg, r.out);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chrome),         cmocka_unit_test(test_chrome_wall_thread),
		cmocka_unit_test(test_folded),         cmocka_unit_test(test_callgrind),
		cmocka_unit_test(test_drcov),          cmocka_unit_test(test_bad_selection),
		cmocka_unit_test(test_chrome_escapes),
	};

	return cmocka_run_group_tests(tests, view_setup, view_teardown);
}
