/*
 * The dbt engine's pieces, shared between its files (docs/engine.md).
 *
 * The engine is the single-step backend plus a code cache: recording
 * threads run translated copies of the program's basic blocks, which log
 * one 32-bit record per block into a per-thread ring; the tracer replays
 * the rings into the core. Anything the cache cannot do (a hypercall, a
 * signal, a ptrace event, an untranslatable instruction) brings the thread
 * back to an exact application state ("materialize") and hands it to the
 * single-step engine, whose step_resume() gives it back through the
 * engine's take() (dbt_take) once a step is done.
 *
 *	memfd (shared)    tracer: one RW mapping of all of it
 *	[ lookup table | thread slots: ctx page, ring, guard page | frame rules | code regions ]
 *	tracee: table and slots RW at data_base; each code region RX near the
 *	code it holds (RIP-relative operands keep their 32-bit reach)
 */
#ifndef NOSCO_TRACE_DBT_DBT_H
#define NOSCO_TRACE_DBT_DBT_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "arch/dbt.h"
#include "trace/backend.h"
#include "trace/ptrace/tracee.h"
#include "util/arena.h"
#include "util/hashmap.h"
#include "util/populate.h"
#include "util/vec.h"

#define DBT_PAGE        4096u
#define DBT_TABLE_SIZE  (17u << 20) /* (DBT_TABLE_SLOTS + DBT_TABLE_SPILL) entries, rounded */
#define DBT_TABLE_CHUNK (64u << 10) /* the table is populated this much at a time */
/* the callers' set (arch_dbt_caller_slot), in what the table's entries leave at its end */
#define DBT_CALLERS_OFF ((uint64_t)DBT_TABLE_SIZE - DBT_CALLERS_SIZE)
_Static_assert((DBT_TABLE_SLOTS + DBT_TABLE_SPILL) * sizeof(struct arch_dbt_entry) <=
                       DBT_CALLERS_OFF,
               "the callers' set overlaps the lookup table");
#define DBT_RING_SIZE   (1u << 21)
#define DBT_RINGS       4 /* per thread: one written, the others replayed meanwhile */
#define DBT_RING_STRIDE (DBT_RING_SIZE + DBT_PAGE)                   /* a ring and its guard page */
#define DBT_SLOT_SIZE   (DBT_CTX_SIZE + DBT_RINGS * DBT_RING_STRIDE) /* ctx, rings */
#define DBT_MAX_SLOTS   256u
/*
 * The last slot's context is no thread's: the engine base of threads the
 * cache does not run (returns.c), all zeros (ctx[FREE_SP] 0: in no native
 * call), which the doors only read.
 */
#define DBT_FOREIGN_SLOT     (DBT_MAX_SLOTS - 1)
#define DBT_FRAMES_OFF       ((uint64_t)DBT_TABLE_SIZE + (uint64_t)DBT_MAX_SLOTS * DBT_SLOT_SIZE)
#define DBT_ROWS_OFF         (DBT_FRAMES_OFF + DBT_ROWS_INDEX) /* the table's head (arch/dbt.h), */
#define DBT_ROWS_SIZE        (32u << 20)                       /* then indexes and rows */
#define DBT_ROWS_AFTER       2u           /* stops that learn frames in a binary before its rows */
#define DBT_ROWS_FDES        512u         /* FDEs whose rows are written at once, between stops */
#define DBT_ROWS_POPULATE    (64u << 10)  /* rows area made present at once, ahead of the rows */
#define DBT_ROWS_FINISH_FDES 20000u       /* FDEs left whose rows are finished at the end (~8 ms) */
#define DBT_RING_POPULATE    (128u << 10) /* of a thread's first ring, present in the program */
#define DBT_DATA_SIZE        (DBT_ROWS_OFF + DBT_ROWS_SIZE)
#define DBT_REGION_SIZE      (64u << 20)
#define DBT_MAX_REGIONS      16u
#define DBT_SHM_SIZE         (DBT_DATA_SIZE + (uint64_t)DBT_MAX_REGIONS * DBT_REGION_SIZE)
#define DBT_BLOCK_MAX        CORE_BLOCK_MAX /* instructions per translated block */
#define DBT_RUNS             512            /* runs of blocks the replay gives the core at once */
/*
 * A call site over budget this often calls short functions, most likely:
 * from then on its callees run in the cache unrecorded, without a stop.
 * Until then they run natively (long ones, gzip's compression past a
 * depth limit on main, are faster so). NOSCO_DBT_TRUNCS sets it.
 */
#define DBT_TRUNCS_TO_FREE 4
/*
 * A thread that returned out of its scopes this often through a stop
 * leaves them without a stop from then on (stops.c). NOSCO_DBT_HOT sets
 * it (the differential test uses 1).
 */
#define DBT_HOT_RETURNS 16
/*
 * Blocks by id live in pages that never move (the replay worker reads them
 * during misses). A page of ids and its summaries (128 + 512 KiB) fit in
 * the arena's first chunk with the blocks of a narrowed trace; 67 million
 * blocks at most (4 times as many pages made struct dbt 192 KiB bigger,
 * and its first reading cost 0.5 ms of page faults a run).
 */
#define DBT_IDS_PER_PAGE (1u << 14)
#define DBT_ID_PAGES     (1u << 12)

/* What a hypercall (an int3 in the cache) means. */
enum dbt_hyper_kind {
	HY_EXIT,     /* a block's exit to a target not translated yet */
	HY_SYNC,     /* the head of a block the tracer wants to see entered */
	HY_TRUNC,    /* a call when the call count ran out */
	HY_SYSCALL,  /* a system call the tracer must see (sigreturn, mappings) */
	HY_STEP,     /* the next instruction cannot run in the cache */
	HY_INDIRECT, /* the lookup of an indirect branch target failed */
	HY_NATIVE,   /* a call run natively from a frame returning to a site with no door yet */
};

