/*
 * Unit tests of the trace store: writer, reader, the raw events view, the
 * output file rules and crash safety.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/internal.h"
#include "store/reader.h"
#include "store/store.h"
#include "store/writer-int.h"
#include "view/view.h"
#include "util/xalloc.h"

static char tmpdir[] = "/tmp/nosco-test-store-XXXXXX";

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct store *create(const char *path)
{
	struct err err = { 0 };
	struct store *s = store_create(path, false, &err);

	if (!s)
		fail_msg("store_create: %s", err.msg);
	return s;
}

static struct store_reader *open_reader(const char *path)
{
	struct err err = { 0 };
	struct store_reader *r = reader_open(path, &err);

	if (!r)
		fail_msg("reader_open: %s", err.msg);
	return r;
}

/* test_copy - copy a file's bytes (cp, without whatever else goes with it) */
static int test_copy(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int ret = in && out ? 0 : -1;

	while (!ret && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		ret = -1;
	return ret;
}

/* A loop-shaped instruction of a fake program: address and bytes from an index. */
static void fake_insn(uint32_t i, uint64_t *addr, uint8_t *bytes, size_t *len)
{
	*addr = 0x401000 + (uint64_t)i * 4;
	*len = 1 + i % 7;
	memset(bytes, (int)(i & 0xff), *len);
}

/* The index of the n-th instruction of a stream: loops of 37 inside loops of 1000. */
static uint32_t fake_stream(uint64_t n)
{
	return (uint32_t)((n % 1000 < 900 ? n % 37 : 100 + n % 1000) + (n / 100000) % 3 * 2000);
}

static void record(struct store *s, int64_t thread, uint64_t from, uint64_t n)
{
	struct err err;
	uint8_t bytes[16];
	uint64_t addr, i;
	size_t len;

	for (i = from; i < from + n; i++) {
		fake_insn(fake_stream(i), &addr, bytes, &len);
		assert_int_equal(store_insn(s, thread, addr, bytes, len, &err), i);
	}
}

static void check_insns(struct store_reader *r, int64_t thread, uint64_t from, uint64_t to,
                        uint64_t expect_end)
{
	struct err err = { 0 };
	struct reader_insns *it = reader_insns_open(r, thread, from, to, &err);
	struct reader_insn in;
	uint8_t bytes[16];
	uint64_t addr, pos = from;
	size_t len;
	int rc;

	assert_non_null(it);
	while ((rc = reader_insns_next(it, &in, &err)) > 0) {
		fake_insn(fake_stream(pos), &addr, bytes, &len);
		assert_int_equal(in.pos, pos);
		assert_int_equal(in.addr, addr);
		assert_int_equal(in.len, len);
		assert_memory_equal(in.bytes, bytes, len);
		pos++;
	}
	if (rc < 0)
		fail_msg("reader_insns_next: %s", err.msg);
	assert_int_equal(pos, expect_end > from ? expect_end : from);
	assert_int_equal(reader_insns_next(it, &in, &err), 0);
	reader_insns_free(it);
}

static void test_chunk_codec(void **state)
{
	uint32_t ids[] = { 0, 1, 2, UINT32_MAX, 0, 5, 5, 4, 1u << 31 };
	uint32_t back[9];
	uint8_t buf[9 * STORE_VARINT_MAX];
	size_t n = store_ids_pack(ids, 9, buf);

	(void)state;
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 2); /* +1 zig-zags to 2 */
	assert_int_equal(store_ids_unpack(buf, n, back, 9), 0);
	assert_memory_equal(ids, back, sizeof(ids));
	assert_int_equal(store_ids_unpack(buf, n - 1, back, 9), -1);
	assert_int_equal(store_ids_unpack(buf, n, back, 8), -1);
	buf[0] = 1; /* -1: an id below 0 */
	assert_int_equal(store_ids_unpack(buf, n, back, 9), -1);
}

/* Write one of every record kind. */
static void write_records(struct store *s)
{
	static const uint8_t build_id[] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t vdso[] = { 0x7f, 'E', 'L', 'F' };
	char *argv[] = { "/bin/prog", "two words", "\xff\xfe", NULL };
	uint64_t bt[] = { 0x401065, 0x7ffff7db2e40 };
	struct store_binary b = { .path = "/usr/bin/prog\xff",
		                  .name = "prog",
		                  .build_id = build_id,
		                  .build_id_len = 4,
		                  .base = 0x400000,
		                  .start = 0x401000,
		                  .end = 0x402000 };
	struct store_binary v = { .path = "[vdso]",
		                  .start = 0x7fff0000,
		                  .end = 0x7fff2000,
		                  .image = vdso,
		                  .image_len = 4 };
	struct store_call c = { .thread = 0,
		                .parent = STORE_NONE,
		                .kind = STORE_CALL_ROOT,
		                .depth = 1,
		                .addr = 0x401136,
		                .time_ns = 10,
		                .bt = bt,
		                .bt_len = 2 };
	struct store_origin o = { .thread = 0,
		                  .call = 1,
		                  .pos = 12,
		                  .addr = 0x401140,
		                  .time_ns = 20,
		                  .bt = bt,
		                  .bt_len = 1 };
	struct store_exit ex0 = { .code = 3 }, ex1 = { .signaled = true, .code = 9 };
	struct err err;

	assert_int_equal(store_meta_set_text(s, "program", "/bin/prog", &err), 0);
	assert_int_equal(store_meta_set_int(s, "pid", 4242, &err), 0);
	assert_int_equal(store_meta_set_argv(s, argv, &err), 0);
	assert_int_equal(store_binary_add(s, &b, STORE_NONE, &err), 0);
	assert_int_equal(store_thread_add(s, 4242, STORE_NONE, &err), 0);
	assert_int_equal(store_call_open(s, &c, &err), 0);
	record(s, 0, 0, 10);
	c = (struct store_call){ .thread = 0,
		                 .parent = 0,
		                 .kind = STORE_CALL_CALL,
		                 .depth = 2,
		                 .addr = 0x401d40,
		                 .site = 0x401146,
		                 .ret_addr = 0x40114b,
		                 .pos = 10,
		                 .time_ns = 15 };
	assert_int_equal(store_call_open(s, &c, &err), 1);
	record(s, 0, 10, 5);
	assert_int_equal(store_event_add(s, STORE_EV_LOAD_BINARY, &o, 1, NULL, &err), 0);
	assert_int_equal(store_binary_add(s, &v, 0, &err), 1);
	o.bt = NULL;
	o.bt_len = 0;
	assert_int_equal(store_event_add(s, STORE_EV_CREATE_THREAD, &o, 1, NULL, &err), 1);
	assert_int_equal(store_thread_add(s, 4243, 1, &err), 1);
	c.pos = 15;
	c.parent = 1;
	c.depth = 3;
	c.site = 0x401d50;
	c.kind = STORE_CALL_SIGNAL;
	c.signal = 10;
	c.truncated = true;
	assert_int_equal(store_call_open(s, &c, &err), 2);
	assert_int_equal(store_call_close(s, 0, 2, STORE_END_UNWIND, 15, 30, &err), 0);
	assert_int_equal(store_call_close(s, 0, 1, STORE_END_RETURN, 15, 31, &err), 0);
	o.call = 0;
	o.pos = 15;
	assert_int_equal(store_event_add(s, STORE_EV_SIGNAL, &o, 10, "SIGUSR1", &err), 2);
	assert_int_equal(store_binary_unloaded(s, 1, 2, &err), 0);
	assert_int_equal(store_thread_exited(s, 0, &ex0, STORE_NONE, &err), 0);
	assert_int_equal(store_thread_exited(s, 1, &ex1, STORE_NONE, &err), 0);
	/* Call 0 stays open: the trace ended with it running. */
}

