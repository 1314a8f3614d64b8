/*
 * The trace file: one SQLite database with a versioned schema
 * (docs/trace-format.md). This header is the writer, used by the tracer
 * core while a program runs; store/reader.h is the read side used by the
 * dump views.
 *
 * Writes are batched in one open transaction that is committed at least
 * every STORE_COMMIT_INTERVAL_MS and when the writer is closed, so a crash
 * of nosco loses at most the last interval. Executed instructions are not
 * rows: each distinct (address, bytes) pair is stored once, and every
 * thread has a stream of tokens (one instruction, or a run of a block of
 * straight-line instructions) cut into zstd-compressed chunks.
 *
 * Ids (threads, calls, events, binaries) are assigned by the store, start
 * at 0 and are dense; call ids are the numbers users type.
 */
#ifndef NOSCO_STORE_STORE_H
#define NOSCO_STORE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * The schema version written, and the highest read (docs/trace-format.md:
 * block streams, the call index, the call summaries and call records that
 * give their backtrace as the one before, whatever the engine).
 */
#define STORE_SCHEMA_VERSION     5
#define STORE_APPLICATION_ID     0x6e6f7363 /* "nosc" */
#define STORE_COMMIT_INTERVAL_MS 500
#define STORE_NONE               (-1) /* "no id" for optional references */

struct store;

/* What a state change happened in: which thread, inside which open call, where. */
struct store_origin {
	int64_t thread;     /* thread id (from store_thread_add) */
	int64_t call;       /* innermost open call of the thread, or STORE_NONE */
	uint64_t pos;       /* instructions the thread had recorded before it happened */
	uint64_t addr;      /* program counter at the event */
	uint64_t time_ns;   /* CLOCK_REALTIME when it happened */
	const uint64_t *bt; /* return addresses, innermost first (may be NULL) */
	size_t bt_len;
};

enum store_event_kind {
	STORE_EV_LOAD_BINARY,   /* subject: binary id */
	STORE_EV_UNLOAD_BINARY, /* subject: binary id */
	STORE_EV_CREATE_THREAD, /* subject: the new thread's id */
	STORE_EV_EXIT_THREAD,   /* subject: thread id */
	STORE_EV_SIGNAL,        /* subject: signal number; detail: signal name */
	STORE_EV_EXEC,          /* subject: -; detail: the new program's path */
	STORE_EV_FORK,          /* subject: child pid; detail: "fork", "vfork" or "clone" */
	STORE_EV_ATTACH, /* subject: thread id; origin: where it was and its stack when attached */
};

struct store_binary {
	const char *path;        /* canonical path of the file, or the vdso's name */
	const char *name;        /* the name the program/dynamic linker used for it */
	const uint8_t *build_id; /* may be NULL */
	size_t build_id_len;
	uint64_t base;        /* load bias: file address + base = runtime address */
	uint64_t start, end;  /* mapped range [start, end) */
	const uint8_t *image; /* the image bytes when there is no file (vdso), or NULL */
	size_t image_len;
};

/*
 * A scope resolved in a binary: what a `trace` node of the configuration
 * became. For an IFUNC symbol the scope is entered at the implementation
 * its resolver returned, known once the resolver has run.
 */
struct store_scope {
	const char *symbol; /* as configured */
	int64_t binary;     /* the binary that defines it */
	uint64_t addr;      /* where the scope is entered; 0: not known yet (an IFUNC) */
	uint64_t resolver;  /* an IFUNC's resolver (the symbol's own address), else 0 */
	uint32_t depth;     /* its call-depth */
};

enum store_call_kind {
	STORE_CALL_ROOT,     /* where a thread or an exec'd image starts (full mode) */
	STORE_CALL_CALL,     /* entered by a call instruction */
	STORE_CALL_SCOPE,    /* a scope entered by breakpoint while running free */
	STORE_CALL_JUMP,     /* a scope entered by a jump (tail call, PLT) */
	STORE_CALL_SIGNAL,   /* a signal handler run by the kernel */
	STORE_CALL_ATTACHED, /* full mode: where an attached thread was; its backtrace: the calls
	                        open then */
};

