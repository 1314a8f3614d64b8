/*
 * Reading the calls of a schema 2 file: the calls that ended before a
 * commit are records in call chunks, the others rows of the calls table.
 * The reader puts the rows and the records a view needs (calls-pick.c)
 * into a temporary table named calls, which hides the file's own for the
 * rest of the connection, so that every query of the calls reads one
 * table.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "store/reader-int.h"
#include "util/xalloc.h"

#define INSERT_CALL                                                                                \
	"INSERT INTO temp.calls(id, thread, parent, kind, depth, addr, site, ret_addr, "           \
	"pos_start, pos_end, end_kind, time_start, time_end, signal, truncated, backtrace) "       \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"

int reader_insert_call(struct store_reader *r, sqlite3_stmt **st, const struct store_callrec *c)
{
	uint8_t *bt = NULL;
	size_t i, j;
	int rc;

	if (!*st && sqlite3_prepare_v2(r->db, INSERT_CALL, -1, st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(*st, 1, c->id);
	sqlite3_bind_int64(*st, 2, c->thread);
	if (c->parent >= 0)
		sqlite3_bind_int64(*st, 3, c->parent);
	else
		sqlite3_bind_null(*st, 3);
	sqlite3_bind_int64(*st, 4, c->kind);
	sqlite3_bind_int64(*st, 5, c->depth);
	sqlite3_bind_int64(*st, 6, (sqlite3_int64)c->addr);
	sqlite3_bind_int64(*st, 7, (sqlite3_int64)c->site);
	sqlite3_bind_int64(*st, 8, (sqlite3_int64)c->ret_addr);
	sqlite3_bind_int64(*st, 9, (sqlite3_int64)c->pos_start);
	sqlite3_bind_int64(*st, 10, (sqlite3_int64)c->pos_end);
	sqlite3_bind_int64(*st, 11, c->end_kind);
	sqlite3_bind_int64(*st, 12, (sqlite3_int64)c->time_start);
	sqlite3_bind_int64(*st, 13, (sqlite3_int64)c->time_end);
	if (c->kind == 4)
		sqlite3_bind_int64(*st, 14, c->signal);
	else
		sqlite3_bind_null(*st, 14);
	sqlite3_bind_int(*st, 15, c->truncated);
	if (c->bt_len) {
		bt = xmalloc(c->bt_len * 8);
		for (i = 0; i < c->bt_len; i++)
			for (j = 0; j < 8; j++)
				bt[i * 8 + j] = (uint8_t)(c->bt[i] >> (8 * j));
		sqlite3_bind_blob64(*st, 16, bt, c->bt_len * 8, free);
	} else {
		sqlite3_bind_null(*st, 16);
	}
	/* A second record with the same id fails here (the id is the primary key). */
	rc = sqlite3_step(*st);
	sqlite3_reset(*st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * one_chunk - hand each call of the current row of the chunk query to
 * reader_pick_call(); the row must be chunk @seq (they are numbered from
 * 0). Return: 0, 1 if the pick stopped the reading, -1 if the chunk is
 * damaged or the pick found damage.
 */
static int one_chunk(sqlite3_stmt *q, int64_t seq, struct reader_pick *pk, ZSTD_DCtx *dz)
{
	const void *data = sqlite3_column_blob(q, 1);
	size_t len = (size_t)sqlite3_column_bytes(q, 1);
	int64_t count = sqlite3_column_int64(q, 0), k;
	unsigned long long size = data ? ZSTD_getFrameContentSize(data, len) : 0;
	struct store_callcodec st = { 0 };
	struct store_callrec c;
	uint64_t bt[1024];
	const uint8_t *p, *end;
	uint8_t *buf;
	size_t got;
	int rc = 0;

	if (sqlite3_column_int64(q, 2) != seq || count <= 0 || count > STORE_CALL_CHUNK || !data ||
	    size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
	    size > (unsigned long long)count * (STORE_CALLREC_MAX + 10 * 1024))
		return -1;
	buf = xmalloc(size ? size : 1);
	got = ZSTD_decompressDCtx(dz, buf, size, data, len);
	if (ZSTD_isError(got)) {
		free(buf);
		return -1;
	}
	p = buf;
	end = buf + got;
	for (k = 0; k < count && !rc; k++)
		rc = store_callrec_decode(&st, &p, end, &c, bt, 1024) ? -1
		                                                      : reader_pick_call(pk, &c);
	free(buf);
	if (rc)
		return rc;
	return p != end ? -1 : 0;
}

/* copy_schema - create temp.calls with the file's own definition of calls */
static int copy_schema(struct store_reader *r)
{
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	int rc;

	if (sqlite3_prepare_v2(r->db, "SELECT sql FROM main.sqlite_master WHERE name = 'calls'", -1,
	                       &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *def = (const char *)sqlite3_column_text(st, 0);

		if (def && !strncmp(def, "CREATE TABLE calls", 18))
			sql = xasprintf("CREATE TEMP TABLE calls%s", def + 18);
	}
	sqlite3_finalize(st);
	if (!sql)
		return -1;
	rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : -1;
}

/* begin_table - temp.calls holding the file's rows, in a transaction left open */
static int begin_table(struct store_reader *r)
{
	/*
	 * The table may hold every call of a trace of millions: in a file that
	 * SQLite deletes when it closes, through a cache of bounded size, it
	 * takes little memory and less time than growing a heap of gigabytes.
	 */
	sqlite3_exec(r->db, "PRAGMA temp_store = FILE; PRAGMA temp.cache_size = -16384", NULL, NULL,
	             NULL);
	if (copy_schema(r))
		return -1;
	if (sqlite3_exec(r->db, "BEGIN; INSERT INTO temp.calls SELECT * FROM main.calls", NULL,
	                 NULL, NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(r->db, "ROLLBACK; DROP TABLE temp.calls", NULL, NULL, NULL);
	return -1;
}

int reader_each_chunk_call(struct store_reader *r, struct reader_pick *pk)
{
	sqlite3_stmt *q = reader_prepare(
	        r, "SELECT count, data, seq FROM main.call_chunks ORDER BY seq", NULL);
	ZSTD_DCtx *dz = ZSTD_createDCtx();
	int64_t seq = 0;
	int rc = q ? reader_step(r, q, "the calls", NULL) : -1;

	while (rc > 0 && dz) {
		if ((rc = one_chunk(q, seq++, pk, dz)))
			break;
		rc = reader_step(r, q, "the calls", NULL);
	}
	ZSTD_freeDCtx(dz);
	sqlite3_finalize(q);
	return !dz ? -1 : rc;
}

int reader_load_call_chunks(struct store_reader *r, const struct reader_calls_plan *plan)
{
	sqlite3_stmt *q;
	int rc = reader_has_table(r, "call_chunks");

	if (rc <= 0)
		return rc; /* 0: a schema 2 file from before calls were chunked */
	q = reader_prepare(r, "SELECT 1 FROM main.call_chunks LIMIT 1", NULL);
	if (!q)
		return -1;
	rc = reader_step(r, q, "the calls", NULL);
	sqlite3_finalize(q);
	/* No chunks: the file's table is complete. */
	if (rc <= 0 || begin_table(r))
		return rc ? -1 : 0;
	/* The calls read before a damaged chunk are kept: the views show them. */
	rc = reader_pick_calls(r, plan);
	if (sqlite3_exec(r->db,
	                 "CREATE INDEX temp.calls_by_parent ON calls(parent) "
	                 "WHERE parent IS NOT NULL; "
	                 "CREATE INDEX temp.calls_roots ON calls(thread) WHERE parent IS NULL; "
	                 "COMMIT",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(r->db, "ROLLBACK; DROP TABLE temp.calls", NULL, NULL, NULL);
		return -1;
	}
	return rc;
}
