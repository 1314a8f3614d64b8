/*
 * Call records. A call is kept in memory while it runs and becomes a
 * record in a zstd-compressed call chunk when it ends: a row would cost
 * about a microsecond, a record some tens of nanoseconds. Calls still
 * running at a commit are inserted then as rows with pos_end NULL, so
 * that a crash leaves every call the committed instructions and events
 * refer to, and their end is an UPDATE later. Each call carries the
 * number of calls it made and their instructions, summed as they end, and
 * the call index (callindex.c) says where its record is.
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

/* A call that has not ended yet. */
struct store_open_call {
	int64_t id;
	struct store_call c; /* c.bt is not used: see bt below */
	uint64_t *bt;        /* its backtrace (c.bt_len words), kept with its capacity */
	size_t bt_cap;       /* across the calls that reuse it: calls come by millions */
	bool written;        /* its row is in the file (with pos_end NULL) */
	uint64_t kids;       /* the calls it made that ended, and ... */
	uint64_t inner;      /* ... their instructions */
};

/* Bind the columns known at entry; the end columns stay NULL (open) unless bound later. */
static void bind_call(sqlite3_stmt *st, const struct store_open_call *oc)
{
	const struct store_call *c = &oc->c;

	sqlite3_bind_int64(st, 1, oc->id);
	sqlite3_bind_int64(st, 2, c->thread);
	store_bind_id(st, 3, c->parent);
	sqlite3_bind_int64(st, 4, c->kind);
	sqlite3_bind_int64(st, 5, c->depth);
	store_bind_u64(st, 6, c->addr);
	store_bind_u64(st, 7, c->site);
	store_bind_u64(st, 8, c->ret_addr);
	store_bind_u64(st, 9, c->pos);
	store_bind_u64(st, 10, c->time_ns);
	if (c->kind == STORE_CALL_SIGNAL)
		sqlite3_bind_int64(st, 11, c->signal);
	sqlite3_bind_int(st, 12, c->truncated);
	store_bind_backtrace(st, 13, oc->bt, c->bt_len);
}

int64_t store_call_open(struct store *s, const struct store_call *c, struct err *err)
{
	struct store_open_call *oc;

	STORE_ENTER(s);
	if (store_check_failed(s, err))
		return -1;
	if (c->thread < 0 || c->thread >= s->n_threads)
		return err_set(err, ERR_INTERNAL, "store: call in unknown thread %lld",
		               (long long)c->thread);
	if (store_ix_full(s) && store_calls_write_open(s, err))
		return -1;
	store_ix_call(s, c);
	if (s->spare_calls.len) {
		oc = s->spare_calls.data[--s->spare_calls.len];
		/* each field set, not the whole struct zeroed: a rep stos per call costs */
		oc->written = false;
		oc->kids = 0;
		oc->inner = 0;
	} else {
		oc = xcalloc(1, sizeof(*oc));
	}
	oc->id = s->n_calls;
	oc->c = *c;
	oc->c.bt = NULL;
	if (!c->bt)
		oc->c.bt_len = 0;
	if (oc->c.bt_len > oc->bt_cap) {
		oc->bt_cap = oc->c.bt_len;
		oc->bt = xreallocarray(oc->bt, oc->bt_cap, sizeof(*oc->bt));
	}
	if (oc->c.bt_len)
		memcpy(oc->bt, c->bt, oc->c.bt_len * sizeof(*oc->bt));
	vec_push(&s->streams.data[c->thread].open, oc);
	return s->n_calls++;
}

/* open_call_end - oc ended: kept for the next call */
static void open_call_end(struct store *s, struct store_open_call *oc)
{
	vec_push(&s->spare_calls, oc);
}

int store_calls_flush(struct store *s, struct err *err)
{
	sqlite3_stmt *st;

	if (!s->cn)
		return 0;
	if (!(st = store_stmt(s, ST_CALL_CHUNK, err)))
		return -1;
	sqlite3_bind_int64(st, 1, s->cseq);
	sqlite3_bind_int64(st, 2, s->cn);
	if (store_chunk_write(s, st, 3, s->cbuf, s->clen, "calls", err))
		return -1;
	s->cseq++;
	s->cn = 0;
	s->clen = 0;
	memset(&s->cprev, 0, sizeof(s->cprev));
	return 0;
}

