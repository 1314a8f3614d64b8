/*
 * Cursors over the record tables (threads, binaries, events, calls), the
 * single-record lookups and call backtraces. Each cursor wraps one
 * prepared statement borrowed from the reader's pool, except the calls:
 * they are found through the call index (calls-ix.c), the cursor keeping
 * the range of ids still to look at.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/reader-int.h"
#include "util/xalloc.h"

enum record_kind { REC_THREAD, REC_BINARY, REC_EVENT, REC_CALL };

#define THREAD_COLS "id, tid, create_event, exit_event, exit_code, exit_signal FROM threads"
#define BINARY_COLS                                                                                \
	"id, path, name, build_id, base, start_addr, end_addr, image, load_event, unload_event "   \
	"FROM binaries"
#define EVENT_COLS                                                                                 \
	"id, kind, time_ns, thread, call, pos, addr, backtrace, subject, detail FROM events"
#define CALL_COLS                                                                                  \
	"id, thread, parent, kind, depth, addr, site, ret_addr, pos_start, pos_end, end_kind, "    \
	"time_start, time_end, signal, truncated, backtrace FROM calls"

/*
 * What a row of a query must be, beyond what SQLite checks: ids rise
 * (dense from 0 in a whole table), and a row belongs to what the query
 * asked for. A damaged page or index could otherwise repeat rows for ever
 * or hand out rows of another call.
 */
enum row_rule {
	ROWS_DENSE,      /* a whole table: ids 0, 1, 2, ... */
	ROWS_ID,         /* the record with id = bound */
	ROWS_UP,         /* parent (calls) or call (events) = bound */
	ROWS_THREAD,     /* thread = bound */
	ROWS_THREAD_TOP, /* thread = bound, no parent (calls) or call (events) */
	ROWS_TOP,        /* no parent */
};

static const struct {
	const char *sql;
	enum record_kind rec;
	const char *what; /* for messages: "cannot read <what>" */
	enum row_rule rule;
} queries[RQ_COUNT] = {
	[RQ_THREADS] = { "SELECT " THREAD_COLS " ORDER BY id", REC_THREAD, "the threads",
	                 ROWS_DENSE },
	[RQ_THREAD_GET] = { "SELECT " THREAD_COLS " WHERE id = ?1", REC_THREAD, "a thread",
	                    ROWS_ID },
	[RQ_BINARIES] = { "SELECT " BINARY_COLS " ORDER BY id", REC_BINARY, "the binaries",
	                  ROWS_DENSE },
	[RQ_BINARY_GET] = { "SELECT " BINARY_COLS " WHERE id = ?1", REC_BINARY, "a binary",
	                    ROWS_ID },
	[RQ_EVENTS] = { "SELECT " EVENT_COLS " ORDER BY id", REC_EVENT, "the events", ROWS_DENSE },
	[RQ_EVENTS_OF_CALL] = { "SELECT " EVENT_COLS " WHERE call = ?1 ORDER BY id", REC_EVENT,
	                        "the events of a call", ROWS_UP },
	[RQ_EVENT_OF_CALL_AFTER] = { "SELECT " EVENT_COLS " WHERE call = ?1 AND id > ?2 "
	                             "ORDER BY id LIMIT 1",
	                             REC_EVENT, "the events of a call", ROWS_UP },
	[RQ_EVENTS_OUTSIDE_CALLS] = { "SELECT " EVENT_COLS " WHERE thread = ?1 AND call IS NULL "
	                              "ORDER BY id",
	                              REC_EVENT, "the events of a thread", ROWS_THREAD_TOP },
	[RQ_EVENT_GET] = { "SELECT " EVENT_COLS " WHERE id = ?1", REC_EVENT, "an event", ROWS_ID },
	/* The calls are read through the call index (calls-ix.c): no statement. */
	[RQ_CALLS] = { NULL, REC_CALL, "the calls", ROWS_DENSE },
	[RQ_CALLS_OF_THREAD] = { NULL, REC_CALL, "the calls of a thread", ROWS_THREAD },
	[RQ_CALLS_ROOTS] = { NULL, REC_CALL, "the root calls", ROWS_THREAD_TOP },
	[RQ_CALLS_ROOTS_ALL] = { NULL, REC_CALL, "the root calls", ROWS_TOP },
	[RQ_CALLS_CHILDREN] = { NULL, REC_CALL, "the calls made by a call", ROWS_UP },
	[RQ_CALL_CHILD_AFTER] = { NULL, REC_CALL, "the calls made by a call", ROWS_UP },
	[RQ_CALL_GET] = { NULL, REC_CALL, "a call", ROWS_ID },
	/* the rows of calls (running when the index was written), which the index completes */
	[RQ_CALL_ROW] = { "SELECT " CALL_COLS " WHERE id = ?1", REC_CALL, "a call", ROWS_ID },
};

