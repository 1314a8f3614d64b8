/*
 * The views' symbolizer over the binaries recorded in a trace (symbols.c;
 * docs/views.md, "Addresses"). Shared with the exporters (src/export/),
 * which name functions exactly as the views print them.
 */
#ifndef NOSCO_VIEW_SYMS_H
#define NOSCO_VIEW_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/reader.h"
#include "sym/image.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "view/view.h"

/* One recorded binary, as the symbolizer knows it. */
struct view_binary {
	int64_t id;
	char *path;
	const char *file; /* the last component of path */
	uint8_t *build_id;
	size_t build_id_len;
	uint64_t base, start, end;
	uint64_t t_load, t_unload; /* its lifetime: 0 and UINT64_MAX when unknown */
	int64_t load_event, unload_event;
	uint8_t *image; /* the stored image (vdso) */
	size_t image_len;
	struct sym_image *img; /* opened on first use; NULL if unusable */
	bool tried;            /* opening was attempted */
};

/* Symbolication over the binaries of a trace (docs/views.md, "Addresses"). */
struct view_syms {
	bool enabled; /* false with -n */
	bool lines;
	const char *sysroot;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	VEC(struct view_binary) bins; /* by id */
};

/* How an address is used, which decides where its symbol is looked up. */
enum view_addr_kind {
	VIEW_ADDR_CODE,   /* an instruction or a function entry */
	VIEW_ADDR_RETURN, /* a return address: looked up at address - 1 */
};

int view_syms_init(struct view_syms *s, struct store_reader *r, const struct view_args *a,
                   struct err *err);
void view_syms_fini(struct view_syms *s);

/**
 * view_sym_name - the display name of an address
 * @s: the symbolizer
 * @addr: the address
 * @time: when it was executed (which binary was mapped there then)
 * @kind: code or return address
 * @sb: receives "sym", "sym+0xOFF", "binary+0xOFF" or "<0xADDR>"
 */
void view_sym_name(struct view_syms *s, uint64_t addr, uint64_t time, enum view_addr_kind kind,
                   struct strbuf *sb);

/**
 * view_sym_line - the source position of an address, with --lines
 * @sb: receives "file:line" when known
 *
 * Return: true when a position was found.
 */
bool view_sym_line(struct view_syms *s, uint64_t addr, uint64_t time, enum view_addr_kind kind,
                   struct strbuf *sb);

/**
 * view_sym_source - the source position of an instruction, with --lines
 * @out: the DWARF line (its file stays valid while the symbolizer is open)
 *
 * Return: true when a position with a file was found.
 */
bool view_sym_source(struct view_syms *s, uint64_t addr, uint64_t time, struct sym_line *out);

/* view_sym_binary_at - the binary mapped at addr at that time (the latest loaded), or NULL */
const struct view_binary *view_sym_binary_at(struct view_syms *s, uint64_t addr, uint64_t time);

/*
 * view_sym_timeless - whether addr's name is the same at any time (at most
 * one recorded binary ever held it): then any time can be given
 */
bool view_sym_timeless(const struct view_syms *s, uint64_t addr);

/* view_sym_binary - the recorded binary with this id, or NULL */
const struct view_binary *view_sym_binary(const struct view_syms *s, int64_t id);

#endif