/* chunk_add - a finished call that never had a row: into the pending call chunk */
static int chunk_add(struct store *s, const struct store_open_call *oc, enum store_call_end how,
                     uint64_t pos_end, uint64_t time_ns, struct err *err)
{
	struct store_callrec r = {
		.id = oc->id,
		.thread = oc->c.thread,
		.parent = oc->c.parent,
		.kind = oc->c.kind,
		.end_kind = how,
		.depth = oc->c.depth,
		.addr = oc->c.addr,
		.site = oc->c.site,
		.ret_addr = oc->c.ret_addr,
		.pos_start = oc->c.pos,
		.pos_end = pos_end,
		.time_start = oc->c.time_ns,
		.time_end = time_ns,
		.signal = oc->c.signal,
		.truncated = oc->c.truncated,
		.bt = oc->bt,
		.kids = oc->kids,
		.inner = oc->inner,
		.ids_end = s->n_calls,
	};
	struct store_ix_ent *e = &s->ix.data[oc->id - s->ix_base];

	/* as many as a record was ever given (readers decode into 256) */
	r.bt_len = oc->c.bt_len < STORE_CALLREC_BT_MAX ? oc->c.bt_len : STORE_CALLREC_BT_MAX;
	if (s->clen + STORE_CALLREC_MAX + 10 * r.bt_len > s->ccap) {
		s->ccap = s->ccap ? s->ccap * 2 : 65536;
		s->cbuf = xrealloc(s->cbuf, s->ccap);
	}
	s->clen += store_callrec_encode(&s->cprev, &r, s->cbuf + s->clen);
	/* A call not written as a row is in the index's pending part: it began after the last
	 * write. */
	e->seq = s->cseq;
	e->idx = (uint16_t)s->cn;
	e->insns = pos_end > r.pos_start ? pos_end - r.pos_start : 0;
	e->own = e->insns > r.inner ? e->insns - r.inner : 0;
	if (++s->cn >= STORE_CALL_CHUNK)
		return store_calls_flush(s, err);
	return 0;
}

/* open_index - where call is in a thread's open calls (searched from the innermost), or -1 */
static ptrdiff_t open_index(const struct store_stream *t, int64_t call)
{
	ptrdiff_t i = (ptrdiff_t)t->open.len;

	while (i-- > 0)
		if (t->open.data[i]->id == call)
			return i;
	return -1;
}

/* count_in_parent - the parent, if it still runs, made one more call of these instructions */
static void count_in_parent(const struct store_stream *t, const struct store_open_call *oc,
                            uint64_t pos_end)
{
	ptrdiff_t i = oc->c.parent >= 0 ? open_index(t, oc->c.parent) : -1;
	struct store_open_call *p;

	if (i < 0)
		return;
	p = t->open.data[i];
	p->kids++;
	p->inner += pos_end > oc->c.pos ? pos_end - oc->c.pos : 0;
}

/* close_row - the end of a call written as a row, with its counts */
static int close_row(struct store *s, const struct store_open_call *oc, enum store_call_end how,
                     uint64_t pos_end, uint64_t time_ns, struct err *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_CLOSE, err);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, oc->id);
	store_bind_u64(st, 2, pos_end);
	sqlite3_bind_int64(st, 3, how);
	store_bind_u64(st, 4, time_ns);
	store_bind_u64(st, 5, oc->kids);
	store_bind_u64(st, 6, oc->inner);
	sqlite3_bind_int64(st, 7, s->n_calls);
	return store_step_done(s, ST_CALL_CLOSE, "call", err);
}

int store_call_close(struct store *s, int64_t thread, int64_t call, enum store_call_end how,
                     uint64_t pos_end, uint64_t time_ns, struct err *err)
{
	struct store_stream *t;
	struct store_open_call *oc;
	ptrdiff_t i;
	int ret;

	STORE_ENTER(s);
	if (store_check_failed(s, err))
		return -1;
	t = thread >= 0 && thread < s->n_threads ? &s->streams.data[thread] : NULL;
	i = t ? open_index(t, call) : -1;
	if (i < 0)
		return err_set(err, ERR_INTERNAL, "store: call %lld is not open in thread %lld",
		               (long long)call, (long long)thread);
	oc = t->open.data[i];
	/* The innermost, but for a caller that ends calls out of order. */
	memmove(t->open.data + i, t->open.data + i + 1,
	        (t->open.len - (size_t)i - 1) * sizeof(*t->open.data));
	t->open.len--;
	count_in_parent(t, oc, pos_end);
	ret = oc->written ? close_row(s, oc, how, pos_end, time_ns, err)
	                  : chunk_add(s, oc, how, pos_end, time_ns, err);
	open_call_end(s, oc);
	return ret;
}

/* write_open_rows - insert the rows of a thread's open calls not yet in the file */
static int write_open_rows(struct store *s, const struct store_stream *t, struct err *err)
{
	struct store_open_call **p;
	sqlite3_stmt *st;

	vec_foreach (&t->open, p) {
		if ((*p)->written)
			continue;
		if (!(st = store_stmt(s, ST_CALL, err)))
			return -1;
		bind_call(st, *p);
		if (store_step_done(s, ST_CALL, "call", err))
			return -1;
		(*p)->written = true;
		s->ix.data[(*p)->id - s->ix_base].seq = STORE_IX_ROW;
	}
	return 0;
}

int store_calls_write_open(struct store *s, struct err *err)
{
	struct store_stream *t;

	vec_foreach (&s->streams, t)
		if (write_open_rows(s, t, err))
			return -1;
	if (store_calls_flush(s, err))
		return -1;
	return store_ix_write(s, err);
}

void store_calls_fini(struct store *s)
{
	struct store_open_call **oc;
	struct store_stream *t;

	vec_foreach (&s->streams, t) {
		vec_foreach (&t->open, oc)
			open_call_end(s, *oc);
		vec_free(&t->open);
	}
	vec_foreach (&s->spare_calls, oc) {
		free((*oc)->bt);
		free(*oc);
	}
	vec_free(&s->spare_calls);
}
