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

/**
 * struct sym_mem_log - the words an unwinding read
 * @addr, @val: the first @n words read, in order (capacity @max), as the
 *	  unwinding saw them
 * @inexact: the result depends on more than those words: a read failed,
 *	     code was read, or more than @max words were
 * @flip: set by the caller: every word read is seen XORed with it, but
 *	  those at the @n_keep addresses @keep (which words matter to the
 *	  result can so be told: libdwfl reads every saved register)
 * @sp: NULL, or filled with the stack pointer of each frame whose return
 *	address is output (as many as the result has)
 * @outermost: the unwinding ended at a frame CFI says is the outermost
 *	       (its return address undefined), not at a check or at the maximum
 */
struct sym_mem_log {
	uint64_t *addr, *val;
	size_t n, max;
	bool inexact;
	uint64_t flip;
	const uint64_t *keep;
	size_t n_keep;
	uint64_t *sp;
	bool outermost;
};

/**
 * sym_unwinder_backtrace_sp - sym_unwinder_backtrace() from a pc and a
 * stack pointer alone (every other register unknown), logging the words
 * it reads
 * @log: filled (@log->max and the arrays set by the caller)
 *
 * The result is a function of @pc, @sp, the logged words and the modules
 * reported: the same words at the same addresses give the same backtrace
 * for as long as the modules do not change (which of the words matter,
 * and how far apart the frames are, a caller can so find out). Frames of
 * the frame-pointer chain or of a stack scan make the log inexact.
 *
 * Return: the number of addresses stored, or -1 when @log is inexact.
 */
ssize_t sym_unwinder_backtrace_sp(struct sym_unwinder *uw, uint64_t pc, uint64_t sp,
                                  const struct sym_mem *mem, struct sym_mem_log *log, uint64_t *out,
                                  size_t max);

/**
 * sym_unwinder_frame_size - the size of the frame at pc as
 * sym_unwinder_backtrace_sp() unwinds it, known without unwinding
 * @first: pc is where the unwinding starts (looked up as is); otherwise a
 *	   return address (looked up at its call)
 * @size: receives how far above the stack pointer at pc the caller's
 *	  stack pointer is (its return address is the word below)
 *
 * Only for a frame whose CFI makes that a function of pc alone: the CFA
 * at the stack pointer plus a constant, the return address saved just
 * below it, no register's rule depending on another's value. For such a
 * frame libdwfl finds that size on any stack.
 *
 * Return: 0, or -1 when pc's frame is not such a frame (or has no CFI).
 */
int sym_unwinder_frame_size(struct sym_unwinder *uw, uint64_t pc, bool first, uint64_t *size);

/* A direct call: the address it returns to, the function it calls. */
struct sym_call {
	uint64_t ret, target;
};

/**
 * sym_unwinder_function - the extent of the function around addr, that of
 * its .eh_frame FDE
 *
 * Return: 0 with [*start, *end), or -1 when no FDE covers addr.
 */
int sym_unwinder_function(struct sym_unwinder *uw, uint64_t addr, uint64_t *start, uint64_t *end);

/**
 * sym_unwinder_calls_in - the direct calls made in [start, end) of a
 * module's code (a function: sym_unwinder_function()) to functions CFI
 * knows the start of, read from the module's file
 * @out: receives at most @max calls
 *
 * Some may be bytes of other instructions that look like a call: their
 * return addresses are never returned to.
 *
 * Return: how many were stored, or -1 when the range is no module's code.
 */
ssize_t sym_unwinder_calls_in(struct sym_unwinder *uw, uint64_t start, uint64_t end,
                              struct sym_call *out, size_t max);

/**
 * sym_unwinder_stats - counters for tests and benchmarks
 * @uw: the unwinder
 * @out: filled
 */
void sym_unwinder_stats(const struct sym_unwinder *uw, struct sym_unwind_stats *out);

#endif
