/*
 * x86-64 side of the dbt engine (src/trace/dbt/): what an instruction does
 * for the translator (control flow, stack pointer effect, RIP-relative
 * operand), and the code the translator writes into the code cache.
 *
 * Generated code reaches its thread's context through the gs segment: the
 * tracer points each thread's gs base at its context page (struct
 * user_regs_struct.gs_base) while the thread runs in the cache, so one
 * code cache serves every thread. Nothing generated touches the
 * application's stack or flags except where the application's own
 * instruction would (the return address of an emulated call); spills go
 * to the context page.
 */
#ifndef NOSCO_ARCH_X86_64_DBT_X86_H
#define NOSCO_ARCH_X86_64_DBT_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arch.h"

/* The per-thread context page, addressed as gs:[offset]. */
#define DBT_CTX_S_RAX   0x00 /* spill slots */
#define DBT_CTX_S_RCX   0x08
#define DBT_CTX_S_FLAGS 0x10 /* ax after lahf; seto al */
#define DBT_CTX_CURSOR  0x18 /* the next free byte of the thread's ring */
#define DBT_CTX_TARGET  0x20 /* the application address an indirect branch goes to */
#define DBT_CTX_JMPT    0x28 /* its cache address, once looked up */
#define DBT_CTX_UP      0x30 /* calls that may still be entered before the tracer decides */
#define DBT_CTX_TABLE   0x38 /* the address of the lookup table (struct dbt_x86_entry[]) */
#define DBT_CTX_OUT                                                                                \
	0x40 /* returns that may still be made before the thread leaves what it records */
#define DBT_CTX_FREE_SP                                                                            \
	0x48 /* the entry rsp of the call the thread runs unrecorded (past the depth limit) */
#define DBT_CTX_CALL_SP                                                                            \
	0x50 /* rsp before the last call counted down: the innermost frame's entry rsp + 8 */
#define DBT_CTX_LEAVE    0x58 /* where a return that takes gs:[OUT] to 0 goes */
#define DBT_CTX_ROOT_SP  0x60 /* the entry rsp of the outermost frame the tracer records */
#define DBT_CTX_FRAMES   0x68 /* the address of the frame sizes (DBT_FRAME_SLOTS words) */
#define DBT_CTX_S_RDX    0x70 /* spill slots of the stack walk at a scope's entry */
#define DBT_CTX_S_RSI    0x78
#define DBT_CTX_S_RDI    0x80
#define DBT_CTX_W_RAX    0x88
#define DBT_CTX_STACK_LO 0x90  /* the thread's stack mapping, as the tracer last saw it: */
#define DBT_CTX_STACK_HI 0x98  /* the walk reads nothing outside [LO, HI) */
#define DBT_CTX_WALK     0x100 /* the return addresses it found (up to DBT_WALK_MAX) */
#define DBT_WALK_MAX     64
#define DBT_CTX_SIZE     4096

/*
 * Ring records are 32-bit words: a block id, or one of these tags and a
 * 64-bit value: the rsp after an instruction that set it; the target of
 * a call the thread entered unrecorded ("free": past the depth limit, no
 * records until it returns); the rsp once the thread is above that call's
 * frame again (it returned, or left it otherwise).
 */
#define DBT_REC_SP       0xffffffffu
#define DBT_REC_FREE_IN  0xfffffffeu
#define DBT_REC_FREE_OUT 0xfffffffdu
/* and the target of the return that left the outermost recorded frame (unrecorded after) */
#define DBT_REC_LEFT 0xfffffffcu
/* a scope entered without a stop: rsp there, then its return address (two records) */
#define DBT_REC_SCOPE_SP  0xfffffffbu
#define DBT_REC_SCOPE_RET 0xfffffffau
/* before those two: the entry's backtrace, one return address a record, innermost first */
#define DBT_REC_SCOPE_BT 0xfffffff9u
/* Block ids stay below this (the tag and its neighbours are not ids). */
#define DBT_BLOCK_ID_MAX 0x7fffffffu

