/*
 * Reading the calls of a trace through its call index
 * (docs/trace-format.md, "Call index"): a call is found by its id in the
 * index, which says which call chunk holds its record (or that it is a
 * row of calls), and only that chunk is decoded. A few decoded index rows
 * and chunks are cached, so that reading calls in id order, or a subtree,
 * decodes each about once and memory stays bounded whatever the trace.
 *
 * Every record found is checked against its index entry (id, thread,
 * parent): an index that points elsewhere is damage, never another call.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "store/reader-int.h"
#include "util/xalloc.h"

/* Decoded index rows and call chunks kept: enough for a walk in id order and its callers. */
#define IX_CACHE    4
#define CHUNK_CACHE 16
/* Return addresses of one record at most (as the writer keeps them). */
#define BT_MAX 1024

struct ix_row {
	int64_t first;
	int64_t count;
};

struct ix_block {
	int64_t first; /* -1: unused */
	int64_t n;
	struct reader_ix_ent *e;
	uint64_t used;
};

struct call_chunk {
	int64_t seq; /* -1: unused */
	uint32_t n;
	struct store_callrec *recs; /* their bt is NULL: see bt_at */
	size_t *bt_at;              /* where each record's return addresses begin in bts */
	reader_u64s bts;
	uint64_t used;
};

/* The decoded call summary of one index row (schema 4). */
struct ix_sum {
	int64_t first; /* -1: none */
	struct store_callsum s;
};

struct reader_ix {
	VEC(struct ix_row) rows;
	bool has_sum; /* schema 4: every row has its call summary */
	struct ix_sum sum;
	int64_t total; /* the calls the index covers: ids 0 .. total - 1 */
	struct ix_block blk[IX_CACHE];
	struct call_chunk ch[CHUNK_CACHE];
	uint64_t clock;
	sqlite3_stmt *blk_st, *ch_st, *row_st, *sum_st, *own_st;
	ZSTD_DCtx *dz;
};

/*
 * The calls the rest of the file names: rows of calls, the calls events
 * happened in, the thread summaries. An index that ends before them lost
 * its end (its rows are written with the calls they describe).
 */
static int64_t calls_named(struct store_reader *r)
{
	sqlite3_stmt *st =
	        reader_prepare(r,
	                       "SELECT max(coalesce((SELECT max(id) FROM main.calls), -1), "
	                       "coalesce((SELECT max(call) FROM main.events), -1), "
	                       "coalesce((SELECT max(last_call) FROM main.thread_stats), -1), "
	                       "coalesce((SELECT sum(calls) FROM main.thread_stats) - 1, -1)) + 1",
	                       NULL);
	int64_t n = -1;

	if (st && reader_step(r, st, "the calls", NULL) > 0)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* reader_ix_open - the index's rows (where each begins), checked to follow each other */
int reader_ix_open(struct store_reader *r)
{
	struct reader_ix *ix = xcalloc(1, sizeof(*ix));
	sqlite3_stmt *st;
	int rc, i;

	r->ix = ix;
	for (i = 0; i < IX_CACHE; i++)
		ix->blk[i].first = -1;
	for (i = 0; i < CHUNK_CACHE; i++)
		ix->ch[i].seq = -1;
	ix->sum.first = -1;
	ix->has_sum = r->schema >= STORE_SCHEMA_SUMMARY;
	ix->dz = ZSTD_createDCtx();
	st = reader_prepare(r, "SELECT first, count FROM main.call_index ORDER BY first", NULL);
	if (!st || !ix->dz) {
		sqlite3_finalize(st);
		return -1;
	}
	while ((rc = reader_step(r, st, "the call index", NULL)) > 0) {
		struct ix_row row = { sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1) };

		/* Rows follow each other from 0: the calls past a gap are not indexed. */
		if (row.first != ix->total || row.count <= 0 || row.count > STORE_IX_BLOCK) {
			rc = -1;
			break;
		}
		vec_push(&ix->rows, row);
		ix->total += row.count;
	}
	sqlite3_finalize(st);
	if (rc == 0) {
		int64_t named = calls_named(r);

		rc = named < 0 || named > ix->total ? -1 : 0;
	}
	return rc;
}

