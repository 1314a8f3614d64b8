/*
 * The ISA side of the dbt engine (src/trace/dbt/), reached only through
 * this header: what an instruction does for the translator (control flow,
 * stack pointer effect), and the code the translator writes into the code
 * cache. The engine itself names no register and no encoding; the ISA's
 * implementation lives in src/arch/<isa>/dbt-*.c (x86-64: dbt-analyze.c,
 * dbt-emit.c).
 *
 * Generated code reaches its thread's context page through the engine base
 * register (arch_regs_engine_base()): the tracer points it at the page
 * while the thread runs in the cache, so one code cache serves every
 * thread. ctx[X] below is the word at offset DBT_CTX_X of that page.
 * Nothing generated touches the application's stack or flags except where
 * the application's own instruction would (the return address of an
 * emulated call); spills go to the context page.
 */
#ifndef NOSCO_ARCH_DBT_H
#define NOSCO_ARCH_DBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"

/*
 * The per-thread context (two pages): the words the tracer and the
 * generated code share. The ISA's code keeps its own spill slots in the
 * words of the first 0x100 bytes that these leave free.
 */
#define DBT_CTX_CURSOR 0x18 /* the next free byte of the thread's ring */
#define DBT_CTX_TARGET 0x20 /* the application address an indirect branch goes to */
#define DBT_CTX_JMPT   0x28 /* its cache address, once looked up */
#define DBT_CTX_UP     0x30 /* calls that may still be entered before the tracer decides */
#define DBT_CTX_TABLE  0x38 /* the address of the lookup table (struct arch_dbt_entry[]) */
#define DBT_CTX_OUT                                                                                \
	0x40 /* returns that may still be made before the thread leaves what it records */
#define DBT_CTX_FREE_SP                                                                            \
	0x48 /* the entry sp of the call the thread runs unrecorded (past the depth limit) */
#define DBT_CTX_CALL_SP                                                                            \
	0x50 /* sp before the last call counted down (its frame's entry sp + a pointer) */
#define DBT_CTX_LEAVE    0x58  /* where a return that takes ctx[OUT] to 0 goes */
#define DBT_CTX_ROOT_SP  0x60  /* the entry sp of the outermost frame the tracer records */
#define DBT_CTX_FRAMES   0x68  /* the address of the frame rules (DBT_FRAME_SLOTS words) */
#define DBT_CTX_STACK_LO 0x90  /* the thread's stack mapping, as the tracer last saw it: */
#define DBT_CTX_STACK_HI 0x98  /* the walk reads nothing outside [LO, HI) */
#define DBT_CTX_WALK     0x100 /* the return addresses it found (up to DBT_WALK_MAX) */
#define DBT_WALK_MAX     64
/*
 * Scopes entered from inside truncated calls (callbacks of calls past the
 * depth limit): a return out of the recorded frames above such a call
 * goes on natively in it (arch_dbt_emit_leave's resuming form), with the
 * words of the level ctx[NEST] points at (an offset in this page): the
 * call's entry sp for ctx[FREE_SP], then the words of the recorded frames
 * below it (DBT_LEVEL_*); the level below that one is the next. Up to
 * DBT_NEST_MAX levels, from DBT_CTX_LEVELS on.
 */
#define DBT_CTX_NEST    0xb8
#define DBT_CTX_NESTING 0xc0 /* set by a door a thread in a native call enters by */
#define DBT_CTX_GO      0xc8 /* where a native leave goes (the leave's scratch word) */
#define DBT_CTX_RULES_GEN                                                                          \
	0xd0 /* the generation of the frame rules ctx[RULES] holds (DBT_RULES_GEN_AT below) */
#define DBT_CTX_RULES_AT 0xd8 /* the walk's scratch word: the slot of the key looked up */
/*
 * 8 times the number of return addresses of the backtrace the thread
 * logged last, while ctx[WALK] holds it (0: none; a walk sets it once it
 * logged), that number when the walk under way started, and whether the
 * walk under way found a return address that ctx[WALK] did not hold
 */