enum store_call_end {
	STORE_END_RETURN,   /* returned normally */
	STORE_END_UNWIND,   /* left without a return (longjmp, exception, sigreturn) */
	STORE_END_EXIT,     /* the thread exited inside it */
	STORE_END_EXEC,     /* the image was replaced by execve inside it */
	STORE_END_KILLED,   /* the trace stopped (Ctrl-C, error) with the call open */
	STORE_END_DETACHED, /* nosco detached from the program (which went on) with the call open */
};

struct store_call {
	int64_t thread;
	int64_t parent; /* STORE_NONE for a root call */
	enum store_call_kind kind;
	uint32_t depth;    /* 1 for the outermost call of a scope or thread */
	uint64_t addr;     /* entry address */
	uint64_t site;     /* address of the call instruction, 0 if unknown */
	uint64_t ret_addr; /* where it returns to, 0 if none */
	uint64_t pos;      /* thread stream position of its first instruction */
	uint64_t time_ns;
	int32_t signal;     /* STORE_CALL_SIGNAL: the signal number */
	bool truncated;     /* past the depth limit: no instructions recorded */
	const uint64_t *bt; /* root calls: return addresses, innermost first */
	size_t bt_len;
};

struct store_exit {
	bool signaled; /* killed by a signal (code is the signal number) */
	int code;      /* exit code 0..255, or signal number */
};

/**
 * store_create - create a new trace file
 * @path: where; an existing file there is replaced only if it is a nosco
 *        trace (or if @force), otherwise ERR_IO "exists and is not a nosco trace".
 *        A symbolic link's target is replaced and the link kept; the new
 *        file takes the old one's mode and owner. A FIFO, a device, a socket
 *        or a file with other hard links is never replaced, even with @force.
 *
 * The file is created with its schema and committed before returning, so
 * an unwritable location is reported before any program runs.
 */
struct store *store_create(const char *path, bool force, struct err *err);

/* what store_create_async() does once the file is made, on its thread: 0 or -1 with err */
typedef int store_then_fn(struct store *s, void *arg, struct err *err);

/**
 * store_create_async - store_create(), the file made on a thread of its own
 * @then: what to write first (the session's metadata), on that thread; NULL: nothing
 *
 * The output path is checked and an old trace removed before returning (an
 * error then is returned at once, as store_create()'s); making the file
 * (2 ms) is left to the thread, while the program loads. The store is the
 * thread's until store_wait(): a store function called before waits for
 * the thread. An error of the thread's is then that call's, and every
 * later write's, and the file it made is removed.
 */
struct store *store_create_async(const char *path, bool force, store_then_fn *then, void *arg,
                                 struct err *err);

/**
 * store_take_replaced - the trace s replaced, still open (-1: none): its
 * space is freed at its last close, the caller's to make (its blocks: about
 * 250 ms a gigabyte here once written back). Not taken, it is closed with s.
 */
int store_take_replaced(struct store *s);

/* store_wait - the file made by store_create_async() is ready: 0, or -1 with its error */
int store_wait(struct store *s, struct err *err);

/* store_close - flush, commit and close. Return: 0 or -1 with err. NULL is a no-op. */
int store_close(struct store *s, struct err *err);

/* store_discard - close and delete the file (the run never started) */
void store_discard(struct store *s);

/* Session metadata: keys are documented in docs/trace-format.md. */
int store_meta_set_text(struct store *s, const char *key, const char *value, struct err *err);
int store_meta_set_int(struct store *s, const char *key, int64_t value, struct err *err);
int store_meta_set_argv(struct store *s, char *const *argv, struct err *err);

/* store_binary_add - a binary mapped at start (load_event STORE_NONE) or loaded later */
int64_t store_binary_add(struct store *s, const struct store_binary *b, int64_t load_event,
                         struct err *err);
int store_binary_unloaded(struct store *s, int64_t binary, int64_t unload_event, struct err *err);

/* store_scope_add - a scope resolved in a binary; returns its id */
int64_t store_scope_add(struct store *s, const struct store_scope *sc, struct err *err);
/* store_scope_set_addr - the entry of a scope whose address was not known (an IFUNC's) */
int store_scope_set_addr(struct store *s, int64_t scope, uint64_t addr, struct err *err);

/* store_thread_add - a new thread; create_event is STORE_NONE for the first thread */
int64_t store_thread_add(struct store *s, int tid, int64_t create_event, struct err *err);
int store_thread_exited(struct store *s, int64_t thread, const struct store_exit *ex,
                        int64_t exit_event, struct err *err);