struct dbt_block;

/* An exit of a block: the slot its jump goes through, and its miss hypercall. */
struct dbt_link {
	uint64_t slot, miss;
	bool past_sync; /* to the block's entry, past its sync hypercall */
};

/* An exit linked to a block, in the list of the block's incoming exits. */
struct dbt_incoming {
	struct dbt_link l;
	struct dbt_incoming *next;
};

/* What a hypercall means, worked out from where it is (dbt_hyper_at). */
struct dbt_hyper {
	enum dbt_hyper_kind kind;
	struct dbt_block *b; /* NULL for HY_INDIRECT */
	uint32_t done;       /* instructions of b completed at this point */
	uint64_t target;     /* HY_EXIT, HY_STEP: where the application goes next */
	uint64_t slot;       /* HY_EXIT: the exit's slot (tracee address) */
	bool past_sync;      /* HY_EXIT: the exit goes past its target's sync hypercall */
	bool free;           /* it leads to unrecorded code (HY_EXIT, HY_INDIRECT) */
};

/* An exit of a block in the cache: its slot, the int3 the slot holds until linked, its target. */
struct dbt_exit {
	uint64_t slot, miss, target;
	bool free;      /* to the unrecorded translation of target */
	bool past_sync; /* to its entry, past its sync hypercall */
};

/* A translated basic block. */
struct dbt_block {
	uint64_t addr;  /* application address of its first instruction */
	uint64_t start; /* its first byte in the cache (its exits' slots, their misses) */
	uint64_t cache; /* its head in the cache (the sync hypercall, if any) */
	uint64_t entry; /* where to enter it without the sync hypercall */
	uint64_t body;  /* the code of instruction 0 */
	uint64_t end;   /* first byte after its code */
	uint32_t id;    /* its ring record */
	uint32_t n;     /* instructions */
	struct dbt_insn *insns;
	uint32_t *off;     /* cache address - body of each instruction's code */
	uint32_t term_end; /* off of what follows the terminator's own effect (syscall: 0 if n/a) */
	bool sync;
	uint64_t sync_at; /* its sync hypercall (the head, or in a scope's entry code) */
	bool dead;
	bool free; /* an unrecorded translation: no ring records (calls past the depth limit) */
	uint8_t n_exits;
	struct dbt_exit exits[3];
	uint64_t pad_int3; /* the hypercall of a call over budget or a listed system call, or 0 */
	/* a call that may go over budget into its callee unrecorded: the pad's slot, and where
	 * it leads once the call site was seen often (dbt_trunc_seen) */
	uint64_t pad_slot, pad_free;
	uint32_t truncs;   /* the call went over budget through the hypercall this often */
	bool native_tried; /* dbt_native_try() was: the callee runs natively if it could */
	struct dbt_incoming *incoming; /* exits whose slot leads here */
};

#define DBT_NO_STORE UINT32_MAX

/*
 * What the replay reads of a block for each of its records, kept by id in
 * an array of its own: replaying millions of records over tens of
 * thousands of blocks, one cache line per two blocks beats following
 * pointers into each block's instructions (core_transfer() needs the
 * terminator's address, length and class only).
 */
struct dbt_hot {
	uint64_t addr;      /* the block's first instruction */
	uint64_t fall;      /* what follows its terminator */
	int32_t delta;      /* what the instructions before the terminator add to sp */
	int32_t term_delta; /* what the terminator adds */
	uint32_t store;     /* its store block, DBT_NO_STORE until it is first recorded */
	uint8_t cls;        /* the terminator's enum arch_insn_class */
	uint8_t term_len;   /* the terminator's length */
	bool plain;         /* no sp records, deltas as above: the replay needs no more */
	bool sync;          /* its head is a sync hypercall (scope entries are) */
};

struct dbt_region {
	uint64_t base; /* in the tracee */
	uint8_t *map;  /* in the tracer */
	uint64_t used;
	uint64_t populated;           /* bytes from map on backed by memory (populate_write) */
	uint64_t dispatch, fdispatch; /* the lookups: of recorded, of unrecorded translations */
	uint64_t ind_miss, find_miss; /* their misses */
	uint64_t leave;               /* arch_dbt_emit_leave's code */
	uint64_t leave_native;        /* its native form: out of the scopes, natively (doors.c) */
	uint64_t leave_resume;        /* natively, in the truncated call a scope was entered from */
	uint64_t watches;             /* the table its leaves look watches up in (returns.c) */
	uint64_t gadget;
	uint64_t batch, batch_end;      /* arch_dbt_emit_batch's code, where it stops */
	VEC(struct dbt_block *) blocks; /* in cache order */
};

/* A /proc/PID/maps line. */
struct dbt_map {
	uint64_t lo, hi;
	bool r, w, x, shared;
	bool stack; /* the main thread's stack */
	bool vdso;
};

