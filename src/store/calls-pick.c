/*
 * Which records of a schema 2 file's call chunks go into the reader's
 * temporary calls table (calls-read.c). Decoding the chunks is cheap and
 * every one is decoded, so damage is found wherever it is; inserting rows
 * is what costs time and memory (a trace of ten million calls took half a
 * minute and more than a GB), so a view that reads a few calls or one
 * subtree gets only those (reader_plan_calls() in reader.h).
 *
 * Records come in the order the calls ended, so a call's parent comes
 * after it, or is a row of the file (it was running at a commit): the
 * callers of a wanted call are found in the same pass. Another pass
 * catches those that were not (calls that ended together, at the end of a
 * trace, in another order).
 */
#include <stdint.h>

#include "store/reader-int.h"

/* Marks in pick.marks: a call to load, or one in the table already. */
#define WANTED ((void *)(uintptr_t)1)
#define LOADED ((void *)(uintptr_t)2)

/* Passes that look again for callers not found, beyond the first. */
#define PICK_PASSES 8

enum pick_mode {
	PICK_ALL,    /* every record */
	PICK_FIND,   /* none: stop at the planned call, to know its subtree */
	PICK_MARKED, /* the wanted calls, the roots (TOPS) and the subtree (TREE) */
	PICK_AGAIN,  /* a later pass: the wanted calls still missing */
};

struct reader_pick {
	struct store_reader *r;
	const struct reader_calls_plan *plan;
	enum pick_mode mode;
	sqlite3_stmt *ins;
	struct hashmap marks; /* id -> WANTED or LOADED: the file's rows and the wanted calls */
	size_t missing;       /* wanted calls not loaded yet */
	int64_t max_id;
	bool have_tree; /* the subtree's bounds are known */
	int64_t tree_thread;
	uint64_t tree_from, tree_to; /* its calls start in [tree_from, tree_to] */
	uint32_t tree_depth;         /* and are at most this deep */
	uint64_t near_from, near_to; /* and overlap these positions (the plan's range) */
};

static void want(struct reader_pick *pk, int64_t id)
{
	if (id < 0 || hashmap_get(&pk->marks, (uint64_t)id))
		return;
	hashmap_put(&pk->marks, (uint64_t)id, WANTED);
	pk->missing++;
}

/* The subtree of the planned call, from its record: depth counts from 1 at a root. */
static void set_tree(struct reader_pick *pk, int64_t thread, uint64_t from, uint64_t to,
                     uint32_t depth)
{
	uint32_t levels = pk->plan->levels;

	pk->have_tree = true;
	pk->tree_thread = thread;
	pk->tree_from = from;
	pk->tree_to = to;
	pk->tree_depth = levels > UINT32_MAX - depth ? UINT32_MAX : depth + levels;
	pk->near_from = 0;
	pk->near_to = UINT64_MAX;
	if (pk->plan->has_range) {
		pk->near_from =
		        pk->plan->from > UINT64_MAX - from ? UINT64_MAX : from + pk->plan->from;
		if (pk->plan->to < UINT64_MAX - from)
			pk->near_to = from + pk->plan->to;
	}
}

/* A call made inside the planned one: the same thread, starting within it, after it. */
static bool in_tree(const struct reader_pick *pk, const struct store_callrec *c)
{
	return pk->have_tree && c->thread == pk->tree_thread && c->id > pk->plan->call &&
	       c->pos_start >= pk->tree_from && c->pos_start <= pk->tree_to &&
	       c->depth <= pk->tree_depth && c->pos_start <= pk->near_to &&
	       (c->pos_end > pk->near_from || c->pos_start >= pk->near_from) &&
	       c->pos_end - c->pos_start >= pk->plan->min_insns;
}

int reader_pick_call(struct reader_pick *pk, const struct store_callrec *c)
{
	void *mark;

	if (c->id > pk->max_id)
		pk->max_id = c->id;
	switch (pk->mode) {
	case PICK_ALL:
		return reader_insert_call(pk->r, &pk->ins, c);
	case PICK_FIND:
		if (c->id != pk->plan->call)
			return 0;
		set_tree(pk, c->thread, c->pos_start, c->pos_end, c->depth);
		return 1;
	case PICK_MARKED:
	case PICK_AGAIN:
		break;
	}
	mark = hashmap_get(&pk->marks, (uint64_t)c->id);
	/* A first pass meets each id once: a second record of a loaded call is damage. */
	if (mark == LOADED)
		return pk->mode == PICK_AGAIN ? 0 : -1;
	if (mark == WANTED) {
		hashmap_put(&pk->marks, (uint64_t)c->id, LOADED);
		pk->missing--;
		want(pk, c->parent);
		return reader_insert_call(pk->r, &pk->ins, c);
	}
	if (pk->mode == PICK_AGAIN)
		return 0;
	if ((pk->plan->need == READER_CALLS_TOPS && c->parent < 0) || in_tree(pk, c))
		return reader_insert_call(pk->r, &pk->ins, c);
	return 0;
}