/*
 * Frame sizes, for the stack walk at a scope's entry
 * (dbt_x86_emit_scope_entry): gs:[FRAMES] holds DBT_FRAME_SLOTS words,
 * open addressing from dbt_x86_frame_slot(key) on. The key of a return
 * address is twice it, plus 1 where it is the first frame unwound (its
 * caller's frame is looked up at the address, not before it); a word is
 * key << 16 | the size of the caller's frame (the next return address is
 * that far above this one), or DBT_FRAME_END where the unwinding ends,
 * DBT_FRAME_NONE where no one size holds; 0 is an empty slot.
 */
#define DBT_FRAME_BITS  14
#define DBT_FRAME_SLOTS (1u << DBT_FRAME_BITS)
#define DBT_FRAME_END   0u
#define DBT_FRAME_NONE  0xffffu

static inline uint32_t dbt_x86_frame_slot(uint64_t key)
{
	return (uint32_t)(key ^ key >> 16) & (DBT_FRAME_SLOTS - 1);
}

/* The lookup table: application address -> cache address, open addressing. */
struct dbt_x86_entry {
	uint64_t app;   /* 0: empty; DBT_X86_FREE_KEY set: the unrecorded translation */
	uint64_t cache; /* where to continue (a block, or a miss stub) */
};

/* Unrecorded translations are keyed by their address with this bit set. */
#define DBT_X86_FREE_KEY (1ull << 63)

#define DBT_TABLE_BITS   20
#define DBT_TABLE_SLOTS  (1u << DBT_TABLE_BITS)
#define DBT_TABLE_SPILL  256 /* probes run past the end this far, never further */

/*
 * dbt_x86_hash - the table slot where the lookup of app starts (as the
 * dispatcher computes it). Nearby code gets nearby slots: the table pages
 * a program touches follow the code it runs, instead of all of them.
 */
static inline uint32_t dbt_x86_hash(uint64_t app)
{
	return (uint32_t)(app >> 3) & (DBT_TABLE_SLOTS - 1);
}

/* What an instruction does to control flow in the cache. */
enum dbt_flow {
	DBT_FLOW_NEXT,     /* falls through */
	DBT_FLOW_JMP,      /* direct jump to target */
	DBT_FLOW_JCC,      /* conditional jump to target (jcc, jrcxz, loop family) */
	DBT_FLOW_CALL,     /* direct call of target */
	DBT_FLOW_CALL_IND, /* indirect call */
	DBT_FLOW_JMP_IND,  /* indirect jump */
	DBT_FLOW_RET,      /* near return */
	DBT_FLOW_SYSCALL,  /* the syscall instruction */
	DBT_FLOW_STEP,     /* cannot run in the cache: it is single-stepped */
};

struct dbt_insn {
	struct arch_insn a;
	enum dbt_flow flow;
	uint64_t target;  /* JMP, JCC, CALL */
	int32_t sp_delta; /* what it adds to rsp, when !sp_dynamic */
	bool sp_dynamic;  /* rsp is written with a value only known at run time */
	uint8_t disp_off; /* a RIP-relative disp32 at this byte offset (0: none) */
	bool short_jcc;   /* JCC with an 8-bit displacement only (jrcxz, loop) */
	uint16_t ret_imm; /* RET: bytes released after the return address */
	const char *why;  /* STEP: why it cannot be translated */
};

/**
 * dbt_x86_analyze - decode one instruction for the translator
 * @buf: its bytes as in memory, @avail: how many can be read
 *
 * Return: 0, or -1 if the bytes do not decode (out->flow is then STEP).
 */
int dbt_x86_analyze(uint64_t addr, const uint8_t *buf, size_t avail, struct dbt_insn *out);

/* Where generated code goes: p in the tracer's view, pc at run time. */
struct dbt_code {
	uint8_t *p, *end;
	uint64_t pc;
	bool full; /* an emitter ran out of room (nothing more is written) */
};