void reader_ix_close(struct store_reader *r)
{
	struct reader_ix *ix = r->ix;
	int i;

	if (!ix)
		return;
	for (i = 0; i < IX_CACHE; i++)
		free(ix->blk[i].e);
	for (i = 0; i < CHUNK_CACHE; i++) {
		free(ix->ch[i].recs);
		free(ix->ch[i].bt_at);
		vec_free(&ix->ch[i].bts);
	}
	sqlite3_finalize(ix->blk_st);
	sqlite3_finalize(ix->ch_st);
	sqlite3_finalize(ix->row_st);
	sqlite3_finalize(ix->sum_st);
	sqlite3_finalize(ix->own_st);
	store_callsum_fini(&ix->sum.s);
	ZSTD_freeDCtx(ix->dz);
	vec_free(&ix->rows);
	free(ix);
	r->ix = NULL;
}

int64_t reader_ix_total(const struct store_reader *r)
{
	return r->ix ? r->ix->total : -1;
}

/*
 * fetch_blob - decompress the one zstd frame of column @col of @st's row
 * into a new buffer of at most @max bytes; NULL if it is not one.
 */
static uint8_t *fetch_blob(struct reader_ix *ix, sqlite3_stmt *st, int col, size_t max, size_t *len)
{
	const void *data = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	unsigned long long size = data ? ZSTD_getFrameContentSize(data, n) : 0;
	uint8_t *buf;

	if (!data || size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
	    size > max)
		return NULL;
	buf = xmalloc(size ? size : 1);
	*len = ZSTD_decompressDCtx(ix->dz, buf, size, data, n);
	if (ZSTD_isError(*len)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* decode_block - the entries of index row @row into b; -1 if they are not entries */
static int decode_block(struct store_reader *r, const uint8_t *p, const uint8_t *end,
                        const struct ix_row *row, struct ix_block *b)
{
	int64_t k, seq = 0, idx = -1;
	uint64_t v[4];

	b->e = xrealloc(b->e, (size_t)row->count * sizeof(*b->e));
	for (k = 0; k < row->count; k++) {
		struct reader_ix_ent *e = &b->e[k];
		int64_t id = row->first + k;

		if (store_varint_get(&p, end, 63, &v[0]))
			return -1;
		e->seq = STORE_NONE;
		e->idx = 0;
		if (v[0]) {
			if (store_unzigzag(v[0] - 1) != 0)
				idx = -1;
			seq += store_unzigzag(v[0] - 1);
			if (store_varint_get(&p, end, 20, &v[1]))
				return -1;
			idx += 1 + store_unzigzag(v[1]);
			if (seq < 0 || idx < 0 || idx >= STORE_CALL_CHUNK)
				return -1;
			e->seq = seq;
			e->idx = (uint32_t)idx;
		}
		if (store_varint_get(&p, end, 63, &v[2]) || store_varint_get(&p, end, 63, &v[3]) ||
		    v[3] > (uint64_t)id || !reader_thread_reaches(r, (int64_t)v[2], 0))
			return -1;
		e->thread = (int64_t)v[2];
		e->parent = v[3] ? id - (int64_t)v[3] : STORE_NONE;
	}
	b->first = row->first;
	b->n = row->count;
	return p == end ? 0 : -1;
}

/* The index row holding @id (binary search of the rows read at open). */
static const struct ix_row *row_of(const struct reader_ix *ix, int64_t id)
{
	size_t lo = 0, hi = ix->rows.len;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->rows.data[mid].first <= id)
			lo = mid;
		else
			hi = mid;
	}
	return &ix->rows.data[lo];
}

/* load_block - index row @row into the least recently used slot */
static struct ix_block *load_block(struct store_reader *r, const struct ix_row *row,
                                   struct err *err)
{
	struct reader_ix *ix = r->ix;
	struct ix_block *b = &ix->blk[0];
	uint8_t *buf = NULL;
	size_t len = 0;
	int i, rc;

