/*
 * The writer's state, shared by writer.c (records, transactions), calls.c
 * (call records), stream.c (the instruction hot path) and output.c
 * (creating the file). Not for use outside src/store/.
 */
#ifndef NOSCO_STORE_WRITER_INT_H
#define NOSCO_STORE_WRITER_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zstd.h>

#include "store/internal.h"
#include "store/store.h"
#include "util/hashmap.h"
#include "util/owner.h"
#include "util/vec.h"

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_META,
	ST_ARGV_CLEAR,
	ST_ARGV,
	ST_BINARY,
	ST_BINARY_UNLOAD,
	ST_SCOPE,
	ST_SCOPE_ADDR,
	ST_THREAD,
	ST_THREAD_EXIT,
	ST_THREAD_TID,
	ST_EVENT,
	ST_CALL,
	ST_CALL_CLOSE,
	ST_CHUNK,
	ST_BLOCK,
	ST_INSN_CHUNK,
	ST_CALL_CHUNK,
	ST_CALL_INDEX,
	ST_CALL_SUMMARY,
	ST_THREAD_STATS,
	ST_COUNT,
};

struct store_open_call;

/*
 * One thread's instruction stream: the tokens not yet written as a chunk;
 * and its calls that have not ended.
 */
struct store_stream {
	uint64_t pos;   /* instructions appended so far */
	uint64_t first; /* stream position of the pending chunk's first instruction */
	int64_t seq;    /* sequence number of the next chunk */
	uint8_t *tok;
	size_t tok_len, tok_cap;
	uint64_t tok_insns; /* instructions the tokens and the run stand for */
	int64_t prev_insn, prev_block;
	uint32_t run_block; /* a run of one block not encoded yet ... */
	uint64_t run_count; /* ... executed this many times (0: no run) */
	/* its calls not ended yet, the innermost last (calls.c): they end in that order */
	VEC(struct store_open_call *) open;
};

/* Where a call's record is, for the call index (callindex.c); by id from store.ix_base. */
struct store_ix_ent {
	int64_t seq;    /* its call chunk, STORE_IX_ROW, or STORE_IX_PENDING while not known */
	int64_t parent; /* STORE_NONE for a root */
	uint64_t addr;  /* its entry address, for the call summary */
	uint64_t insns; /* a record's instructions (pos_end - pos_start) ... */
	uint64_t own;   /* ... and those not in the calls it made */
	uint32_t thread;
	uint16_t idx; /* its record's place in the chunk */
};

#define STORE_IX_PENDING (-1)
#define STORE_IX_ROW     (-2)

/* What the thread summaries say of a thread (thread_stats). */
struct store_thread_sum {
	uint64_t calls, roots;
	int64_t first, last; /* STORE_NONE before its first call */
};

/* A distinct (address, bytes) pair; its index in store.insns is its id. */
struct store_insn_ent {
	uint64_t addr;
	uint32_t next; /* id + 1 of the next pair at the same address, 0 = none */
	uint8_t len;
	uint8_t bytes[STORE_INSN_MAX];
};

struct store_opener;

struct store {
	struct owner owner; /* the thread that may write (util/owner.h) */
	/* making the file on a thread of its own (store_create_async), until store_wait() */
	struct store_opener *opener;
	sqlite3 *db;
	char *path;
	int replaced_fd; /* store_take_replaced() */
	sqlite3_stmt *st[ST_COUNT];
	bool in_txn;
	bool failed;     /* a write failed: every later write reports fail */
	struct err fail; /* what failed */
	uint64_t last_commit_ms;
	int64_t n_binaries, n_threads, n_events, n_calls, n_scopes;
	VEC(struct store_stream) streams; /* indexed by thread id */
	/*
	 * A thread that exited, its stream written at the next exit, commit
	 * or close: the program's last thread is not kept at its exit stop
	 * while its stream is compressed and written (0.7 ms for Python).
	 */
	int64_t exited_stream;
	struct hashmap insn_by_addr;      /* addr -> id + 1 of the first pair at addr */
	VEC(struct store_insn_ent) insns; /* indexed by id */
	VEC(struct store_open_call *)
	spare_calls; /* ended ones, for reuse: calls come by millions */
	ZSTD_CCtx *zc;
	uint8_t *zbuf;
	size_t zbuf_cap;
	VEC(uint16_t) block_len; /* instructions of each block, by block id (blocks.c) */
	/* finished calls go to call chunks (calls.c) */
	uint8_t *cbuf;
	size_t clen, ccap;
	uint32_t cn;
	int64_t cseq;
	struct store_callcodec cprev;
	/* the call index of the calls since ix_base, and the summaries (callindex.c) */
	VEC(struct store_ix_ent) ix;
	int64_t ix_base;
	VEC(struct store_thread_sum) sums; /* by thread id */
	/* new instructions go to insn chunks (blocks.c) */
	uint8_t *ibuf;
	size_t ilen, icap;
	uint32_t in;    /* instructions in ibuf */
	int64_t ifirst; /* the id of the first of them */
	uint64_t iprev; /* the address of the last of them */
};

/*
 * STORE_ENTER - at every entry point of the writer: wait for the file
 * being made (store_create_async), then check the calling thread owns it
 */
#define STORE_ENTER(s)                                                                             \
	do {                                                                                       \
		if ((s)->opener)                                                                   \
			store_wait((s), NULL);                                                     \
		OWNER_CHECK(&(s)->owner);                                                          \
	} while (0)

/* store_check_failed - the sticky error of an earlier failed write, if any */
int store_check_failed(struct store *s, struct err *err);

/* store_bind_id - bind an optional id: STORE_NONE (any negative) is NULL */
void store_bind_id(sqlite3_stmt *st, int col, int64_t id);

