/*
 * Unit tests of block streams, which the dbt engine records through: tokens round-trip, runs split
 * across chunks, single instructions mixed with blocks, and the reader shows exactly the
 * instructions an id stream would; the calls a reader's plan keeps.
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
#include <sqlite3.h>

#include "store/internal.h"
#include "store/reader.h"
#include "store/store.h"
#include "util/xalloc.h"

static struct err err_dummy;

static char tmpdir[] = "/tmp/nosco-test-dbt-store-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc;
}

/* The instruction at index i of a fake program: address and one byte that tells them apart. */
static uint32_t intern(struct store *s, uint32_t i)
{
	uint8_t bytes[2] = { 0x90, (uint8_t)i };
	struct err err;
	int64_t id = store_insn_intern(s, 0x400000 + i * 2, bytes, 2, &err);

	assert_true(id >= 0);
	return (uint32_t)id;
}

/* append - store_stream_append_runs(), which must say it appended insns instructions */
static void append(struct store *s, int64_t thread, const struct store_run *runs, size_t n,
                   uint64_t insns)
{
	struct err err;

	assert_int_equal(store_stream_append_runs(s, thread, runs, n, &err), (int64_t)insns);
}

/* The expected stream, as program indexes. */
struct expect {
	uint32_t *idx;
	size_t len, cap;
};

static void expect_push(struct expect *e, uint32_t i)
{
	if (e->len == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 1024;
		e->idx = xreallocarray(e->idx, e->cap, sizeof(*e->idx));
	}
	e->idx[e->len++] = i;
}

static void check_stream(const char *path, int64_t thread, const struct expect *e, uint64_t from)
{
	struct err err;
	struct store_reader *r = reader_open(path, &err);
	struct reader_insns *it;
	struct reader_insn in;
	uint64_t k = from;
	int rc;

	if (!r)
		fail_msg("reader_open: %s", err.msg);
	assert_int_equal(reader_thread_insn_count(r, thread), e->len);
	it = reader_insns_open(r, thread, from, UINT64_MAX, &err);
	assert_non_null(it);
	while ((rc = reader_insns_next(it, &in, &err)) > 0) {
		assert_true(k < e->len);
		assert_int_equal(in.pos, k);
		assert_int_equal(in.addr, 0x400000 + e->idx[k] * 2);
		assert_int_equal(in.len, 2);
		assert_int_equal(in.bytes[1], (uint8_t)e->idx[k]);
		k++;
	}
	if (rc < 0)
		fail_msg("reader_insns_next: %s", err.msg);
	assert_int_equal(k, e->len);
	reader_insns_free(it);
	reader_close(r);
}

static const uint32_t blk0[] = { 7, 8, 9 }, blk1[] = { 3 };

static int lookup(void *ctx, uint32_t b, const uint32_t **out, size_t *len)
{
	(void)ctx;
	if (b == 0) {
		*out = blk0;
		*len = 3;
	} else if (b == 1) {
		*out = blk1;
		*len = 1;
	} else {
		return -1;
	}
	return 0;
}

static void test_tokens_unpack(void **state)
{
	static const uint32_t want[] = { 5, 3, 7, 8, 9, 7, 8, 9, 7, 8, 9, 4 };
	struct store_token_blocks bl = { .ctx = NULL, .get = lookup };
	uint8_t buf[8 * STORE_TOKEN_MAX];
	uint32_t ids[12];
	int64_t pi = 0, pb = 0;
	size_t n = 0;

	(void)state;
	n += store_token_insn(buf + n, 5, &pi);
	n += store_token_block(buf + n, 1, 1, &pb);
	n += store_token_block(buf + n, 0, 3, &pb);
	n += store_token_insn(buf + n, 4, &pi);
	assert_int_equal(store_tokens_unpack(buf, n, ids, 12, &bl), 0);
	assert_memory_equal(ids, want, sizeof(want));
	/* Wrong counts, a cut payload and an unknown block are damage. */
	assert_int_equal(store_tokens_unpack(buf, n, ids, 11, &bl), -1);
	assert_int_equal(store_tokens_unpack(buf, n - 1, ids, 12, &bl), -1);
	pb = 0;
	n = store_token_block(buf, 2, 1, &pb);
	assert_int_equal(store_tokens_unpack(buf, n, ids, 1, &bl), -1);
}

