/*
 * The tracer core's private state, shared by core.c (call stacks) and
 * core-life.c (threads, binaries, scopes, exec, the end of the trace).
 */
#ifndef NOSCO_TRACE_CORE_INTERNAL_H
#define NOSCO_TRACE_CORE_INTERNAL_H

#include <time.h>

#include "trace/core.h"
#include "trace/images.h"
#include "util/hashmap.h"
#include "util/owner.h"
#include "util/vec.h"
#include "util/xalloc.h"

/* A thread's first frame and altstack signal frames never close by the stack pointer. */
#define SP_NEVER UINT64_MAX

struct frame {
	int64_t call;
	uint64_t entry_sp; /* stack pointer at entry; the frame is over once sp is above it */
	/* at a return point, the frame is over once sp is above this: entry_sp,
	 * except for signal handlers (just below the interrupted stack pointer,
	 * also for a handler on an alternate stack) */
	uint64_t resume_sp;
	uint64_t ret_addr;
	uint32_t depth;     /* in the recorded call tree, 1 for a root */
	uint32_t level;     /* within its scope (or the thread, in full mode), 1 first */
	uint32_t max_level; /* the scope's call-depth */
	bool truncated;     /* past the depth limit: runs free, nothing recorded inside */
	bool signal;        /* a signal handler: also closes at rt_sigreturn */
};

struct core_thread {
	pid_t tid;
	int64_t id;
	bool exited;
	VEC(struct frame) frames;
};

/* Where a configured scope resolved to. */
struct scope_arm {
	uint64_t addr;
	uint64_t image_base;
	uint32_t max_level;
};

#define IFUNC_NAMES 8

/* A scope's record in the store, filled in once its IFUNC is resolved. */
struct scope_row {
	int64_t id;
	size_t config; /* the scope's index in cfg->scopes */
};

/*
 * An IFUNC that scopes name: they are entered wherever its resolver sends
 * the program (core-scope.c).
 */
struct ifunc_scope {
	uint64_t resolver;   /* runtime address: the symbol's own value */
	uint64_t image_base; /* the binary that defines it */
	int64_t binary;      /* its store id */
	uint32_t max_level;
	const char *names[IFUNC_NAMES]; /* its symbol-table names (the binary's strings) */
	size_t n_names;
	VEC(struct scope_row) rows;
	VEC(uint64_t) impls; /* what the resolver returned, in the order found */
};

struct core {
	struct owner owner; /* the thread that may use it (util/owner.h) */
	const struct config *cfg;
	struct store *store;
	struct core_target target;
	struct images *images;
	bool full_mode;
	/* the program has IFUNCs: its start is not quiet (core_quiet_start) */
	bool early_ifunc;
	/* in scoped mode, the program's dynamic linker, read at core_new() (core_quiet_start) */
	struct image *interp;
	bool *scope_matched;          /* per config scope: a binary of that name was loaded */
	bool *scope_warned;           /* per config scope: said at start that none was loaded */
	struct hashmap scope_by_addr; /* entry address -> struct scope_arm */
	VEC(struct ifunc_scope *) ifuncs;
	VEC(struct core_thread *) threads;
	VEC(char *) binary_names; /* every binary name seen, for "did you mean" */
	int64_t n_binaries;       /* store ids are dense: the next binary's id */
	int64_t n_threads;
	struct core_stats stats;
	clockid_t clock;     /* where times come from: CLOCK_REALTIME, or its coarse variant */
	uint64_t last_ns;    /* the last time given out */
	bool clock_batch;    /* core_clock_batch(): the coarse clock read every CLOCK_EVERY times */
	unsigned clock_left; /* times given out before it is read again */
	uint64_t bt_buf[CONFIG_MAX_DEPTH > 1024 ? 1024 : CONFIG_MAX_DEPTH];
	/* core_scope_hit_at(): the entry's backtrace, known to the engine (NULL: none given) */
	/* bt_buf holds the backtrace entry_backtrace() found last, this long; 0: something else */
	size_t bt_entry_len;
	/* bt_buf holds the last binary load event's backtrace, this long; 0: something else */
	size_t bt_load_len;
	const uint64_t *given_bt;
	size_t given_bt_len;
};

/*
 * stat_set - change one of the core's statistics. Whoever owns the core
 * (the tracer thread, or the dbt engine's replay worker while it replays)
 * is the only writer, but the tracer thread reads them for the progress
 * line meanwhile (core_get_stats): a relaxed atomic store is a plain store
 * on x86-64, with no lock on the hot path.
 */
static inline void stat_set(uint64_t *stat, uint64_t value)
{
	__atomic_store_n(stat, value, __ATOMIC_RELAXED);
}

static inline struct frame *top_frame(struct core_thread *th)
{
	return th->frames.len ? &vec_last(&th->frames) : NULL;
}

/* core_now_ns - the time of a call or event (c->clock) */
uint64_t core_now_ns(struct core *c);
/* core_add_event - record a state change that happened in th (regs: where, may be NULL) */
int64_t core_add_event(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                       enum store_event_kind kind, int64_t subject, const char *detail,
                       struct err *err);
/*
 * core_add_load_event - binary was loaded in th: at the same stop as the
 * binary loaded before it (the dynamic linker reports them together), its
 * backtrace is that one's, not unwound again (0.1 ms each)
 */
int64_t core_add_load_event(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                            bool same_stop, int64_t binary, struct err *err);
/* core_open_frame - push f on th's stack and open its call record */
int core_open_frame(struct core *c, struct core_thread *th, struct frame *f,
                    struct store_call *call, const struct arch_regs *regs, struct err *err);
/* core_close_top - pop th's innermost frame and close its call record */
int core_close_top(struct core *c, struct core_thread *th, enum store_call_end how,
                   struct err *err);
void core_directive_for(struct core_thread *th, struct core_directive *d);

/* core-life.c */
/* core_thread_add - a thread's record, without frames (parent: who created it, or NULL) */
struct core_thread *core_thread_add(struct core *c, pid_t tid, struct core_thread *parent,
                                    const struct arch_regs *parent_regs, struct err *err);
/*
 * core_start_frames - what a thread records from where it starts (or
 * restarts after exec, or was when nosco attached: kind
 * STORE_CALL_ATTACHED): in full mode, a root that never closes
 */
int core_start_frames(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                      enum store_call_kind kind, struct core_directive *d, struct err *err);

/* core-scope.c */
/* core_scopes_load - resolve and arm the scopes of a binary that was just loaded */
int core_scopes_load(struct core *c, struct image *img, struct err *err);
/* core_scopes_unload - forget the scopes resolved in the binary loaded at base */
void core_scopes_unload(struct core *c, uint64_t image_base);
/* core_scopes_finish - warn about scopes whose binary never loaded */
void core_scopes_finish(struct core *c);
void core_scopes_free(struct core *c);

#endif