#define DBT_CTX_WALK_LOGGED 0xe0
#define DBT_CTX_WALK_PREV   0xe8
#define DBT_CTX_WALK_DIFF   0xf0
#define DBT_CTX_LEVELS      0x300
#define DBT_NEST_MAX        16
enum {
	DBT_LEVEL_FREE_SP,
	DBT_LEVEL_UP,
	DBT_LEVEL_OUT,
	DBT_LEVEL_CALL_SP,
	DBT_LEVEL_ROOT_SP,
	DBT_LEVEL_LEAVE,
	DBT_LEVEL_WORDS
};
#define DBT_CTX_BATCH 0x800 /* the tracer's remote system calls (struct arch_dbt_syscall[]) */
#define DBT_BATCH_MAX 8     /* of them, 64 bytes each */
/*
 * The thread's last complete walk, for the next entry to check instead of
 * walking: every stack word its result depends on, as (address, word)
 * pairs from DBT_CTX_MEMO_PAIRS, and what else it depends on (the frame
 * rules, whose change empties it: ctx[MEMO_N] 0). An entry whose rsp,
 * stack bounds and backtrace depth are those (and rbp, if a frame was
 * found from the application's), and whose stack still holds every word,
 * has the same return addresses (still in ctx[WALK]): it reads a word a
 * frame where a walk looks the frame's rule up. A saved rbp is such a
 * word only once a frame is found from it: in code built without frame
 * pointers rbp holds data, other at almost every call.
 */
#define DBT_CTX_MEMO_N       0xa00 /* 16 * the pairs; 0: no walk to check */
#define DBT_CTX_MEMO_SP      0xa08 /* rsp, the stack bounds and 8 * the depth it walked with */
#define DBT_CTX_MEMO_LO      0xa10
#define DBT_CTX_MEMO_HI      0xa18
#define DBT_CTX_MEMO_MAX     0xa20
#define DBT_CTX_MEMO_BP      0xa28 /* the application's rbp, ... */
#define DBT_CTX_MEMO_BP_USED 0xa30 /* ... if a frame was found from it (1) */
#define DBT_CTX_MEMO_RSI     0xa38 /* 8 * the return addresses it found */
#define DBT_CTX_MEMO_AT      0xa40 /* the walk under way: 16 * the words it noted so far, */
#define DBT_CTX_MEMO_BP_FROM 0xa48 /* and where rbp was read (0: the application's) */
#define DBT_CTX_MEMO_PAIRS   0xa50
#define DBT_MEMO_PAIRS       91 /* a walk that reads more is not kept */
/*
 * The thread's own frame rules, DBT_RULES_SLOTS words as the table's
 * (below), each at the slot arch_dbt_rules_slot() gives its key: the walk
 * looks here first, and keeps here each rule it finds in the table or the
 * rows (not DBT_FRAME_NONE, which may be learned otherwise later). Read at
 * random, the table's 256 KiB and the rows' hundreds of KiB missed the
 * processor's caches at almost every frame. The walk empties them first
 * where the rules changed since they were kept: the tracer counts each
 * change in the word at DBT_RULES_GEN_AT.
 */
#define DBT_CTX_RULES   0x1000
#define DBT_RULES_SLOTS 512
#define DBT_CTX_SIZE    8192
_Static_assert(DBT_CTX_WALK + DBT_WALK_MAX * 8 <= DBT_CTX_LEVELS &&
                       DBT_CTX_LEVELS + DBT_NEST_MAX * DBT_LEVEL_WORDS * 8 <= DBT_CTX_BATCH &&
                       DBT_CTX_BATCH + DBT_BATCH_MAX * 64 <= DBT_CTX_MEMO_N &&
                       DBT_CTX_MEMO_PAIRS + DBT_MEMO_PAIRS * 16 <= DBT_CTX_RULES &&
                       DBT_CTX_RULES + DBT_RULES_SLOTS * 8 <= DBT_CTX_SIZE,
               "the context's words overlap");

/*
 * Ring records are 32-bit words: a block id, or one of these tags and a
 * 64-bit value: the sp after an instruction that set it; the target of
 * a call the thread entered unrecorded ("free": past the depth limit, no
 * records until it returns); the sp once the thread is above that call's
 * frame again (it returned, or left it otherwise).
 */