	for (i = 1; i < IX_CACHE; i++)
		if (ix->blk[i].used < b->used)
			b = &ix->blk[i];
	b->first = -1;
	if (!ix->blk_st && !(ix->blk_st = reader_prepare(
	                             r, "SELECT data FROM main.call_index WHERE first = ?1", err)))
		return NULL;
	sqlite3_bind_int64(ix->blk_st, 1, row->first);
	rc = reader_step(r, ix->blk_st, "the call index", err);
	if (rc > 0)
		buf = fetch_blob(ix, ix->blk_st, 0, (size_t)row->count * STORE_IX_ENT_MAX, &len);
	sqlite3_reset(ix->blk_st);
	if (rc < 0)
		return NULL;
	rc = buf ? decode_block(r, buf, buf + len, row, b) : -1;
	free(buf);
	if (rc) {
		reader_damaged(r, err, "the call index of calls %lld to %lld cannot be read",
		               (long long)row->first, (long long)(row->first + row->count - 1));
		b->first = -1;
		return NULL;
	}
	return b;
}

int reader_ix_entry(struct store_reader *r, int64_t id, const struct reader_ix_ent **out,
                    struct err *err)
{
	struct reader_ix *ix = r->ix;
	const struct ix_row *row;
	struct ix_block *b = NULL;
	int i;

	if (id < 0 || id >= ix->total)
		return 0;
	row = row_of(ix, id);
	for (i = 0; i < IX_CACHE && !b; i++)
		if (ix->blk[i].first == row->first)
			b = &ix->blk[i];
	if (!b && !(b = load_block(r, row, err)))
		return -1;
	b->used = ++ix->clock;
	*out = &b->e[id - b->first];
	return 1;
}

/* decode_chunk - the records of the current row of ch_st (chunk @seq) into c */
static int decode_chunk(struct store_reader *r, int64_t seq, struct call_chunk *c)
{
	sqlite3_stmt *st = r->ix->ch_st;
	int64_t count = sqlite3_column_int64(st, 0);
	struct store_callcodec codec = { 0 };
	uint64_t bt[BT_MAX];
	const uint8_t *p, *end;
	uint8_t *buf;
	size_t len = 0;
	int64_t k;

	if (count <= 0 || count > STORE_CALL_CHUNK)
		return -1;
	buf = fetch_blob(r->ix, st, 1, (size_t)count * (STORE_CALLREC_MAX + 10 * BT_MAX), &len);
	if (!buf)
		return -1;
	c->recs = xrealloc(c->recs, (size_t)count * sizeof(*c->recs));
	c->bt_at = xrealloc(c->bt_at, (size_t)count * sizeof(*c->bt_at));
	c->bts.len = 0;
	p = buf;
	end = buf + len;
	for (k = 0; k < count; k++) {
		struct store_callrec *rec = &c->recs[k];
		size_t i;

		if (store_callrec_decode(&codec, &p, end, rec, bt, BT_MAX))
			break;
		/* Offsets, not pointers: the vector may move as it grows. */
		rec->bt = NULL;
		c->bt_at[k] = c->bts.len;
		for (i = 0; i < rec->bt_len; i++)
			vec_push(&c->bts, bt[i]);
	}
	free(buf);
	if (k < count || p != end)
		return -1;
	c->seq = seq;
	c->n = (uint32_t)count;
	return 0;
}

/* chunk_of - call chunk @seq, decoded (cached) */
static struct call_chunk *chunk_of(struct store_reader *r, int64_t seq, struct err *err)
{
	struct reader_ix *ix = r->ix;
	struct call_chunk *c = NULL;
	int i, rc;

