/*
 * The reader's state, shared by reader.c (opening, metadata), cursor.c
 * (records) and insns.c (instruction streams). Not for use outside
 * src/store/.
 */
#ifndef NOSCO_STORE_READER_INT_H
#define NOSCO_STORE_READER_INT_H

#include <stdarg.h>

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
	RQ_EVENT_OF_CALL_AFTER,
	RQ_EVENTS_OUTSIDE_CALLS,
	RQ_EVENT_GET,
	RQ_CALLS,
	RQ_CALLS_OF_THREAD,
	RQ_CALLS_ROOTS,
	RQ_CALLS_ROOTS_ALL,
	RQ_CALLS_CHILDREN,
	RQ_CALL_CHILD_AFTER,
	RQ_CALL_GET,
	RQ_CALL_ROW,
	RQ_COUNT,
};

/* A thread whose stream's end cannot be read: its reads will say why. */
#define STREAM_UNKNOWN UINT64_MAX

typedef VEC(uint64_t) reader_u64s;

/* An entry of the call index (calls-ix.c). */
struct reader_ix_ent {
	int64_t seq;    /* the call chunk holding its record, STORE_NONE for a row of calls */
	uint32_t idx;   /* the record's place in the chunk */
	int64_t thread; /* a thread of the file */
	int64_t parent; /* below the call's id, or STORE_NONE */
};

/* What the file says of a call beyond its record's columns. */
struct reader_call_counts {
	bool known;      /* false for a call that was running at the last commit */
	uint64_t kids;   /* the calls it made */
	uint64_t inner;  /* their instructions */
	int64_t ids_end; /* its subtree's ids are below this (the file's count if not known) */
};

struct reader_ix;

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
	VEC(uint64_t) thread_insns; /* committed instructions, by thread id, or STREAM_UNKNOWN */
	/* Statements not in use by a cursor, kept for the next one. */
	VEC(sqlite3_stmt *) pool[RQ_COUNT];
	struct reader_cursor *get[RQ_COUNT]; /* the cursors of reader_X_get() */
	struct hashmap insn_cache;           /* id -> index + 1 in insns */
	VEC(struct reader_insn_ent) insns;
	struct reader_blocks *blocks;      /* the blocks read so far (insns.c) */
	struct reader_ix *ix;              /* the call index, read as needed (calls-ix.c) */
	int64_t counted_id;                /* the last call reader_ix_get() found ... */
	struct reader_call_counts counted; /* ... and its counts */
	/*
	 * The calls that have events, once known (cursor.c): a finished file's,
	 * read at the first question, so that a walk asks SQLite only about those
	 */
	enum { EVENT_CALLS_UNKNOWN, EVENT_CALLS_KNOWN, EVENT_CALLS_LIVE } event_calls_state;
	struct hashmap event_calls; /* call id -> (void *)1 */
};

/*
 * reader_sql_error - a failed read, naming the file and what was read:
 * ERR_INPUT when SQLite found the file damaged, ERR_IO when it could not
 * read it (an I/O error, a lock held too long)
 */
int reader_sql_error(struct store_reader *r, const char *what, struct err *err);

/**
 * reader_step - step a statement of the reader: the one place that tells
 * rows from the end and from errors
 * @what: what the statement reads, for the message ("the calls")
 *
 * Anything but SQLITE_ROW and SQLITE_DONE is an error, never the end of
 * the rows: a damaged page (SQLITE_CORRUPT, SQLITE_NOTADB), an I/O error.
 * A statement that failed must not be stepped again (SQLite would start
 * it over): reset it first.
 * Return: 1 with a row, 0 at the end, -1 with err.
 */
int reader_step(struct store_reader *r, sqlite3_stmt *st, const char *what, struct err *err);

/* reader_col_id - an id column of a row, STORE_NONE where it is NULL */
int64_t reader_col_id(sqlite3_stmt *st, int col);

/* reader_damaged - ERR_INPUT "FILE is damaged: <fmt>" */
int reader_damaged(struct store_reader *r, struct err *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* reader_vdamaged - reader_damaged() with a va_list */
int reader_vdamaged(struct store_reader *r, struct err *err, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/*
 * reader_thread_reaches - is @thread a thread of the file whose committed
 * stream reaches @pos? What was read at open is looked at again when it
 * says no, as a trace being written gains threads and instructions.
 */
bool reader_thread_reaches(struct store_reader *r, int64_t thread, uint64_t pos);

/* reader_has_table - 1 if the file has the table, 0 if not, -1 if its schema cannot be read */
int reader_has_table(struct store_reader *r, const char *name);
/* reader_prepare - compile a statement, reporting a failure as damage */
sqlite3_stmt *reader_prepare(struct store_reader *r, const char *sql, struct err *err);

/* reader_get_cursors_free - release the cursors used by reader_X_get() */
void reader_get_cursors_free(struct store_reader *r);

/* reader_ix_open - read where the index's rows begin; -1 if they have a gap */
int reader_ix_open(struct store_reader *r);
/* reader_ix_close - forget the index and its cache; no index is a no-op */
void reader_ix_close(struct store_reader *r);
/* reader_ix_total - the calls the index covers, -1 without an index */
int64_t reader_ix_total(const struct store_reader *r);

/*
 * reader_ix_entry - the index entry of call @id, valid until the next
 * lookup. Return: 1, 0 if the index has no such call, -1 with err.
 */
int reader_ix_entry(struct store_reader *r, int64_t id, const struct reader_ix_ent **out,
                    struct err *err);

/*
 * reader_ix_get - call @id through the index, checked to be the call the
 * index describes; its return addresses are copied into @bt.
 * Return: 1, 0 if the index has no such call, -1 with err.
 */
int reader_ix_get(struct store_reader *r, int64_t id, struct reader_call *out,
                  struct reader_call_counts *n, reader_u64s *bt, struct err *err);

/*
 * reader_ix_row_wanted - whether the index row holding call @id may hold
 * a call of @thread (STORE_NONE: any) that @f (NULL: none) keeps, from the
 * row's call summary; *row_end is set to the id past the row.
 * Return: 1 if it may (always without summaries), 0 if it holds none, -1 with err.
 */
int reader_ix_row_wanted(struct store_reader *r, int64_t id, int64_t thread,
                         const struct reader_call_filter *f, int64_t *row_end, struct err *err);

/*
 * reader_thread_summary_stored - the summary thread_stats holds for @thread
 * without counting one that is not there
 * Return: 1 with it, 0 if the file has none (a trace cut short), -1 with err.
 */
int reader_thread_summary_stored(struct store_reader *r, int64_t thread,
                                 struct reader_thread_summary *out, struct err *err);

/* reader_call_get_row - call @id from the file's calls table: 0, or -1 with err */
int reader_call_get_row(struct store_reader *r, int64_t id, struct reader_call *out,
                        struct err *err);

/* reader_insn_cache_fini - forget the cached instructions */
void reader_insn_cache_fini(struct store_reader *r);

#endif