static void check_calls(struct store_reader *r)
{
	struct reader_cursor *cur;
	struct reader_frame *fr;
	struct reader_call c;
	struct err err;
	size_t n;

	assert_int_equal(reader_call_get(r, 0, &c, &err), 0);
	assert_true(c.open);
	assert_int_equal(c.pos_end, 15);
	assert_int_equal(c.bt_len, 2);
	assert_int_equal(c.bt[1], 0x7ffff7db2e40);
	assert_int_equal(reader_call_get(r, 2, &c, &err), 0);
	assert_false(c.open);
	assert_int_equal(c.kind, STORE_CALL_SIGNAL);
	assert_int_equal(c.end, STORE_END_UNWIND);
	assert_int_equal(c.signal, 10);
	assert_true(c.truncated);
	assert_int_equal(c.depth, 3);
	assert_int_equal(reader_call_get(r, 3, &c, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);

	cur = reader_calls_children(r, 0, &err);
	assert_int_equal(reader_call_next(cur, &c, &err), 1);
	assert_int_equal(c.id, 1);
	assert_int_equal(c.site, 0x401146);
	assert_int_equal(c.ret_addr, 0x40114b);
	assert_int_equal(c.pos_start, 10);
	assert_int_equal(c.pos_end, 15);
	assert_int_equal(reader_call_next(cur, &c, &err), 0);
	assert_int_equal(reader_call_next(cur, &c, &err), 0);
	reader_cursor_free(cur);
	cur = reader_calls_roots(r, 0, &err);
	assert_int_equal(reader_call_next(cur, &c, &err), 1);
	assert_int_equal(c.id, 0);
	assert_int_equal(reader_call_next(cur, &c, &err), 0);
	reader_cursor_free(cur);
	cur = reader_calls_of_thread(r, 1, &err);
	assert_int_equal(reader_call_next(cur, &c, &err), 0);
	reader_cursor_free(cur);

	assert_int_equal(reader_call_backtrace(r, 2, &fr, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(fr[0].call, 1);
	assert_int_equal(fr[0].addr, 0x401d50);
	assert_int_equal(fr[1].call, 0);
	assert_int_equal(fr[1].addr, 0x401146);
	assert_int_equal(fr[2].call, STORE_NONE);
	assert_int_equal(fr[2].addr, 0x401065);
	assert_int_equal(fr[3].addr, 0x7ffff7db2e40);
	free(fr);
}

/* check_loaded_threads - reader_load_threads() appends every thread, by id */
static void check_loaded_threads(struct store_reader *r)
{
	reader_thread_vec v = { 0 };
	struct err err;

	vec_push(&v, (struct reader_thread){ .tid = -1 }); /* appended to, not replaced */
	assert_int_equal(reader_load_threads(r, &v, &err), 0);
	assert_int_equal(v.len, 3);
	assert_int_equal(v.data[1].id, 0);
	assert_int_equal(v.data[1].tid, 4242);
	assert_int_equal(v.data[2].id, 1);
	assert_true(v.data[2].signaled && v.data[2].code == 9);
	vec_free(&v);
}

static void check_records(struct store_reader *r)
{
	struct reader_cursor *cur;
	struct reader_binary b;
	struct reader_thread t;
	struct reader_event e;
	struct err err;
	size_t len;
	int64_t pid;

	assert_string_equal(reader_meta_text(r, "program"), "/bin/prog");
	assert_string_equal(reader_meta_text(r, "exit_kind"), "running");
	assert_string_equal(reader_meta_text(r, "nosco_version"), NOSCO_VERSION);
	assert_int_equal(reader_meta_int(r, "pid", &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(reader_argc(r), 3);
	assert_string_equal(reader_argv(r, 2, &len), "\xff\xfe");
	assert_int_equal(len, 2);

	assert_int_equal(reader_binary_get(r, 0, &b, &err), 0);
	assert_string_equal(b.path, "/usr/bin/prog\xff");
	assert_int_equal(b.build_id_len, 4);
	assert_int_equal(b.build_id[3], 0xef);
	assert_null(b.image);
	assert_int_equal(b.load_event, STORE_NONE);
	assert_int_equal(reader_binary_get(r, 1, &b, &err), 0);
	assert_null(b.name);
	assert_int_equal(b.image_len, 4);
	assert_int_equal(b.load_event, 0);
	assert_int_equal(b.unload_event, 2);

	cur = reader_threads(r, &err);
	assert_int_equal(reader_thread_next(cur, &t, &err), 1);
	assert_int_equal(t.tid, 4242);
	assert_true(t.exited && !t.signaled && t.code == 3);
	assert_int_equal(t.insn_count, 15);
	assert_int_equal(reader_thread_next(cur, &t, &err), 1);
	assert_int_equal(t.create_event, 1);
	assert_true(t.signaled && t.code == 9);
	assert_int_equal(reader_thread_next(cur, &t, &err), 0);
	reader_cursor_free(cur);
	check_loaded_threads(r);

	cur = reader_events_of_call(r, 1, &err);
	assert_int_equal(reader_event_next(cur, &e, &err), 1);
	assert_int_equal(e.kind, STORE_EV_LOAD_BINARY);
	assert_int_equal(e.pos, 12);
	assert_int_equal(e.bt_len, 1);
	assert_null(e.detail);
	assert_int_equal(reader_event_next(cur, &e, &err), 1);
	assert_int_equal(e.id, 1);
	assert_int_equal(reader_event_next(cur, &e, &err), 0);
	reader_cursor_free(cur);
	assert_int_equal(reader_event_get(r, 2, &e, &err), 0);
	assert_string_equal(e.detail, "SIGUSR1");
	assert_int_equal(e.call, 0);
}

static void test_roundtrip(void **state)
{
	char *path = tmp_path("roundtrip.trace");
	struct store *s = create(path);
	struct store_reader *r;
	struct reader_counts n;
	struct err err;

	(void)state;
	write_records(s);
	assert_int_equal(store_close(s, &err), 0);
	r = open_reader(path);
	assert_null(reader_damage(r));
	assert_false(reader_recovered(r));
	assert_int_equal(reader_check(r, &err), 0);
	assert_int_equal(reader_counts(r, &n, &err), 0);
	assert_true(n.threads == 2 && n.binaries == 2 && n.events == 3 && n.calls == 3);
	check_records(r);
	check_calls(r);
	check_insns(r, 0, 0, UINT64_MAX, 15);
	reader_close(r);
	free(path);
}

static void test_events_view(void **state)
{
	char *path = tmp_path("view.trace"), *text = NULL;
	struct store *s = create(path);
	struct store_reader *r;
	char *argv[] = { "events", NULL };
	struct view_args a = { .argc = 1, .argv = argv };
	struct err err;
	size_t size;

	(void)state;
	write_records(s);
	assert_int_equal(store_close(s, &err), 0);
	r = open_reader(path);
	a.reader = r;
	a.out = open_memstream(&text, &size);
	assert_int_equal(view_events(&a, &err), 0);
	fclose(a.out);
	assert_non_null(strstr(text, "meta exit_kind=running\nmeta nosco_version="));
	assert_non_null(strstr(text, "\nmeta pid=4242\nmeta program=/bin/prog\nargv 0 /bin/prog\n"
	                             "argv 1 \"two words\"\nargv 2 \"\\xff\\xfe\"\n"));
	assert_non_null(strstr(text, "\nbinary id=0 path=\"/usr/bin/prog\\xff\" name=prog "
	                             "build_id=deadbeef base=0x400000 start=0x401000 end=0x402000 "
	                             "image=- load_event=- unload_event=-\n"));
	assert_non_null(strstr(text, "\nthread id=1 tid=4243 create_event=1 exit_event=- "
	                             "exit_code=- exit_signal=9 insns=0\n"));
	assert_non_null(strstr(text, "\nevent id=2 kind=signal time=20 thread=0 call=0 pos=15 "
	                             "addr=0x401140 subject=10 detail=SIGUSR1 bt=-\n"));
	assert_non_null(strstr(text,
	                       "\ncall id=0 thread=0 parent=- kind=root depth=1 "
	                       "addr=0x401136 site=0x0 ret=0x0 pos_start=0 pos_end=- end=open "
	                       "time_start=10 time_end=- signal=- truncated=0 "
	                       "bt=0x401065,0x7ffff7db2e40\n"));
	assert_non_null(
	        strstr(text, "\ncall id=2 thread=0 parent=1 kind=signal depth=3 "
	                     "addr=0x401d40 site=0x401d50 ret=0x40114b pos_start=15 pos_end=15 "
	                     "end=unwind time_start=15 time_end=30 signal=10 truncated=1 bt=-\n"));
	assert_non_null(strstr(text, "\ninsn thread=0 pos=1 addr=0x401004 bytes=0101\n"));
	free(text);
	reader_close(r);
	free(path);
}

static void test_long_streams(void **state)
{
	char *path = tmp_path("long.trace");
	struct store *s = create(path);
	const uint64_t n = 1200000;
	struct store_reader *r;
	struct err err;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_thread_add(s, 2, STORE_NONE, &err), 1);
	/* Interleave two threads so that their chunks alternate in the file. */
	record(s, 0, 0, n / 2);
	record(s, 1, 0, 70000);
	record(s, 0, n / 2, n / 2);
	assert_int_equal(store_thread_pos(s, 0), n);
	assert_int_equal(store_close(s, &err), 0);

	r = open_reader(path);
	assert_int_equal(reader_thread_insn_count(r, 0), n);
	check_insns(r, 0, 0, UINT64_MAX, n);
	check_insns(r, 1, 0, 70000, 70000);
	check_insns(r, 0, STORE_CHUNK_INSNS - 3, STORE_CHUNK_INSNS + 3, STORE_CHUNK_INSNS + 3);
	check_insns(r, 0, 3 * STORE_CHUNK_INSNS, 3 * STORE_CHUNK_INSNS + 1,
	            3 * STORE_CHUNK_INSNS + 1);
	check_insns(r, 0, n - 1, n + 100, n);
	check_insns(r, 0, n + 5, UINT64_MAX, n + 5);
	check_insns(r, 1, 10, 10, 10);
	reader_close(r);
	free(path);
}

/* An integer that one query on the trace's file answers. */
static int64_t query_int(const char *path, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Every token of each stream chunk of path is one instruction (v & 1 == 0), count of them. */
static void check_single_tokens(const char *path)
{
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count, data FROM chunks", -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *z = sqlite3_column_blob(st, 1);
		size_t zlen = (size_t)sqlite3_column_bytes(st, 1), len;
		unsigned long long size = ZSTD_getFrameContentSize(z, zlen);
		uint8_t *raw = xmalloc(size + 1);
		const uint8_t *p = raw;
		int64_t tokens = 0;
		uint64_t v;

		assert_true(size < (1ull << 24));
		len = ZSTD_decompress(raw, size + 1, z, zlen);
		assert_false(ZSTD_isError(len));
		while (p < raw + len) {
			assert_int_equal(store_varint_get(&p, raw + len, 63, &v), 0);
			assert_int_equal(v & 1, 0);
			tokens++;
		}
		assert_int_equal(tokens, sqlite3_column_int64(st, 0));
		assert_true(tokens <= STORE_CHUNK_INSNS);
		free(raw);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* root_call - thread 0 and its root call, committed; c made ready for the root's calls */
static int64_t root_call(struct store *s, struct store_call *c)
{
	struct err err;
	int64_t root;

	*c = (struct store_call){ .thread = 0, .parent = STORE_NONE, .kind = STORE_CALL_ROOT };
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	root = store_call_open(s, c, &err);
	assert_int_equal(store_commit(s, &err), 0);
	c->kind = STORE_CALL_CALL;
	c->parent = root;
	c->depth = 1;
	return root;
}

/* add_calls - the root's calls from..to-1, call k len instructions long from k * len */
static void add_calls(struct store *s, struct store_call *c, int64_t from, int64_t to, uint64_t len)
{
	struct err err;

	for (int64_t k = from; k < to; k++) {
		c->pos = (uint64_t)k * len;
		c->addr = 0x401000 + (uint64_t)k;
		assert_int_equal(store_call_open(s, c, &err), k + 1);
		record(s, 0, c->pos, len);
		assert_int_equal(
		        store_call_close(s, 0, k + 1, STORE_END_RETURN, c->pos + len, 0, &err), 0);
	}
}

/*
 * The step engine's path: instructions one by one (store_insn) and calls.
 * The file has the one schema: every instruction is a token of its own in
 * the block streams (no block rows), the calls that ended are records
 * found through the call index, with summaries; the reader shows them all.
 */
static void test_step_path(void **state)
{
	char *path = tmp_path("step.trace");
	struct store *s = create(path);
	const uint64_t n = 3 * STORE_CHUNK_INSNS + 5;
	struct reader_thread_summary sum;
	struct store_reader *r;
	struct store_call c;
	struct reader_call rc;
	struct err err;
	int64_t root = root_call(s, &c);

	(void)state;
	add_calls(s, &c, 0, 100, n / 100);
	record(s, 0, 100 * (n / 100), n - 100 * (n / 100));
	assert_int_equal(store_call_close(s, 0, root, STORE_END_RETURN, n, 0, &err), 0);
	assert_int_equal(store_close(s, &err), 0);

	assert_int_equal(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(query_int(path, "SELECT count(*) FROM blocks"), 0);
	assert_int_equal(query_int(path, "SELECT count(*) FROM insns"), 0);
	assert_int_equal(query_int(path, "SELECT sum(count) FROM chunks"), n);
	check_single_tokens(path);
	/*
	 * The root was running at a commit: a row. Its calls are records but
	 * for those running at a commit of the interval (rows too).
	 */
	assert_int_equal(query_int(path, "SELECT count(*) FROM calls WHERE id = 0"), 1);
	assert_true(query_int(path, "SELECT sum(count) FROM call_chunks") >= 90);
	assert_int_equal(query_int(path, "SELECT (SELECT count(*) FROM calls) + "
	                                 "(SELECT sum(count) FROM call_chunks)"),
	                 101);
	assert_int_equal(query_int(path, "SELECT sum(count) FROM call_index"), 101);
	assert_int_equal(query_int(path, "SELECT count(*) FROM call_summary"),
	                 query_int(path, "SELECT count(*) FROM call_index"));

	r = open_reader(path);
	check_insns(r, 0, 0, UINT64_MAX, n);
	assert_int_equal(reader_call_get(r, 57, &rc, &err), 0);
	assert_true(rc.parent == root && rc.addr == 0x401000 + 56 &&
	            rc.pos_start == 56 * (n / 100));
	assert_int_equal(reader_thread_summary(r, 0, &sum, &err), 0);
	assert_true(sum.stored && sum.calls == 101 && sum.roots == 1 && sum.insns == n);
	reader_close(r);
	free(path);
}

/*
 * store_flush() writes the pending chunks that are big enough and no
 * other, without committing: the calls and instructions of a trace
 * flushed halfway are in two chunks each, and read back whole.
 */
static void test_flush(void **state)
{
	char *path = tmp_path("flush.trace");
	struct store *s = create(path);
	struct store_reader *r;
	struct store_call c;
	struct reader_call rc;
	struct err err;
	int64_t root = root_call(s, &c), k;

	(void)state;
	add_calls(s, &c, 0, 50, 10);
	assert_int_equal(store_flush(s, SIZE_MAX, &err), 0);
	assert_int_equal(store_flush(s, 0, &err), 0);
	add_calls(s, &c, 50, 100, 10);
	assert_int_equal(store_call_close(s, 0, root, STORE_END_RETURN, 1000, 0, &err), 0);
	assert_int_equal(store_close(s, &err), 0);

	assert_int_equal(query_int(path, "SELECT count(*) FROM call_chunks"), 2);
	assert_int_equal(query_int(path, "SELECT sum(count) FROM call_chunks"), 100);
	assert_int_equal(query_int(path, "SELECT count(*) FROM chunks"), 2);
	assert_int_equal(query_int(path, "SELECT sum(count) FROM chunks"), 1000);
	r = open_reader(path);
	check_insns(r, 0, 0, UINT64_MAX, 1000);
	for (k = 1; k <= 100; k += 49) {
		assert_int_equal(reader_call_get(r, k, &rc, &err), 0);
		assert_true(rc.parent == root && rc.addr == 0x401000 + (uint64_t)k - 1 &&
		            rc.pos_start == (uint64_t)(k - 1) * 10);
	}
	reader_close(r);
	free(path);
}

static void test_dedup_and_append(void **state)
{
	char *path = tmp_path("dedup.trace");
	struct store *s = create(path);
	const uint8_t a[] = { 0x90 }, b[] = { 0xcc }, c[] = { 0x90, 0x90 };
	uint32_t ids[3];
	struct store_reader *r;
	struct reader_insns *it;
	struct reader_insn in;
	struct reader_counts n;
	struct err err;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_insn_intern(s, 0x1000, a, 1, &err), 0);
	assert_int_equal(store_insn_intern(s, 0x1000, b, 1, &err), 1);
	assert_int_equal(store_insn_intern(s, 0x1000, c, 2, &err), 2);
	assert_int_equal(store_insn_intern(s, 0x1000, b, 1, &err), 1);
	assert_int_equal(store_insn(s, 0, 0x1000, c, 2, &err), 0);
	ids[0] = 1, ids[1] = 0, ids[2] = 2;
	assert_int_equal(store_stream_append(s, 0, ids, 3, &err), 0);
	ids[1] = 3;
	assert_int_equal(store_stream_append(s, 0, ids, 3, &err), -1);
	assert_int_equal(store_insn(s, 0, 0x1000, a, 1, &err), 4);
	/* The vsyscall page: an address with the top bit set. */
	assert_int_equal(store_insn(s, 0, 0xffffffffff600000, a, 1, &err), 5);
	assert_int_equal(store_insn(s, 0, 0x1000, a, 0, &err), -1);
	assert_int_equal(store_insn(s, 7, 0x1000, a, 1, &err), -1);
	assert_int_equal(store_close(s, &err), 0);

	r = open_reader(path);
	assert_int_equal(reader_counts(r, &n, &err), 0);
	assert_int_equal(n.insns, 4);
	it = reader_insns_open(r, 0, 0, UINT64_MAX, &err);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_int_equal(in.len, 2);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_true(in.len == 1 && in.bytes[0] == 0xcc && in.addr == 0x1000);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_true(in.len == 1 && in.bytes[0] == 0x90);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_true(in.pos == 4 && in.bytes[0] == 0x90);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_int_equal(in.addr, 0xffffffffff600000);
	assert_int_equal(reader_insns_next(it, &in, &err), 0);
	reader_insns_free(it);
	reader_close(r);
	free(path);
}

/* creatable - can a trace be made at path (made, then removed)? 0 or -1 with err */
static int creatable(const char *path, bool force, struct err *err)
{
	struct store *s = store_create(path, force, err);

	store_discard(s);
	return s ? 0 : -1;
}

static void test_output_rules(void **state)
{
	char *path = tmp_path("notes.txt"), *bad;
	struct store *s;
	struct err err;
	char buf[16] = { 0 };
	FILE *f;

	(void)state;
	write_file(path, "precious\n");
	assert_null(store_create(path, false, &err));
	assert_int_equal(err.kind, ERR_IO);
	bad = xasprintf("%s exists and is not a nosco trace (use --force to replace it)", path);
	assert_string_equal(err.msg, bad);
	free(bad);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	s = store_create(path, true, &err);
	assert_non_null(s);
	assert_int_equal(store_close(s, &err), 0);
	/* Now it is a trace: replaced without --force. */
	s = create(path);
	store_discard(s);
	assert_int_equal(access(path, F_OK), -1);
	write_file(path, "");
	assert_int_equal(creatable(path, false, &err), 0);
	write_file(path, ""); /* a file again, for a path through it below */
	free(path);

	assert_int_equal(creatable(tmpdir, false, &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
	assert_int_equal(creatable("/nonexistent-nosco-dir/x.trace", true, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "/nonexistent-nosco-dir/x.trace"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	path = tmp_path("notes.txt/x.trace");
	assert_int_equal(creatable(path, false, &err), -1);
	assert_non_null(strstr(err.msg, "is not a directory"));
	free(path);
}

/*
 * The trace a new one replaces stays open until its last close
 * (store_take_replaced()): its name gone, its bytes still there; none
 * where nothing was replaced.
 */
static void test_replaced_kept_open(void **state)
{
	char *path = tmp_path("replaced.trace");
	struct store *s = create(path);
	struct stat was, st;
	struct err err;
	int fd;

	(void)state;
	assert_int_equal(store_take_replaced(s), -1);
	assert_int_equal(store_close(s, &err), 0);
	assert_int_equal(stat(path, &was), 0);
	s = store_create(path, false, &err);
	assert_non_null(s);
	fd = store_take_replaced(s);
	assert_true(fd >= 0);
	assert_int_equal(store_take_replaced(s), -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_ino, was.st_ino);
	assert_int_equal(st.st_size, was.st_size);
	close(fd);
	assert_int_equal(store_close(s, &err), 0);
	free(path);
}

/* What is never replaced, even with force, and what a link leads to. */
static void test_output_kinds(void **state)
{
	char *fifo = tmp_path("fifo"), *t1 = tmp_path("t1.trace"), *t2 = tmp_path("t2.trace"),
	     *lnk = tmp_path("link.trace");
	struct store_reader *r;
	struct store *s;
	struct stat st;
	struct err err;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(creatable(fifo, true, &err), -1);
	assert_non_null(strstr(err.msg, "is a FIFO: a trace is an SQLite database"));
	assert_null(store_create(fifo, true, &err));
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));

	assert_int_equal(store_close(create(t1), &err), 0);
	assert_int_equal(chmod(t1, 0600), 0);
	assert_int_equal(link(t1, t2), 0);
	assert_int_equal(creatable(t1, true, &err), -1);
	assert_non_null(strstr(err.msg, "has other hard links (1)"));
	assert_null(store_create(t2, true, &err));
	assert_int_equal(stat(t1, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(unlink(t2), 0);

	/* a link: the trace it points to is replaced, with its mode */
	assert_int_equal(symlink("t1.trace", lnk), 0);
	s = create(lnk);
	assert_int_equal(store_meta_set_text(s, "program", "new", &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	assert_int_equal(lstat(lnk, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(t1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	r = open_reader(t1);
	assert_string_equal(reader_meta_text(r, "program"), "new");
	reader_close(r);
	free(fifo);
	free(t1);
	free(t2);
	free(lnk);
}

static void test_unwritable_dir(void **state)
{
	char *dir = tmp_path("ro"), *path = tmp_path("ro/x.trace");
	struct err err;

	(void)state;
	assert_int_equal(mkdir(dir, 0555), 0);
	if (geteuid() == 0) {
		/* root writes anywhere on a writable mount: /proc takes no new files. */
		assert_int_equal(creatable("/proc/nosco-test.trace", false, &err), -1);
		assert_non_null(strstr(err.msg, "/proc/nosco-test.trace"));
	} else {
		assert_int_equal(creatable(path, false, &err), -1);
		assert_non_null(strstr(err.msg, "Permission denied"));
	}
	rmdir(dir);
	free(dir);
	free(path);
}

static void expect_open_error(const char *path, enum err_kind kind, const char *msg)
{
	struct err err = { 0 };

	assert_null(reader_open(path, &err));
	assert_int_equal(err.kind, kind);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not say '%s'", err.msg, msg);
}

static void test_reader_refusals(void **state)
{
	char *path = tmp_path("other.db"), *trace = tmp_path("newer.trace");
	struct err err;
	sqlite3 *db;

	(void)state;
	expect_open_error("/nonexistent.trace", ERR_IO, "No such file or directory");
	write_file(path, "");
	expect_open_error(path, ERR_INPUT, "is not a nosco trace (the file is empty)");
	write_file(path, "hello, this is text and not a database at all, not even close to one");
	expect_open_error(path, ERR_INPUT, "is not a nosco trace (not an SQLite database)");
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_open_error(path, ERR_INPUT, "an SQLite database of another program");
	assert_int_equal(creatable(path, false, &err), -1);

	assert_int_equal(store_close(create(trace), &err), 0);
	assert_int_equal(sqlite3_open(trace, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_open_error(trace, ERR_INPUT,
	                  "was written by a newer nosco (schema 7, this nosco reads up to 5)");
	free(path);
	free(trace);
}

/* Everything the events view prints, into a memory buffer; returns its result. */
static int dump_all(struct store_reader *r, struct err *err)
{
	char *argv[] = { "events", NULL }, *text = NULL;
	struct view_args a = { .reader = r, .argc = 1, .argv = argv };
	size_t size;
	int rc;

	a.out = open_memstream(&text, &size);
	rc = view_events(&a, err);
	fclose(a.out);
	free(text);
	return rc;
}

static void test_truncated(void **state)
{
	char *path = tmp_path("cut.trace");
	struct store *s = create(path);
	struct store_call c = { .kind = STORE_CALL_CALL, .depth = 1 };
	struct store_reader *r;
	struct err err = { 0 };
	struct stat st;
	int64_t i;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	for (i = 0; i < 20000; i++) {
		c.addr = 0x1000 + (uint64_t)i;
		assert_int_equal(store_call_open(s, &c, &err), i);
		record(s, 0, (uint64_t)i * 50, 50);
		assert_int_equal(store_call_close(s, 0, i, STORE_END_RETURN, 0, 0, &err), 0);
	}
	assert_int_equal(store_close(s, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);

	r = reader_open(path, &err);
	if (!r) {
		assert_int_equal(err.kind, ERR_INPUT);
		return;
	}
	assert_non_null(reader_damage(r));
	assert_non_null(strstr(reader_damage(r), "truncated"));
	assert_int_equal(dump_all(r, &err), -1);
	assert_int_equal(err.kind, ERR_INPUT);
	assert_non_null(strstr(err.msg, "is damaged"));
	assert_int_equal(reader_check(r, &err), -1);
	reader_close(r);
	free(path);
}

/* The child of the crash test: commit a known part, write more, then die. */
static void crash_child(const char *path)
{
	struct store_call c = { .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE };
	struct store_origin o = { .thread = 0, .call = 0 };
	struct err err;
	struct store *s = store_create(path, false, &err);
	int64_t i;

	if (!s || store_thread_add(s, 1, STORE_NONE, &err) || store_call_open(s, &c, &err))
		_exit(1);
	record(s, 0, 0, 100000);
	store_event_add(s, STORE_EV_SIGNAL, &o, 1, "x", &err);
	c.parent = 0;
	c.kind = STORE_CALL_CALL;
	store_call_open(s, &c, &err);
	record(s, 0, 100000, 1000);
	usleep((STORE_COMMIT_INTERVAL_MS + 20) * 1000);
	if (store_tick(s, &err))
		_exit(1);
	/* Never committed: */
	record(s, 0, 101000, 300000);
	for (i = 0; i < 5000; i++)
		store_call_open(s, &c, &err);
	store_event_add(s, STORE_EV_SIGNAL, &o, 2, "y", &err);
	store_meta_set_text(s, "exit_kind", "exited", &err);
	raise(SIGKILL);
}

static void test_crash(void **state)
{
	char *path = tmp_path("crash.trace");
	struct store_reader *r;
	struct reader_counts n;
	struct reader_call call;
	struct err err;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		crash_child(path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	r = open_reader(path);
	assert_true(reader_recovered(r));
	assert_int_equal(reader_end(r), READER_END_MISSING);
	assert_null(reader_damage(r));
	assert_int_equal(reader_counts(r, &n, &err), 0);
	assert_int_equal(n.calls, 2);
	assert_int_equal(n.events, 1);
	assert_string_equal(reader_meta_text(r, "exit_kind"), "running");
	assert_int_equal(reader_thread_insn_count(r, 0), 101000);
	assert_int_equal(reader_call_get(r, 1, &call, &err), 0);
	assert_true(call.open);
	assert_int_equal(call.pos_end, 101000);
	check_insns(r, 0, 0, UINT64_MAX, 101000);
	assert_int_equal(dump_all(r, &err), 0);
	assert_int_equal(reader_check(r, &err), 0);
	reader_close(r);
	/* A second reader finds a clean file. */
	r = open_reader(path);
	assert_false(reader_recovered(r));
	reader_close(r);
	free(path);
}

/* schema_of - the schema of the database at path, one statement per line */
static char *schema_of(const char *path)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name",
	                           -1, &st, NULL),
	        SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s %s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		        sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return out;
}

/* A new trace file is the built-in template: it must be the schema of this build. */
static void test_template(void **state)
{
	char *path = tmp_path("template.trace"), *fresh = tmp_path("fresh.db");
	char *want, *got;
	struct store *s = create(path);
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(fresh, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	want = schema_of(fresh);
	got = schema_of(path);
	assert_string_equal(got, want);
	assert_true(strstr(got, "CREATE TABLE meta"));
	store_discard(s);
	unlink(fresh);
	free(want);
	free(got);
	free(fresh);
	free(path);
}

static int prepared_statements(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	while ((st = sqlite3_next_stmt(db, st)))
		n++;
	return n;
}

/* then_meta - store_create_async()'s first writes: a metadata key, on the opener's thread */
static int then_meta(struct store *s, void *arg, struct err *err)
{
	return store_meta_set_text(s, "program", arg, err);
}

static int then_fail(struct store *s, void *arg, struct err *err)
{
	(void)s;
	(void)arg;
	return err_set(err, ERR_IO, "then failed");
}

/* store_create_async(): the file with what its thread wrote first; a write before store_wait()
 * waits */
static void test_create_async(void **state)
{
	char *path = tmp_path("async.trace");
	struct err err = { 0 };
	struct store *s = store_create_async(path, false, then_meta, "/bin/true", &err);
	struct store_reader *r;

	(void)state;
	assert_non_null(s);
	assert_int_equal(store_meta_set_int(s, "pid", 42, &err), 0);
	assert_int_equal(store_wait(s, &err), 0);
	/* its thread prepared every statement, not the run's stops */
	assert_int_equal(prepared_statements(s->db), ST_COUNT);
	assert_int_equal(store_close(s, &err), 0);
	r = open_reader(path);
	assert_string_equal(reader_meta_text(r, "program"), "/bin/true");
	reader_close(r);
	unlink(path);
	free(path);
}

/* An error of the opener's thread is the wait's and every later write's; its file is removed. */
static void test_create_async_fails(void **state)
{
	char *path = tmp_path("async-fail.trace");
	struct err err = { 0 };
	struct store *s = store_create_async(path, false, then_fail, NULL, &err);

	(void)state;
	assert_non_null(s);
	assert_int_equal(store_wait(s, &err), -1);
	assert_string_equal(err.msg, "then failed");
	assert_int_equal(access(path, F_OK), -1);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_meta_set_int(s, "pid", 42, &err), -1);
	assert_string_equal(err.msg, "then failed");
	assert_int_equal(store_close(s, &err), -1);
	assert_int_equal(access(path, F_OK), -1);
	/* an unusable output is still said at once */
	assert_null(store_create_async(tmpdir, false, NULL, NULL, &err));
	free(path);
}

/* A new trace file has prepared only what its creation ran: the rest waits for its first use. */
static void test_statements_on_first_use(void **state)
{
	char *path = tmp_path("lazy.trace");
	struct store *s = create(path);
	struct err err;

	(void)state;
	assert_int_equal(prepared_statements(s->db), 1); /* BEGIN IMMEDIATE */
	assert_int_equal(store_meta_set_int(s, "one", 1, &err), 0);
	assert_int_equal(store_meta_set_int(s, "two", 2, &err), 0);
	assert_int_equal(prepared_statements(s->db), 2);
	assert_int_equal(store_commit(s, &err), 0);
	assert_int_equal(prepared_statements(s->db), 3);
	assert_int_equal(store_close(s, &err), 0);
	unlink(path);
	free(path);
}

/*
 * A call ends in its own thread, the innermost open one as a rule; one
 * named in another thread is not open there, and an outer one may end
 * first (a caller of the store's that does so).
 */
static void test_calls_end_by_thread(void **state)
{
	char *path = tmp_path("ends.trace");
	struct store *s = create(path);
	struct store_call c = { .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE };
	struct reader_call call;
	struct store_reader *r;
	struct err err;
	int64_t i;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_thread_add(s, 2, STORE_NONE, &err), 1);
	assert_int_equal(store_call_open(s, &c, &err), 0);
	c = (struct store_call){ .kind = STORE_CALL_CALL, .depth = 2, .parent = 0 };
	assert_int_equal(store_call_open(s, &c, &err), 1);
	c = (struct store_call){
		.thread = 1, .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE
	};
	assert_int_equal(store_call_open(s, &c, &err), 2);
	record(s, 0, 0, 10);
	assert_int_equal(store_call_close(s, 1, 1, STORE_END_RETURN, 10, 1, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_UNWIND, 10, 1, &err), 0);
	assert_int_equal(store_call_close(s, 0, 1, STORE_END_RETURN, 10, 2, &err), 0);
	assert_int_equal(store_call_close(s, 1, 2, STORE_END_RETURN, 0, 3, &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	r = open_reader(path);
	for (i = 0; i < 3; i++) {
		assert_int_equal(reader_call_get(r, i, &call, &err), 0);
		assert_false(call.open);
		assert_int_equal(call.thread, i == 2);
		assert_int_equal(call.end, i == 0 ? STORE_END_UNWIND : STORE_END_RETURN);
		assert_int_equal(call.time_end, i + 1);
	}
	reader_close(r);
	unlink(path);
	free(path);
}

/*
 * The events of a call: a finished file's calls with events are read once
 * and the others answered without SQLite; a file still written is asked
 * each time, so that an event committed after a first question is found.
 */
static void test_events_of_calls(void **state)
{
	char *path = tmp_path("evcalls.trace");
	struct store *s = create(path);
	struct store_call c = { .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE };
	struct store_origin o = { .thread = 0, .call = 1 };
	struct reader_event ev;
	struct store_reader *r;
	struct err err;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_call_open(s, &c, &err), 0);
	c = (struct store_call){ .kind = STORE_CALL_CALL, .depth = 2, .parent = 0 };
	assert_int_equal(store_call_open(s, &c, &err), 1);
	assert_int_equal(store_event_add(s, STORE_EV_SIGNAL, &o, 10, "SIGUSR1", &err), 0);
	assert_int_equal(store_commit(s, &err), 0);
	r = open_reader(path);
	assert_int_equal(reader_event_of_call_after(r, 1, -1, &ev, &err), 1);
	assert_int_equal(ev.id, 0);
	assert_int_equal(reader_event_of_call_after(r, 0, -1, &ev, &err), 0);
	/* Still written: an event committed after the first question is seen. */
	o.call = 0;
	assert_int_equal(store_event_add(s, STORE_EV_SIGNAL, &o, 12, "SIGUSR2", &err), 1);
	assert_int_equal(store_commit(s, &err), 0);
	assert_int_equal(reader_event_of_call_after(r, 0, -1, &ev, &err), 1);
	assert_int_equal(ev.id, 1);
	reader_close(r);
	assert_int_equal(store_call_close(s, 0, 1, STORE_END_RETURN, 0, 1, &err), 0);
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, 0, 2, &err), 0);
	assert_int_equal(store_meta_set_text(s, "exit_kind", "exited", &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	/* Finished: the same answers, from the calls with events read once. */
	r = open_reader(path);
	assert_int_equal(reader_end(r), READER_END_WRITTEN);
	assert_int_equal(reader_event_of_call_after(r, 1, -1, &ev, &err), 1);
	assert_int_equal(ev.id, 0);
	assert_int_equal(reader_event_of_call_after(r, 1, 0, &ev, &err), 0);
	assert_int_equal(reader_event_of_call_after(r, 0, -1, &ev, &err), 1);
	assert_int_equal(ev.id, 1);
	assert_int_equal(reader_event_of_call_after(r, 2, -1, &ev, &err), 0);
	reader_close(r);
	unlink(path);
	free(path);
}

static void test_live_reader(void **state)
{
	char *path = tmp_path("live.trace");
	struct store *s = create(path);
	struct store_call c = { .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE };
	struct reader_call call;
	struct store_reader *r;
	struct reader_insns *it;
	struct reader_insn in;
	struct err err;

	(void)state;
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_call_open(s, &c, &err), 0);
	record(s, 0, 0, 1000);
	assert_int_equal(store_commit(s, &err), 0);
	record(s, 0, 1000, 1000);
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, 2000, 5, &err), 0);
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, 2000, 5, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	r = open_reader(path);
	assert_false(reader_recovered(r));
	assert_int_equal(reader_thread_insn_count(r, 0), 1000);
	check_insns(r, 0, 0, UINT64_MAX, 1000);
	assert_int_equal(reader_call_get(r, 0, &call, &err), 0);
	assert_true(call.open);
	/* A reader in the middle of a read holds a lock: the commit waits for a later one. */
	it = reader_insns_open(r, 0, 0, UINT64_MAX, &err);
	assert_int_equal(reader_insns_next(it, &in, &err), 1);
	assert_int_equal(store_commit(s, &err), 0);
	reader_insns_free(it);
	reader_close(r);
	assert_int_equal(store_close(s, &err), 0);
	/* Written open at the commit, ended afterwards: an UPDATE. */
	r = open_reader(path);
	assert_int_equal(reader_call_get(r, 0, &call, &err), 0);
	assert_false(call.open);
	assert_int_equal(call.pos_end, 2000);
	assert_int_equal(call.time_end, 5);
	check_insns(r, 0, 0, UINT64_MAX, 2000);
	reader_close(r);
	free(path);
}

/* reader_end() of the file at path, read by a new reader. */
static enum reader_end end_of(const char *path)
{
	struct store_reader *r = open_reader(path);
	enum reader_end end = reader_end(r);

	reader_close(r);
	return end;
}

/* A store of one root call, closed with exit_kind (NULL: as store_create() left it). */
static void write_ended(const char *path, const char *exit_kind)
{
	struct store_call c = { .kind = STORE_CALL_ROOT, .depth = 1, .parent = STORE_NONE };
	struct store *s = create(path);
	struct err err;

	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_call_open(s, &c, &err), 0);
	record(s, 0, 0, 100);
	if (exit_kind)
		assert_int_equal(store_meta_set_text(s, "exit_kind", exit_kind, &err), 0);
	assert_int_equal(store_close(s, &err), 0);
}

/*
 * Whether a trace was finished: its end in the metadata, or else whether a
 * writer still has it open. A killed writer (test_crash), one that failed
 * before writing the end, and a copy of a live trace have none.
 */
static void test_unfinished(void **state)
{
	char *path = tmp_path("end.trace"), *copy = tmp_path("end-copy.trace");
	struct store *s;
	struct err err;

	(void)state;
	write_ended(path, "exited");
	assert_int_equal(end_of(path), READER_END_WRITTEN);
	write_ended(path, "interrupted");
	assert_int_equal(end_of(path), READER_END_WRITTEN);
	write_ended(path, "failed");
	assert_int_equal(end_of(path), READER_END_FAILED);
	/* closed without an end: nosco stopped on an error it could not record (disk full) */
	write_ended(path, NULL);
	assert_int_equal(end_of(path), READER_END_MISSING);

	/* a writer between commits, with nothing pending, is still there */
	s = create(path);
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_commit(s, &err), 0);
	assert_int_equal(end_of(path), READER_END_LIVE);
	/* its copy is not written by anyone */
	assert_int_equal(test_copy(path, copy), 0);
	assert_int_equal(end_of(copy), READER_END_MISSING);
	assert_int_equal(store_meta_set_text(s, "exit_kind", "exited", &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	assert_int_equal(end_of(path), READER_END_WRITTEN);
	free(path);
	free(copy);
}

static int cleanup(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

/* The row key k's data, decompressed: its size in *len (a malloc'd buffer, or NULL). */
static uint8_t *read_chunk(struct store *s, int k, size_t *len)
{
	sqlite3_stmt *st;
	uint8_t *out = NULL;
	unsigned long long size;

	assert_int_equal(
	        sqlite3_prepare_v2(s->db, "SELECT data FROM t WHERE k = ?1", -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_int(st, 1, k);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *z = sqlite3_column_blob(st, 0);
		size_t zlen = (size_t)sqlite3_column_bytes(st, 0);

		size = ZSTD_getFrameContentSize(z, zlen);
		assert_true(size < (1ull << 30));
		out = xmalloc(size + 1);
		*len = ZSTD_decompress(out, size + 1, z, zlen);
		assert_false(ZSTD_isError(*len));
	}
	sqlite3_finalize(st);
	return out;
}

/* Write one chunk as row k; return what store_chunk_write() did. */
static int write_chunk(struct store *s, int k, const uint8_t *data, size_t len, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	assert_int_equal(
	        sqlite3_prepare_v2(s->db, "INSERT INTO t(k, data) VALUES (?1, ?2)", -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_int(st, 1, k);
	rc = store_chunk_write(s, st, 2, data, len, "test chunks", err);
	sqlite3_finalize(st);
	return rc;
}

/*
 * The chunk writer: what it writes decompresses to the payload, at either
 * level, larger than its first buffer too; a row it cannot insert is the
 * writer's sticky error, naming what was written.
 */
static void test_chunk_writer(void **state)
{
	size_t big = (size_t)STORE_CHUNK_INSNS * STORE_VARINT_MAX * 2, i, len = 0;
	char *path = tmp_path("chunks.trace");
	uint8_t *data = xmalloc(big), *back;
	struct err err = { 0 };
	struct store *s = create(path);

	(void)state;
	/* a payload zstd cannot shrink: its frame is larger than the payload */
	for (i = 0; i < big; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> 13);
	assert_int_equal(
	        sqlite3_exec(s->db, "CREATE TABLE t(k PRIMARY KEY, data)", NULL, NULL, NULL),
	        SQLITE_OK);
	assert_int_equal(write_chunk(s, 1, data, 10, &err), 0);
	assert_int_equal(write_chunk(s, 2, data, big, &err), 0);
	assert_int_equal(store_chunk_level(s, STORE_ZSTD_LEVEL + 5, &err), 0);
	assert_int_equal(write_chunk(s, 3, data, big / 3, &err), 0);
	assert_int_equal(write_chunk(s, 4, data, 0, &err), 0);
	back = read_chunk(s, 1, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(back, data, 10);
	free(back);
	back = read_chunk(s, 2, &len);
	assert_int_equal(len, big);
	assert_memory_equal(back, data, big);
	free(back);
	back = read_chunk(s, 3, &len);
	assert_int_equal(len, big / 3);
	assert_memory_equal(back, data, big / 3);
	free(back);
	back = read_chunk(s, 4, &len);
	assert_int_equal(len, 0);
	free(back);
	assert_int_equal(write_chunk(s, 1, data, 10, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "(test chunks)"));
	assert_int_equal(store_check_failed(s, &err), -1);
	store_discard(s);
	free(data);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_codec),
		cmocka_unit_test(test_chunk_writer),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_create_async),
		cmocka_unit_test(test_create_async_fails),
		cmocka_unit_test(test_statements_on_first_use),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_events_view),
		cmocka_unit_test(test_long_streams),
		cmocka_unit_test(test_step_path),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_dedup_and_append),
		cmocka_unit_test(test_output_rules),
		cmocka_unit_test(test_replaced_kept_open),
		cmocka_unit_test(test_output_kinds),
		cmocka_unit_test(test_unwritable_dir),
		cmocka_unit_test(test_reader_refusals),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_calls_end_by_thread),
		cmocka_unit_test(test_events_of_calls),
		cmocka_unit_test(test_live_reader),
		cmocka_unit_test(test_unfinished),
	};

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