static const char *const nouns[] = {
	[REC_THREAD] = "thread",
	[REC_BINARY] = "binary",
	[REC_EVENT] = "event",
	[REC_CALL] = "call",
};

static const char *const plurals[] = {
	[REC_THREAD] = "threads",
	[REC_BINARY] = "binaries",
	[REC_EVENT] = "events",
	[REC_CALL] = "calls",
};

struct reader_cursor {
	struct store_reader *r;
	enum reader_query q;
	sqlite3_stmt *st;
	bool done;      /* stepping a finished statement would start it again */
	int64_t bound;  /* the query's parameter: an id, a thread, a parent */
	int64_t last;   /* the id of the previous row (-1 before the first) */
	reader_u64s bt; /* the decoded backtrace of the current row */
	/* calls through the call index; st is then NULL */
	bool ix;
	int64_t next, end; /* the ids still to look at */
	int64_t kids;      /* children, roots: how many there must be, -1 if unknown */
	int64_t found;     /* children, roots: how many were found */
	/* calls, calls of a thread: what they are for, and the end of the index row looked at */
	const struct reader_call_filter *filter;
	int64_t row_end;
	enum reader_query pool_q;
};

/* The statement a cursor of @q runs: none (RQ_COUNT) for calls read through the index. */
static enum reader_query statement_of(enum reader_query q)
{
	return queries[q].sql ? q : RQ_COUNT;
}

static struct reader_cursor *cursor_new(struct store_reader *r, enum reader_query q,
                                        struct err *err)
{
	enum reader_query sq = statement_of(q);
	struct reader_cursor *c;
	sqlite3_stmt *st = NULL;

	if (sq == RQ_COUNT)
		; /* the index alone */
	else if (r->pool[sq].len)
		st = r->pool[sq].data[--r->pool[sq].len];
	else if (!(st = reader_prepare(r, queries[sq].sql, err)))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->q = q;
	c->st = st;
	c->pool_q = sq;
	c->ix = sq != q;
	c->bound = STORE_NONE;
	c->last = -1;
	c->end = reader_ix_total(r);
	c->kids = -1;
	return c;
}

/* A cursor with its one parameter bound. */
static struct reader_cursor *cursor_new_id(struct store_reader *r, enum reader_query q, int64_t id,
                                           struct err *err)
{
	struct reader_cursor *c = cursor_new(r, q, err);

	if (c) {
		if (c->st)
			sqlite3_bind_int64(c->st, 1, id);
		c->bound = id;
	}
	return c;
}

void reader_cursor_free(struct reader_cursor *c)
{
	if (!c)
		return;
	if (c->st) {
		sqlite3_reset(c->st);
		sqlite3_clear_bindings(c->st);
		vec_push(&c->r->pool[c->pool_q], c->st);
	}
	vec_free(&c->bt);
	free(c);
}

void reader_get_cursors_free(struct store_reader *r)
{
	size_t i;

	for (i = 0; i < RQ_COUNT; i++) {
		reader_cursor_free(r->get[i]);
		r->get[i] = NULL;
	}
}

/* The row's id must follow the previous one's as the query's rule says. */
static int check_order(struct reader_cursor *c, struct err *err)
{
	const char *noun = nouns[queries[c->q].rec];
	int64_t id = sqlite3_column_int64(c->st, 0);

	if (sqlite3_column_type(c->st, 0) != SQLITE_INTEGER || id < 0)
		return reader_damaged(c->r, err, "cannot read %s: a record without a valid id",
		                      queries[c->q].what);
	if (queries[c->q].rule == ROWS_ID && id != c->bound)
		return reader_damaged(c->r, err, "the record of %s %lld is that of %s %lld", noun,
		                      (long long)c->bound, noun, (long long)id);
	if (id <= c->last)
		return reader_damaged(c->r, err, "cannot read %s: %s %lld comes after %s %lld",
		                      queries[c->q].what, noun, (long long)id, noun,
		                      (long long)c->last);
	if (queries[c->q].rule == ROWS_DENSE && id == c->last + 2)
		return reader_damaged(c->r, err, "%s %lld is missing", noun, (long long)id - 1);
	if (queries[c->q].rule == ROWS_DENSE && id != c->last + 1)
		return reader_damaged(c->r, err, "%s %lld to %lld are missing",
		                      plurals[queries[c->q].rec], (long long)c->last + 1,
		                      (long long)id - 1);
	c->last = id;
	return 0;
}