/* dbt_x86_emit_bytes - copy raw bytes */
void dbt_x86_emit_bytes(struct dbt_code *c, const void *bytes, size_t n);
/* dbt_x86_emit_int3 - a hypercall: the tracer knows what this address means */
uint64_t dbt_x86_emit_int3(struct dbt_code *c);
/* dbt_x86_emit_log_block - append a block record to the thread's ring */
void dbt_x86_emit_log_block(struct dbt_code *c, uint32_t id);
/* dbt_x86_emit_log_sp - append an rsp record (after an instruction that set rsp) */
void dbt_x86_emit_log_sp(struct dbt_code *c);
/**
 * dbt_x86_emit_copy - the instruction as is, its RIP-relative operand adjusted
 * Return: 0, or -1 if the operand is out of reach from here (nothing written).
 */
int dbt_x86_emit_copy(struct dbt_code *c, const struct dbt_insn *in);
/* dbt_x86_emit_jmp_slot - jmp [rip+slot]: an exit whose target the tracer sets in slot */
void dbt_x86_emit_jmp_slot(struct dbt_code *c, uint64_t slot);
/* dbt_x86_emit_jmp - jmp rel32 */
void dbt_x86_emit_jmp(struct dbt_code *c, uint64_t to);
/**
 * dbt_x86_emit_jcc - the conditional branch of in, to @taken; falls through otherwise
 * Short-only branches (jrcxz, loop) get a jump pad right after them.
 */
void dbt_x86_emit_jcc(struct dbt_code *c, const struct dbt_insn *in, uint64_t taken);
/**
 * dbt_x86_emit_call_check - count a call down (and keep rsp in gs:[CALL_SP]);
 * at 0 go to @trunc (with rcx spilled, the application state of just before
 * the call otherwise)
 */
void dbt_x86_emit_call_check(struct dbt_code *c, uint64_t trunc);
/* dbt_x86_emit_trunc - the code at trunc: restore rcx, then int3; returns the int3's address */
uint64_t dbt_x86_emit_trunc(struct dbt_code *c);
/**
 * dbt_x86_emit_free_entry - the code at trunc of a call over budget that
 * enters its callee unrecorded, if the thread is still inside the frame
 * whose entry used the budget up (rsp at most gs:[CALL_SP] - 8: no
 * unwinding the count missed): push the return address held in @retslot,
 * log the target (@target, or gs:[TARGET] when 0: an indirect call), keep
 * the callee's entry rsp in gs:[FREE_SP], then go on to @exit_slot's
 * target (direct) or to @fdispatch (the unrecorded lookup). Unrecorded
 * blocks log nothing; the unrecorded lookup ends that as soon as rsp is
 * above gs:[FREE_SP]. The push comes first: a fault there
 * leaves nothing logged, as before the call. Outside that frame, it goes
 * to @trunc (the call's hypercall, with rcx still spilled).
 */
void dbt_x86_emit_free_entry(struct dbt_code *c, uint64_t retslot, uint64_t target,
                             uint64_t exit_slot, uint64_t fdispatch, uint64_t trunc);
/**
 * dbt_x86_emit_scope_entry - the head of the unrecorded translation of a
 * scope's entry: a thread between scopes (gs:[FREE_SP] all ones) enters
 * it without a stop: rsp and the return address are logged
 * (DBT_REC_SCOPE_SP, DBT_REC_SCOPE_RET), the context is that of a thread
 * in the scope's one frame (@budget calls before the depth limit), and it
 * goes on at @rec_slot's target (the recorded translation, past its sync
 * hypercall). With @bt_max (the trace records backtraces of that many
 * return addresses, DBT_WALK_MAX at most) it first walks the stack with
 * the frame sizes at gs:[FRAMES] and logs the backtrace it found
 * (DBT_REC_SCOPE_BT records); it enters only if every return address on
 * the way has a size and lies in [gs:[STACK_LO], gs:[STACK_HI]). Any other thread stops at the sync
 * hypercall whose address it returns, as in other blocks.
 */
uint64_t dbt_x86_emit_scope_entry(struct dbt_code *c, uint64_t rec_slot, int64_t budget,
                                  uint32_t bt_max);
/* dbt_x86_emit_free_ret - an unrecorded return: pop the target, release imm bytes, @fdispatch */
void dbt_x86_emit_free_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t fdispatch);
/* dbt_x86_emit_push_ret - push the return address held in slot (push qword [rip+slot]) */
void dbt_x86_emit_push_ret(struct dbt_code *c, uint64_t slot);
/**
 * dbt_x86_emit_target - store the target of an indirect call or jump in gs:[TARGET]
 * Return: 0, or -1 if its operand cannot be rewritten (nothing written).
 */
