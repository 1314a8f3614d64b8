/*
 * The tracer core: what a trace means, independent of how the program is
 * executed and observed. It keeps each thread's stack of open calls, applies
 * the depth rules of full and scoped mode, matches scopes against loaded
 * binaries, and writes calls, instructions and state changes to the store.
 *
 * A backend (see backend.h) executes the program and reports what it
 * observes by calling the functions below; each of them that can change
 * what a thread should do next answers with a core_directive.
 *
 * Call stack rule: a call opens a frame that remembers the stack pointer at
 * its entry (pointing at the return address). Whenever control is
 * transferred (a return, a jump, a syscall) with the stack pointer above
 * that value, the frame is over: by a return, or by a longjmp, an exception
 * or any other unwinding. So the stack never drifts, whatever instructions
 * leave it. Signal handler frames close at rt_sigreturn.
 */
#ifndef NOSCO_TRACE_CORE_H
#define NOSCO_TRACE_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "config/config.h"
#include "store/store.h"
#include "sym/unwind.h"
#include "util/err.h"

struct core;
struct hashmap;
struct core_thread;
struct images;

/* What the backend must do with a thread after an event. */
enum core_mode {
	CORE_RUN_FREE,      /* run at full speed; only scope entries matter */
	CORE_RECORD,        /* report every instruction with core_step() */
	CORE_RUN_TO_RETURN, /* run at full speed until the innermost (truncated) call returns */
};

struct core_directive {
	enum core_mode mode;
	/*
	 * CORE_RUN_TO_RETURN: report core_return_hit() when the thread reaches
	 * ret[i].addr with a stack pointer above ret[i].frame_sp. ret[0] is the
	 * truncated call's return; ret[1] (addr 0 if none) its caller's, where
	 * control comes back if the truncated call never returns to its own
	 * return address (a retpoline, a stack switch).
	 */
	struct core_return_point {
		uint64_t addr;
		uint64_t frame_sp;
	} ret[2];
};

/* What the core needs from the backend. */
struct core_target {
	void *ctx;
	/* read the program's memory as the program sees it (no breakpoints);
	 * returns the bytes read (fewer at the end of a mapping) or -1 */
	long (*read_mem)(void *ctx, uint64_t addr, void *buf, size_t len);
	/* start or stop reporting entries at a scope address (all threads) */
	int (*arm_scope)(void *ctx, uint64_t addr, struct err *err);
	void (*disarm_scope)(void *ctx, uint64_t addr);
	/* an armed scope's depth grew (core_scope_entry_budget changed); NULL: nothing to do */
	void (*scope_changed)(void *ctx, uint64_t addr);
	/* the binary mapped at [start, end) was unloaded: what was learned of its code no longer
	 * holds; NULL: nothing to do */
	void (*binary_unloaded)(void *ctx, uint64_t start, uint64_t end);
};

/* A binary the backend found mapped in the program. */
struct core_binary {
	const char *path;     /* the file as the kernel or dynamic linker named it */
	const char *name;     /* the name to show when there is no file (vdso) */
	uint64_t base;        /* load bias */
	const uint8_t *image; /* in-memory image when there is no file (vdso), or NULL */
	size_t image_len;
	bool is_main;   /* the program's executable */
	bool same_stop; /* reported at the same stop as the binary before it */
};

/*
 * core_new - a core for one trace; known (NULL: none) are binaries whose
 * symbols were read already, reused when the program loads them
 */
struct core *core_new(const struct config *cfg, struct store *store, struct images *known,
                      const struct core_target *target, struct err *err);
void core_free(struct core *c);
/*
 * core_hand_over - the core and its store belong to the thread to from now
 * on: only it may call the core_* functions that change the trace (checked
 * in debug builds, util/owner.h); they start as core_new()'s caller's
 */
void core_hand_over(struct core *c, pthread_t to);

/*
 * core_binary_loaded - a binary was mapped; th/regs are NULL for binaries present at start
 *
 * Resolves the scopes that name it: a symbol it does not have is an
 * ERR_CONFIG error naming the scope and close names; the backend then
 * stops the program.
 */
