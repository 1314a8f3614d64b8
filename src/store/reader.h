/*
 * The read side of the trace file (docs/trace-format.md), used by the dump
 * views. Everything here is read-only and works on a trace that is still
 * being written, on one whose writer was killed (it then shows the state
 * of the last commit) and, as far as possible, on a damaged file.
 *
 * Usage:
 *
 *	struct store_reader *r = reader_open(path, &err);
 *	struct reader_cursor *c = reader_calls_children(r, call_id, &err);
 *	struct reader_call call;
 *	int rc;
 *
 *	while ((rc = reader_call_next(c, &call, &err)) > 0)
 *		...;
 *	reader_cursor_free(c);
 *	if (rc < 0)
 *		... err says what could not be read ...
 *	reader_close(r);
 *
 * Records: ids are the writer's (dense from 0). Optional references are
 * STORE_NONE when absent. Strings and arrays inside a record point into
 * the cursor that produced it and stay valid until the next call on that
 * cursor or its reader_cursor_free(); for reader_X_get() until the next
 * reader_X_get() of the same kind. Copy what must live longer.
 *
 * Cursors are cheap: their prepared statements are kept by the reader and
 * reused, so a view may open one cursor per node of a call tree. Any number
 * of cursors may be open at once; all must be freed before reader_close().
 *
 * Errors: functions return -1 (or NULL) and fill err; ERR_IO for a file
 * that cannot be opened, ERR_INPUT for one that is not a readable trace or
 * is damaged where it was read, ERR_NOT_FOUND for an id that does not exist.
 */
#ifndef NOSCO_STORE_READER_H
#define NOSCO_STORE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"
#include "util/vec.h"

struct store_reader;
struct reader_cursor;
struct reader_insns;

/* One metadata entry: keys are listed in docs/trace-format.md. */
struct reader_meta {
	const char *key;
	const char *text; /* the value if it is text, else NULL */
	int64_t num;      /* the value if it is an integer */
	bool is_int;
};

struct reader_thread {
	int64_t id;
	int tid;
	int64_t create_event; /* STORE_NONE for a thread that was there at the start */
	int64_t exit_event;   /* STORE_NONE if no exit event was recorded */
	bool exited;          /* its end was recorded: then signaled and code say how */
	bool signaled;
	int code;            /* exit code (0..255) or signal number */
	uint64_t insn_count; /* instructions in its stream (committed chunks) */
};

struct reader_binary {
	int64_t id;
	const char *path; /* NUL-terminated bytes, not necessarily UTF-8 */
	size_t path_len;
	const char *name; /* NULL if not recorded */
	size_t name_len;
	const uint8_t *build_id; /* NULL if none */
	size_t build_id_len;
	uint64_t base;        /* load bias: file address + base = runtime address */
	uint64_t start, end;  /* mapped range [start, end) */
	const uint8_t *image; /* the stored image (vdso), NULL if the file is on disk */
	size_t image_len;
	int64_t load_event;   /* STORE_NONE: mapped when tracing started */
	int64_t unload_event; /* STORE_NONE: never unloaded */
};

/* A scope resolved in a binary (store_scope in store.h). */
struct reader_scope {
	int64_t id;
	const char *symbol;
	int64_t binary;
	uint64_t addr;     /* where it is entered; 0 if never known (an IFUNC never resolved) */
	uint64_t resolver; /* an IFUNC's resolver, else 0 */
	uint32_t depth;
};

struct reader_event {
	int64_t id;
	enum store_event_kind kind;
	uint64_t time_ns;
	int64_t thread;     /* origin: the thread, STORE_NONE if none */
	int64_t call;       /* origin: innermost open call of the thread, or STORE_NONE */
	uint64_t pos;       /* origin: instructions the thread had recorded before it */
	uint64_t addr;      /* origin: the program counter */
	const uint64_t *bt; /* return addresses, innermost first */
	size_t bt_len;
	int64_t subject;    /* see enum store_event_kind; STORE_NONE if none */
	const char *detail; /* see enum store_event_kind; NULL if none */
};