int dbt_x86_emit_target(struct dbt_code *c, const struct dbt_insn *in);
/*
 * dbt_x86_emit_ret - pop the return address into gs:[TARGET], release imm
 * bytes, count the call budget up and gs:[OUT] down, then go to @dispatch
 * (the lookup), or to gs:[LEAVE] when gs:[OUT] reached 0 (the thread
 * returned out of the outermost frame the tracer records, most likely:
 * the indirect miss, where the tracer decides, or dbt_x86_emit_leave's code).
 */
void dbt_x86_emit_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t dispatch);
/**
 * dbt_x86_emit_leave - where a return out of every recorded frame goes for
 * a thread that stays in the cache: if rsp is above gs:[ROOT_SP] (the
 * outermost recorded frame is left), log the target (DBT_REC_LEFT), set
 * gs:[FREE_SP] to all ones (unrecorded, in no call: it never ends by
 * itself) and go on at @fdispatch, or (@native) at the target itself,
 * natively; otherwise to @ind_miss (the tracer decides). Entered with the
 * return done, its target in gs:[TARGET].
 */
void dbt_x86_emit_leave(struct dbt_code *c, uint64_t ind_miss, uint64_t fdispatch, bool native);
/**
 * dbt_x86_emit_syscall - the syscall, unless eax is one of @nrs: then go to @hyper
 * (a hypercall with the state of just before the syscall)
 */
void dbt_x86_emit_syscall(struct dbt_code *c, const struct dbt_insn *in, const int *nrs,
                          size_t n_nrs, uint64_t hyper);
/* dbt_x86_emit_restore_rcx - mov rcx, gs:[S_RCX] (the first half of a hypercall pad) */
void dbt_x86_emit_restore_rcx(struct dbt_code *c);
/**
 * dbt_x86_emit_dispatch - the shared lookup of gs:[TARGET] in the table
 * @rec_dispatch: 0 for the lookup of recorded translations. Otherwise this
 *        is the lookup of unrecorded ones (keys with DBT_X86_FREE_KEY), and
 *        where it goes with rsp above gs:[FREE_SP]: the unrecorded call
 *        returned (or was left), which it logs (DBT_REC_FREE_OUT, rsp)
 * @miss: receives the address of its int3, reached with the application's
 *        registers and flags restored when the table has no entry
 */
void dbt_x86_emit_dispatch(struct dbt_code *c, uint64_t rec_dispatch, uint64_t *miss);
/*
 * A door: where a jump written over a scope's entry leads (instead of the
 * step engine's breakpoint there), so that a thread running natively
 * between its scopes (gs still its context page, gs:[FREE_SP] all ones)
 * enters the scope without a stop. It saves rcx below rsp (the red zone
 * of the function being entered, which a signal frame skips), reads
 * gs:[FREE_SP] and goes through @slot to the unrecorded translation of the
 * entry (dbt_x86_emit_scope_entry), or to @miss (a hypercall: translate
 * it) at first. Any other thread stops where the breakpoint would have
 * stopped it, with the application's registers: at @load (a fault: its gs
 * base is the application's, no context page) or at @stop (the int3 of a
 * thread with a context that is not between scopes).
 */
struct dbt_x86_door {
	uint64_t code, load, stop, miss, slot;
};

/* dbt_x86_emit_door - a door's code (*dr: where its parts are) */
void dbt_x86_emit_door(struct dbt_code *c, struct dbt_x86_door *dr);
/*
 * dbt_x86_door_jump - the jump written at a scope's entry @at to its door
 * @to: its length (0: out of reach)
 */
size_t dbt_x86_door_jump(uint64_t at, uint64_t to, uint8_t code[5]);
/* dbt_x86_emit_gadget - syscall; int3: the tracer's remote system calls */
uint64_t dbt_x86_emit_gadget(struct dbt_code *c);
/* dbt_x86_align - pad with int3 to a multiple of n */
void dbt_x86_align(struct dbt_code *c, size_t n);

#endif