int core_binary_loaded(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                       const struct core_binary *b, struct err *err);
/* core_binary_unloaded - the binary loaded at this base was unmapped */
int core_binary_unloaded(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                         uint64_t base, struct err *err);

/**
 * core_thread_new - a thread starts
 * @parent: the creating thread and its registers, or NULL for the first one
 * @regs: the new thread's registers at its first instruction
 * @d: what to do with the new thread
 */
struct core_thread *core_thread_new(struct core *c, pid_t tid, struct core_thread *parent,
                                    const struct arch_regs *parent_regs,
                                    const struct arch_regs *regs, struct core_directive *d,
                                    struct err *err);
/**
 * core_thread_attached - a thread that was running when nosco attached to
 * the process (instead of core_thread_new)
 * @regs: its registers where it was stopped
 *
 * Records an attach event holding its pc and backtrace (the calls open at
 * that moment). In full mode, opens a root call of kind
 * STORE_CALL_ATTACHED at its pc, which never closes by the stack pointer,
 * and inside it one call of that kind per call open then (as far as their
 * return addresses are found on the stack, in the backtrace's order), each
 * at level 1, which close as any other call when they return. In scoped
 * mode, a thread in a scope then has its outermost open call of a scope's
 * function, and those inside it, opened that way (levels and depth as if
 * entered), that call being a root.
 */
struct core_thread *core_thread_attached(struct core *c, pid_t tid, const struct arch_regs *regs,
                                         struct core_directive *d, struct err *err);
/*
 * core_thread_exit - the thread is exiting (regs: where, may be NULL)
 *
 * Threads belong to the core and are freed by core_free(); after this call
 * the backend must not report anything more for th.
 */
int core_thread_exit(struct core *c, struct core_thread *th, const struct arch_insn *last,
                     const struct arch_regs *regs, const struct store_exit *ex, struct err *err);
pid_t core_thread_tid(const struct core_thread *th);
/* core_thread_set_tid - an exec made a thread take the process leader's tid */
int core_thread_set_tid(struct core *c, struct core_thread *th, pid_t tid, struct err *err);

/**
 * core_step - a recording thread executed one instruction
 * @insn: the instruction, as it is in memory
 * @before: registers before it ran
 * @after: registers after it ran
 */
int core_step(struct core *c, struct core_thread *th, const struct arch_insn *insn,
              const struct arch_regs *before, const struct arch_regs *after,
              struct core_directive *d, struct err *err);

/*
 * core_clock_batch - an engine replays many calls at once (on) or no
 * longer (off): meanwhile the coarse clock is read for one time in
 * CLOCK_EVERY (core.c), the others one nanosecond after the last
 */
void core_clock_batch(struct core *c, bool on);
/**
 * core_scope_hit_at - core_scope_hit() after the fact: the thread was at
 * the pc of @at with its stack pointer and ret_addr there (of @at, only
 * those two are read), registers and memory since gone (an engine that
 * enters scopes without stopping the thread replays it; only where
 * core_scope_entry_budget() says so)
 * @bt: the entry's backtrace, found as core_scope_hit_frames() says, when the
 *	trace records backtraces (core_backtrace_depth()); NULL otherwise
 */
int core_scope_hit_at(struct core *c, struct core_thread *th, const struct arch_regs *at,
                      uint64_t ret_addr, const uint64_t *bt, size_t bt_len,
                      struct core_directive *d, struct err *err);
/*
 * core_scope_entry_budget - may the scope at addr be entered with
 * core_scope_hit_at()? Only when the scope records its entry's
 * instructions (depth 1 or more). Return: the call budget of a thread
 * that enters it from no frame (core_call_budget), or -1 when not.
 */
int64_t core_scope_entry_budget(const struct core *c, uint64_t addr);
/* core_backtrace_depth - the return addresses a scope entry records (0: no backtraces) */
size_t core_backtrace_depth(const struct core *c);

