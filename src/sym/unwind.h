/*
 * Stack unwinding of a stopped thread: return addresses, innermost first.
 *
 * CFI (.eh_frame, through libdwfl) is used where the code has it. Where a
 * frame has none (hand-written assembly, JIT-free code built without
 * unwind tables), the frame-pointer chain is followed instead, with checks that keep
 * a garbage frame pointer from producing frames: the stack pointer must strictly
 * grow from frame to frame, every word read must be readable, and every
 * return address must lie in a module the caller reported. So unwinding
 * never loops and stops at the first frame it cannot trust.
 *
 * The caller reports the mapped images (sym_unwinder_add) and removes them
 * when they are unmapped (sym_unwinder_remove, after dlclose). Per-module
 * data (the parsed ELF, CFI tables) is kept across calls, so a backtrace
 * costs a few memory reads per frame and no file access.
 *
 * Registers are given in DWARF numbering (arch_regs_to_dwarf()); memory is
 * read through a caller-supplied function, typically process_vm_readv.
 */
#ifndef NOSCO_SYM_UNWIND_H
#define NOSCO_SYM_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "sym/image.h"
#include "util/err.h"

#define SYM_UNWIND_NREGS ARCH_DWARF_NREGS

struct sym_unwinder;

/**
 * struct sym_mem - how the unwinder reads the stopped process's memory
 * @read: copy up to @len bytes at @addr into @buf; return the number of
 *	  bytes copied (fewer at the end of a mapping) or -1
 * @arg: passed to @read
 */
struct sym_mem {
	long (*read)(void *arg, uint64_t addr, void *buf, size_t len);
	void *arg;
};

/**
 * struct sym_unwind_stats - counters since the unwinder was created
 * @backtraces: calls to sym_unwinder_backtrace()
 * @frames: return addresses produced
 * @fp_frames: of those, found by following the frame-pointer chain
 * @mem_reads: calls made to the memory read function
 */
struct sym_unwind_stats {
	uint64_t backtraces;
	uint64_t frames;
	uint64_t fp_frames;
	uint64_t mem_reads;
};

/**
 * sym_unwinder_new - create an unwinder with no module
 * @e: error record
 *
 * Return: the unwinder (free with sym_unwinder_free()), or NULL with @e set.
 */
struct sym_unwinder *sym_unwinder_new(struct err *e);

/**
 * sym_unwinder_free - destroy an unwinder and drop its image references
 * @uw: the unwinder, or NULL
 */
void sym_unwinder_free(struct sym_unwinder *uw);

/**
 * sym_unwinder_add - report a mapped image
 * @uw: the unwinder
 * @img: the image (a file or a memory image such as the vdso); the
 *	 unwinder takes its own reference
 * @bias: the load bias (runtime address = file address + @bias)
 * @e: error record
 *
 * The module covers [@bias + lowest p_vaddr, @bias + highest p_vaddr +
 * p_memsz) (sym_image_extent()).
 *
 * Return: 0, or -1 with @e set (no PT_LOAD, overlap with a module already
 * reported, or libdwfl refused it).
 */
int sym_unwinder_add(struct sym_unwinder *uw, struct sym_image *img, uint64_t bias, struct err *e);

/**
 * sym_unwinder_remove - forget the module containing an address
 * @uw: the unwinder
 * @addr: any runtime address in the module (its start, typically)
 *
 * Return: 0, or -1 when no module contains @addr.
 */
int sym_unwinder_remove(struct sym_unwinder *uw, uint64_t addr);

/**
 * sym_unwinder_hold_memory - keep the memory one backtrace read for the
 * next ones (true), until released (false)
 *
 * Memory is read in blocks and kept for the length of one backtrace. A
 * caller that unwinds the same stopped thread several times holds it, so
 * that the stack is read once rather than for each.
 */
void sym_unwinder_hold_memory(struct sym_unwinder *uw, bool hold);

/**
 * sym_unwinder_backtrace - the return addresses of a stopped thread
 * @uw: the unwinder
 * @regs: the thread's registers in DWARF numbering
 * @mem: how to read its memory
 * @out: receives up to @max return addresses, innermost first; the frame
 *	 of the current pc is skipped, so @out[0] is where the current
 *	 function returns to
 * @max: capacity of @out
 *
 * Unwinding stops at the outermost frame, at the first frame that cannot
 * be unwound or fails the checks, or after @max addresses. Return
 * addresses are not adjusted (no -1).
 *
 * Return: the number of addresses stored.
 */