#define DBT_REC_SP       0xffffffffu
#define DBT_REC_FREE_IN  0xfffffffeu
#define DBT_REC_FREE_OUT 0xfffffffdu
/* and the target of the return that left the outermost recorded frame (unrecorded after) */
#define DBT_REC_LEFT 0xfffffffcu
/* a scope entered without a stop: sp there, then its return address (two records) */
#define DBT_REC_SCOPE_SP  0xfffffffbu
#define DBT_REC_SCOPE_RET 0xfffffffau
/*
 * before those two: the entry's backtrace, one record of its own length:
 * the tag, 8 times the number of return addresses, then each as a 64-bit
 * value (two words), innermost first; or, where they are the same as
 * those of the thread's last such record, the tag and two words of 0
 * (a hot scope's entries come from the same callers again and again)
 */
#define DBT_REC_SCOPE_BT 0xfffffff9u
/* Block ids stay below this (the tag and its neighbours are not ids). */
#define DBT_BLOCK_ID_MAX 0x7fffffffu

/*
 * Frame rules, for the stack walk at a scope's entry
 * (arch_dbt_emit_scope_entry): ctx[FRAMES] holds DBT_FRAME_SLOTS words,
 * open addressing from arch_dbt_frame_slot(key) on. The key of a return
 * address is twice it, plus 1 where it is the first frame unwound (its
 * caller's frame is looked up at the address, not before it); a word is
 * key << 16 | the rule of the caller's frame, DBT_FRAME_END where the
 * unwinding ends, DBT_FRAME_NONE where no one rule holds; 0 is an empty
 * slot. A rule finds the next return address from the frame pointer
 * (DBT_FRAME_FP: just above where it points, the caller's frame pointer
 * there), or from where this one was read: DBT_FRAME_WORDS words above
 * it, the caller's frame pointer this frame's (DBT_FP_SAME), unknown
 * (DBT_FP_LOST) or saved k words below that next return address (k = 1
 * to 6), in the bits from DBT_FP_SHIFT on.
 */
#define DBT_FRAME_BITS  15
#define DBT_FRAME_SLOTS (1u << DBT_FRAME_BITS)
#define DBT_FRAME_END   0u
#define DBT_FRAME_NONE  0xffffu
#define DBT_FRAME_WORDS 0x1fffu /* the mask of the size in words */
#define DBT_FRAME_FP    DBT_FRAME_WORDS
#define DBT_FP_SHIFT    13
#define DBT_FP_SAME     0u
#define DBT_FP_LOST     7u

static inline uint32_t arch_dbt_frame_slot(uint64_t key)
{
	return (uint32_t)(key ^ key >> 16) & (DBT_FRAME_SLOTS - 1);
}

/*
 * Frame rows: the rules of whole binaries, for a return address the table
 * has no word for. The word DBT_ROWS_INDEX bytes past ctx[FRAMES] is the
 * address of the current index (0: none): a count, then that many struct
 * arch_dbt_rows. A binary's rows are words (offset from lo) << 16 | a
 * rule as the table's, in address order, the first at offset 0; a return
 * address's rule is that of the last row at or below it, or (a later
 * frame's, as the table's keys say) at or below the address before it.
 */
#define DBT_ROWS_INDEX ((uint64_t)DBT_FRAME_SLOTS * 8)
/* the generation of the rules: the word after the rows index's address */
#define DBT_RULES_GEN_AT (DBT_ROWS_INDEX + 8)
/*
 * A bit for each slot of the table, on (arch_dbt_frame_slot()) where a
 * key's probe starts there: a walk looks in the table only then, instead
 * of reading a slot of the table's 64 pages at random to find it empty.
 */
#define DBT_FRAME_HOMES_AT (DBT_ROWS_INDEX + 4096)
/* The frame table and the words and bits after it: the rows come after this. */
#define DBT_FRAMES_HEAD (DBT_FRAME_HOMES_AT + DBT_FRAME_SLOTS / 8)

/* arch_dbt_rules_slot - the slot of key in a thread's ctx[RULES] (as the walk computes it) */
static inline uint32_t arch_dbt_rules_slot(uint64_t key)
{
	uint64_t ret = key >> 1;

	return (uint32_t)(ret ^ ret >> 9) & (DBT_RULES_SLOTS - 1);
}