#define CORE_FRAMES_MAX 64  /* the most frames core_scope_hit_frames() describes */
#define CORE_BLOCK_MAX  256 /* the most instructions of a block (core_block()) */

/*
 * What an engine already learned of frames (core_scope_hit_frames): does it
 * know the rule of return address ret's frame (or that the unwinding ends
 * there) as the i-th of a backtrace? (The first is unwound differently.)
 */
struct core_frames_known {
	bool (*fn)(void *ctx, uint64_t ret, size_t i);
	void *ctx;
};

/* How the backtrace of a scope entry was unwound (core_scope_hit_frames). */
struct core_entry_frames {
	uint64_t bt[CORE_FRAMES_MAX]; /* the backtrace, bt[0] the entry's return address */
	size_t bt_len;
	/*
	 * where bt[i + 1] was read (from where bt[i] was, bt[0] at the entry's
	 * sp, and the frame pointer), for every i < bt_len - 1
	 */
	struct sym_frame_rule rule[CORE_FRAMES_MAX];
	/* the unwinding ended because bt[bt_len - 1]'s frame is the outermost, not at the maximum
	 */
	bool outermost;
};

/*
 * core_code_before - the function whose unwind information starts last
 * below addr, in addr's binary (sym_unwinder_code_before())
 *
 * Return: 0 with [*start, *end), -1 where none is known.
 */
int core_code_before(struct core *c, uint64_t addr, uint64_t *start, uint64_t *end);

/**
 * core_frame_rows - the rules of the frames of every address of the
 * binary around addr, up to max FDEs' rows a call
 * (sym_unwinder_frame_rows(): what core_scope_hit_frames() would learn
 * for a return address there)
 *
 * Return: 1 while rows remain, 0 once all were given, -1 when the binary
 * has no table of its CFI, addr is in none, or fn returned nonzero.
 */
int core_frame_rows(struct core *c, uint64_t addr, struct sym_rows_cursor *cur, size_t max,
                    sym_frame_row_fn fn, void *arg);

/**
 * core_scope_hit_frames - core_scope_hit(), and when the thread records
 * from there: can the backtrace of the entry be found by walking the
 * stack with a rule per return address?
 * @known: what the engine learned already
 * @f: filled when it can
 * @learn: set to whether @f describes the backtrace (or what is new in it)
 *
 * It can when every frame's rule (sym_unwinder_frame_rule(): for bt[0]
 * as the first frame unwound, whose code is looked up at it; for later
 * ones at the code before them) finds, from the entry's stack pointer
 * and frame pointer, each return address of the backtrace the core
 * records there, and so does where the unwinding ends (@f->outermost).
 * The rules are functions of the return addresses for as long as the
 * binaries do not change: an engine may learn them, walk the stack
 * itself at later entries and give core_scope_hit_at() the backtrace it
 * found (stopping instead where it meets a return address it has not
 * learned). What it learned need not be walked again: @f then holds the
 * backtrace only as far as the frames of the return addresses @known does
 * not know (bt_len 0 when it knows them all; @f->outermost only when the
 * backtrace is whole).
 *
 * The backtrace is unwound once, for the entry's call and for @f.
 *
 * Return: as core_scope_hit().
 */
int core_scope_hit_frames(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                          const struct core_frames_known *known, struct core_entry_frames *f,
                          bool *learn, struct core_directive *d, struct err *err);
/* core_scope_hit - a thread not recording reached a scope entry */
int core_scope_hit(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                   struct core_directive *d, struct err *err);

/**
 * core_return_hit - a thread running to a return reached it, or reached a
 * place where execution may continue after unwinding out of truncated calls
 */
int core_return_hit(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                    struct core_directive *d, struct err *err);

/**
 * core_symbols_addr - the runtime addresses of functions that the binary
 * loaded at base exports (image_exported_addrs()): addrs[i] where found[i]
 *
 * For backends that need the runtime's hooks (the dynamic linker's
 * r_brk, longjmp, _Unwind_SetIP).
 */
