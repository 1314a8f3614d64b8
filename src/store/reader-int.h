/*
 * The reader's state, shared by reader.c (opening, metadata), cursor.c
 * (records) and insns.c (instruction streams). Not for use outside
 * src/store/.
 */
#ifndef NOSCO_STORE_READER_INT_H
#define NOSCO_STORE_READER_INT_H

#include <sqlite3.h>

#include "store/internal.h"
#include "store/reader.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/vec.h"

/* The statements cursors run; see cursor.c for their SQL. */
enum reader_query {
	RQ_THREADS,
	RQ_THREAD_GET,
	RQ_BINARIES,
	RQ_BINARY_GET,
	RQ_EVENTS,
	RQ_EVENTS_OF_CALL,
	RQ_EVENTS_OUTSIDE_CALLS,
	RQ_EVENT_GET,
	RQ_CALLS,
	RQ_CALLS_OF_THREAD,
	RQ_CALLS_ROOTS,
	RQ_CALLS_ROOTS_ALL,
	RQ_CALLS_CHILDREN,
	RQ_CALL_GET,
	RQ_COUNT,
};

struct reader_arg {
	char *s;
	size_t len;
};

/* A cached (address, bytes) pair of the insns table. */
struct reader_insn_ent {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[STORE_INSN_MAX];
};

struct store_reader {
	sqlite3 *db;
	char *path;
	int schema;
	bool recovered;
	struct strbuf damage;
	VEC(struct reader_meta) meta;
	VEC(struct reader_arg) args;
	VEC(struct reader_scope) scopes;
	VEC(uint64_t) thread_insns; /* committed instructions, by thread id */
	/* Statements not in use by a cursor, kept for the next one. */
	VEC(sqlite3_stmt *) pool[RQ_COUNT];
	struct reader_cursor *get[RQ_COUNT]; /* the cursors of reader_X_get() */
	sqlite3_stmt *insn_stmt;             /* one row of insns by id */
	struct hashmap insn_cache;           /* id -> index + 1 in insns */
	VEC(struct reader_insn_ent) insns;
	struct reader_blocks *blocks; /* schema 2: the blocks read so far (insns.c) */
};

/* reader_sql_error - a failed read: ERR_INPUT naming the file and what was read */
int reader_sql_error(struct store_reader *r, const char *what, struct err *err);

/* reader_prepare - compile a statement, reporting a failure as damage */
sqlite3_stmt *reader_prepare(struct store_reader *r, const char *sql, struct err *err);

/* reader_get_cursors_free - release the cursors used by reader_X_get() */
void reader_get_cursors_free(struct store_reader *r);

/*
 * reader_load_call_chunks - schema 2: the calls kept in call chunks, with
 * the file's rows, into a temporary table that hides the file's calls.
 * Return: 0, or -1 if the chunks cannot be read (the file's rows stay).
 */
int reader_load_call_chunks(struct store_reader *r);

/* reader_insn_cache_fini - forget the cached instructions */
void reader_insn_cache_fini(struct store_reader *r);

#endif