/* The replay of one thread's ring into the core. */
struct dbt_replay {
	/* the block whose record was read last: how far it ran is known later */
	uint32_t id;
	struct dbt_hot *hot; /* its summary; NULL: no such block */
	uint64_t sp_in;      /* sp when it was entered */
	VEC(uint64_t) dyn;   /* its sp records so far */
	uint64_t sp;         /* sp after the last completed block */
	/* runs of store blocks not given to the core yet (the last one may grow) */
	struct store_run runs[DBT_RUNS];
	uint32_t n_runs;
	uint64_t close_sp; /* core_close_sp() of the thread, as of the last core call */
	/* what the core is given of a control transfer: zero but for pc and sp */
	struct arch_regs before, after;
	/*
	 * The last instruction was recorded: the next one is where that step
	 * ended, where the step engine steps over its breakpoints instead of
	 * stopping at them.
	 */
	bool just_recorded;
	bool landed_recorded; /* at the last finish: the thread got there by a recorded step */
	bool free;            /* it runs unrecorded (DBT_REC_FREE_IN or LEFT read, not FREE_OUT) */
	uint64_t free_at;     /* where that unrecorded call went */
	bool free_back; /* FREE_OUT read: the next block is where the unrecorded call returned */
	/* a scope entered without a stop (DBT_REC_SCOPE_*): where, with what return address */
	bool scope_in;
	uint64_t scope_sp, scope_ret;
	uint64_t scope_bt[DBT_WALK_MAX]; /* its backtrace (DBT_REC_SCOPE_BT) */
	uint32_t scope_bt_len;
	uint32_t last_bt_len; /* of the last record that listed its addresses: a short one's */
};

struct dbt_thread {
	struct tthread *th;
	struct step_thread *step; /* step_of(th), one load away as th was (the replay reads it) */
	/* taken from the step engine (dbt_take()): it runs in the cache, resumed
	 * with PTRACE_CONT, and its stops are this engine's until it is materialized */
	bool in_cache;
	uint32_t slot;
	uint64_t ctx;  /* tracee address of its context page */
	uint8_t *ctxp; /* tracer view of it */
	/* its rings: ring k at rings + k * DBT_RING_STRIDE */
	uint64_t rings;          /* tracee address */
	uint8_t *ringsp;         /* tracer view */
	uint32_t cur;            /* the ring it writes, at: */
	uint64_t ring;           /* tracee address */
	uint8_t *ringp;          /* tracer view */
	uint8_t held[DBT_RINGS]; /* its rings' jobs the worker has not replayed (async.c's lock) */
	size_t taken;            /* words of its ring handed to the worker already */
	uint64_t seen;           /* its cursor when the tracer last woke while it ran */
	uint64_t app_base;       /* the application's value of the engine base register */
	uint32_t returns_out; /* times it returned out of every recorded frame (through a stop) */
	uint32_t hot_at;      /* returns_out from which it stays in the cache between scopes */
	uint32_t misses_out;  /* cache misses between scopes since it last entered one */
	uint64_t miss_cursor; /* its ring's cursor after the last of them */
	bool door;            /* the scope it entered last by a stop has a door (doors.c) */
	uint32_t force_step;  /* steps the step engine is to make before the cache takes over */
	bool guarding;        /* its rings' guard calls started, not checked yet (stops.c) */
	bool guarding_frames; /* and the frame table made present with them */
	long syscall_nr;      /* a system call the tracer stepped, to act on once it ran */
	uint64_t syscall_args[4];
	struct dbt_replay rp;
};

/* A binary frames were learned in, and its frame rows in the rows area (frames.c). */
struct dbt_rows {
	uint64_t lo, hi;           /* the binary's extent */
	uint64_t key;              /* what its rows are made of (sym_rows_cursor.key) */
	uint64_t stops, last_stop; /* stops that learned frames in it, the last one's number */
	uint64_t off, n;           /* where its rows are in the shared memory, how many */
	uint64_t pages;            /* where their page index is (arch/dbt.h) */
	bool written;              /* its rows were written (n 0: they could not be) */
	bool kept;                 /* a run before kept them (rows-cache.c): read, not written */
	bool published;            /* in the index the program reads */
};

/* A file of rows kept by a run before, being copied and checked (rows-cache.c). */
struct dbt_rows_kept {
	bool open; /* fd is the file, while its rows are copied */
	int fd;
	size_t n;            /* rows in it */
	uint64_t span;       /* the binary's extent, beyond which no row may start */
	size_t done;         /* rows copied so far (dbt_rows_cache_copy()) */
	uint64_t hash, want; /* of those, and what the file says all have */
	uint64_t last;       /* the last row copied, checked against the next */
	bool bad;            /* a row out of order, or a read or write that failed */
	uint64_t *part;      /* the rows being copied */
};

/* A binary's page index (arch/dbt.h) being made from its rows, in order (frames.c). */
struct dbt_pages_build {
	uint32_t *index; /* where it goes, after the rows */
	uint64_t n;      /* its words */
	uint64_t next;   /* the first page without its word */
	uint64_t seen;   /* rows seen so far */
};

/* The rows of a binary being written after the others, a part at a time (frames.c). */
struct dbt_rows_build {
	bool on;
	size_t binary; /* its struct dbt_rows */
	struct sym_rows_cursor cur;
	uint64_t end;                 /* the last row's */
	size_t n;                     /* rows written (those copied: kept.done) */
	uint64_t populated;           /* the rows area's bytes made present, up to here */
	struct dbt_rows_kept kept;    /* copied from a run before (rows-cache.c), if open */
	struct dbt_pages_build pages; /* of the rows copied: from the copy's buffer */
};