/* Blocks, long runs across chunk boundaries and single instructions, in two threads. */
static void test_block_streams(void **state)
{
	char *path = xasprintf("%s/blocks.trace", tmpdir);
	struct expect e0 = { 0 }, e1 = { 0 };
	uint32_t ids[16], i, k;
	int64_t blk[3];
	struct err err;
	struct store *s = store_create(path, false, &err);
	struct store_run runs[16];
	size_t n_runs = 0;
	uint64_t r, insns = 0;

	(void)state;
	assert_non_null(s);
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	assert_int_equal(store_thread_add(s, 2, STORE_NONE, &err), 1);
	/* block 0: program 0..2, block 1: 3..9, block 2: 10 */
	for (i = 0; i < 11; i++)
		ids[i] = intern(s, i);
	blk[0] = store_block_intern(s, ids, 3, &err);
	blk[1] = store_block_intern(s, ids + 3, 7, &err);
	blk[2] = store_block_intern(s, ids + 10, 1, &err);
	assert_int_equal(blk[0], 0);
	assert_int_equal(blk[2], 2);
	assert_int_equal(store_block_len(s, 1), 7);
	/* A loop: 50000 times block 0 (150000 instructions, three chunks). */
	append(s, 0, &(struct store_run){ 0, 50000 }, 1, 150000);
	for (r = 0; r < 50000; r++)
		for (k = 0; k < 3; k++)
			expect_push(&e0, k);
	/*
	 * Alternating blocks in batches (two runs of one block in a row among
	 * them), single instructions in between, the other thread in between.
	 */
	for (r = 0; r < 20000; r++) {
		uint32_t b = r % 3 == 2 ? 2 : (uint32_t)(r % 2);

		runs[n_runs++] = (struct store_run){ b, 1 + r % 4 };
		insns += store_block_len(s, b) * (1 + r % 4);
		if (r % 5 == 0) {
			runs[n_runs++] = (struct store_run){ b, 2 };
			insns += store_block_len(s, b) * 2;
		}
		for (k = 0; k < 1 + r % 4 + (r % 5 == 0) * 2; k++)
			for (i = 0; i < store_block_len(s, b); i++)
				expect_push(&e0, (b == 0 ? 0 : b == 1 ? 3 : 10) + i);
		if (r % 7 == 0) {
			append(s, 0, runs, n_runs, insns);
			n_runs = 0;
			insns = 0;
			assert_true(store_insn(s, 0, 0x400000 + 4 * 2, (uint8_t[]){ 0x90, 4 }, 2,
			                       &err) >= 0);
			expect_push(&e0, 4);
			append(s, 1, &(struct store_run){ 1, 1 }, 1, 7);
			for (i = 3; i < 10; i++)
				expect_push(&e1, i);
		}
	}
	append(s, 0, runs, n_runs, insns);
	/* A block the store does not have. */
	assert_int_equal(store_stream_append_runs(s, 0, &(struct store_run){ 3, 1 }, 1, &err), -1);
	assert_int_equal(store_thread_pos(s, 0), e0.len);
	assert_int_equal(store_close(s, &err), 0);
	check_stream(path, 0, &e0, 0);
	check_stream(path, 0, &e0, STORE_CHUNK_INSNS + 1);
	check_stream(path, 1, &e1, 0);
	free(e0.idx);
	free(e1.idx);
	free(path);
}

/* Every file is written as schema STORE_SCHEMA_VERSION; schemas 1 and 2 of older nosco are refused,
 * naming the file. */