struct reader_call {
	int64_t id;
	int64_t thread;
	int64_t parent; /* STORE_NONE for a root call */
	enum store_call_kind kind;
	uint32_t depth;
	uint64_t addr;                 /* entry address */
	uint64_t site;                 /* the call instruction in the parent, 0 if unknown */
	uint64_t ret_addr;             /* where it returns to, 0 if none */
	uint64_t pos_start;            /* its instructions are the thread's [pos_start, pos_end) */
	uint64_t pos_end;              /* open calls: the end of the thread's committed stream */
	bool open;                     /* no end was recorded (the trace stopped while it ran) */
	enum store_call_end end;       /* how it ended, unless open */
	uint64_t time_start, time_end; /* time_end is 0 while open */
	int32_t signal;                /* STORE_CALL_SIGNAL: the signal number */
	bool truncated;                /* past the depth limit: no instructions recorded */
	const uint64_t *bt;            /* root calls: return addresses, innermost first */
	size_t bt_len;
};

/* What a thread did, in a few numbers (reader_thread_summary). */
struct reader_thread_summary {
	int64_t thread;
	uint64_t calls;     /* calls it made */
	uint64_t roots;     /* of them, root calls */
	uint64_t insns;     /* instructions in its committed stream */
	int64_t first_call; /* its first and last call ids, STORE_NONE if it made none */
	int64_t last_call;
	bool stored; /* read from the file; false: counted now (a trace cut short) */
};

/* One element of a call's backtrace (reader_call_backtrace). */
struct reader_frame {
	int64_t call;  /* an enclosing traced call, or STORE_NONE for a return address */
	uint64_t addr; /* call: the call site inside it; else the return address */
};

struct reader_insn {
	uint64_t pos; /* position in the thread's stream */
	uint64_t addr;
	const uint8_t *bytes; /* valid until the next reader_insns_next() */
	size_t len;
};

struct reader_counts {
	int64_t threads, binaries, events, calls, insns, chunks;
};

/**
 * reader_open - open a trace file for reading
 * @path: the file
 * @err: why it cannot be read
 *
 * Checks that the file is an SQLite database with nosco's application_id
 * and a schema version this nosco reads. A trace left with a hot rollback
 * journal by a killed writer is first rolled back to its last commit (the
 * one change a reader makes, and the one SQLite itself would make; see
 * reader_recovered()); that needs write access to the file's directory.
 * A truncated file is opened anyway: reader_damage() says so and the
 * reads that reach the missing part fail with ERR_INPUT.
 *
 * Return: the reader, or NULL with err (ERR_IO, ERR_INPUT).
 */
struct store_reader *reader_open(const char *path, struct err *err);

/* reader_close - close the reader; NULL is a no-op */
void reader_close(struct store_reader *r);

/* reader_path - the path the reader was opened with */
const char *reader_path(const struct store_reader *r);

/* reader_schema - the file's schema version (PRAGMA user_version) */
int reader_schema(const struct store_reader *r);

/**
 * reader_damage - what is wrong with the file, found while opening it
 *
 * Return: NULL for an intact file, else one line such as "the file is
 * truncated (12288 of 40960 bytes)".
 */
const char *reader_damage(const struct store_reader *r);

/* reader_recovered - true if reader_open() rolled back an unfinished transaction */
bool reader_recovered(const struct store_reader *r);

/* Whether the end of the run is in the file (meta exit_kind), and why not. */
enum reader_end {
	READER_END_WRITTEN, /* the run ended and nosco wrote so */
	READER_END_FAILED,  /* written, but nosco stopped tracing on an error of its own */
	READER_END_LIVE,    /* not yet: a nosco is writing the file now */
	READER_END_MISSING, /* never: the writer was killed, or failed before writing it */
};

/**
 * reader_end - whether the trace was finished
 *
 * Looks at the file as it is now. A writer keeps the file's RESERVED lock
 * from store_create() to store_close(), so a file without the end whose
 * lock nobody holds has lost its writer (SIGKILL, a full disk), which
 * neither a copy of the file nor a reused pid can fake.
 */
enum reader_end reader_end(struct store_reader *r);

/**
 * reader_check - run SQLite's integrity check (PRAGMA quick_check)
 *
 * Reads the whole file, so views call it only when asked to verify.
 * Return: 0 if it is consistent, -1 with ERR_INPUT naming the first problem.
 */
int reader_check(struct store_reader *r, struct err *err);

/*
 * reader_counts - how many records of each kind the file holds
 *
 * A count that cannot be read is -1; then the return is -1 with err.
 */
int reader_counts(struct store_reader *r, struct reader_counts *out, struct err *err);