struct arch_dbt_rows {
	uint64_t lo, hi; /* the binary's extent */
	uint64_t rows;   /* the address of its rows */
	uint64_t n;      /* how many (one at least) */
	/*
	 * the address of its page index: for each DBT_ROWS_PAGE bytes from lo
	 * on and the end, the uint32_t index of the last row at or below where
	 * they start, so that a search reads the rows of one page: a few
	 * cache lines, not a binary search's random reads of a binary's rows
	 */
	uint64_t pages;
};
#define DBT_ROWS_PAGE_BITS 12
#define DBT_ROWS_PAGE      (1u << DBT_ROWS_PAGE_BITS)

/* The lookup table: application address -> cache address, open addressing. */
struct arch_dbt_entry {
	uint64_t app;   /* 0: empty; DBT_FREE_KEY set: the unrecorded translation */
	uint64_t cache; /* where to continue (a block, or a miss stub) */
};

/* Unrecorded translations are keyed by their address with this bit set. */
#define DBT_FREE_KEY    (1ull << 63)

#define DBT_TABLE_BITS  20
#define DBT_TABLE_SLOTS (1u << DBT_TABLE_BITS)
#define DBT_TABLE_SPILL 256 /* probes run past the end this far, never further */

/*
 * arch_dbt_hash - the table slot where the lookup of app starts (as the
 * dispatcher computes it). Nearby code gets nearby slots: the table pages
 * a program touches follow the code it runs, instead of all of them.
 */
static inline uint32_t arch_dbt_hash(uint64_t app)
{
	return (uint32_t)(app >> 3) & (DBT_TABLE_SLOTS - 1);
}

/* What an instruction does to control flow in the cache. */
enum dbt_flow {
	DBT_FLOW_NEXT,     /* falls through */
	DBT_FLOW_JMP,      /* direct jump to target */
	DBT_FLOW_JCC,      /* conditional jump to target */
	DBT_FLOW_CALL,     /* direct call of target */
	DBT_FLOW_CALL_IND, /* indirect call */
	DBT_FLOW_JMP_IND,  /* indirect jump */
	DBT_FLOW_RET,      /* near return */
	DBT_FLOW_SYSCALL,  /* the system call instruction */
	DBT_FLOW_STEP,     /* cannot run in the cache: it is single-stepped */
};

struct dbt_insn {
	struct arch_insn a;
	enum dbt_flow flow;
	uint64_t target;  /* JMP, JCC, CALL */
	int32_t sp_delta; /* what it adds to sp, when !sp_dynamic */
	bool sp_dynamic;  /* sp is written with a value only known at run time */
	/* the ISA's notes for its emitter (x86-64: a rip-relative operand, a short-only jcc) */
	uint8_t disp_off; /* a pc-relative displacement at this byte offset (0: none) */
	bool short_jcc;   /* JCC with a short reach only */
	uint16_t ret_imm; /* RET: bytes released after the return address */
	const char *why;  /* STEP: why it cannot be translated */
};

/**
 * arch_dbt_analyze - decode one instruction for the translator
 * @buf: its bytes as in memory, @avail: how many can be read
 *
 * Return: 0, or -1 if the bytes do not decode (out->flow is then STEP).
 */
int arch_dbt_analyze(uint64_t addr, const uint8_t *buf, size_t avail, struct dbt_insn *out);

/**
 * arch_dbt_branch - one instruction's length, and where it branches to
 * @buf: its bytes as in memory, @avail: how many can be read
 * @len: set to its length
 * @target: set to the target of a direct jump, conditional jump or call
 *	    (what arch_dbt_analyze() gives as DBT_FLOW_JMP, _JCC or _CALL),
 *	    0 for any other instruction
 *
 * Decodes no more than that asks for (the operands of branches only): a
 * function is decoded whole to know where it branches (dbt/branches.c),
 * and arch_dbt_analyze() classifies every instruction for the translator
 * (Python's PyDict_New at depth 1: 3.3 -> 2.4 ms of decoding its callers).
 *
 * Return: 0, or -1 if the bytes do not decode.
 */
int arch_dbt_branch(uint64_t addr, const uint8_t *buf, size_t avail, size_t *len, uint64_t *target);
/**
 * arch_dbt_jumps_into - could code jump into (lo, hi) by a direct branch?
 * @code: bytes of code around it, @len of them, the first at @addr
 * @scan: which of them to look at (nonzero), or NULL for all
 *
 * Every byte looked at is taken for the start of a direct jump,
 * conditional jump or call whatever the instructions around it: so no such
 * branch there is missed, wherever decoding would start, and bytes that
 * only look like one answer yes too.
 */
