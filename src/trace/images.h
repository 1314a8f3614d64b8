/*
 * The binaries mapped in the traced process, with their symbols: what the
 * core needs to resolve scopes, name binaries in the store, and unwind
 * stacks for backtraces. A thin layer over src/sym/.
 */
#ifndef NOSCO_TRACE_IMAGES_H
#define NOSCO_TRACE_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "sym/unwind.h"
#include "util/err.h"

struct sym_image;
struct sym_slot;
struct images;

struct image {
	int64_t id;     /* the binary's id in the store */
	char *path;     /* canonical path, or the vdso's name */
	char *name;     /* the name it was loaded under */
	uint64_t base;  /* load bias */
	uint64_t start; /* mapped range [start, end) */
	uint64_t end;
	bool is_main;
	struct sym_image *sym; /* NULL when the file could not be read */
};

/* How to read the traced process's memory (for unwinding). */
typedef long (*images_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* images_new - an empty list; read: the process's memory, NULL for none (no backtraces then) */
struct images *images_new(images_read_fn read, void *read_ctx);
void images_free(struct images *imgs);

/**
 * images_add - open a newly mapped binary
 * @path: its file, as the program named it (canonicalised here)
 * @name: the name shown when it has no file
 * @image, @image_len: in-memory image when there is no file (vdso), or NULL
 *
 * Never fails for a binary that cannot be read: it is then kept without
 * symbols and with an empty range.
 */
struct image *images_add(struct images *imgs, const char *path, const char *name, uint64_t base,
                         const uint8_t *image, size_t image_len, bool is_main);

/*
 * images_preload - open the binary at path, loaded at base (0: not known
 * yet), before it is added: images_add() takes it then. Opened once:
 * preloaded again, it is the same, at base. NULL if it cannot be read.
 * The list keeps it.
 */
struct image *images_preload(struct images *imgs, const char *path, uint64_t base);

/* image_interp - the binary's dynamic linker (PT_INTERP), or NULL */
const char *image_interp(const struct image *img);

/* images_find - the binary loaded at base, or NULL */
struct image *images_find(struct images *imgs, uint64_t base);

/* images_take - remove the binary loaded at base; the caller frees it with image_free() */
struct image *images_take(struct images *imgs, uint64_t base);
void image_free(struct image *img);

/* images_at - the binary whose mapped range holds addr, or NULL */
struct image *images_at(struct images *imgs, uint64_t addr);

/**
 * images_reuse - binaries of another list (read before, e.g. to check the
 * scopes) that images_add() takes instead of reading the same file again
 */
void images_reuse(struct images *imgs, const struct images *from);

/* images_foreach - call fn for every binary (in load order) */
void images_foreach(struct images *imgs, void (*fn)(struct image *img, void *arg), void *arg);

/* image_build_id - the binary's build-id, or NULL */
const uint8_t *image_build_id(const struct image *img, size_t *len);

/* image_matches - does a scope's binary="NAME" designate this binary? */
bool image_matches(const struct image *img, const char *name);

/**
 * image_symbol_addr - the runtime address of a function, for scopes
 * @err: NULL if a missing function needs no explanation (looking for
 *       similar names costs a scan of the symbol table)
 *
 * Return: 0, or -1 with an ERR_CONFIG message naming the binary and, when
 * there are any, similar symbol names.
 */
int image_symbol_addr(const struct image *img, const char *symbol, uint64_t *addr, struct err *err);

/**
 * image_function - image_symbol_addr(), also telling whether the symbol
 * is an IFUNC (@addr is then its resolver's)
 */
int image_function(const struct image *img, const char *symbol, uint64_t *addr, bool *ifunc,
                   struct err *err);

/**
 * image_exported_addrs - the runtime addresses of functions the binary
 * exports (sym_image_exported_each(): cheap, for the tracer's own hooks):
 * addrs[i] where found[i]
 */
void image_exported_addrs(const struct image *img, const char *const *names, size_t n,
                          uint64_t *addrs, bool *found);

/* image_is_plt - is addr (runtime) in one of the binary's PLT sections? */
bool image_is_plt(const struct image *img, uint64_t addr);

/*
 * image_names_at - the names of the function at a runtime address: those a
 * shared library exports it by (sym_image_exported_names_at()), else every
 * symbol-table name (sym_image_names_at())
 */
size_t image_names_at(const struct image *img, uint64_t addr, const char **out, size_t max);

/**
 * image_ifunc_slots - sym_image_ifunc_slots() with runtime addresses
 * @resolver: the IFUNC's resolver when this binary defines it, else 0
 *
 * out[].addr are runtime addresses; out[].init stays what the file holds.
 */
size_t image_ifunc_slots(const struct image *img, uint64_t resolver, const char *const *names,
                         size_t n_names, struct sym_slot *out, size_t max);

/* image_has_ifunc - has the binary an IFUNC, whose resolver the dynamic linker may call? */
bool image_has_ifunc(const struct image *img);

/* image_object_addr - the runtime address of a variable (data symbol); 0 or -1 */
int image_object_addr(const struct image *img, const char *name, uint64_t *addr);

/* images_backtrace - return addresses of the stack, innermost first; returns their number */
size_t images_backtrace(struct images *imgs, const struct arch_regs *regs, uint64_t *out,
                        size_t max);
/* images_hold_memory - sym_unwinder_hold_memory() */
void images_hold_memory(struct images *imgs, bool hold);

/* images_read_word - a word of the program's memory, through what the unwinder holds */
int images_read_word(struct images *imgs, uint64_t addr, uint64_t *out);
/* images_frame_rule - sym_unwinder_frame_rule(); -1 also without an unwinder */
int images_frame_rule(struct images *imgs, uint64_t pc, bool first, struct sym_frame_rule *rule);
/* images_code_before - sym_unwinder_code_before(); -1 also without an unwinder */
int images_code_before(struct images *imgs, uint64_t addr, uint64_t *start, uint64_t *end);
/* images_frame_rows - sym_unwinder_frame_rows(); -1 also without an unwinder */
int images_frame_rows(struct images *imgs, uint64_t addr, struct sym_rows_cursor *cur, size_t max,
                      sym_frame_row_fn fn, void *arg);

#endif