size_t sym_unwinder_backtrace(struct sym_unwinder *uw, const uint64_t regs[SYM_UNWIND_NREGS],
                              const struct sym_mem *mem, uint64_t *out, size_t max);

/*
 * sym_unwinder_read - an 8-byte word of memory, through what the unwinder
 * holds (sym_unwinder_hold_memory()): the words the unwindings of a
 * stopped thread read, read once. False if it cannot be read.
 */
bool sym_unwinder_read(struct sym_unwinder *uw, const struct sym_mem *mem, uint64_t addr,
                       uint64_t *out);

/* How a frame is unwound, when that is the same on any stack (sym_unwinder_frame_rule). */
struct sym_frame_rule {
	enum sym_frame_kind {
		SYM_FRAME_SP, /* the CFA is the stack pointer + size */
		SYM_FRAME_FP, /* the CFA is the frame pointer + 2 pointers, the caller's fp below it
		               */
		SYM_FRAME_END, /* the outermost frame: no return address */
	} kind;
	uint64_t size;
	/* SYM_FRAME_SP: the caller's frame pointer is this frame's, lost, or read at CFA + fp_at */
	enum sym_frame_fp { SYM_FP_SAME, SYM_FP_LOST, SYM_FP_SAVED } fp;
	int64_t fp_at;
};

/**
 * sym_unwinder_frame_rule - how libdwfl unwinds the frame at pc, known
 * without unwinding
 * @first: pc is where the unwinding starts (looked up as is); otherwise a
 *	   return address (looked up at its call)
 *
 * Only for a frame whose CFI makes that a function of pc, the stack
 * pointer and the frame pointer: the CFA at the stack pointer plus a
 * constant, or at the frame pointer plus two pointers with the caller's
 * frame pointer saved at the frame pointer (a frame-pointer prologue's
 * frame); the return address saved just below the CFA; no register's
 * rule depending on another's value; or the outermost frame. For such a
 * frame libdwfl finds the caller's return address and frame pointer
 * where the rule says on any stack.
 *
 * Return: 0, or -1 when pc's frame is not such a frame (or has no CFI).
 */
int sym_unwinder_frame_rule(struct sym_unwinder *uw, uint64_t pc, bool first,
                            struct sym_frame_rule *rule);

/* What sym_unwinder_frame_rows() calls for each row: r NULL where no rule holds; nonzero stops. */
typedef int (*sym_frame_row_fn)(void *arg, uint64_t start, uint64_t end,
                                const struct sym_frame_rule *r);

/* Where sym_unwinder_frame_rows() is in a module: zeroed before the first call. */
struct sym_rows_cursor {
	uint64_t lo, hi; /* the module's extent */
	/*
	 * what its rows are made of (its CFI, and its extent from its load
	 * address): modules of one key have the same rows, from lo on
	 */
	uint64_t key;
	size_t next_fde, n_fdes; /* the next FDE to read, of how many */
};

/**
 * sym_unwinder_frame_rows - the frame rules of a whole module, a part at
 * a time: the rows of its CFI in address order, each with the rule
 * sym_unwinder_frame_rule() gives for an address in it, those of up to
 * @max FDEs a call
 * @addr: an address in the module
 * @cur: where the last call stopped; receives the module's extent
 * @fn: called for each row
 *
 * Addresses no row covers have no rule. One pass over the module's
 * .eh_frame: Python's 61,000 rows in about 2 ms.
 *
 * Return: 1 while rows remain, 0 once all were given, -1 when addr is in
 * no module with a table of FDEs, or fn returned nonzero.
 */
int sym_unwinder_frame_rows(struct sym_unwinder *uw, uint64_t addr, struct sym_rows_cursor *cur,
                            size_t max, sym_frame_row_fn fn, void *arg);

/**
 * sym_unwinder_code_before - the extent of the function whose unwind
 * information (its FDE) starts last below @addr in @addr's module: what
 * runs right before the bytes in front of @addr (a door's padding, in the
 * dbt engine, lies between its end and @addr)
 *
 * Return: 0 with [*start, *end), -1 where the module or its table has none.
 */
int sym_unwinder_code_before(struct sym_unwinder *uw, uint64_t addr, uint64_t *start,
                             uint64_t *end);

/**
 * sym_unwinder_stats - counters for tests and benchmarks
 * @uw: the unwinder
 * @out: filled
 */
void sym_unwinder_stats(const struct sym_unwinder *uw, struct sym_unwind_stats *out);

#endif