struct dbt {
	struct tracee *t;
	struct session *s;
	int shm_fd;
	uint8_t *shm;             /* the tracer's mapping of the whole memfd */
	bool ready;               /* the tracee has the data mapping */
	uint64_t mapping_data;    /* the list of the batch that maps it, while it runs (mem.c) */
	bool broken;              /* the cache cannot be used here: step everything */
	bool callers_present;     /* the callers' set made present in the tracer (returns.c) */
	uint64_t data_base;       /* its address in the tracee */
	uint64_t program_syscall; /* a syscall in the program's code, once found (mem.c) */
	/* a batch of remote calls that runs while the tracer works (dbt_remote_batch_start()) */
	struct {
		struct tthread *th; /* the thread making them; NULL: none */
		struct arch_regs saved;
	} batch;
	uint32_t ring_size; /* bytes of each ring before its guard page (DBT_RING_SIZE at most) */
	uint32_t truncs_to_free; /* DBT_TRUNCS_TO_FREE, or NOSCO_DBT_TRUNCS */
	bool no_native; /* NOSCO_DBT_NATIVE=0: calls past the depth limit never run natively */
	uint32_t hot_returns; /* DBT_HOT_RETURNS, or NOSCO_DBT_HOT */
	struct dbt_region regions[DBT_MAX_REGIONS];
	uint32_t n_regions;
	bool slot_used[DBT_MAX_SLOTS];
	bool slot_guarded[DBT_MAX_SLOTS];
	bool frames_present;     /* the frame table made present in the program (stops.c) */
	struct hashmap threads;  /* tthread pointer -> struct dbt_thread */
	struct arena arena;      /* blocks, their links, the by-id pages: freed with the cache */
	struct hashmap by_addr;  /* application address -> live struct dbt_block */
	struct hashmap no_trans; /* application address -> (void *)1: single-step it */
	struct hashmap waiting;  /* target -> VEC of slots waiting for it (struct dbt_slots) */
	struct hashmap pages;    /* page address -> its code as read (breakpoints masked) */
	/* blocks by id: id_pages[id >> 16][id & 0xffff] */
	struct dbt_block **id_pages[DBT_ID_PAGES];
	struct dbt_hot *hot_pages[DBT_ID_PAGES]; /* the same for their replay summaries */
	uint32_t n_ids;                          /* ids given out (atomic: the worker reads it) */
	VEC(struct dbt_map) maps;
	bool maps_stale;
	uint32_t table_used;
	uint8_t table_populated[DBT_TABLE_SIZE / DBT_TABLE_CHUNK / 8]; /* bitmap of chunks */
	/* counters for the session metadata */
	uint64_t n_fallback; /* instructions single-stepped because the cache could not run them */
	uint64_t n_stepped;  /* instructions single-stepped for the tracer's control */
	uint64_t n_misses, n_blocks, n_syncs, n_drains, n_doors;
	uint64_t n_full;      /* rings that filled up */
	uint32_t frames_used; /* slots of the frame rules set (frames.c) */

	/* frames.c: the frame rows of binaries, written in the rows area, published or not */
	VEC(struct dbt_rows) rows;
	VEC(size_t) rows_todo; /* binaries whose rows are to be published (in rows) */
	uint64_t rows_used;    /* bytes of the rows area written */
	struct dbt_rows_build building;
	uint64_t stop_seq;         /* stops that learned frames */
	uint32_t rows_after;       /* DBT_ROWS_AFTER, or NOSCO_DBT_ROWS_AFTER */
	char *rows_cache;          /* the directory of rows kept between runs, or NULL */
	bool rows_at_end;          /* NOSCO_DBT_ROWS_AT_END: rows begun, written at the end only */
	uint64_t n_rows;           /* rows written in the run */
	uint64_t n_worker_records; /* ring records the replay worker replayed */
	uint64_t n_running_jobs;   /* of them handed over while their thread ran (async.c) */
	struct dbt_async *async;   /* the replay worker, once a ring was handed over */
	bool wake_set;             /* a wake-up to hand records over while threads run is set */
	/* doors.c: scope entry -> struct dbt_door (&no_door: none can be there) */
	struct hashmap doors;
	struct hashmap door_parts; /* the addresses of a door's code that mean something */
	char no_door;
	/* returns.c: return site -> struct dbt_door (&no_door: none can be there), and a native
	 * call's miss hypercall -> struct dbt_native */
	struct hashmap ret_doors, natives;
	struct hashmap watches; /* returns.c: return address -> struct dbt_watch */
	struct hashmap fns;     /* branches.c: a function's start -> its branches */
	uint64_t n_native;      /* call sites past the depth limit whose callee runs natively */
	uint64_t n_door_faults; /* threads with no engine base sent past a return door */
	uint64_t n_watches;     /* watches written (returns.c) */
	/* the replay's: scopes entered in a native call without a stop, and returns out of a
	 * scope entered in a truncated call that went on natively in it (stops.c's nest()) */
	uint64_t n_nested, n_resumed;
	uint64_t n_stops; /* stops of traced threads the engine handled (dbt_handle()) */
	bool foreign_all; /* every thread has an engine base (foreign_all()) */
	bool no_doors; /* the program sets its engine base register: no thread runs natively with a
	                  context */
};

/* dbt_ctx_get - a word of dt's context page (offset DBT_CTX_*), as the tracer sees it */
static inline uint64_t dbt_ctx_get(const struct dbt_thread *dt, uint32_t off)
{
	uint64_t v;

	memcpy(&v, dt->ctxp + off, 8);
	return v;
}

/* dbt_ctx_set - set a word of dt's context page */
static inline void dbt_ctx_set(struct dbt_thread *dt, uint32_t off, uint64_t v)
{
	memcpy(dt->ctxp + off, &v, 8);
}

/* dbt_block_by_id - the block a ring record names, or NULL if there is none */
static inline struct dbt_block *dbt_block_by_id(const struct dbt *d, uint32_t id)
{
	if (id >= __atomic_load_n(&d->n_ids, __ATOMIC_ACQUIRE))
		return NULL;
	return d->id_pages[id / DBT_IDS_PER_PAGE][id % DBT_IDS_PER_PAGE];
}

/* dbt_replay_block - the block a thread's replay has read the record of last, or NULL */
static inline struct dbt_block *dbt_replay_block(const struct dbt *d, const struct dbt_replay *rp)
{
	return rp->hot ? dbt_block_by_id(d, rp->id) : NULL;
}