bool arch_dbt_jumps_into(const uint8_t *code, const uint8_t *scan, size_t len, uint64_t addr,
                         uint64_t lo, uint64_t hi);

/* Where generated code goes: p in the tracer's view, pc at run time. */
struct dbt_code {
	uint8_t *p, *end;
	uint64_t pc;
	bool full; /* an emitter ran out of room (nothing more is written) */
};

/* arch_dbt_emit_bytes - copy raw bytes */
void arch_dbt_emit_bytes(struct dbt_code *c, const void *bytes, size_t n);
/*
 * arch_dbt_emit_hyper - a hypercall (a breakpoint instruction): the tracer
 * knows what its address means. Returns that address.
 */
uint64_t arch_dbt_emit_hyper(struct dbt_code *c);
/* arch_dbt_emit_log_block - append a block record to the thread's ring */
void arch_dbt_emit_log_block(struct dbt_code *c, uint32_t id);
/* arch_dbt_emit_log_sp - append an sp record (after an instruction that set sp) */
void arch_dbt_emit_log_sp(struct dbt_code *c);
/**
 * arch_dbt_emit_copy - the instruction as is, its pc-relative operand adjusted
 * Return: 0, or -1 if the operand is out of reach from here (nothing written).
 */
int arch_dbt_emit_copy(struct dbt_code *c, const struct dbt_insn *in);
/* arch_dbt_emit_jmp_slot - a jump through slot: an exit whose target the tracer sets in slot */
void arch_dbt_emit_jmp_slot(struct dbt_code *c, uint64_t slot);
/* arch_dbt_emit_jmp - a direct jump (within 2 GiB) */
void arch_dbt_emit_jmp(struct dbt_code *c, uint64_t to);
/*
 * arch_dbt_emit_jcc - the conditional branch of in: not taken, it falls
 * through to the exit jump (arch_dbt_emit_jmp_slot) written right after
 * it; taken, it goes just past that jump (to the next exit's)
 */
void arch_dbt_emit_jcc(struct dbt_code *c, const struct dbt_insn *in);
/**
 * arch_dbt_emit_call_check - count a call down (and keep sp in ctx[CALL_SP]);
 * at 0 go to @trunc (with a scratch register spilled, the application state of
 * just before the call otherwise)
 */
void arch_dbt_emit_call_check(struct dbt_code *c, uint64_t trunc);
/* arch_dbt_emit_trunc - the code at trunc: unspill, then a hypercall; returns its address */
uint64_t arch_dbt_emit_trunc(struct dbt_code *c);
/**
 * arch_dbt_emit_free_entry - the code at trunc of a call over budget that
 * enters its callee unrecorded, if the thread is still inside the frame
 * whose entry used the budget up (sp below ctx[CALL_SP] by a pointer: no
 * unwinding the count missed): push the return address held in @retslot,
 * log the target (@target, or ctx[TARGET] when 0: an indirect call), keep
 * the callee's entry sp in ctx[FREE_SP], then go on to @exit_slot's
 * target (direct) or to @fdispatch (the unrecorded lookup). Unrecorded
 * blocks log nothing; the unrecorded lookup ends that as soon as sp is
 * above ctx[FREE_SP]. The push comes first: a fault there
 * leaves nothing logged, as before the call. Outside that frame, it goes
 * to @trunc (the call's hypercall, with the scratch register still spilled).
 */
void arch_dbt_emit_free_entry(struct dbt_code *c, uint64_t retslot, uint64_t target,
                              uint64_t exit_slot, uint64_t fdispatch, uint64_t trunc);
/**
 * arch_dbt_emit_scope_entry - the head of the unrecorded translation of a
 * scope's entry: a thread between scopes (ctx[FREE_SP] all ones) enters
 * it without a stop: sp and the return address are logged
 * (DBT_REC_SCOPE_SP, DBT_REC_SCOPE_RET), the context is that of a thread
 * in the scope's one frame (@budget calls before the depth limit), and it
 * goes on at @rec_slot's target (the recorded translation, past its sync
 * hypercall). With @bt_max (the trace records backtraces of that many
 * return addresses, DBT_WALK_MAX at most) it first walks the stack with
 * the frame rules at ctx[FRAMES] (the table, then the rows) and logs the backtrace it found
 * (a DBT_REC_SCOPE_BT record); it enters only if every return address on
 * the way has a rule, and every word it reads lies in [ctx[STACK_LO],
 * ctx[STACK_HI]) (the frame pointer's chain, too). A thread in a native
 * call that came in by a door (ctx[NESTING] set, which this clears)
 * enters the same way, a scope nested in that call: its context words
 * become a level first (ctx[NEST] on one, if the levels are not full),
 * and its leave @leave_resume. Any other thread stops at the sync
 * hypercall whose address it returns, as in other blocks.
 */