void core_symbols_addr(struct core *c, uint64_t base, const char *const *names, size_t n,
                       uint64_t *addrs, bool *found);

/* the vdso's name as reported (core_binary.name), and as a scope's binary= would name it */
#define CORE_VDSO_NAME "linux-vdso.so.1"

/**
 * core_quiet_start - may a program just exec'd run to its dynamic linker's
 * first consistent list of binaries before any is reported (linkmap_prestart)?
 * @base: where the program's dynamic linker is loaded (its file, the
 *        program's PT_INTERP, was read at core_new())
 * @r_brk, @r_debug: then where it announces changes, and its r_debug
 *
 * Only the linker's code runs until then, with the vdso's and the IFUNC
 * resolvers', and the libraries' start (RT_CONSISTENT comes after the
 * relocation at start-up): so only when nothing is traced from the start
 * (scoped mode), no scope is in the linker or the vdso, and the program
 * has no IFUNC (the linker calls its resolvers before then). The linker's
 * file is kept for its report.
 * Return: 0 if it may, -1 if not.
 */
int core_quiet_start(struct core *c, uint64_t base, uint64_t *r_brk, uint64_t *r_debug);

/* core_symbol_addr - core_symbols_addr() for one; 0 or -1 (not found, or no binary at base) */
int core_symbol_addr(struct core *c, uint64_t base, const char *symbol, uint64_t *addr);

/* core_object_addr - like core_symbol_addr, for a variable (data symbol) */
int core_object_addr(struct core *c, uint64_t base, const char *name, uint64_t *addr);

/**
 * core_binaries_settled - every binary the program starts with is reported
 *
 * Call once the dynamic linker has reported its first complete list of
 * binaries (for a program without one, once the executable is reported),
 * again after each exec. A scope whose binary is not among them and that
 * the program cannot load by name either is warned about now, before the
 * program's own code runs.
 */
void core_binaries_settled(struct core *c);

/**
 * core_resolvers - the IFUNC resolvers in the binary loaded at base whose
 * results scopes need
 * @out: receives up to @max runtime addresses
 *
 * A scope naming an IFUNC is entered at the implementation its resolver
 * returns. The backend watches each resolver listed here from the moment
 * the binary is reported, for as long as it is loaded, and reports what
 * it returns with core_ifunc_resolved().
 * Return: their number (may exceed @max).
 */
size_t core_resolvers(const struct core *c, uint64_t base, uint64_t *out, size_t max);

/**
 * core_ifunc_resolved - a resolver core_resolvers() listed returned impl
 *
 * The scopes of its IFUNC are entered at impl from now on.
 * Return: 0, or -1 with err (arming impl failed).
 */
int core_ifunc_resolved(struct core *c, uint64_t resolver, uint64_t impl, struct err *err);

/* core_is_scope_entry - is addr the entry of a configured scope? */
bool core_is_scope_entry(const struct core *c, uint64_t addr);

/**
 * core_signal - a signal is delivered to the thread (recorded as an event)
 * @regs: where the thread was interrupted
 */
int core_signal(struct core *c, struct core_thread *th, int sig, const struct arch_regs *regs,
                struct err *err);

/**
 * core_signal_handler - a recording thread was sent into a signal handler
 * @interrupted: registers where it was interrupted
 * @handler: registers at the handler's first instruction
 */
int core_signal_handler(struct core *c, struct core_thread *th, int sig,
                        const struct arch_regs *interrupted, const struct arch_regs *handler,
                        struct core_directive *d, struct err *err);

/* core_fork - the thread created a child process that will not be traced */
int core_fork(struct core *c, struct core_thread *th, const struct arch_regs *regs, pid_t child,
              const char *how, struct err *err);

/**
 * core_exec - the thread replaced the program image
 * @last: the instruction that made a recording thread exec (recorded), or NULL
 *
 * Closes every open call, unloads every binary and records the exec. The
 * backend then reports the new image's binaries and calls
 * core_thread_restart().
 */