/* dbt_hot_by_id - the replay summary of the block a ring record names, or NULL */
static inline struct dbt_hot *dbt_hot_by_id(const struct dbt *d, uint32_t id)
{
	if (id >= __atomic_load_n(&d->n_ids, __ATOMIC_ACQUIRE))
		return NULL;
	return &d->hot_pages[id / DBT_IDS_PER_PAGE][id % DBT_IDS_PER_PAGE];
}

/* --- mem.c: the shared memory, remote system calls, code regions --- */
int dbt_mem_init(struct dbt *d, struct err *err);
void dbt_mem_fini(struct dbt *d);
/* dbt_mem_reset - forget the tracee side (after exec): everything is mapped afresh */
void dbt_mem_reset(struct dbt *d);
/*
 * dbt_mem_ready_start, _end - map the data area into the tracee (through
 * th) if not done yet, and the first code region, within reach of pc: the
 * tracer goes on while th maps the data (dbt_remote_batch_start()) until
 * _end() waits for it; nothing else may be done to th in between
 */
int dbt_mem_ready_start(struct dbt *d, struct tthread *th, uint64_t pc, struct err *err);
int dbt_mem_ready_end(struct dbt *d, struct tthread *th, struct err *err);
/* dbt_region_at - the region whose code (what is written of it) holds the tracee address pc */
const struct dbt_region *dbt_region_at(const struct dbt *d, uint64_t pc);
/* dbt_region_ahead - rg's memory backed ahead of what is written next at rg->used */
void dbt_region_ahead(struct dbt_region *rg);
/* dbt_region_for - a code region within reach of addr (mapped through th if new), or NULL */
struct dbt_region *dbt_region_for(struct dbt *d, struct tthread *th, uint64_t addr,
                                  struct err *err);
/*
 * dbt_region_code - where to write code within reach of addr: the free end
 * of rg (returned, NULL with none; rg->used moves once it is written)
 */
struct dbt_region *dbt_region_code(struct dbt *d, struct tthread *th, uint64_t addr,
                                   struct dbt_code *c);
/* dbt_tracee - the tracer's view of a tracee address of the shared memory */
void *dbt_tracer_ptr(struct dbt *d, uint64_t addr);
int dbt_remote_syscall(struct dbt *d, struct tthread *th, long nr, const uint64_t args[6],
                       uint64_t *ret, struct err *err);
/*
 * dbt_remote_batch - th makes the n system calls of the table of struct
 * arch_dbt_syscall at at (in the shared memory) in one go, one stop
 * instead of one each (where the engine has code in the program's memory),
 * writing their results there.
 */
int dbt_remote_batch(struct dbt *d, struct tthread *th, uint64_t at, size_t n, struct err *err);
/*
 * dbt_remote_batch_start - dbt_remote_batch() with the tracer going on
 * meanwhile: th makes the calls until dbt_remote_batch_end() waits for
 * them. Only where nothing else is done to th in between; every other
 * remote call waits for the batch first.
 */
int dbt_remote_batch_start(struct dbt *d, struct tthread *th, uint64_t at, size_t n,
                           struct err *err);
/* dbt_remote_batch_end - the batch started last has run (at once if none) */
int dbt_remote_batch_end(struct dbt *d, struct err *err);
/* dbt_maps - the mapping holding addr (maps re-read when stale), or NULL */
const struct dbt_map *dbt_maps_find(struct dbt *d, uint64_t addr);
/*
 * dbt_mem_unmap - remove the engine's mappings from th's address space (a
 * forked child's, or the program's when nosco detaches from it)
 */
int dbt_mem_unmap(struct dbt *d, struct tthread *th, struct err *err);

/* --- cache.c: translation, linking, lookup --- */
#define DBT_NO_BUDGET (-1) /* the calls a thread may still make: not known */
/*
 * dbt_block_at - the block starting at addr, translated now if need be
 * (unrec: its unrecorded translation), with some blocks it leads to,
 * where a thread there may still make budget calls (ctx[UP]; the callees
 * of the calls past that run natively, and are not translated ahead);
 * NULL: step it
 */
struct dbt_block *dbt_block_at(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec,
                               int64_t budget);
/*
 * dbt_scope_block_at - dbt_block_at() at the entry of a scope a thread
 * enters with budget: more of what the scope records is translated ahead
 */
struct dbt_block *dbt_scope_block_at(struct dbt *d, struct tthread *th, uint64_t addr,
                                     int64_t budget);
/* dbt_block_alone - dbt_block_at() with no block translated ahead of need */
struct dbt_block *dbt_block_alone(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec);
/* dbt_translatable - can the cache run the code at addr? */
bool dbt_translatable(struct dbt *d, struct tthread *th, uint64_t addr);
/* dbt_locate - the block whose code holds the cache address pc, or NULL */
struct dbt_block *dbt_locate(struct dbt *d, uint64_t pc);
/*
 * dbt_fault_block - the block whose last instruction the code at pc stands
 * for (its terminator, or the pad of a call over budget), or NULL: a
 * fault there is the instruction's own, before it ran
 */
struct dbt_block *dbt_fault_block(struct dbt *d, uint64_t pc);
/* dbt_link - point an exit at its now translated target */
void dbt_link(struct dbt *d, struct dbt_link l, struct dbt_block *to);
/* dbt_table_add - make the dispatchers find b */
void dbt_table_add(struct dbt *d, struct dbt_block *b);
/* dbt_invalidate - forget the blocks overlapping [lo, hi) */
void dbt_invalidate(struct dbt *d, uint64_t lo, uint64_t hi);
void dbt_cache_reset(struct dbt *d);
/* dbt_trunc_seen - b's call went over budget through its hypercall: count it */
void dbt_trunc_seen(struct dbt *d, struct dbt_block *b);
/* dbt_hyper_at - is the int3 at cache address at a hypercall? *h says what it means */
bool dbt_hyper_at(struct dbt *d, uint64_t at, struct dbt_hyper *h);
/*
 * dbt_add_id - b (b->id the next id) found by its id from now on, with its
 * replay summary; published last, once the replay worker may see it
 */