uint64_t arch_dbt_emit_scope_entry(struct dbt_code *c, uint64_t rec_slot, int64_t budget,
                                   uint32_t bt_max, uint64_t leave_resume);
/* arch_dbt_emit_free_ret - an unrecorded return: pop the target, release imm bytes, @fdispatch */
void arch_dbt_emit_free_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t fdispatch);
/* arch_dbt_emit_push_ret - push the return address held in slot */
void arch_dbt_emit_push_ret(struct dbt_code *c, uint64_t slot);
/**
 * arch_dbt_emit_target - store the target of an indirect call or jump in ctx[TARGET]
 * Return: 0, or -1 if its operand cannot be rewritten (nothing written).
 */
int arch_dbt_emit_target(struct dbt_code *c, const struct dbt_insn *in);
/*
 * arch_dbt_emit_ret - pop the return address into ctx[TARGET], release imm
 * bytes, count the call budget up and ctx[OUT] down, then go to @dispatch
 * (the lookup), or to ctx[LEAVE] when ctx[OUT] reached 0 (the thread
 * returned out of the outermost frame the tracer records, most likely:
 * the indirect miss, where the tracer decides, or arch_dbt_emit_leave's code).
 */
void arch_dbt_emit_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t dispatch);
enum arch_dbt_leave {
	ARCH_DBT_LEAVE_CACHE,  /* on unrecorded in the cache, between scopes */
	ARCH_DBT_LEAVE_NATIVE, /* on natively, between scopes */
	ARCH_DBT_LEAVE_RESUME, /* on natively, in the truncated call the scope was entered from */
};
/**
 * arch_dbt_emit_leave - where a return out of every recorded frame goes for
 * a thread that stays in the cache: if sp is above ctx[ROOT_SP] (the
 * outermost recorded frame is left), log the target (DBT_REC_LEFT), set
 * ctx[FREE_SP] to all ones (unrecorded, in no call: it never ends by
 * itself) and go on at @fdispatch, or (ARCH_DBT_LEAVE_NATIVE) at the
 * target itself, natively (at its pass code where the target is in the
 * watches' table at @watches). ARCH_DBT_LEAVE_RESUME, for a scope entered
 * from a truncated call, where sp is not above that call's entry sp (the
 * scope returned, not the call: a longjmp out of the scope into it) sets
 * ctx[FREE_SP], the call counts, ctx[ROOT_SP] and ctx[LEAVE] from the
 * level ctx[NEST] points at instead, makes the one below it the next and
 * goes on natively in the call. Otherwise to @ind_miss (the tracer
 * decides). Entered with the return done, its target in ctx[TARGET].
 */
void arch_dbt_emit_leave(struct dbt_code *c, uint64_t ind_miss, uint64_t fdispatch,
                         enum arch_dbt_leave how, uint64_t watches);
/*
 * Watches: return addresses where no return door fits, a breakpoint
 * instead, that a native leave must not stop at: the leave's native forms
 * go to the watch's pass code (the instruction moved, then on after it)
 * instead of the address itself. A table of ARCH_DBT_WATCHES pairs of
 * words, the addresses first, then their pass codes (0: a free pair); the
 * tracer writes a pair's pass before its address.
 */
#define ARCH_DBT_WATCHES 8
/* arch_dbt_emit_watches - the table, empty: its address */
uint64_t arch_dbt_emit_watches(struct dbt_code *c);
/*
 * arch_dbt_emit_pass - @in moved here, then on at what follows it:
 * 0, or -1 if it cannot be moved (as arch_dbt_emit_ret_door's)
 */
int arch_dbt_emit_pass(struct dbt_code *c, const struct dbt_insn *in);
/**
 * arch_dbt_emit_syscall - the system call instruction, unless the system call
 * number is one of @nrs: then go to @hyper (a hypercall with the state of
 * just before the system call)
 */