/* Metadata, read at open: entries in key order. */
size_t reader_meta_count(const struct store_reader *r);
const struct reader_meta *reader_meta_at(const struct store_reader *r, size_t i);
/* reader_meta_text - the text value of key, or NULL if absent or not text */
const char *reader_meta_text(const struct store_reader *r, const char *key);
/* reader_meta_int - the integer value of key; -1 if absent or not an integer */
int reader_meta_int(const struct store_reader *r, const char *key, int64_t *out);

/* The traced program's argv, read at open; arguments are NUL-terminated bytes. */
size_t reader_argc(const struct store_reader *r);
const char *reader_argv(const struct store_reader *r, size_t i, size_t *len);

/* The scopes, read at open, by id (none in files of nosco versions before scopes were recorded). */
size_t reader_scope_count(const struct store_reader *r);
const struct reader_scope *reader_scope_at(const struct store_reader *r, size_t i);

/* reader_thread_insn_count - instructions in a thread's committed stream (0 if unknown) */
uint64_t reader_thread_insn_count(const struct store_reader *r, int64_t thread);

/*
 * Cursors. reader_X_next() returns 1 with the next record in out, 0 at the
 * end, -1 with err (the file is damaged there). Every cursor is released
 * with reader_cursor_free().
 */

/* reader_threads - all threads by id */
struct reader_cursor *reader_threads(struct store_reader *r, struct err *err);
int reader_thread_next(struct reader_cursor *c, struct reader_thread *out, struct err *err);

/* The threads of a trace in memory, indexed by id (a few records: views turn ids into tids). */
typedef VEC(struct reader_thread) reader_thread_vec;

/* reader_load_threads - append every thread to out, by id; 0, or -1 with err */
int reader_load_threads(struct store_reader *r, reader_thread_vec *out, struct err *err);

/* reader_binaries - all binaries by id */
struct reader_cursor *reader_binaries(struct store_reader *r, struct err *err);
int reader_binary_next(struct reader_cursor *c, struct reader_binary *out, struct err *err);

/* reader_events - all events by id */
struct reader_cursor *reader_events(struct store_reader *r, struct err *err);
/* reader_events_of_call - the events whose origin call is @call (not its descendants), by id */
struct reader_cursor *reader_events_of_call(struct store_reader *r, int64_t call, struct err *err);
/* reader_events_outside_calls - the events of a thread outside every traced call, by id */
struct reader_cursor *reader_events_outside_calls(struct store_reader *r, int64_t thread,
                                                  struct err *err);
int reader_event_next(struct reader_cursor *c, struct reader_event *out, struct err *err);

/* reader_calls - all calls by id */
struct reader_cursor *reader_calls(struct store_reader *r, struct err *err);
/* reader_calls_of_thread - the calls of one thread by id (a scan of all calls) */
struct reader_cursor *reader_calls_of_thread(struct store_reader *r, int64_t thread,
                                             struct err *err);
/* reader_calls_roots - root calls of a thread (STORE_NONE: of all threads), by id */
struct reader_cursor *reader_calls_roots(struct store_reader *r, int64_t thread, struct err *err);
/* reader_calls_children - the calls made directly by @call, in stream order */
struct reader_cursor *reader_calls_children(struct store_reader *r, int64_t call, struct err *err);
int reader_call_next(struct reader_cursor *c, struct reader_call *out, struct err *err);

/*
 * What a listing of calls looks for, so that it can skip the parts of the
 * file that hold none of it (reader_calls_filter).
 */
struct reader_call_filter {
	uint64_t min_own; /* calls with this many own instructions or more; 0: any */
	/* whether a call entering at @addr may be wanted; NULL: any */
	bool (*addr_ok)(void *arg, uint64_t addr);
	void *arg;
};

/**
 * reader_calls_filter - let a cursor of reader_calls() or
 * reader_calls_of_thread() skip the calls @f surely does not keep
 *
 * A hint: schema 4 files skip the index rows whose call summary shows no
 * call the filter keeps; other files, and other rows, return every call,
 * so the caller still checks each one. @f (and its arg) must live as long
 * as the cursor.
 */
void reader_calls_filter(struct reader_cursor *c, const struct reader_call_filter *f);

/* The calls entering one address (reader_funcs). */
struct reader_func {
	uint64_t addr;
	uint64_t calls;     /* how many */
	uint64_t insns;     /* their instructions (pos_end - pos_start) summed */
	int64_t first_call; /* the first of them */
};