void dbt_add_id(struct dbt *d, struct dbt_block *b);
/* dbt_block_intern - b in the trace (core_block), the first time a thread ran it: h->store is its
 * id */
int64_t dbt_block_intern(struct dbt *d, const struct dbt_block *b, struct dbt_hot *h,
                         struct err *err);

/* --- replay.c: rings into the core --- */
/* dbt_replay_start - th enters the cache with these registers */
void dbt_replay_start(struct dbt_thread *dt, const struct arch_regs *regs);
/* dbt_drain - replay what th's ring holds (after what the worker has), then empty the ring */
int dbt_drain(struct dbt *d, struct dbt_thread *dt, struct err *err);
/*
 * dbt_ring_take - the words of dt's ring no job has: *from to *n; its
 * cursor goes back to the start
 */
int dbt_ring_take(struct dbt *d, struct dbt_thread *dt, size_t *from, size_t *n, struct err *err);
/**
 * dbt_replay_records - replay n records of dt's ring
 * @worker: called by the replay worker, which stops before a record it must
 *          leave to the tracer thread (the core does not record dt)
 * @used: how many records were replayed
 */
int dbt_replay_records(struct dbt *d, struct dbt_thread *dt, const uint32_t *w, size_t n,
                       bool worker, size_t *used, struct err *err);

/*
 * --- async.c: full rings replayed on another CPU ---
 * While a worker thread replays, the core and the store are its own: the
 * tracer thread only serves cache misses and full rings until it calls
 * dbt_async_sync().
 */
/*
 * dbt_async_push - hand dt's ring to the worker and make the next one dt's
 * ring (waiting for the worker to be done with it if need be)
 */
int dbt_async_push(struct dbt *d, struct dbt_thread *dt, struct err *err);
/*
 * dbt_async_offer - dt is stopped in the cache anyway: if the worker has
 * nothing to do, it gets what dt's ring holds now rather than once the
 * ring is full, so that the replay keeps up with the program instead of
 * finishing long after it
 */
int dbt_async_offer(struct dbt *d, struct dbt_thread *dt, struct err *err);
/*
 * dbt_async_wake_later - a stop was handled: make sure the tracer wakes
 * soon to call dbt_async_running(), if there are threads with rings
 */
void dbt_async_wake_later(struct dbt *d);
/*
 * dbt_async_running - woken while the program runs: if the worker has
 * nothing to do, it gets what running threads' rings hold so far (they
 * write on past it), so that a thread's stop (its exit) has only what
 * came since to replay; wakes again soon while their rings grow
 */
int dbt_async_running(struct dbt *d, struct err *err);
/* dbt_async_sync - wait for the worker and replay what it left: the core is the caller's again */
int dbt_async_sync(struct dbt *d, struct err *err);
/* dbt_async_idle - the worker has nothing to do (the store may be committed) */
bool dbt_async_idle(struct dbt *d);
/* dbt_async_free - stop the worker, dropping what it has not replayed */
void dbt_async_free(struct dbt *d);
/**
 * dbt_replay_finish - th stopped: bring the core up to the application state
 * @b: the block it is in (its record read), or NULL if between blocks
 * @done: instructions of b completed
 * @pc: the application address it continues at
 * @regs: its registers (with pc set), or NULL if they are gone (exec)
 *
 * Return: 1 if the thread reached a return point there (as a breakpoint
 * would have told the step engine), 0, or -1 with err.
 */
int dbt_replay_finish(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, uint32_t done,
                      uint64_t pc, const struct arch_regs *regs, struct err *err);

/* --- materialize.c: back to an exact application state --- */
/* Where a stopped cache thread is, in application terms. */
struct dbt_loc {
	struct dbt_block *b; /* the block it entered and is in, or NULL between blocks */
	uint32_t done;       /* instructions of b completed */
	uint64_t pc;         /* the application address it continues at */
};

enum dbt_mat {
	MAT_STEP,    /* single-step it out of engine code */
	MAT_NO_STEP, /* it cannot run (exiting): the nearest instruction boundary */
	MAT_FAULT,   /* a synchronous fault: inside a terminator's code means before it */
};

/* A signal that arrived while a thread was being stepped out of engine code. */
struct dbt_stash {
	int sig;
	siginfo_t si;
};

/**
 * dbt_materialize - bring a stopped cache thread out of the cache
 * @at_int3: it stopped after executing the hypercall just before its pc
 *
 * Replays its ring up to where it is, sets its registers to the
 * application's (th->regs too) and hands it back to the step engine
 * (dt->in_cache false, no pending instruction).
 * Return: 1 if a return point was reached there (the core's directive
 * changed as a breakpoint would have made it), 0, 2 if the thread stopped
 * otherwise while being stepped out of engine code (its status is queued
 * for the event loop and nothing else was done), or -1 with err.
 */
int dbt_materialize(struct dbt *d, struct dbt_thread *dt, enum dbt_mat how, bool at_int3,
                    struct dbt_loc *l, struct dbt_stash *stash, struct err *err);

/*
 * dbt_materialize_native - the same for a thread that runs natively
 * between its scopes (doors.c), stopped at pc (@trap: by the int3 before
 * it, as the step engine will see it)
 */