void arch_dbt_emit_syscall(struct dbt_code *c, const struct dbt_insn *in, const int *nrs,
                           size_t n_nrs, uint64_t hyper);
/*
 * arch_dbt_emit_unspill - restore the scratch register arch_dbt_emit_call_check
 * spilled (the first half of a hypercall pad)
 */
void arch_dbt_emit_unspill(struct dbt_code *c);
/**
 * arch_dbt_emit_dispatch - the shared lookup of ctx[TARGET] in the table
 * @rec_dispatch: 0 for the lookup of recorded translations. Otherwise this
 *        is the lookup of unrecorded ones (keys with DBT_FREE_KEY), and
 *        where it goes with sp above ctx[FREE_SP]: the unrecorded call
 *        returned (or was left), which it logs (DBT_REC_FREE_OUT, sp)
 * @miss: receives the address of its hypercall, reached with the application's
 *        registers and flags restored when the table has no entry
 */
void arch_dbt_emit_dispatch(struct dbt_code *c, uint64_t rec_dispatch, uint64_t *miss);
/*
 * A door: where a jump written over a scope's entry leads (instead of the
 * step engine's breakpoint there), so that a thread running natively
 * between its scopes (its engine base still its context page, ctx[FREE_SP] all ones)
 * enters the scope without a stop. It saves a register below sp (the red zone
 * of the function being entered, which a signal frame skips), reads
 * ctx[FREE_SP] and goes through @slot to the unrecorded translation of the
 * entry (arch_dbt_emit_scope_entry), or to @miss (a hypercall: translate
 * it) at first. Any other thread stops where the breakpoint would have
 * stopped it, with the application's registers: at @load (a fault: its engine
 * base is the application's, no context page) or at @stop (the hypercall of a
 * thread with a context that is not between scopes).
 */
struct arch_dbt_door {
	uint64_t code, load, stop, miss, slot;
};

/* arch_dbt_emit_door - a door's code (*dr: where its parts are) */
void arch_dbt_emit_door(struct dbt_code *c, struct arch_dbt_door *dr);
/*
 * arch_dbt_door_jump - the jump written at a scope's entry @at to its door
 * @to: its length (0: out of reach)
 */
size_t arch_dbt_door_jump(uint64_t at, uint64_t to, uint8_t code[ARCH_DBT_DOOR_LEN]);
/*
 * arch_dbt_door_pad - where a door's jump can be when other code jumps
 * into the entry's first ARCH_DBT_DOOR_LEN bytes: ARCH_DBT_DOOR_LEN bytes
 * of the no-op padding right after a return or an unconditional jump, which
 * nothing runs, reached from the entry by a short jump (arch_dbt_door_hop)
 * @code: the bytes from the entry @at on (an instruction's start), @len of them
 *
 * Return: the padding's address, or 0 if there is none within reach.
 */
uint64_t arch_dbt_door_pad(const uint8_t *code, size_t len, uint64_t at);
/*
 * arch_dbt_door_pad_before - arch_dbt_door_pad() in the padding before the
 * entry @at: between the end of the function before it, whose last
 * instruction returns or jumps, and @at, no-ops only
 * @code: the bytes from that function's start @from (from its unwind
 * information, as its @end) up to @at
 *
 * Return: the padding's address, or 0 if there is none within reach.
 */
uint64_t arch_dbt_door_pad_before(const uint8_t *code, uint64_t from, uint64_t end, uint64_t at);
/* arch_dbt_door_hop - the short jump written at a scope's entry @at to @to; 0: out of reach */
size_t arch_dbt_door_hop(uint64_t at, uint64_t to, uint8_t code[ARCH_DBT_HOP_LEN]);
/*
 * A return door: where a jump written over the return site @at of a call
 * that runs natively past the depth limit leads (the pad's free entry
 * going to the callee itself, not to its unrecorded translation). A
 * thread with a context whose native call returned (sp above
 * ctx[FREE_SP]) logs sp (DBT_REC_FREE_OUT) and goes on at the recorded
 * lookup of @at; every other thread runs the instructions the jump covers
 * (moved to @pass) and goes on after them natively: a thread between
 * scopes (ctx[FREE_SP] all ones), one deeper in the native call (sp at
 * most ctx[FREE_SP]: the site's function called again), and a thread
 * with the application's engine base, which faults at @load (the tracer
 * sends it on at @pass). While @armed (a word the tracer writes) is not
 * 0, the step engine has a breakpoint's role at @at (a return point of a
 * thread it runs): every thread stops at @stop instead, as at the
 * breakpoint, with the application's registers.
 */