static void test_schema_versions(void **state)
{
	char *path = xasprintf("%s/v.trace", tmpdir);
	struct store_reader *r;
	struct err err;
	struct store *s;
	int old;

	(void)state;
	s = store_create(path, false, &err);
	assert_non_null(s);
	assert_int_equal(store_close(s, &err), 0);
	r = reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(reader_schema(r), STORE_SCHEMA_VERSION);
	reader_close(r);
	for (old = 1; old <= 2; old++) {
		char *sql = xasprintf("PRAGMA user_version = %d", old);
		char *want = xasprintf("%s is a schema %d trace of an older nosco; record it again",
		                       path, old);
		sqlite3 *db;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		assert_null(reader_open(path, &err));
		assert_int_equal(err.kind, ERR_INPUT);
		assert_string_equal(err.msg, want);
		free(sql);
		free(want);
	}
	free(path);
}

/* A file whose calls are all in call chunks: root 0 { 1 { 2 }, 3 }. */
static char *write_call_tree(void)
{
	char *path = xasprintf("%s/tree.trace", tmpdir);
	static const uint64_t at[4][2] = { { 0, 100 }, { 10, 40 }, { 20, 30 }, { 50, 60 } };
	static const int64_t parent[4] = { STORE_NONE, 0, 1, 0 };
	struct err err;
	struct store *s = store_create(path, false, &err);
	uint32_t id;
	int k;

	assert_non_null(s);
	assert_int_equal(store_thread_add(s, 1, STORE_NONE, &err), 0);
	id = intern(s, 0);
	assert_int_equal(store_block_intern(s, &id, 1, &err), 0);
	append(s, 0, &(struct store_run){ 0, 100 }, 1, 100);
	for (k = 0; k < 4; k++) {
		struct store_call c = { .thread = 0,
			                .parent = parent[k],
			                .kind = STORE_CALL_CALL,
			                .depth = k == 0   ? 1
			                         : k == 2 ? 3
			                                  : 2,
			                .addr = 0x400000,
			                .pos = at[k][0],
			                .time_ns = 1 };

		assert_int_equal(store_call_open(s, &c, &err), k);
		if (k == 2 || k == 3) {
			assert_int_equal(
			        store_call_close(s, 0, k, STORE_END_RETURN, at[k][1], 2, &err), 0);
			if (k == 2)
				assert_int_equal(
				        store_call_close(s, 0, 1, STORE_END_RETURN, 40, 2, &err),
				        0);
		}
	}
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, 100, 2, &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	return path;
}

/* The ids of the calls a cursor gives, ended by -1. */
static void expect_ids(struct reader_cursor *c, const int64_t *ids)
{
	struct reader_call k;
	struct err err;
	size_t i = 0;

	assert_non_null(c);
	while (reader_call_next(c, &k, &err) > 0)
		assert_int_equal(k.id, ids[i++]);
	assert_int_equal(ids[i], -1);
	reader_cursor_free(c);
}