	for (i = 0; i < CHUNK_CACHE && !c; i++)
		if (ix->ch[i].seq == seq)
			c = &ix->ch[i];
	if (c) {
		c->used = ++ix->clock;
		return c;
	}
	c = &ix->ch[0];
	for (i = 1; i < CHUNK_CACHE; i++)
		if (ix->ch[i].used < c->used)
			c = &ix->ch[i];
	c->seq = -1;
	if (!ix->ch_st &&
	    !(ix->ch_st = reader_prepare(
	              r, "SELECT count, data FROM main.call_chunks WHERE seq = ?1", err)))
		return NULL;
	sqlite3_bind_int64(ix->ch_st, 1, seq);
	rc = reader_step(r, ix->ch_st, "the calls", err);
	if (rc > 0 && decode_chunk(r, seq, c))
		rc = reader_damaged(r, err, "call chunk %lld cannot be read", (long long)seq);
	else if (rc == 0)
		rc = reader_damaged(r, err,
		                    "the call index names call chunk %lld, which is missing",
		                    (long long)seq);
	sqlite3_reset(ix->ch_st);
	if (rc < 0)
		return NULL;
	c->used = ++ix->clock;
	return c;
}

/* from_record - a chunk's record as the reader shows a call; its backtrace copied into bt */
static void from_record(const struct call_chunk *ch, size_t k, struct reader_call *out,
                        struct reader_call_counts *n, reader_u64s *bt)
{
	const struct store_callrec *rec = &ch->recs[k];
	size_t i, at = ch->bt_at[k];

	memset(out, 0, sizeof(*out));
	out->id = rec->id;
	out->thread = rec->thread;
	out->parent = rec->parent >= 0 ? rec->parent : STORE_NONE;
	out->kind = (enum store_call_kind)rec->kind;
	out->depth = rec->depth;
	out->addr = rec->addr;
	out->site = rec->site;
	out->ret_addr = rec->ret_addr;
	out->pos_start = rec->pos_start;
	out->pos_end = rec->pos_end;
	out->end = (enum store_call_end)rec->end_kind;
	out->time_start = rec->time_start;
	out->time_end = rec->time_end;
	out->signal = rec->signal;
	out->truncated = rec->truncated;
	bt->len = 0;
	for (i = 0; i < rec->bt_len; i++)
		vec_push(bt, ch->bts.data[at + i]);
	out->bt = bt->data;
	out->bt_len = bt->len;
	n->known = true;
	n->kids = rec->kids;
	n->inner = rec->inner;
	n->ids_end = rec->ids_end;
}

/* row_counts - the counts of a call that is a row of calls: NULL while it runs */
static int row_counts(struct store_reader *r, int64_t id, struct reader_call_counts *n,
                      struct err *err)
{
	struct reader_ix *ix = r->ix;
	int rc;

	if (!ix->row_st &&
	    !(ix->row_st = reader_prepare(
	              r, "SELECT kids, inner_insns, ids_end FROM main.calls WHERE id = ?1", err)))
		return -1;
	sqlite3_bind_int64(ix->row_st, 1, id);
	rc = reader_step(r, ix->row_st, "a call", err);
	n->known = rc > 0 && sqlite3_column_type(ix->row_st, 2) != SQLITE_NULL;
	n->kids = n->known ? (uint64_t)sqlite3_column_int64(ix->row_st, 0) : 0;
	n->inner = n->known ? (uint64_t)sqlite3_column_int64(ix->row_st, 1) : 0;
	n->ids_end = n->known ? sqlite3_column_int64(ix->row_st, 2) : ix->total;
	sqlite3_reset(ix->row_st);
	if (rc < 0)
		return -1;
	if (n->ids_end <= id || n->ids_end > ix->total)
		return reader_damaged(r, err, "call %lld has a subtree past the calls of the file",
		                      (long long)id);
	return 0;
}

int reader_ix_get(struct store_reader *r, int64_t id, struct reader_call *out,
                  struct reader_call_counts *n, reader_u64s *bt, struct err *err)
{
	const struct reader_ix_ent *e;
	const struct call_chunk *ch;
	const struct store_callrec *rec;
	int rc = reader_ix_entry(r, id, &e, err);