/**
 * reader_funcs - the calls of the file by entry address, from the call
 * summaries of a schema 4 file, without reading the calls
 * @out: set to a new array (free() it), in the order of their first calls
 *
 * Return: 1 with *out and *n; 0 if the file has no call summaries (older
 * files: count them from reader_calls()); -1 with err.
 */
int reader_funcs(struct store_reader *r, struct reader_func **out, size_t *n, struct err *err);

/* reader_cursor_free - release a cursor; NULL is a no-op */
void reader_cursor_free(struct reader_cursor *c);

/* One record by id: 0, or -1 with err (ERR_NOT_FOUND if there is no such id). */
int reader_thread_get(struct store_reader *r, int64_t id, struct reader_thread *out,
                      struct err *err);
int reader_binary_get(struct store_reader *r, int64_t id, struct reader_binary *out,
                      struct err *err);
int reader_event_get(struct store_reader *r, int64_t id, struct reader_event *out, struct err *err);
int reader_call_get(struct store_reader *r, int64_t id, struct reader_call *out, struct err *err);

/*
 * reader_call_parent - the parent of call @id, STORE_NONE for a root
 * (from the call index alone where the file has one)
 * Return: 0, or -1 with err (ERR_NOT_FOUND if there is no such call).
 */
int reader_call_parent(struct store_reader *r, int64_t id, int64_t *parent, struct err *err);

/*
 * Walking a tree without a cursor per level: the first child of @call
 * (the first event in @call) whose id is above @after (-1 for the first
 * one). Return: 1 with it in out, 0 if there is none, -1 with err; out's
 * arrays and strings stay valid until the next lookup of the same kind.
 */
int reader_call_child_after(struct store_reader *r, int64_t call, int64_t after,
                            struct reader_call *out, struct err *err);
int reader_event_of_call_after(struct store_reader *r, int64_t call, int64_t after,
                               struct reader_event *out, struct err *err);

/**
 * reader_call_counts - the calls @c made and its own instructions (those
 * of [pos_start, pos_end) not in the calls it made)
 *
 * The file stores them with the call; for a call that was running when
 * the trace was cut short they are counted from the calls it made.
 * Return: 0, or -1 with err.
 */
int reader_call_counts(struct store_reader *r, const struct reader_call *c, uint64_t *calls,
                       uint64_t *own_insns, struct err *err);

/**
 * reader_thread_summary - what thread @thread did, in a few numbers
 *
 * The file stores them at the end of a run; for a trace cut short they
 * are counted from the call index (one pass over it).
 * Return: 0, or -1 with err (ERR_NOT_FOUND if there is no such thread).
 */
int reader_thread_summary(struct store_reader *r, int64_t thread, struct reader_thread_summary *out,
                          struct err *err);

/**
 * reader_call_backtrace - where a call was made from, innermost first
 * @call: the call
 * @frames: set to a new array (free() it), NULL when empty
 * @n: set to its length
 *
 * The chain of enclosing traced calls (each with the call site inside it),
 * followed by the return addresses stored with the root call
 * (behaviour.md §4.5).
 * Return: 0, or -1 with err.
 */
int reader_call_backtrace(struct store_reader *r, int64_t call, struct reader_frame **frames,
                          size_t *n, struct err *err);

/**
 * reader_insns_open - iterate the instructions of a thread's stream
 * @thread: the thread
 * @from, @to: positions [from, to); to may be UINT64_MAX for "to the end"
 *
 * Instructions are decoded one chunk at a time, so memory stays bounded
 * whatever the range. The iteration ends early at the end of the committed
 * stream (an open call of a killed trace). Use [pos_start, pos_end) of a
 * call for its instructions, including those of its descendants.
 * Return: the iterator, or NULL with err.
 */
struct reader_insns *reader_insns_open(struct store_reader *r, int64_t thread, uint64_t from,
                                       uint64_t to, struct err *err);

/* reader_insns_next - 1 with the next instruction, 0 at the end, -1 with err */
int reader_insns_next(struct reader_insns *it, struct reader_insn *out, struct err *err);

/* reader_insns_free - release an iterator; NULL is a no-op */
void reader_insns_free(struct reader_insns *it);

/* Names used in dumps and docs/trace-format.md; "?" for an unknown value. */
const char *reader_event_kind_name(enum store_event_kind kind);
const char *reader_call_kind_name(enum store_call_kind kind);
const char *reader_call_end_name(enum store_call_end end);

#endif