int dbt_materialize_native(struct dbt *d, struct dbt_thread *dt, uint64_t pc, bool trap,
                           struct err *err);

/* dbt_ring_full - is the stop (si) th's ring reaching its guard? then it is emptied */
int dbt_ring_full(struct dbt *d, struct dbt_thread *dt, const siginfo_t *si, bool *yes,
                  struct err *err);

/* --- stops.c: stops of threads running in the cache --- */
/* dbt_handle - act on one stop or exit (threads outside the cache go to the step engine) */
int dbt_handle(struct dbt *d, const struct tracee_event *ev, struct err *err);
/*
 * dbt_syscall_restarts - th stopped at the end of a copied syscall that the
 * kernel restarts when it resumes (interrupted by a signal or a ptrace
 * stop): then it is materialized with the syscall as its pending
 * instruction and its pc after it, where the kernel expects it (1); else
 * nothing is done (0). -1 on error.
 */
int dbt_syscall_restarts(struct dbt *d, struct dbt_thread *dt, struct err *err);
/*
 * dbt_thread_made - *dt: th's state in the engine, made, and the engine's
 * memory mapped into the program, if need be; NULL where th cannot run
 * in the cache (the engine broken: a warning says why)
 */
int dbt_thread_made(struct dbt *d, struct tthread *th, struct dbt_thread **dt, struct err *err);
/*
 * dbt_thread_made_start, _end - dbt_thread_made() in two, the program
 * mapping the engine's memory in between while the tracer goes on
 * (dbt_mem_ready_start()); nothing else may be done to th in between
 */
int dbt_thread_made_start(struct dbt *d, struct tthread *th, struct err *err);
int dbt_thread_made_end(struct dbt *d, struct tthread *th, struct dbt_thread **dt, struct err *err);
/* dbt_take - the engine's take() (trace/engine.h): run a recording thread in the cache */
int dbt_take(struct dbt *d, struct tthread *th, bool *taken, struct err *err);
/* dbt_thread_of - th's engine state, created if need be */
struct dbt_thread *dbt_thread_of(struct dbt *d, struct tthread *th, bool create);
void dbt_thread_free(struct dbt *d, struct tthread *th);
/* dbt_threads_free - forget every thread's engine state */
void dbt_threads_free(struct dbt *d);

/*
 * Frame rules for the stack walk at scope entries (frames.c): a thread
 * between scopes whose stack they cover enters a scope without a stop.
 */
/*
 * dbt_frames_scope_hit - th stopped at a scope's entry: core_scope_hit(),
 * and the frames of the entry learned when the core records from there
 */
int dbt_frames_scope_hit(struct dbt *d, struct tthread *th, struct core_directive *nd,
                         struct err *err);
/*
 * dbt_frames_defer - write or publish a part of the frame rows of the
 * binaries learning stops saw (the engine's defer()); false when none is
 * left to do now
 */
bool dbt_frames_defer(struct dbt *d);
/*
 * dbt_frames_finish - the program ended: the rows of a binary still being
 * written are finished to be kept for the next run (rows-cache.c; not
 * without a directory to keep them in), where at most
 * DBT_ROWS_FINISH_FDES FDEs are left: rows that a short program never
 * saw finished would be begun again in every run; a binary with more
 * left waits for a run long enough to write them
 */
void dbt_frames_finish(struct dbt *d);
/* dbt_frames_forget - a mapping changed: no frame rule holds any more */
void dbt_frames_forget(struct dbt *d);
/* dbt_frames_unload - the binary at [start, end) is gone: dbt_frames_forget(), and its rows too */
void dbt_frames_unload(struct dbt *d, uint64_t start, uint64_t end);
/* dbt_frames_fini - free what the frame rows hold */
void dbt_frames_fini(struct dbt *d);

/*
 * Frame rows kept between runs (rows-cache.c), in the directory
 * dbt_rows_cache_dir() names (NULL: none, NOSCO_NO_CACHE set or no
 * home). dbt_rows_cache_has() says whether a file of key is there;
 * dbt_rows_cache_open() opens the rows of key for a binary of that span
 * (at most max), false if none are kept or the file is not of their size,
 * until dbt_rows_cache_close(); dbt_rows_cache_copy() copies the next
 * 64 KiB of them (or fewer) into the file to, the rows from byte at on,
 * checking them, and says how many; dbt_rows_cache_whole() says whether
 * all are copied and were as written (their hash, their order);
 * dbt_rows_cache_save() keeps n rows, if it can.
 */
char *dbt_rows_cache_dir(void);
bool dbt_rows_cache_has(const char *dir, uint64_t key);
bool dbt_rows_cache_open(const char *dir, uint64_t key, uint64_t span, size_t max,
                         struct dbt_rows_kept *k);
size_t dbt_rows_cache_copy(struct dbt_rows_kept *k, int to, uint64_t at);
bool dbt_rows_cache_whole(const struct dbt_rows_kept *k);
void dbt_rows_cache_close(struct dbt_rows_kept *k);
void dbt_rows_cache_save(const char *dir, uint64_t key, uint64_t span, const uint64_t *rows,
                         size_t n);

/* --- doors.c: native between scopes, entered without a stop --- */
/*
 * dbt_door_try - th enters the scope at at, and leaves its scopes often: a
 * door there, once (*open: there is one)
 */
int dbt_door_try(struct dbt *d, struct tthread *th, uint64_t at, bool *open, struct err *err);
/* dbt_door_hyper - is the int3 at at a door's miss? *h says what it means */
bool dbt_door_hyper(struct dbt *d, uint64_t at, struct dbt_hyper *h);
/*
 * dbt_door_rewind - th (ev) stopped in a door: make the stop what it would
 * have been without the door (the int3 at the entry, or a signal there).
 * Return: 1 if it was (ev changed), 2 if th faulted in a return door's
 * check (for dbt_door_pass(), ev unchanged), 0 if it is no door's, -1 on
 * error.
 */