/* Step to the next row: 1, 0 at the end, -1 with err. */
static int cursor_step(struct reader_cursor *c, enum record_kind rec, struct err *err)
{
	int rc;

	if (queries[c->q].rec != rec)
		return err_set(err, ERR_INTERNAL, "reader: cursor used for the wrong records");
	if (c->done)
		return 0;
	rc = reader_step(c->r, c->st, queries[c->q].what, err);
	if (rc > 0 && check_order(c, err))
		rc = -1;
	if (rc <= 0)
		c->done = true;
	return rc;
}

/*
 * The row belongs to what the query asked for (a damaged index could say
 * otherwise); @up is a call's parent or an event's call.
 */
static int check_belongs(struct reader_cursor *c, int64_t thread, int64_t up, struct err *err)
{
	enum row_rule rule = queries[c->q].rule;
	bool ok = true;

	if (rule == ROWS_UP)
		ok = up == c->bound;
	else if (rule == ROWS_THREAD)
		ok = thread == c->bound;
	else if (rule == ROWS_THREAD_TOP)
		ok = thread == c->bound && up == STORE_NONE;
	else if (rule == ROWS_TOP)
		ok = up == STORE_NONE;
	if (ok)
		return 0;
	c->done = true;
	return reader_damaged(c->r, err, "cannot read %s: %s %lld does not belong there",
	                      queries[c->q].what, nouns[queries[c->q].rec], (long long)c->last);
}

int64_t reader_col_id(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? STORE_NONE
	                                                   : sqlite3_column_int64(st, col);
}

static uint64_t col_u64(sqlite3_stmt *st, int col)
{
	return (uint64_t)sqlite3_column_int64(st, col);
}

/* A BLOB column: the pointer must be taken before the length (SQLite's rule). */
static const void *col_blob(sqlite3_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);

	*len = (size_t)sqlite3_column_bytes(st, col);
	return p;
}

/* A BLOB column as a NUL-terminated string (sqlite3_column_text adds the NUL). */
static const char *col_str(sqlite3_stmt *st, int col, size_t *len)
{
	const char *p;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		*len = 0;
		return NULL;
	}
	p = (const char *)sqlite3_column_text(st, col);
	*len = (size_t)sqlite3_column_bytes(st, col);
	return p;
}

/* A backtrace column: little-endian u64s, decoded into the cursor. */
static void col_bt(struct reader_cursor *c, int col, const uint64_t **bt, size_t *n)
{
	size_t len, i, j;
	const uint8_t *p = col_blob(c->st, col, &len);

	c->bt.len = 0;
	for (i = 0; p && i + 8 <= len; i += 8) {
		uint64_t v = 0;

		for (j = 0; j < 8; j++)
			v |= (uint64_t)p[i + j] << (8 * j);
		vec_push(&c->bt, v);
	}
	*bt = c->bt.data;
	*n = c->bt.len;
}

/* An optional reference: none, or an id. */
static bool ref_ok(int64_t ref)
{
	return ref == STORE_NONE || ref >= 0;
}