struct arch_dbt_ret_door {
	uint64_t armed, code, stop, load, pass;
};
/*
 * arch_dbt_emit_ret_door - a return door's code for @at, whose jump covers
 * @insns (@n of them, from @at on) and whose threads going on recorded
 * continue at @dispatch (the recorded lookup)
 *
 * Return: 0, or -1 if those instructions cannot be moved: a call, a
 * system call or an untranslatable instruction among them, a branch that
 * is not the last of them unless conditional, or a target or operand out
 * of reach.
 */
int arch_dbt_emit_ret_door(struct dbt_code *c, uint64_t at, const struct dbt_insn *insns, size_t n,
                           uint64_t dispatch, struct arch_dbt_ret_door *rd);
/*
 * The return addresses that have a return door or a watch, for native
 * calls to check their caller's against: open addressing from
 * arch_dbt_caller_slot() on, DBT_CALLER_PROBES slots at most (0: empty).
 */
#define DBT_CALLER_BITS   13
#define DBT_CALLER_SLOTS  (1u << DBT_CALLER_BITS)
#define DBT_CALLER_PROBES 4
#define DBT_CALLERS_SIZE  ((DBT_CALLER_SLOTS + DBT_CALLER_PROBES - 1) * 8u)

static inline uint32_t arch_dbt_caller_slot(uint64_t ret)
{
	return (uint32_t)(ret ^ ret >> DBT_CALLER_BITS) & (DBT_CALLER_SLOTS - 1);
}

/*
 * A native call: where a call over budget's pad goes (instead of its free
 * entry) once its callee runs natively. If the thread is still inside the
 * frame whose call used the budget up (as arch_dbt_emit_free_entry checks)
 * and that frame's own return address (the word below ctx[CALL_SP]) is in
 * the callers' set at @callers (a callee left by a `ret` used as a jump,
 * a retpoline's, may return there, where the step engine stops it too),
 * or the frame is the program's first (ctx[CALL_SP] all ones plus a
 * pointer: no return address to watch), it pushes the return address
 * @ret, logs the target (@target, or ctx[TARGET] for an indirect call: 0)
 * (DBT_REC_FREE_IN), keeps the callee's entry sp in ctx[FREE_SP] and goes
 * to the callee natively. With another return address it goes through
 * @other: at first to @miss (a hypercall with the state of the pad's own:
 * the tracer adds the caller to the set, or points @other at @free);
 * outside the frame to @free (the free entry). The words are the tracer's
 * to write.
 */
struct arch_dbt_native {
	uint64_t ret, target, other, free;
	uint64_t code, miss;
};
/* arch_dbt_emit_native - a native call's code, its words set (*n: where its parts are) */
void arch_dbt_emit_native(struct dbt_code *c, uint64_t ret, uint64_t target, uint64_t free,
                          uint64_t callers, struct arch_dbt_native *n);
/* arch_dbt_emit_gadget - a system call, then a hypercall: the tracer's remote system calls */
uint64_t arch_dbt_emit_gadget(struct dbt_code *c);
/*
 * A batch of remote system calls, run in one go: each a struct
 * arch_dbt_syscall in memory the thread can read and write.
 */
struct arch_dbt_syscall {
	uint64_t nr, args[6];
	uint64_t ret; /* written by the batch */
};
/*
 * arch_dbt_emit_batch - the code that makes the system calls of the table
 * its first syscall argument points to, as many as its second says, then
 * a hypercall (*end: the address after it)
 */
uint64_t arch_dbt_emit_batch(struct dbt_code *c, uint64_t *end);
/* arch_dbt_align - pad with breakpoints to a multiple of n */
void arch_dbt_align(struct dbt_code *c, size_t n);
/*
 * arch_dbt_set_ring_cursor - a thread stopped in the record stub of a full
 * ring goes on writing at cursor (the stub holds it in a register)
 */
void arch_dbt_set_ring_cursor(struct arch_regs *r, uint64_t cursor);

#endif