int dbt_door_rewind(struct dbt *d, struct tthread *th, struct tracee_event *ev, struct err *err);
/*
 * dbt_door_leave - th, which the step engine runs, is going to run without
 * the doors (nosco detaches): if it stopped at a door's start, it is put
 * back at the entry
 */
int dbt_door_leave(struct dbt *d, struct tthread *th, struct err *err);
/*
 * dbt_door_disarm - the scope at at is gone (its binary unloaded): its
 * door is forgotten, and its jump in padding (where it has one) goes too
 */
void dbt_door_disarm(struct dbt *d, uint64_t at);
/* dbt_doors_reset - forget every door (the image is gone: exec) */
void dbt_doors_reset(struct dbt *d);

/*
 * A door's jump in the program's code and the code it leads to: a scope's
 * entry (doors.c) or the return site of calls past the depth limit whose
 * callees run natively (returns.c).
 */
struct dbt_door {
	uint64_t at; /* where the jump is */
	/* the jump's length there; with ARCH_DBT_HOP_LEN, pad holds the jump to the door */
	size_t len;
	uint64_t pad;
	struct arch_dbt_door parts;
	/* a return door: where a thread with the application's engine base goes on from its
	 * fault at parts.load, and the word that makes every thread stop (0: an entry's door) */
	uint64_t pass, armed;
};
/*
 * dbt_door_jumped_into - may code near lo jump into (lo, hi)? (doors.c)
 * dbt_door_inside - is a thread other than th stopped in (at, at + len)?
 * dbt_door_register - the addresses of dr's code the tracer must recognize
 */
bool dbt_door_jumped_into(struct dbt *d, uint64_t lo, uint64_t hi);
bool dbt_door_inside(struct dbt *d, struct tthread *th, uint64_t at, size_t len);
void dbt_door_register(struct dbt *d, struct dbt_door *dr);
void dbt_door_unregister(struct dbt *d, struct dbt_door *dr);
/*
 * dbt_door_pass - th (not in the cache) faulted in a return door's check:
 * it goes on natively past the site (returns.c)
 */
int dbt_door_pass(struct dbt *d, struct tthread *th, struct err *err);

/*
 * dbt_fn_jumps_into - does the function [s, e) branch into (lo, hi)? 1 or
 * 0; -1 if it cannot be told (too long, or not decodable from s to e)
 */
int dbt_fn_jumps_into(struct dbt *d, uint64_t s, uint64_t e, uint64_t lo, uint64_t hi);
/* dbt_fns_drop - forget what the functions overlapping [lo, hi) branch to (code changed) */
void dbt_fns_drop(struct dbt *d, uint64_t lo, uint64_t hi);

/* --- returns.c: calls past the depth limit run natively --- */

/*
 * dbt_native_try - dt stopped at b's hypercall for a call over budget (sp
 * its stack pointer):
 * from now on that call runs its callee natively (arch_dbt_native), where
 * return doors can be written at its return site and at the return
 * address of the frame it is made from; then dt goes on so at once (1).
 * 0: it cannot, or it was tried before.
 */
int dbt_native_try(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, uint64_t sp,
                   struct err *err);
/* dbt_native_hyper - is the int3 at at a native call's miss? *h says what it means */
bool dbt_native_hyper(struct dbt *d, uint64_t at, struct dbt_hyper *h);
/*
 * dbt_native_miss - dt stopped at a native call's miss at at: its frame's
 * return address gets a return door, or that call enters its callee
 * unrecorded from frames that return elsewhere; dt goes on
 */
int dbt_native_miss(struct dbt *d, struct dbt_thread *dt, uint64_t at, struct err *err);
/*
 * dbt_foreign_base - the engine base of a thread the cache does not run
 * whose own is app_base: the foreign context, where doors can be (the
 * program does not use its engine base), app_base otherwise
 */
uint64_t dbt_foreign_base(const struct dbt *d, uint64_t app_base);
/* dbt_is_engine_base - is base one the engine gave (a context, or the foreign one)? */
bool dbt_is_engine_base(const struct dbt *d, uint64_t base);
/* dbt_return_caught - is a return to at caught natively: a return door or a watch there? */
bool dbt_return_caught(struct dbt *d, uint64_t at);
/*
 * dbt_watch_pass - th stopped (status) at a breakpoint's trap, pc after
 * it: if that is a watch's, and th is neither a native call's thread that
 * returned past its frame there nor one the step engine stops there, it
 * is sent on to the pass code (1); 0 if the stop is not that, -1 on error
 */
int dbt_watch_pass(struct dbt *d, struct tthread *th, int status, uint64_t pc, struct err *err);
/* dbt_ret_doors_arm - every thread stops at every return door (a thread uses its engine base) */
void dbt_ret_doors_arm(struct dbt *d);
/* dbt_ret_doors_drop - the return doors and watches in [lo, hi) go (their code unmapped or
 * replaced) */
void dbt_ret_doors_drop(struct dbt *d, uint64_t lo, uint64_t hi);
/* dbt_ret_doors_reset - forget every return door, watch and native call (the image is gone: exec)
 */
void dbt_ret_doors_reset(struct dbt *d);

/* --- detach.c: leaving a program nosco attached to --- */
/* dbt_settle - the engine's settle() (trace/engine.h): th out of the cache */
int dbt_settle(struct dbt *d, struct tthread *th, struct err *err);
/* dbt_release - the engine's release(): the engine's mappings out of the program */
int dbt_release(struct dbt *d, struct err *err);

#endif