/* The call index finds calls by id, by parent, by thread and the roots; counts come with them. */
static void test_call_index(void **state)
{
	char *path = write_call_tree();
	struct store_reader *r = reader_open(path, &err_dummy);
	struct reader_thread_summary sum;
	struct reader_cursor *cur;
	struct reader_counts n;
	struct reader_call c;
	uint64_t kids, own;
	struct err err;
	int64_t id;
	sqlite3 *db;

	(void)state;
	assert_non_null(r);
	for (id = 0; id < 4; id++) {
		assert_int_equal(reader_call_get(r, id, &c, &err), 0);
		assert_int_equal(c.id, id);
	}
	assert_int_equal(reader_call_get(r, 4, &c, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);
	expect_ids(reader_calls_children(r, 0, &err), (int64_t[]){ 1, 3, -1 });
	expect_ids(reader_calls_children(r, 1, &err), (int64_t[]){ 2, -1 });
	expect_ids(reader_calls_children(r, 3, &err), (int64_t[]){ -1 });
	expect_ids(reader_calls_roots(r, STORE_NONE, &err), (int64_t[]){ 0, -1 });
	expect_ids(reader_calls_roots(r, 0, &err), (int64_t[]){ 0, -1 });
	expect_ids(reader_calls_of_thread(r, 0, &err), (int64_t[]){ 0, 1, 2, 3, -1 });
	expect_ids(reader_calls(r, &err), (int64_t[]){ 0, 1, 2, 3, -1 });
	assert_int_equal(reader_call_child_after(r, 0, 1, &c, &err), 1);
	assert_int_equal(c.id, 3);
	assert_int_equal(reader_call_child_after(r, 0, 3, &c, &err), 0);
	/* 0 runs [0, 100) and made 1 [10, 40) and 3 [50, 60) */
	assert_int_equal(reader_call_get(r, 0, &c, &err), 0);
	assert_int_equal(reader_call_counts(r, &c, &kids, &own, &err), 0);
	assert_int_equal(kids, 2);
	assert_int_equal(own, 60);
	assert_int_equal(reader_thread_summary(r, 0, &sum, &err), 0);
	assert_true(sum.stored);
	assert_int_equal(sum.calls, 4);
	assert_int_equal(sum.roots, 1);
	assert_int_equal(sum.first_call, 0);
	assert_int_equal(sum.last_call, 3);
	assert_int_equal(reader_counts(r, &n, &err), 0);
	assert_int_equal(n.calls, 4);
	assert_null(reader_damage(r));
	reader_close(r);
	/* A summary that claims another root: the roots found say it is damaged. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE thread_stats SET roots = 2", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	r = reader_open(path, &err);
	assert_non_null(r);
	cur = reader_calls_roots(r, 0, &err);
	assert_non_null(cur);
	assert_int_equal(reader_call_next(cur, &c, &err), 1);
	assert_int_equal(reader_call_next(cur, &c, &err), -1);
	assert_int_equal(err.kind, ERR_INPUT);
	reader_cursor_free(cur);
	reader_close(r);
	free(path);
}

/* block_store - a new file at @path of block streams, @threads threads, block 0 of one instruction
 */
static struct store *block_store(const char *path, int threads)
{
	struct store *s = store_create(path, false, &err_dummy);
	struct err err;
	uint32_t insn;
	int t;

	assert_non_null(s);
	for (t = 0; t < threads; t++)
		assert_int_equal(store_thread_add(s, 1 + t, STORE_NONE, &err), t);
	insn = intern(s, 0);
	assert_int_equal(store_block_intern(s, &insn, 1, &err), 0);
	return s;
}

/*
 * More calls than a row of the index holds, under a root that runs
 * through every write of the index (a row of calls, not a record):
 * root 0 { 1, 2 { 3 }, 4, 5 { 6 }, ... }.
 */
static void test_call_index_rows(void **state)
{
	char *path = xasprintf("%s/rows.trace", tmpdir);
	struct store *s = block_store(path, 1);
	struct store_reader *r;
	struct reader_cursor *cur;
	struct reader_thread_summary sum;
	struct reader_call c;
	struct err err;
	uint64_t kids, own, n = 0, total = 3 * STORE_IX_BLOCK;
	int64_t id, prev = 0;
	sqlite3 *db;

	(void)state;
	append(s, 0, &(struct store_run){ 0, 1 }, 1, 1);
	assert_int_equal(
	        store_call_open(s,
	                        &(struct store_call){
	                                .thread = 0, .parent = STORE_NONE, .depth = 1, .pos = 0 },
	                        &err),
	        0);
	for (id = 1; id <= (int64_t)total; id++) {
		struct store_call k = { .thread = 0, .depth = 2, .pos = (uint64_t)id };
		bool outer = id % 3 == 2;

		k.parent = id % 3 == 0 ? id - 1 : 0;
		k.depth = id % 3 == 0 ? 3 : 2;
		append(s, 0, &(struct store_run){ 0, 1 }, 1, 1);
		assert_int_equal(store_call_open(s, &k, &err), id);
		if (outer)
			continue;
		assert_int_equal(
		        store_call_close(s, 0, id, STORE_END_RETURN, (uint64_t)id + 1, 1, &err), 0);
		if (id % 3 == 0)
			assert_int_equal(store_call_close(s, 0, id - 1, STORE_END_RETURN,
			                                  (uint64_t)id + 1, 1, &err),
			                 0);
		if (id == STORE_IX_BLOCK + 7)
			assert_int_equal(store_commit(s, &err), 0);
	}
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, total + 1, 1, &err), 0);
	assert_int_equal(store_close(s, &err), 0);
	/* A trace cut short has no summaries: they are counted. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM thread_stats", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	r = reader_open(path, &err);
	assert_non_null(r);
	cur = reader_calls_children(r, 0, &err);
	assert_non_null(cur);
	while (reader_call_next(cur, &c, &err) > 0) {
		assert_int_equal(c.parent, 0);
		assert_true(c.id > prev && c.id % 3 != 0);
		prev = c.id;
		n++;
	}
	reader_cursor_free(cur);
	assert_int_equal(n, 2 * total / 3);
	assert_int_equal(reader_call_get(r, 0, &c, &err), 0);
	assert_int_equal(reader_call_counts(r, &c, &kids, &own, &err), 0);
	assert_int_equal(kids, n);
	assert_int_equal(reader_call_get(r, (int64_t)total, &c, &err), 0);
	assert_int_equal(c.parent, (int64_t)total - 1);
	assert_int_equal(reader_thread_summary(r, 0, &sum, &err), 0);
	assert_false(sum.stored);
	assert_int_equal(sum.calls, total + 1);
	assert_int_equal(sum.roots, 1);
	assert_int_equal(sum.last_call, (int64_t)total);
	assert_null(reader_damage(r));
	reader_close(r);
	free(path);
}

/* Decode one record of @len bytes; the return of store_callrec_decode(). */
static int decode(const uint8_t *rec, size_t len, struct store_callrec *c)
{
	struct store_callcodec st = { 0 };
	const uint8_t *p = rec;
	uint64_t bt[4];

	return store_callrec_decode(&st, &p, rec + len, c, bt, 4);
}

/* A record's fields as varints: id delta, flags, thread, then the rest (zero). */
static size_t record(uint8_t *out, uint64_t id_zz, uint64_t flags, uint64_t parent_delta,
                     uint64_t pos_len)
{
	uint8_t *p = out;
	int k;

	p = store_varint_put(p, id_zz);
	p = store_varint_put(p, flags);
	p = store_varint_put(p, 0);
	if (flags & 8)
		p = store_varint_put(p, parent_delta);
	/*
	 * depth, addr, site, ret_addr, pos_start (1), pos_end - pos_start,
	 * times, calls made, their instructions, ids_end - id (1)
	 */
	for (k = 0; k < 11; k++)
		p = store_varint_put(p, k == 4    ? store_zigzag(1)
		                        : k == 5  ? pos_len
		                        : k == 10 ? 1
		                                  : 0);
	return (size_t)(p - out);
}

/* Damaged call records are refused before any arithmetic could overflow. */
static void test_callrec_damaged(void **state)
{
	uint8_t rec[128];
	struct store_callrec c;

	(void)state;
	/* call 5 with parent 2 */
	assert_int_equal(decode(rec, record(rec, store_zigzag(5), 8, 3, 0), &c), 0);
	assert_int_equal(c.id, 5);
	assert_int_equal(c.parent, 2);
	/* a parent delta of 2^63, of 0 (itself), past the id (a negative parent) */
	assert_int_equal(decode(rec, record(rec, store_zigzag(5), 8, 1ull << 63, 0), &c), -1);
	assert_int_equal(decode(rec, record(rec, store_zigzag(5), 8, 0, 0), &c), -1);
	assert_int_equal(decode(rec, record(rec, store_zigzag(5), 8, 6, 0), &c), -1);
	/* an id of 2^63 or below 0 */
	assert_int_equal(decode(rec, record(rec, store_zigzag(INT64_MIN), 0, 0, 0), &c), -1);
	assert_int_equal(decode(rec, record(rec, store_zigzag(-1), 0, 0, 0), &c), -1);
	/* an end that wraps around, a kind the format does not have */
	assert_int_equal(decode(rec, record(rec, 0, 0, 0, UINT64_MAX), &c), -1);
	assert_int_equal(decode(rec, record(rec, 0, 9 << 4, 0, 0), &c), -1);
}

/*
 * A record whose backtrace is the one the chunk's last listed says so
 * (schema 5: flag bit 12) instead of listing it again, however many
 * records without one came between; it decodes to the same list. A
 * chunk's first such record, or one with both flags, is refused.
 */
static void test_callrec_same_bt(void **state)
{
	const uint64_t x[3] = { 0x401000, 0x402000, 0x403000 },
	               y[3] = { 0x401000, 0x402000, 0x404000 };
	const uint64_t *bts[] = { x, NULL, x, y, y, x };
	struct store_callcodec enc = { 0 }, dec = { 0 };
	uint8_t buf[6 * (STORE_CALLREC_MAX + 30)], rec[128];
	size_t len = 0, sizes[6], i, k;
	const uint8_t *p = buf;
	struct store_callrec c;
	uint64_t bt[4];

	(void)state;
	for (i = 0; i < 6; i++) {
		struct store_callrec in = { .id = (int64_t)i,
			                    .parent = -1,
			                    .ids_end = (int64_t)i + 1,
			                    .bt = bts[i],
			                    .bt_len = bts[i] ? 3 : 0 };

		sizes[i] = store_callrec_encode(&enc, &in, buf + len);
		len += sizes[i];
	}
	/* listed: x, y and x again (y came between); the same: the third and the fifth */
	assert_true(sizes[2] + 3 * 3 < sizes[0]);
	assert_true(sizes[4] + 3 * 3 < sizes[3]);
	assert_int_equal(sizes[5], sizes[0]);
	for (i = 0; i < 6; i++) {
		assert_int_equal(store_callrec_decode(&dec, &p, buf + len, &c, bt, 4), 0);
		assert_int_equal(c.id, (int64_t)i);
		assert_int_equal(c.bt_len, bts[i] ? 3 : 0);
		for (k = 0; k < c.bt_len; k++)
			assert_int_equal(c.bt[k], bts[i][k]);
	}
	assert_ptr_equal(p, buf + len);
	/* the same as none listed yet; both flags */
	assert_int_equal(decode(rec, record(rec, 0, 1u << 12, 0, 0), &c), -1);
	assert_int_equal(decode(rec, record(rec, 0, 1u << 12 | 4, 0, 0), &c), -1);
	/* the same as a list longer than the reader takes */
	memset(&dec, 0, sizeof(dec));
	dec.bt_len = 5;
	p = rec;
	assert_int_equal(
	        store_callrec_decode(&dec, &p, rec + record(rec, 0, 1u << 12, 0, 0), &c, bt, 4),
	        -1);
}

/* A call summary survives encoding, and what is not one is refused. */
static void test_callsum_codec(void **state)
{
	struct store_callsum in = { .max_own = 1234, .rows = 2 }, out = { 0 };
	struct store_callsum_func f[] = { { 0x1000, 3, 30, 0 },
		                          { 0x1010, 1, 0, 2 },
		                          { 0x7fff00000000, 6, 1 << 20, 1 } };
	uint8_t buf[512];
	size_t len, i;

	(void)state;
	vec_push(&in.threads, 0);
	vec_push(&in.threads, 5);
	for (i = 0; i < 3; i++)
		vec_push(&in.funcs, f[i]);
	len = store_callsum_encode(&in, buf);
	assert_true(len <= store_callsum_max(&in));
	assert_int_equal(store_callsum_decode(buf, buf + len, 10, &out), 0);
	assert_int_equal(out.max_own, 1234);
	assert_int_equal(out.rows, 2);
	assert_int_equal(out.threads.len, 2);
	assert_int_equal(out.threads.data[1], 5);
	assert_int_equal(out.funcs.len, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(out.funcs.data[i].addr, f[i].addr);
		assert_int_equal(out.funcs.data[i].calls, f[i].calls);
		assert_int_equal(out.funcs.data[i].insns, f[i].insns);
		assert_int_equal(out.funcs.data[i].first, f[i].first);
	}
	/* Cut short, one byte more, calls that do not add up to the row's */
	for (i = 0; i < len; i++)
		assert_int_equal(store_callsum_decode(buf, buf + i, 10, &out), -1);
	buf[len] = 0;
	assert_int_equal(store_callsum_decode(buf, buf + len + 1, 10, &out), -1);
	assert_int_equal(store_callsum_decode(buf, buf + len, 11, &out), -1);
	assert_int_equal(store_callsum_decode(buf, buf + len, 9, &out), -1);
	/* A first call past the row, an address twice, a thread twice */
	in.funcs.data[1].first = 10;
	len = store_callsum_encode(&in, buf);
	assert_int_equal(store_callsum_decode(buf, buf + len, 10, &out), -1);
	in.funcs.data[1].first = 2;
	in.funcs.data[1].addr = 0x1000;
	len = store_callsum_encode(&in, buf);
	assert_int_equal(store_callsum_decode(buf, buf + len, 10, &out), -1);
	in.funcs.data[1].addr = 0x1010;
	in.threads.data[1] = 0;
	len = store_callsum_encode(&in, buf);
	assert_int_equal(store_callsum_decode(buf, buf + len, 10, &out), -1);
	store_callsum_fini(&in);
	store_callsum_fini(&out);
}

#define SUM_RARE 0x9000 /* the entry of one call only */

/* The calls of cursor @cur with @f (NULL: none): how many it returned, the ids f keeps in out */
static uint64_t filtered_ids(struct reader_cursor *cur, const struct reader_call_filter *f,
                             struct store_reader *r, int64_t *out, size_t *n)
{
	struct reader_call c;
	struct err err;
	uint64_t seen = 0, kids, own;

	assert_non_null(cur);
	if (f)
		reader_calls_filter(cur, f);
	*n = 0;
	while (reader_call_next(cur, &c, &err) > 0) {
		seen++;
		assert_int_equal(reader_call_counts(r, &c, &kids, &own, &err), 0);
		if (f && f->addr_ok && !f->addr_ok(f->arg, c.addr))
			continue;
		if (f && own < f->min_own)
			continue;
		out[(*n)++] = c.id;
	}
	reader_cursor_free(cur);
	return seen;
}

static bool is_rare(void *arg, uint64_t addr)
{
	(void)arg;
	return addr == SUM_RARE;
}

/*
 * Three index rows of calls in thread 0 under a root that runs through
 * them (a row of calls), one call entering SUM_RARE, one of 200
 * instructions, and one call of thread 1 at the end: filters and the
 * calls of a thread skip the rows their summaries rule out, and find the
 * same calls as a whole pass.
 */
static void test_call_summaries(void **state)
{
	char *path = xasprintf("%s/sums.trace", tmpdir);
	struct store *s = block_store(path, 2);
	const int64_t total = 3 * STORE_IX_BLOCK, rare = STORE_IX_BLOCK + 100,
	              big = 2 * STORE_IX_BLOCK + 50;
	struct reader_call_filter by_addr = { .addr_ok = is_rare }, by_own = { .min_own = 100 };
	struct store_reader *r;
	struct reader_func *fs;
	struct reader_thread_summary sum;
	struct err err;
	int64_t id, ids[8], root1;
	size_t n, i;
	uint64_t pos = 1, calls = 0;
	sqlite3 *db;

	(void)state;
	append(s, 0, &(struct store_run){ 0, 1 }, 1, 1);
	assert_int_equal(store_call_open(s,
	                                 &(struct store_call){ .thread = 0,
	                                                       .parent = STORE_NONE,
	                                                       .depth = 1,
	                                                       .addr = 0x1000 },
	                                 &err),
	                 0);
	for (id = 1; id <= total; id++) {
		uint64_t len = id == big ? 200 : 1;
		struct store_call k = { .thread = 0, .parent = 0, .depth = 2, .pos = pos };

		k.addr = id == rare ? SUM_RARE : 0x1000 + (uint64_t)(id % 7) * 16;
		assert_int_equal(store_call_open(s, &k, &err), id);
		append(s, 0, &(struct store_run){ 0, len }, 1, len);
		pos += len;
		assert_int_equal(store_call_close(s, 0, id, STORE_END_RETURN, pos, 1, &err), 0);
	}
	append(s, 1, &(struct store_run){ 0, 3 }, 1, 3);
	root1 = store_call_open(
	        s,
	        &(struct store_call){
	                .thread = 1, .parent = STORE_NONE, .depth = 1, .addr = 0x1000 },
	        &err);
	assert_int_equal(root1, total + 1);
	assert_int_equal(store_call_close(s, 1, root1, STORE_END_RETURN, 3, 1, &err), 0);
	assert_int_equal(store_call_close(s, 0, 0, STORE_END_RETURN, pos, 1, &err), 0);
	assert_int_equal(store_close(s, &err), 0);

	r = reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(reader_schema(r), STORE_SCHEMA_VERSION);
	/* One row read for the rare address, no row for 200 instructions but its own */
	assert_true(filtered_ids(reader_calls(r, &err), &by_addr, r, ids, &n) <= STORE_IX_BLOCK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], rare);
	assert_true(filtered_ids(reader_calls(r, &err), &by_own, r, ids, &n) <= 2 * STORE_IX_BLOCK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], big);
	/* Thread 1's one call, in the last row */
	assert_int_equal(filtered_ids(reader_calls_of_thread(r, 1, &err), NULL, r, ids, &n), 1);
	assert_int_equal(ids[0], root1);
	/* Functions: every call counted once, the root's instructions (a row) too */
	assert_int_equal(reader_funcs(r, &fs, &n, &err), 1);
	for (i = 0; i < n; i++) {
		calls += fs[i].calls;
		if (fs[i].addr == SUM_RARE) {
			assert_int_equal(fs[i].calls, 1);
			assert_int_equal(fs[i].first_call, rare);
			assert_int_equal(fs[i].insns, 1);
		}
		if (fs[i].addr == 0x1000) {
			assert_int_equal(fs[i].first_call, 0);
			assert_true(fs[i].insns > pos - 1);
		}
	}
	assert_int_equal(n, 8);
	assert_int_equal(calls, total + 2);
	free(fs);
	reader_close(r);

	/* A trace cut short: thread 1's summary counted, from the rows that hold it */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM thread_stats", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	r = reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(reader_thread_summary(r, 1, &sum, &err), 0);
	assert_false(sum.stored);
	assert_int_equal(sum.calls, 1);
	assert_int_equal(sum.first_call, root1);
	assert_int_equal(filtered_ids(reader_calls_of_thread(r, 1, &err), NULL, r, ids, &n), 1);
	reader_close(r);

	/* Schema 3 (no summaries): the same calls, read whole */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE call_summary; PRAGMA user_version = 3", NULL,
	                              NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	r = reader_open(path, &err);
	assert_non_null(r);
	assert_int_equal(filtered_ids(reader_calls(r, &err), &by_addr, r, ids, &n), total + 2);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], rare);
	assert_int_equal(reader_funcs(r, &fs, &n, &err), 0);
	reader_close(r);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_unpack),   cmocka_unit_test(test_block_streams),
		cmocka_unit_test(test_schema_versions), cmocka_unit_test(test_callrec_damaged),
		cmocka_unit_test(test_callrec_same_bt), cmocka_unit_test(test_call_index),
		cmocka_unit_test(test_call_index_rows), cmocka_unit_test(test_callsum_codec),
		cmocka_unit_test(test_call_summaries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