/* The rows of the file, in the table already: marked loaded. */
static int mark_rows(struct reader_pick *pk)
{
	sqlite3_stmt *st = reader_prepare(pk->r, "SELECT id FROM temp.calls", NULL);
	int rc;

	if (!st)
		return -1;
	while ((rc = reader_step(pk->r, st, "the calls", NULL)) > 0) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (id > pk->max_id)
			pk->max_id = id;
		if (id >= 0)
			hashmap_put(&pk->marks, (uint64_t)id, LOADED);
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The calls the events happened in. Unreadable events are not the calls'
 * damage: the view that reads them reports it.
 */
static void want_event_calls(struct reader_pick *pk)
{
	sqlite3_stmt *st = reader_prepare(
	        pk->r, "SELECT DISTINCT call FROM main.events WHERE call IS NOT NULL", NULL);

	if (!st)
		return;
	while (reader_step(pk->r, st, "the events", NULL) > 0)
		want(pk, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

/* The planned call's bounds when it is a row of the file; false if it is not one. */
static bool tree_from_row(struct reader_pick *pk)
{
	sqlite3_stmt *st =
	        reader_prepare(pk->r,
	                       "SELECT thread, pos_start, pos_end, depth FROM temp.calls "
	                       "WHERE id = ?1",
	                       NULL);
	bool found = false;

	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, pk->plan->call);
	if (reader_step(pk->r, st, "the calls", NULL) > 0) {
		bool open = sqlite3_column_type(st, 2) == SQLITE_NULL;

		set_tree(pk, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
		         open ? UINT64_MAX : (uint64_t)sqlite3_column_int64(st, 2),
		         (uint32_t)sqlite3_column_int64(st, 3));
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* The wanted calls, then the callers found missing, pass by pass. */
static int pick_marked(struct reader_pick *pk)
{
	int rc, pass;
	size_t before;

	pk->mode = PICK_MARKED;
	rc = reader_each_chunk_call(pk->r, pk);
	for (pass = 0; !rc && pk->missing && pass < PICK_PASSES; pass++) {
		before = pk->missing;
		pk->mode = PICK_AGAIN;
		rc = reader_each_chunk_call(pk->r, pk);
		/* Nothing found: the rest are not in the file (the view says so). */
		if (pk->missing == before)
			break;
	}
	return rc;
}

static int pick(struct reader_pick *pk)
{
	const struct reader_calls_plan *plan = pk->plan;
	int rc;

	if (plan->need == READER_CALLS_ALL) {
		pk->mode = PICK_ALL;
		return reader_each_chunk_call(pk->r, pk);
	}
	if (mark_rows(pk) < 0)
		return -1;
	if (plan->need == READER_CALLS_TOPS)
		want_event_calls(pk);
	if (plan->need == READER_CALLS_ONE || plan->need == READER_CALLS_TREE)
		want(pk, plan->call);
	if (plan->need == READER_CALLS_TREE && plan->call >= 0 && !tree_from_row(pk)) {
		pk->mode = PICK_FIND;
		if ((rc = reader_each_chunk_call(pk->r, pk)) < 0)
			return -1;
	}
	return pick_marked(pk);
}

int reader_pick_calls(struct store_reader *r, const struct reader_calls_plan *plan)
{
	struct reader_pick pk = { .r = r, .plan = plan, .max_id = -1 };
	int rc;

	hashmap_init(&pk.marks);
	rc = pick(&pk);
	sqlite3_finalize(pk.ins);
	hashmap_fini(&pk.marks);
	/* A part of the calls in the table: their count is the file's. */
	if (!rc && plan->need != READER_CALLS_ALL)
		r->calls_total = pk.max_id + 1;
	return rc < 0 ? -1 : 0;
}