/* store_thread_set_tid - the thread now has another tid (an exec made it the leader) */
int store_thread_set_tid(struct store *s, int64_t thread, int tid, struct err *err);

/**
 * store_event_add - record a state change
 * @subject: see enum store_event_kind
 * @detail: see enum store_event_kind, may be NULL
 *
 * Return: the event id, or -1 with err.
 */
int64_t store_event_add(struct store *s, enum store_event_kind kind, const struct store_origin *o,
                        int64_t subject, const char *detail, struct err *err);

/* store_call_open - a call begins; returns its id */
int64_t store_call_open(struct store *s, const struct store_call *c, struct err *err);

/**
 * store_call_close - a call of thread ends (the innermost of its open calls,
 * as a rule: others are looked for)
 * @pos_end: thread stream position after its last instruction
 */
int store_call_close(struct store *s, int64_t thread, int64_t call, enum store_call_end how,
                     uint64_t pos_end, uint64_t time_ns, struct err *err);

/**
 * store_insn - record that a thread executed an instruction
 * @thread: thread id
 * @addr, @bytes, @len: the instruction (len <= 15), as it really is in
 *                      memory (never with breakpoint bytes in it)
 *
 * This is the hot path; it appends to an in-memory chunk.
 * Return: the thread's stream position of the instruction, or -1 with err.
 */
int64_t store_insn(struct store *s, int64_t thread, uint64_t addr, const uint8_t *bytes, size_t len,
                   struct err *err);

/**
 * store_insn_intern - the id of an (address, bytes) pair, storing the pair if new
 *
 * For backends that record whole blocks: intern each instruction once,
 * then make blocks of them with store_block_intern().
 * Return: the id (>= 0), or -1 with err.
 */
int64_t store_insn_intern(struct store *s, uint64_t addr, const uint8_t *bytes, size_t len,
                          struct err *err);

/* store_stream_append - append interned instructions to a thread's stream */
int store_stream_append(struct store *s, int64_t thread, const uint32_t *ids, size_t n,
                        struct err *err);

/**
 * store_block_intern - store a block: a run of straight-line instructions
 * @ids: their ids (store_insn_intern()), in execution order
 * @n: how many (1..4096)
 *
 * Return: the block id (dense from 0), or -1 with err.
 */
int64_t store_block_intern(struct store *s, const uint32_t *ids, size_t n, struct err *err);

/* A block executed repeat times in a row. */
struct store_run {
	uint32_t block;
	uint64_t repeat;
};

/**
 * store_stream_append_runs - a thread executed these runs of blocks, in order
 *
 * Appends each run's repeat * (its block's length) instructions to the
 * thread's stream at the cost of one token per run (consecutive runs of
 * one block make one).
 * Return: the number of instructions appended, or -1 with err.
 */
int64_t store_stream_append_runs(struct store *s, int64_t thread, const struct store_run *runs,
                                 size_t n, struct err *err);

/* store_block_len - the number of instructions of a block (0: no such block) */
uint64_t store_block_len(const struct store *s, uint32_t block);

/* store_thread_pos - the number of instructions recorded for the thread so far */
uint64_t store_thread_pos(struct store *s, int64_t thread);

/* store_tick - commit if the commit interval has passed (call from the event loop) */
int store_tick(struct store *s, struct err *err);

/*
 * store_flush - write each pending chunk of min bytes or more (the calls
 * ended, the distinct instructions, a thread's instructions) without
 * committing: done while the program runs, it is not left to the commit
 * at the end
 */
int store_flush(struct store *s, size_t min, struct err *err);

/**
 * store_commit - commit now
 *
 * Writes every thread's pending instructions as chunks and commits, so
 * that all recorded so far survives a crash. store_tick() does this every
 * STORE_COMMIT_INTERVAL_MS; this is for moments that must not be lost
 * (for instance before the program is allowed to run after a stop).
 * Return: 0 (also when a reader's lock delays the commit to the next
 * tick), or -1 with err.
 */
int store_commit(struct store *s, struct err *err);

/*
 * store_hand_over - the writer belongs to the thread to from now on: only
 * it may call the store_* functions that write (checked in debug builds,
 * util/owner.h); it starts as its creator's
 */
void store_hand_over(struct store *s, pthread_t to);

#endif
