/*
 * What the views show of a call or a thread without walking what it did:
 * a call's counts (the calls it made, its own instructions) and a
 * thread's summary. The file stores both (docs/trace-format.md, "Call
 * index"); they are counted when it lacks them: a trace cut short, whose
 * running calls and threads were never summed up.
 */
#include <stdlib.h>
#include <string.h>

#include "store/reader-int.h"

/* count_kids - the counts of @c from the calls it made */
static int count_kids(struct store_reader *r, const struct reader_call *c, uint64_t *calls,
                      uint64_t *inner, struct err *err)
{
	struct reader_cursor *cur = reader_calls_children(r, c->id, err);
	struct reader_call k;
	int rc;

	*calls = *inner = 0;
	if (!cur)
		return -1;
	while ((rc = reader_call_next(cur, &k, err)) > 0) {
		(*calls)++;
		*inner += k.pos_end - k.pos_start;
	}
	reader_cursor_free(cur);
	return rc < 0 ? -1 : 0;
}

int reader_call_counts(struct store_reader *r, const struct reader_call *c, uint64_t *calls,
                       uint64_t *own_insns, struct err *err)
{
	struct reader_call_counts n = { 0 };
	struct reader_call again;
	reader_u64s bt = { 0 };
	uint64_t inner;
	int rc;

	if (r->counted_id == c->id) {
		n = r->counted;
	} else {
		rc = reader_ix_get(r, c->id, &again, &n, &bt, err);
		vec_free(&bt);
		if (rc <= 0)
			return rc < 0 ? -1
			              : err_set(err, ERR_NOT_FOUND, "%s has no call %lld", r->path,
			                        (long long)c->id);
	}
	if (n.known) {
		*calls = n.kids;
		inner = n.inner;
	} else if (count_kids(r, c, calls, &inner, err)) {
		return -1;
	}
	*own_insns = c->pos_end - c->pos_start > inner ? c->pos_end - c->pos_start - inner : 0;
	return 0;
}

int reader_thread_summary_stored(struct store_reader *r, int64_t thread,
                                 struct reader_thread_summary *out, struct err *err)
{
	sqlite3_stmt *st = reader_prepare(r,
	                                  "SELECT calls, roots, first_call, last_call, insns "
	                                  "FROM thread_stats WHERE thread = ?1",
	                                  err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, thread);
	rc = reader_step(r, st, "the thread summaries", err);
	if (rc > 0) {
		out->calls = (uint64_t)sqlite3_column_int64(st, 0);
		out->roots = (uint64_t)sqlite3_column_int64(st, 1);
		out->first_call = reader_col_id(st, 2);
		out->last_call = reader_col_id(st, 3);
		out->insns = (uint64_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	out->stored = rc > 0;
	if (rc > 0 && (out->calls > (uint64_t)reader_ix_total(r) || out->roots > out->calls ||
	               out->last_call < out->first_call || out->last_call >= reader_ix_total(r)))
		return reader_damaged(r, err, "the summary of thread %lld is not that of its calls",
		                      (long long)thread);
	return rc;
}

/*
 * counted - the summary from the call index, one pass over it (but for
 * the rows whose call summary shows none of the thread's calls)
 */
static int counted(struct store_reader *r, int64_t thread, struct reader_thread_summary *out,
                   struct err *err)
{
	const struct reader_ix_ent *e;
	int64_t id, total = reader_ix_total(r), row_end = 0;
	int rc;

	for (id = 0; id < total; id++) {
		if (id >= row_end) {
			if ((rc = reader_ix_row_wanted(r, id, thread, NULL, &row_end, err)) < 0)
				return -1;
			if (rc == 0) {
				id = row_end - 1;
				continue;
			}
		}
		if (reader_ix_entry(r, id, &e, err) <= 0)
			return -1;
		if (e->thread != thread)
			continue;
		if (!out->calls++)
			out->first_call = id;
		out->last_call = id;
		out->roots += e->parent == STORE_NONE;
	}
	return 0;
}

int reader_thread_summary(struct store_reader *r, int64_t thread, struct reader_thread_summary *out,
                          struct err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->thread = thread;
	out->first_call = out->last_call = STORE_NONE;
	if (!reader_thread_reaches(r, thread, 0))
		return err_set(err, ERR_NOT_FOUND, "%s has no thread %lld", r->path,
		               (long long)thread);
	out->insns = reader_thread_insn_count(r, thread);
	rc = reader_thread_summary_stored(r, thread, out, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	return counted(r, thread, out, err);
}