int core_exec(struct core *c, struct core_thread *th, const struct arch_insn *last,
              const char *path, struct err *err);
int core_thread_restart(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                        struct core_directive *d, struct err *err);

/**
 * core_finish - the trace ends
 * @how: how to close calls still open (STORE_END_KILLED after Ctrl-C or an error,
 *       STORE_END_DETACHED when nosco detached from a program that goes on)
 * @run_failed: the run ended on an error: its calls are closed all the same
 *
 * Then warns about every scope whose binary never loaded (not already
 * warned about by core_binaries_settled()), unless the run failed (the
 * failure is what matters).
 *
 * Return: 0, or -1 with err when the open calls could not be closed.
 */
int core_finish(struct core *c, enum store_call_end how, bool run_failed, struct err *err);

/*
 * For backends that run whole blocks of straight-line code (dbt): only a
 * control transfer (class other than ARCH_INSN_OTHER) can change the call
 * stack, and only a call, a transfer with the stack pointer above
 * core_close_sp(), a jump onto a scope entry or rt_sigreturn does; every
 * other instruction core_step() would only record, which
 * core_record_blocks() does for whole blocks at once.
 */

/* core_close_sp - a control transfer with the stack pointer above this ends a frame */
uint64_t core_close_sp(const struct core_thread *th);

/* core_call_budget - how many calls nested below the innermost frame are recorded */
uint32_t core_call_budget(const struct core_thread *th);

/* core_open_frames - the thread's open frames: returns out of them all end what it records */
uint32_t core_open_frames(const struct core_thread *th);
/* core_root_sp - the entry stack pointer of the thread's outermost frame (0: none) */
uint64_t core_root_sp(const struct core_thread *th);

/* What the engine knows of an open frame (core_frame_at()). */
struct core_frame_info {
	uint64_t entry_sp;
	uint64_t ret_addr;
	uint32_t budget; /* core_call_budget() were it the innermost */
	bool truncated;  /* past the depth limit: nothing recorded inside */
	bool signal;     /* a signal handler's (it may end otherwise than by a return) */
};

/* core_frame_at - the thread's open frame i (0: the outermost), false past the last */
bool core_frame_at(const struct core_thread *th, uint32_t i, struct core_frame_info *out);

/**
 * core_transfer - core_step() for a control transfer already recorded as
 * the last instruction of a block given to core_record_blocks()
 */
int core_transfer(struct core *c, struct core_thread *th, const struct arch_insn *insn,
                  const struct arch_regs *before, const struct arch_regs *after,
                  struct core_directive *d, struct err *err);

/**
 * core_block - the id of a block of straight-line instructions (insns[i]
 * for i < n, in execution order), written to the trace the first time
 * (the store must use block streams): what core_record_blocks() takes
 * Return: the id, or -1 with err.
 */
int64_t core_block(struct core *c, const struct arch_insn *const *insns, size_t n, struct err *err);

/**
 * core_record_blocks - a recording thread executed these runs of blocks
 * @runs: blocks from core_block(), each executed run->repeat times in a
 *        row, in order
 *
 * The backend vouches that core_step() would only have recorded each of
 * their instructions.
 */
int core_record_blocks(struct core *c, struct core_thread *th, const struct store_run *runs,
                       size_t n, struct err *err);

/*
 * core_coarse_times - take times from the coarse real-time clock (a few
 * milliseconds of resolution, a few nanoseconds to read): for backends
 * that report calls in batches, long after they happened, where finer
 * times would only look precise.
 */
void core_coarse_times(struct core *c);

/* Statistics for the summary line and the progress line. */
struct core_stats {
	uint64_t insns;
	uint64_t calls;
	uint64_t threads; /* ever started */
	uint64_t live_threads;
	uint64_t events;
};
/*
 * core_get_stats - the statistics so far. The tracer thread may call it
 * while the dbt engine's replay worker owns the core: each counter is read
 * whole, though together they are not one instant's.
 */
void core_get_stats(const struct core *c, struct core_stats *st);

#endif