	if (rc <= 0)
		return rc;
	if (e->seq == STORE_NONE) {
		rc = reader_call_get_row(r, id, out, err);
		if (rc == 0 && (out->thread != e->thread || out->parent != e->parent))
			rc = reader_damaged(r, err,
			                    "call %lld is not the one the call index describes",
			                    (long long)id);
		if (rc == 0)
			rc = row_counts(r, id, n, err);
		return rc < 0 ? -1 : 1;
	}
	if (!(ch = chunk_of(r, e->seq, err)))
		return -1;
	rec = e->idx < ch->n ? &ch->recs[e->idx] : NULL;
	if (!rec || rec->id != id || rec->thread != e->thread ||
	    (rec->parent >= 0 ? rec->parent : STORE_NONE) != e->parent)
		return reader_damaged(r, err,
		                      "the call index places call %lld in call chunk %lld, which "
		                      "does not hold it",
		                      (long long)id, (long long)e->seq);
	if (rec->ids_end > r->ix->total)
		return reader_damaged(r, err, "call %lld has a subtree past the calls of the file",
		                      (long long)id);
	from_record(ch, e->idx, out, n, bt);
	return 1;
}

/* load_summary - the call summary of index row @row (the one kept decoded) */
static const struct store_callsum *load_summary(struct store_reader *r, const struct ix_row *row,
                                                struct err *err)
{
	struct reader_ix *ix = r->ix;
	uint8_t *buf = NULL;
	size_t len = 0;
	size_t i;
	int rc, found;

	if (ix->sum.first == row->first)
		return &ix->sum.s;
	ix->sum.first = -1;
	if (!ix->sum_st &&
	    !(ix->sum_st = reader_prepare(r, "SELECT data FROM main.call_summary WHERE first = ?1",
	                                  err)))
		return NULL;
	sqlite3_bind_int64(ix->sum_st, 1, row->first);
	rc = found = reader_step(r, ix->sum_st, "the call summaries", err);
	if (rc > 0)
		buf = fetch_blob(ix, ix->sum_st, 0, (size_t)row->count * 60 + 64, &len);
	sqlite3_reset(ix->sum_st);
	if (rc < 0)
		return NULL;
	rc = buf ? store_callsum_decode(buf, buf + len, row->count, &ix->sum.s) : -1;
	free(buf);
	for (i = 0; rc == 0 && i < ix->sum.s.threads.len; i++)
		if (!reader_thread_reaches(r, ix->sum.s.threads.data[i], 0))
			rc = -1;
	if (rc) {
		reader_damaged(r, err, "the call summary of calls %lld to %lld %s",
		               (long long)row->first, (long long)(row->first + row->count - 1),
		               found ? "cannot be read" : "is missing");
		return NULL;
	}
	ix->sum.first = row->first;
	return &ix->sum.s;
}

static bool has_thread(const struct store_callsum *s, int64_t thread)
{
	size_t lo = 0, hi = s->threads.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->threads.data[mid] == thread)
			return true;
		if (s->threads.data[mid] < thread)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * rows_own - whether one of the calls of @row that are rows of calls may
 * have @min own instructions (or was running when the trace stopped:
 * its counts are not stored). They must be as many as the summary says.
 */
static int rows_own(struct store_reader *r, const struct ix_row *row, uint32_t rows, uint64_t min,
                    struct err *err)
{
	struct reader_ix *ix = r->ix;
	int64_t n = -1, big = 0;
	int rc;

	if (!ix->own_st && !(ix->own_st = reader_prepare(
	                             r,
	                             "SELECT count(*), coalesce(sum(ids_end IS NULL OR "
	                             "pos_end - pos_start - inner_insns >= ?3), 0) FROM main.calls "
	                             "WHERE id >= ?1 AND id < ?2",
	                             err)))
		return -1;
	sqlite3_bind_int64(ix->own_st, 1, row->first);
	sqlite3_bind_int64(ix->own_st, 2, row->first + row->count);
	sqlite3_bind_int64(ix->own_st, 3, min > INT64_MAX ? INT64_MAX : (int64_t)min);
	rc = reader_step(r, ix->own_st, "the calls", err);
	if (rc > 0) {
		n = sqlite3_column_int64(ix->own_st, 0);
		big = sqlite3_column_int64(ix->own_st, 1);
	}
	sqlite3_reset(ix->own_st);
	if (rc < 0)
		return -1;
	if (n != rows)
		return reader_damaged(
		        r, err,
		        "the call summary of calls %lld to %lld counts %u rows of calls, "
		        "not %lld",
		        (long long)row->first, (long long)(row->first + row->count - 1), rows,
		        (long long)n);
	return big > 0;
}