/* store_bind_u64 - bind an unsigned value with the same bits */
void store_bind_u64(sqlite3_stmt *st, int col, uint64_t v);

/* store_bind_backtrace - bind a backtrace as little-endian u64s, NULL if empty */
void store_bind_backtrace(sqlite3_stmt *st, int col, const uint64_t *bt, size_t n);

/* store_calls_flush - write the ended calls gathered so far as one call chunk */
int store_calls_flush(struct store *s, struct err *err);
/* store_calls_write_open - insert the rows of open calls not yet in the file */
int store_calls_write_open(struct store *s, struct err *err);

/* store_ix_call - a new call (the next id) into the index and the summaries */
void store_ix_call(struct store *s, const struct store_call *c);

/* store_ix_full - enough calls wait for the index that it should be written */
bool store_ix_full(const struct store *s);

/*
 * store_ix_write - write the index of the calls since the last
 * time; each must be a row or a record of a written chunk by then
 */
int store_ix_write(struct store *s, struct err *err);

/* store_ix_summaries - write the thread summaries (at the end of the run) */
int store_ix_summaries(struct store *s, struct err *err);

/* store_ix_fini - free the index state */
void store_ix_fini(struct store *s);

/* store_calls_fini - forget the open calls */
void store_calls_fini(struct store *s);

/* store_sql_fail - record an SQLite failure as the writer's sticky error */
int store_sql_fail(struct store *s, const char *what, struct err *err);

/*
 * store_stmt - statement which, prepared on its first use: a trace file
 * is created while the program execs, and most statements are not needed
 * before it runs (19 prepared at once took 0.7 ms there). NULL with err
 * (the writer's sticky error) if it cannot be.
 */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which, struct err *err);

/* store_step_done - run a bound statement that returns no rows, then reset it */
int store_step_done(struct store *s, enum store_stmt which, const char *what, struct err *err);

/**
 * store_chunk_write - compress a chunk's payload and insert its row
 * @st: the row's INSERT, every parameter but the data bound
 * @col: the parameter that takes the compressed data
 * @data: the payload, @len bytes
 * @what: what the row holds, for the error message
 *
 * Compresses with s->zc at the level store_chunk_level() set; the
 * statement is reset and its bindings cleared whatever happens.
 *
 * Return: 0, or -1 with err (an SQLite failure is the writer's sticky error).
 */
int store_chunk_write(struct store *s, sqlite3_stmt *st, int col, const void *data, size_t len,
                      const char *what, struct err *err);

/* store_chunk_write_checked - store_chunk_write(), the frame with a checksum its reader checks */
int store_chunk_write_checked(struct store *s, sqlite3_stmt *st, int col, const void *data,
                              size_t len, const char *what, struct err *err);

/* store_chunk_level - the zstd level of the chunks written from now on */
int store_chunk_level(struct store *s, int level, struct err *err);

/* store_now_ms - a monotonic clock in milliseconds for the commit interval */
uint64_t store_now_ms(void);

/* store_stream_flush - write the thread's pending instructions as one chunk */
int store_stream_flush(struct store *s, int64_t thread, struct err *err);

/* store_stream_release - write out an exited thread's instructions and free its buffer */
int store_stream_release(struct store *s, int64_t thread, struct err *err);

/* store_streams_fini - free the instruction streams and the intern table */
void store_streams_fini(struct store *s);

/* store_bad_thread - the error for instructions of a thread the store does not know */
int store_bad_thread(int64_t thread, struct err *err);

/* store_token_append_insn - one instruction token to a known thread's stream */
int64_t store_token_append_insn(struct store *s, int64_t thread, uint32_t id, struct err *err);

/* store_token_payload - the pending tokens of a stream, the run included */
const uint8_t *store_token_payload(struct store_stream *t, size_t *len);

/* store_token_reset - forget a stream's pending tokens once they are a chunk */
void store_token_reset(struct store_stream *t);

/* store_insn_chunk_add - a new instruction (the next id) into the pending insn chunk */
int store_insn_chunk_add(struct store *s, uint64_t addr, const uint8_t *bytes, size_t len,
                         struct err *err);
/* store_insn_chunk_flush - write the pending insn chunk (before a commit) */
int store_insn_chunk_flush(struct store *s, struct err *err);

/* store_blocks_fini - free what the streams, blocks and instruction chunks use */
void store_blocks_fini(struct store *s);

/*
 * The empty trace file, made at build time (src/store/gen-template.c):
 * store_template_size bytes, zeros but for store_template_runs_n runs of
 * {offset, length}, whose bytes are store_template's one after another.
 */
extern const unsigned char store_template[];
extern const uint32_t store_template_runs[][2];
extern const size_t store_template_runs_n;
extern const size_t store_template_size;

/* store_write_template - a new file at path holding the empty trace file */
int store_write_template(const char *path, struct err *err);

/*
 * store_open_db - open the new database file and set the writer pragmas
 * @old: the file it replaces (st_nlink 0: none), whose mode and owner it takes
 */
int store_open_db(struct store *s, const struct stat *old, struct err *err);

/* store_output_path - the file a trace for path is written to: path after its links */
char *store_output_path(const char *path, struct err *err);

/*
 * store_prepare_output - refuse or clear what is at the output file
 * @path: from store_output_path()
 * @old: what was there (st_nlink 0: nothing)
 * @old_fd: that file, opened before its unlink (-1: none), so that its
 *	space is freed at the caller's close of it, not by the unlink here
 */
int store_prepare_output(const char *path, bool force, struct stat *old, int *old_fd,
                         struct err *err);

#endif