static int bad_record(struct reader_cursor *c, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* A record whose values cannot be: the cursor ends with err. */
static int bad_record(struct reader_cursor *c, struct err *err, const char *fmt, ...)
{
	va_list ap;

	c->done = true;
	va_start(ap, fmt);
	reader_vdamaged(c->r, err, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A call's values must make a tree the views can walk: a parent begins
 * before its children (so no chain of parents can loop), a thread that
 * exists, kinds the format defines, an end after the start.
 */
static int check_call(struct reader_cursor *c, const struct reader_call *out, int64_t kind,
                      int64_t end, struct err *err)
{
	long long id = (long long)out->id;

	if (out->parent != STORE_NONE && (out->parent < 0 || out->parent >= out->id))
		return bad_record(c, err, "call %lld has parent %lld, which does not precede it",
		                  id, (long long)out->parent);
	if (!reader_thread_reaches(c->r, out->thread, 0))
		return bad_record(c, err,
		                  "call %lld belongs to thread %lld, which is not in the file", id,
		                  (long long)out->thread);
	if (kind < 0 || kind > STORE_CALL_ATTACHED)
		return bad_record(c, err,
		                  "call %lld has kind %lld, which the format does not define", id,
		                  (long long)kind);
	if (end < 0 || end > STORE_END_DETACHED)
		return bad_record(c, err,
		                  "call %lld has end %lld, which the format does not define", id,
		                  (long long)end);
	if (out->pos_end < out->pos_start)
		return bad_record(
		        c, err, "call %lld ends at position %llu, before it starts (%llu)", id,
		        (unsigned long long)out->pos_end, (unsigned long long)out->pos_start);
	if (!reader_thread_reaches(c->r, out->thread, out->pos_end))
		return bad_record(
		        c, err,
		        "call %lld ends at position %llu, past the instructions of thread "
		        "%lld",
		        id, (unsigned long long)out->pos_end, (long long)out->thread);
	return 0;
}

int reader_thread_next(struct reader_cursor *c, struct reader_thread *out, struct err *err)
{
	sqlite3_stmt *st = c->st;
	int rc = cursor_step(c, REC_THREAD, err);

	if (rc <= 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->tid = sqlite3_column_int(st, 1);
	out->create_event = reader_col_id(st, 2);
	out->exit_event = reader_col_id(st, 3);
	out->signaled = sqlite3_column_type(st, 5) != SQLITE_NULL;
	out->exited = out->signaled || sqlite3_column_type(st, 4) != SQLITE_NULL;
	out->code = sqlite3_column_int(st, out->signaled ? 5 : 4);
	out->insn_count = reader_thread_insn_count(c->r, out->id);
	if (!ref_ok(out->create_event) || !ref_ok(out->exit_event))
		return bad_record(c, err, "thread %lld refers to a negative event id",
		                  (long long)out->id);
	return 1;
}

int reader_load_threads(struct store_reader *r, reader_thread_vec *out, struct err *err)
{
	struct reader_cursor *c = reader_threads(r, err);
	struct reader_thread t;
	int rc;

	if (!c)
		return -1;
	while ((rc = reader_thread_next(c, &t, err)) > 0)
		vec_push(out, t);
	reader_cursor_free(c);
	return rc < 0 ? -1 : 0;
}

int reader_binary_next(struct reader_cursor *c, struct reader_binary *out, struct err *err)
{
	sqlite3_stmt *st = c->st;
	int rc = cursor_step(c, REC_BINARY, err);

	if (rc <= 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->path = col_str(st, 1, &out->path_len);
	if (!out->path)
		out->path = "";
	out->name = col_str(st, 2, &out->name_len);
	out->build_id = col_blob(st, 3, &out->build_id_len);
	out->base = col_u64(st, 4);
	out->start = col_u64(st, 5);
	out->end = col_u64(st, 6);
	out->image = col_blob(st, 7, &out->image_len);
	out->load_event = reader_col_id(st, 8);
	out->unload_event = reader_col_id(st, 9);
	if (!ref_ok(out->load_event) || !ref_ok(out->unload_event))
		return bad_record(c, err, "binary %lld refers to a negative event id",
		                  (long long)out->id);
	return 1;
}

int reader_event_next(struct reader_cursor *c, struct reader_event *out, struct err *err)
{
	sqlite3_stmt *st = c->st;
	size_t len;
	int64_t kind;
	int rc = cursor_step(c, REC_EVENT, err);

	if (rc <= 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	kind = sqlite3_column_int64(st, 1);
	out->kind = (enum store_event_kind)(kind & 0xff);
	out->time_ns = col_u64(st, 2);
	out->thread = reader_col_id(st, 3);
	out->call = reader_col_id(st, 4);
	out->pos = col_u64(st, 5);
	out->addr = col_u64(st, 6);
	col_bt(c, 7, &out->bt, &out->bt_len);
	out->subject = reader_col_id(st, 8);
	out->detail = col_str(st, 9, &len);
	if (kind < 0 || kind > STORE_EV_ATTACH)
		return bad_record(c, err,
		                  "event %lld has kind %lld, which the format does not define",
		                  (long long)out->id, (long long)kind);
	if (!ref_ok(out->thread) || !ref_ok(out->call))
		return bad_record(c, err, "event %lld refers to a negative id", (long long)out->id);
	if (out->thread != STORE_NONE && !reader_thread_reaches(c->r, out->thread, 0))
		return bad_record(c, err,
		                  "event %lld happened in thread %lld, which is not in the file",
		                  (long long)out->id, (long long)out->thread);
	return check_belongs(c, out->thread, out->call, err) ? -1 : 1;
}

/* ix_fetch - call @id through the index, checked as a row is */
static int ix_fetch(struct reader_cursor *c, int64_t id, struct reader_call *out, struct err *err)
{
	struct reader_call_counts n;
	int rc = reader_ix_get(c->r, id, out, &n, &c->bt, err);

	if (rc <= 0) {
		c->done = rc < 0;
		return rc;
	}
	c->last = id;
	if (check_call(c, out, out->kind, out->end, err) ||
	    check_belongs(c, out->thread, out->parent, err))
		return -1;
	c->r->counted_id = id;
	c->r->counted = n;
	return 1;
}

/*
 * subtree_end - the ids of @id's subtree are below this: 0 without such
 * a call, -1 with err; *kids (if not NULL) the calls it made, -1 if unknown
 */
static int64_t subtree_end(struct store_reader *r, int64_t id, int64_t *kids, struct err *err)
{
	struct reader_call_counts n;
	struct reader_call c;
	reader_u64s bt = { 0 };
	int rc = reader_ix_get(r, id, &c, &n, &bt, err);

	vec_free(&bt);
	if (kids)
		*kids = rc > 0 && n.known ? (int64_t)n.kids : -1;
	return rc > 0 ? n.ids_end : rc;
}

/* Is the call of index entry @e, id @id, one the cursor lists? */
static bool ix_wanted(const struct reader_cursor *c, const struct reader_ix_ent *e)
{
	switch (c->q) {
	case RQ_CALLS_OF_THREAD:
		return e->thread == c->bound;
	case RQ_CALLS_CHILDREN:
	case RQ_CALL_CHILD_AFTER:
		return e->parent == c->bound;
	case RQ_CALLS_ROOTS:
		return e->thread == c->bound && e->parent == STORE_NONE;
	case RQ_CALLS_ROOTS_ALL:
		return e->parent == STORE_NONE;
	default:
		return true;
	}
}

/*
 * row_may_hold - at the first call of an index row: 1 if it may hold a
 * call the cursor lists, 0 (and the cursor moved past the row) if its
 * summary shows none, -1 with err
 */
static int row_may_hold(struct reader_cursor *c, int64_t id, struct err *err)
{
	int64_t thread = c->q == RQ_CALLS_OF_THREAD ? c->bound : STORE_NONE;
	int rc = reader_ix_row_wanted(c->r, id, thread, c->filter, &c->row_end, err);

	if (rc == 0 && c->row_end > c->next)
		c->next = c->row_end < c->end ? c->row_end : c->end;
	return rc;
}

/*
 * ix_next - the next call of an index cursor. A call's subtree is skipped
 * when listing children or a thread's roots: in its thread, every call
 * that began while it ran is its descendant, and the calls of other
 * threads are not children of its parent nor roots of its thread.
 */
static int ix_next(struct reader_cursor *c, struct reader_call *out, struct err *err)
{
	const struct reader_ix_ent *e;
	int rc = 0;

	if (c->done)
		return 0;
	while (c->next < c->end) {
		int64_t id = c->next++;

		if (id >= c->row_end && (c->filter || c->q == RQ_CALLS_OF_THREAD)) {
			if ((rc = row_may_hold(c, id, err)) < 0)
				break;
			if (rc == 0)
				continue;
		}
		if ((rc = reader_ix_entry(c->r, id, &e, err)) <= 0)
			break;
		if (!ix_wanted(c, e))
			continue;
		rc = ix_fetch(c, id, out, err);
		c->found += rc > 0;
		if (rc > 0 && c->q != RQ_CALLS && c->q != RQ_CALLS_OF_THREAD &&
		    c->q != RQ_CALLS_ROOTS_ALL && c->r->counted.ids_end > c->next)
			c->next = c->r->counted.ids_end;
		if (rc != 0)
			return rc;
	}
	c->done = true;
	/* An index that moved a child elsewhere must not hide it. */
	if (rc >= 0 && c->q == RQ_CALLS_CHILDREN && c->kids >= 0 && c->found != c->kids)
		return reader_damaged(c->r, err,
		                      "call %lld made %lld calls, but the call index lists %lld",
		                      (long long)c->bound, (long long)c->kids, (long long)c->found);
	if (rc >= 0 && c->q == RQ_CALLS_OF_THREAD && !c->filter && c->kids >= 0 &&
	    c->found != c->kids)
		return reader_damaged(c->r, err,
		                      "thread %lld made %lld calls, but its summary says %lld",
		                      (long long)c->bound, (long long)c->found, (long long)c->kids);
	if (rc >= 0 && c->q == RQ_CALLS_ROOTS && c->kids >= 0 && c->found != c->kids)
		return reader_damaged(c->r, err,
		                      "thread %lld has %lld root calls, but its summary says %lld",
		                      (long long)c->bound, (long long)c->found, (long long)c->kids);
	return rc < 0 ? -1 : 0;
}

/* ix_children - a cursor's range for the children of @call after @after (-1: all) */
static int ix_children(struct reader_cursor *c, int64_t call, int64_t after, struct err *err)
{
	int64_t end = subtree_end(c->r, call, &c->kids, err), from = call + 1;

	c->found = 0;
	if (end >= 0 && after >= 0) {
		int64_t past = subtree_end(c->r, after, NULL, err);

		from = past < 0 ? -1 : past > after ? past : after + 1;
	}
	c->next = from;
	c->end = end;
	c->done = false;
	return end < 0 || from < 0 ? -1 : 0;
}

int reader_call_next(struct reader_cursor *c, struct reader_call *out, struct err *err)
{
	sqlite3_stmt *st = c->st;
	int64_t kind, end = 0;
	int rc;

	if (c->ix)
		return ix_next(c, out, err);
	rc = cursor_step(c, REC_CALL, err);

	if (rc <= 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->thread = sqlite3_column_int64(st, 1);
	out->parent = reader_col_id(st, 2);
	kind = sqlite3_column_int64(st, 3);
	out->kind = (enum store_call_kind)(kind & 0xff);
	out->depth = (uint32_t)sqlite3_column_int64(st, 4);
	out->addr = col_u64(st, 5);
	out->site = col_u64(st, 6);
	out->ret_addr = col_u64(st, 7);
	out->pos_start = col_u64(st, 8);
	out->open = sqlite3_column_type(st, 9) == SQLITE_NULL;
	if (out->open) {
		uint64_t last = reader_thread_insn_count(c->r, out->thread);

		out->pos_end = last > out->pos_start ? last : out->pos_start;
	} else {
		out->pos_end = col_u64(st, 9);
		end = sqlite3_column_int64(st, 10);
		out->end = (enum store_call_end)(end & 0xff);
		out->time_end = col_u64(st, 12);
	}
	out->time_start = col_u64(st, 11);
	out->signal = sqlite3_column_int(st, 13);
	out->truncated = sqlite3_column_int(st, 14) != 0;
	col_bt(c, 15, &out->bt, &out->bt_len);
	if (check_call(c, out, kind, end, err))
		return -1;
	return check_belongs(c, out->thread, out->parent, err) ? -1 : 1;
}

struct reader_cursor *reader_threads(struct store_reader *r, struct err *err)
{
	return cursor_new(r, RQ_THREADS, err);
}

struct reader_cursor *reader_binaries(struct store_reader *r, struct err *err)
{
	return cursor_new(r, RQ_BINARIES, err);
}

struct reader_cursor *reader_events(struct store_reader *r, struct err *err)
{
	return cursor_new(r, RQ_EVENTS, err);
}

struct reader_cursor *reader_events_of_call(struct store_reader *r, int64_t call, struct err *err)
{
	return cursor_new_id(r, RQ_EVENTS_OF_CALL, call, err);
}

struct reader_cursor *reader_events_outside_calls(struct store_reader *r, int64_t thread,
                                                  struct err *err)
{
	return cursor_new_id(r, RQ_EVENTS_OUTSIDE_CALLS, thread, err);
}

struct reader_cursor *reader_calls(struct store_reader *r, struct err *err)
{
	return cursor_new(r, RQ_CALLS, err);
}

struct reader_cursor *reader_calls_of_thread(struct store_reader *r, int64_t thread,
                                             struct err *err)
{
	struct reader_cursor *c = cursor_new_id(r, RQ_CALLS_OF_THREAD, thread, err);
	struct reader_thread_summary sum;

	/* Its calls lie between its first and last (an index row may hold none of them). */
	if (c && reader_thread_summary_stored(r, thread, &sum, NULL) > 0) {
		c->next = sum.calls ? sum.first_call : 0;
		c->end = sum.calls ? sum.last_call + 1 : 0;
		c->kids = (int64_t)sum.calls;
	}
	return c;
}

void reader_calls_filter(struct reader_cursor *c, const struct reader_call_filter *f)
{
	if (c->q == RQ_CALLS || c->q == RQ_CALLS_OF_THREAD)
		c->filter = f;
}

struct reader_cursor *reader_calls_roots(struct store_reader *r, int64_t thread, struct err *err)
{
	struct reader_thread_summary sum;
	struct reader_cursor *c;

	if (thread < 0)
		return cursor_new(r, RQ_CALLS_ROOTS_ALL, err);
	c = cursor_new_id(r, RQ_CALLS_ROOTS, thread, err);
	/*
	 * A stored summary says where the thread's calls are, so that the
	 * other threads' are not looked at, and how many roots must be found
	 * there (a summary that says otherwise is damage, not fewer roots).
	 */
	if (c && reader_thread_summary_stored(r, thread, &sum, NULL) > 0) {
		c->next = sum.calls ? sum.first_call : 0;
		c->end = sum.calls ? sum.last_call + 1 : 0;
		c->kids = (int64_t)sum.roots;
	}
	return c;
}

struct reader_cursor *reader_calls_children(struct store_reader *r, int64_t call, struct err *err)
{
	struct reader_cursor *c = cursor_new_id(r, RQ_CALLS_CHILDREN, call, err);

	if (c && ix_children(c, call, -1, err)) {
		reader_cursor_free(c);
		return NULL;
	}
	return c;
}

/*
 * The cursor of a reader_X_get(): kept open until the next lookup of the
 * same kind, so that the strings of the record it returned stay valid.
 */
static struct reader_cursor *get_cursor(struct store_reader *r, enum reader_query q, int64_t id,
                                        struct err *err)
{
	if (r->get[q]) {
		if (r->get[q]->st) {
			sqlite3_reset(r->get[q]->st);
			sqlite3_bind_int64(r->get[q]->st, 1, id);
		}
		r->get[q]->done = false;
		r->get[q]->bound = id;
		r->get[q]->last = -1;
		return r->get[q];
	}
	r->get[q] = cursor_new_id(r, q, id, err);
	return r->get[q];
}

/* The cursor of a "next after" lookup: rows of @of whose ids are above @after. */
static struct reader_cursor *after_cursor(struct store_reader *r, enum reader_query q, int64_t of,
                                          int64_t after, struct err *err)
{
	struct reader_cursor *c = get_cursor(r, q, of, err);

	if (c && c->st) {
		sqlite3_bind_int64(c->st, 2, after);
		c->last = after < 0 ? -1 : after;
	}
	return c;
}

static int not_found(struct store_reader *r, const char *what, int64_t id, struct err *err)
{
	return err_set(err, ERR_NOT_FOUND, "%s has no %s %lld", r->path, what, (long long)id);
}

int reader_thread_get(struct store_reader *r, int64_t id, struct reader_thread *out,
                      struct err *err)
{
	struct reader_cursor *c = get_cursor(r, RQ_THREAD_GET, id, err);
	int rc = c ? reader_thread_next(c, out, err) : -1;

	return rc > 0 ? 0 : rc < 0 ? -1 : not_found(r, "thread", id, err);
}

int reader_binary_get(struct store_reader *r, int64_t id, struct reader_binary *out,
                      struct err *err)
{
	struct reader_cursor *c = get_cursor(r, RQ_BINARY_GET, id, err);
	int rc = c ? reader_binary_next(c, out, err) : -1;

	return rc > 0 ? 0 : rc < 0 ? -1 : not_found(r, "binary", id, err);
}

int reader_event_get(struct store_reader *r, int64_t id, struct reader_event *out, struct err *err)
{
	struct reader_cursor *c = get_cursor(r, RQ_EVENT_GET, id, err);
	int rc = c ? reader_event_next(c, out, err) : -1;

	return rc > 0 ? 0 : rc < 0 ? -1 : not_found(r, "event", id, err);
}

int reader_call_get(struct store_reader *r, int64_t id, struct reader_call *out, struct err *err)
{
	struct reader_cursor *c = get_cursor(r, RQ_CALL_GET, id, err);
	int rc = c ? ix_fetch(c, id, out, err) : -1;

	return rc > 0 ? 0 : rc < 0 ? -1 : not_found(r, "call", id, err);
}

int reader_call_parent(struct store_reader *r, int64_t id, int64_t *parent, struct err *err)
{
	const struct reader_ix_ent *e;
	int rc;

	if ((rc = reader_ix_entry(r, id, &e, err)) > 0)
		*parent = e->parent;
	return rc > 0 ? 0 : rc < 0 ? -1 : not_found(r, "call", id, err);
}

int reader_call_get_row(struct store_reader *r, int64_t id, struct reader_call *out,
                        struct err *err)
{
	struct reader_cursor *c = get_cursor(r, RQ_CALL_ROW, id, err);
	int rc = c ? reader_call_next(c, out, err) : -1;

	return rc > 0   ? 0
	       : rc < 0 ? -1
	                : reader_damaged(r, err, "call %lld is missing", (long long)id);
}

int reader_call_child_after(struct store_reader *r, int64_t call, int64_t after,
                            struct reader_call *out, struct err *err)
{
	struct reader_cursor *c = after_cursor(r, RQ_CALL_CHILD_AFTER, call, after, err);
	struct reader_cursor *all;
	struct reader_call k;
	int rc;

	if (!c || ix_children(c, call, after, err))
		return -1;
	rc = reader_call_next(c, out, err);
	if (rc)
		return rc;
	/*
	 * The last child: a walk that went from child to child has seen them
	 * all only if they are as many as the call made (the children cursor
	 * checks it), or an index that moved one elsewhere would hide it.
	 */
	if (!(all = reader_calls_children(r, call, err)))
		return -1;
	while ((rc = reader_call_next(all, &k, err)) > 0)
		;
	reader_cursor_free(all);
	return rc;
}

/*
 * load_event_calls - the calls with events of a finished file. A file still
 * written (or left unfinished, where a writer might be between commits)
 * gets new events: each question then goes to SQLite.
 */
static int load_event_calls(struct store_reader *r, struct err *err)
{
	enum reader_end end = reader_end(r);
	sqlite3_stmt *st;
	int rc;

	r->event_calls_state = EVENT_CALLS_LIVE;
	if (end != READER_END_WRITTEN && end != READER_END_FAILED)
		return 0;
	st = reader_prepare(r, "SELECT DISTINCT call FROM events WHERE call IS NOT NULL", err);
	if (!st)
		return -1;
	while ((rc = reader_step(r, st, "the events", err)) > 0)
		hashmap_put(&r->event_calls, (uint64_t)sqlite3_column_int64(st, 0), (void *)1);
	sqlite3_finalize(st);
	if (rc < 0) {
		hashmap_fini(&r->event_calls);
		return -1;
	}
	r->event_calls_state = EVENT_CALLS_KNOWN;
	return 0;
}

int reader_event_of_call_after(struct store_reader *r, int64_t call, int64_t after,
                               struct reader_event *out, struct err *err)
{
	struct reader_cursor *c;

	/* A tree walk asks about every call it shows, millions; few calls have events. */
	if (r->event_calls_state == EVENT_CALLS_UNKNOWN && load_event_calls(r, err))
		return -1;
	if (r->event_calls_state == EVENT_CALLS_KNOWN &&
	    !hashmap_get(&r->event_calls, (uint64_t)call))
		return 0;
	c = after_cursor(r, RQ_EVENT_OF_CALL_AFTER, call, after, err);
	return c ? reader_event_next(c, out, err) : -1;
}

int reader_call_backtrace(struct store_reader *r, int64_t call, struct reader_frame **frames,
                          size_t *n, struct err *err)
{
	VEC(struct reader_frame) v = { 0 };
	struct reader_call c;
	size_t i;

	*frames = NULL;
	*n = 0;
	if (reader_call_get(r, call, &c, err))
		return -1;
	while (c.parent != STORE_NONE) {
		/* The reader saw that the parent precedes the call: the walk ends. */
		struct reader_frame f = { .call = c.parent, .addr = c.site };

		vec_push(&v, f);
		if (reader_call_get(r, f.call, &c, err)) {
			vec_free(&v);
			if (err && err->kind == ERR_NOT_FOUND)
				err->kind = ERR_INPUT;
			return -1;
		}
	}
	for (i = 0; i < c.bt_len; i++) {
		struct reader_frame f = { .call = STORE_NONE, .addr = c.bt[i] };

		vec_push(&v, f);
	}
	*frames = v.data;
	*n = v.len;
	return 0;
}
