/*
 * Call records. A call is kept in memory while it runs and becomes one
 * INSERT when it ends, which halves the SQL work per call compared with an
 * INSERT at entry and an UPDATE at the end. Calls still running at a
 * commit are inserted then with pos_end NULL, so that a crash leaves every
 * call the committed instructions and events refer to, and their end is
 * an UPDATE later.
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

/* A call that has not ended yet. */
struct store_open_call {
	int64_t id;
	struct store_call c; /* c.bt is not used: see bt below */
	uint8_t *bt;         /* encoded backtrace (store_bt_encode) or NULL */
	bool written;        /* its row is in the file (with pos_end NULL) */
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
	if (oc->bt)
		sqlite3_bind_blob64(st, 13, oc->bt, c->bt_len * 8, SQLITE_STATIC);
}

int64_t store_call_open(struct store *s, const struct store_call *c, struct err *err)
{
	struct store_open_call *oc;

	if (store_check_failed(s, err))
		return -1;
	if (c->thread < 0 || c->thread >= s->n_threads)
		return err_set(err, ERR_INTERNAL, "store: call in unknown thread %lld",
		               (long long)c->thread);
	oc = xcalloc(1, sizeof(*oc));
	oc->id = s->n_calls;
	oc->c = *c;
	oc->c.bt = NULL;
	oc->bt = store_bt_encode(c->bt, c->bt_len);
	hashmap_put(&s->open_calls, (uint64_t)oc->id, oc);
	return s->n_calls++;
}

static void open_call_free(struct store_open_call *oc)
{
	free(oc->bt);
	free(oc);
}

int store_call_close(struct store *s, int64_t call, enum store_call_end how, uint64_t pos_end,
                     uint64_t time_ns, struct err *err)
{
	struct store_open_call *oc;
	enum store_stmt which;
	sqlite3_stmt *st;
	int base, ret;

	if (store_check_failed(s, err))
		return -1;
	oc = call >= 0 ? hashmap_del(&s->open_calls, (uint64_t)call) : NULL;
	if (!oc)
		return err_set(err, ERR_INTERNAL, "store: call %lld is not open", (long long)call);
	which = oc->written ? ST_CALL_CLOSE : ST_CALL;
	st = s->st[which];
	if (oc->written) {
		sqlite3_bind_int64(st, 1, call);
		base = 2;
	} else {
		bind_call(st, oc);
		base = 14;
	}
	store_bind_u64(st, base, pos_end);
	sqlite3_bind_int64(st, base + 1, how);
	store_bind_u64(st, base + 2, time_ns);
	ret = store_step_done(s, which, "call", err);
	open_call_free(oc);
	return ret;
}

int store_calls_write_open(struct store *s, struct err *err)
{
	struct store_open_call *oc;
	size_t i = 0;
	void *v;

	while (hashmap_next(&s->open_calls, &i, NULL, &v)) {
		oc = v;
		if (oc->written)
			continue;
		bind_call(s->st[ST_CALL], oc);
		if (store_step_done(s, ST_CALL, "call", err))
			return -1;
		oc->written = true;
	}
	return 0;
}

void store_calls_fini(struct store *s)
{
	size_t i = 0;
	void *v;

	while (hashmap_next(&s->open_calls, &i, NULL, &v))
		open_call_free(v);
	hashmap_fini(&s->open_calls);
}