int reader_ix_row_wanted(struct store_reader *r, int64_t id, int64_t thread,
                         const struct reader_call_filter *f, int64_t *row_end, struct err *err)
{
	struct reader_ix *ix = r->ix;
	const struct ix_row *row = row_of(ix, id);
	const struct store_callsum *sum;
	const struct store_callsum_func *fn;
	bool any = false;

	*row_end = row->first + row->count;
	if (!ix->has_sum)
		return 1;
	if (!(sum = load_summary(r, row, err)))
		return -1;
	if (thread >= 0 && !has_thread(sum, thread))
		return 0;
	if (f && f->addr_ok) {
		vec_foreach (&sum->funcs, fn)
			if ((any = f->addr_ok(f->arg, fn->addr)))
				break;
		if (!any)
			return 0;
	}
	if (f && f->min_own && sum->max_own < f->min_own)
		return sum->rows ? rows_own(r, row, sum->rows, f->min_own, err) : 0;
	return 1;
}

/* add_rows - the instructions of the calls that are rows of calls, to their functions */
static int add_rows(struct store_reader *r, struct hashmap *at, struct reader_func *fs,
                    struct err *err)
{
	sqlite3_stmt *st = reader_prepare(
	        r, "SELECT id, addr, thread, pos_start, pos_end FROM main.calls", err);
	int rc = -1;

	while (st && (rc = reader_step(r, st, "the calls", err)) > 0) {
		uint64_t addr = (uint64_t)sqlite3_column_int64(st, 1);
		uint64_t start = (uint64_t)sqlite3_column_int64(st, 3), end;
		uintptr_t f = (uintptr_t)hashmap_get(at, addr);

		if (!f) {
			rc = reader_damaged(r, err, "call %lld is missing from the call summaries",
			                    (long long)sqlite3_column_int64(st, 0));
			break;
		}
		/* A call running when the trace stopped ends with its thread's stream. */
		if (sqlite3_column_type(st, 4) == SQLITE_NULL)
			end = reader_thread_insn_count(r, sqlite3_column_int64(st, 2));
		else
			end = (uint64_t)sqlite3_column_int64(st, 4);
		fs[f - 1].insns += end > start ? end - start : 0;
	}
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}

int reader_funcs(struct store_reader *r, struct reader_func **out, size_t *n, struct err *err)
{
	struct reader_ix *ix = r->ix;
	VEC(struct reader_func) fs = { 0 };
	struct hashmap at; /* addr -> index + 1 in fs */
	const struct store_callsum_func *sf;
	const struct store_callsum *sum;
	size_t i;
	int rc = 0;

	if (!ix || !ix->has_sum)
		return 0;
	hashmap_init(&at);
	for (i = 0; i < ix->rows.len && rc == 0; i++) {
		const struct ix_row *row = &ix->rows.data[i];

		if (!(sum = load_summary(r, row, err))) {
			rc = -1;
			break;
		}
		vec_foreach (&sum->funcs, sf) {
			uintptr_t f = (uintptr_t)hashmap_get(&at, sf->addr);

			if (!f) {
				struct reader_func nf = { sf->addr, 0, 0, row->first + sf->first };

				vec_push(&fs, nf);
				f = fs.len;
				hashmap_put(&at, sf->addr, (void *)f);
			}
			fs.data[f - 1].calls += sf->calls;
			fs.data[f - 1].insns += sf->insns;
		}
	}
	if (rc == 0)
		rc = add_rows(r, &at, fs.data, err);
	hashmap_fini(&at);
	if (rc) {
		vec_free(&fs);
		return -1;
	}
	*out = fs.data;
	*n = fs.len;
	return 1;
}
