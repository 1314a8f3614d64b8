/*
 * Private to src/sym/: the image structure and the helpers shared by its
 * files (image.c headers, symtab.c tables and lookups, synth.c PLT and
 * entry names, near.c, lines.c).
 */
#ifndef NOSCO_SYM_INTERNAL_H
#define NOSCO_SYM_INTERNAL_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

#include <elfutils/libdw.h>

#include "sym/image.h"
#include "sym/unwind.h"
#include "util/vec.h"

/* Entry flags. */
#define SYM_E_LOCAL      0x01 /* STB_LOCAL */
#define SYM_E_WEAK       0x02 /* STB_WEAK */
#define SYM_E_NOTYPE     0x04 /* a sized STT_NOTYPE label, not a function */
#define SYM_E_HIDDEN_VER 0x08 /* a non-default version (memcpy@GLIBC_2.2.5) */
#define SYM_E_DEMANGLED  0x10 /* demangled has been computed */
#define SYM_E_LAZY_PLT   0x20 /* an IBT lazy-binding .plt entry (the stub is in .plt.sec) */
#define SYM_E_IFUNC      0x40 /* STT_GNU_IFUNC: the address is the resolver's */

struct sym_entry {
	uint64_t addr;
	uint64_t size;    /* as recorded; 0 when unknown */
	uint64_t reach;   /* addresses [addr, addr + reach) resolve to it */
	uint64_t sec_end; /* end of the containing section (0: unknown) */
	const char *raw;  /* in an ELF string table or in sym_image.owned */
	char *demangled;  /* NULL when not mangled (or not yet computed) */
	uint8_t kind;     /* enum sym_kind */
	uint8_t flags;
};

/* An ELF file that symbols are read from: the image itself or its debug file. */
struct sym_elf {
	int fd; /* -1 for memory images and when not open */
	Elf *elf;
};

struct sym_image {
	int refs;
	char *path;
	char *sysroot;
	void *mem; /* owned copy of a memory image */
	struct sym_elf main;
	GElf_Ehdr ehdr;
	VEC(struct sym_segment) segs;
	uint8_t *build_id;
	size_t build_id_len;
	char *soname;
	char *runpath; /* DT_RUNPATH, else DT_RPATH */
	char *interp;

	bool syms_loaded;
	bool debug_tried;
	struct sym_elf debug;
	char *debug_path;
	VEC(struct sym_entry) syms; /* sorted by address then preference */
	VEC(uint32_t) by_addr;      /* best entry of each address, ascending */
	VEC(uint32_t) by_name;      /* all entries by raw name then preference */
	VEC(char *) owned;          /* synthetic names */

	bool dwarf_tried;
	Dwarf *dwarf;
};

/* symtab.c */

/**
 * sym_image_debug_elf - the image's debug file, looked for once
 * @img: the image
 *
 * Return: its ELF handle, or NULL when it has none.
 */
Elf *sym_image_debug_elf(struct sym_image *img);

/* sym_is_plt_section - is a section of that name a PLT's (.plt, .plt.sec, .plt.got, .iplt)? */
bool sym_is_plt_section(const char *name);

/**
 * sym_exec_section - is section i of elf code?
 * @elf: the file
 * @i: the section's index
 */
bool sym_exec_section(Elf *elf, size_t i);

/**
 * sym_table_wanted - is this symbol table entry a function sym_image keeps?
 * @sym: the entry
 * @elf: the file it is in (for its section's flags)
 *
 * Return: true for a function (or a sized untyped symbol) defined in code.
 */
bool sym_table_wanted(const GElf_Sym *sym, Elf *elf);

/* image.c */

/**
 * sym_libelf_init - declare the libelf version (once; every entry point calls it)
 */
void sym_libelf_init(void);

/**
 * sym_image_bytes - the file bytes at a file address, through the PT_LOAD segments
 * @img: the image
 * @addr: file address
 * @avail: receives how many bytes follow in the file (bss is not in it)
 *
 * Return: a pointer into the image's mapping or copy, or NULL.
 */
const uint8_t *sym_image_bytes(const struct sym_image *img, uint64_t addr, size_t *avail);

/**
 * sym_elf_open - open an ELF file read-only (mmap)
 * @f: filled; close with sym_elf_close()
 * @path: the file
 * @e: error record (may be NULL)
 *
 * Return: 0, or -1 (ERR_IO, ERR_INPUT).
 */
int sym_elf_open(struct sym_elf *f, const char *path, struct err *e);

/**
 * sym_elf_close - close what sym_elf_open() opened (twice is harmless)
 * @f: the file
 */
void sym_elf_close(struct sym_elf *f);

/* symtab.c */

/**
 * sym_entry_cmp_pref - which of two symbols is the better name
 * @a: a symbol
 * @b: another
 *
 * The order documented at sym_image_by_addr(). Total: equal only for
 * identical kind, flags and name.
 *
 * Return: negative when @a is better, positive when @b is, 0 when equal.
 */
int sym_entry_cmp_pref(const struct sym_entry *a, const struct sym_entry *b);

/**
 * sym_entry_name - the display name, demangled on first use
 * @s: the symbol
 *
 * Return: the demangled name, or the raw one when it is not mangled.
 */
const char *sym_entry_name(struct sym_entry *s);

/**
 * sym_entry_info - fill the public description of a symbol (offset 0)
 * @s: the symbol
 * @out: filled
 */
void sym_entry_info(struct sym_entry *s, struct sym_info *out);

/**
 * sym_image_own - keep an allocated name alive as long as the image
 * @img: the image
 * @s: the name (the image frees it)
 *
 * Return: @s.
 */
const char *sym_image_own(struct sym_image *img, char *s);

/**
 * sym_image_has_name - is there a symbol with this raw name
 * @img: the image (while its symbols load too: synth.c)
 * @raw: the name
 *
 * Return: true when at least one symbol has it.
 */
bool sym_image_has_name(const struct sym_image *img, const char *raw);

/**
 * sym_image_add - append a symbol; the indexes are rebuilt after loading
 * @img: the image
 * @s: the symbol, copied
 */
void sym_image_add(struct sym_image *img, const struct sym_entry *s);

/* One dynamic relocation, reduced to what the synthetic names and IFUNC slots need. */
struct sym_reloc {
	uint64_t offset; /* the slot it writes */
	uint64_t addend;
	unsigned type;
	const char *sym; /* the symbol's name, or NULL */
	bool in_rela_plt;
};

/**
 * sym_for_each_reloc - call fn for every relocation of the allocated SHT_RELA sections
 * @img: the image
 * @fn: called with each relocation
 * @arg: passed to @fn
 */
void sym_for_each_reloc(struct sym_image *img, void (*fn)(const struct sym_reloc *r, void *arg),
                        void *arg);

/**
 * sym_image_is_native - is the image code of the ISA nosco is built for
 * (whose relocation types and code patterns arch/arch.h knows)
 * @img: the image
 *
 * Return: true for an image of ARCH_ELF_MACHINE and ARCH_ELF_CLASS.
 */
bool sym_image_is_native(const struct sym_image *img);

/* fde.c (documented there) */
int sym_fde_range(Elf *elf, uint64_t addr, uint64_t *start, uint64_t *end);

/*
 * The sorted table of .eh_frame_hdr, for looking FDEs up by address
 * without reading .eh_frame through (file addresses throughout).
 */
struct sym_fde_table {
	const uint8_t *table; /* n pairs: initial location, FDE (datarel sdata4) */
	size_t n;
	uint64_t hdr_addr;
	Elf_Data *eh;
	GElf_Shdr eh_sh;
	const unsigned char *ident;
};

/* sym_fde_table_open - tb for elf; false when it has no table of the usual layout */
bool sym_fde_table_open(Elf *elf, struct sym_fde_table *tb);
/* sym_fde_table_fde - the i-th FDE of tb, in address order */
bool sym_fde_table_fde(const struct sym_fde_table *tb, size_t i, Dwarf_FDE *fde);
/*
 * sym_fde_table_before - [start, end) of the last FDE of tb to start below
 * addr (file addresses); false where none does
 */
bool sym_fde_table_before(const struct sym_fde_table *tb, uint64_t addr, uint64_t *start,
                          uint64_t *end);
/* sym_fde_table_cie - the CIE at off in .eh_frame, and the encoding of its FDEs' addresses */
bool sym_fde_table_cie(const struct sym_fde_table *tb, Dwarf_Off off, Dwarf_CIE *cie, uint8_t *enc);
/*
 * sym_fde_table_bounds - [start, end) of fde, whose addresses are encoded
 * as enc says; *after: where its augmentation data, then instructions, are
 */
bool sym_fde_table_bounds(const struct sym_fde_table *tb, const Dwarf_FDE *fde, uint8_t enc,
                          uint64_t *start, uint64_t *end, const uint8_t **after);

/* cfi-rows.c */
/*
 * sym_fde_table_rows - the CFI rows of tb's FDEs from *next_fde on, max
 * of them (file addresses plus bias, in address order), each with the
 * rule sym_unwinder_frame_rule() gives there; *next_fde moves past them.
 * Return: 1 while FDEs remain, 0 once done, -1 where fn returned nonzero.
 */
int sym_fde_table_rows(const struct sym_fde_table *tb, uint64_t bias, size_t *next_fde, size_t max,
                       sym_frame_row_fn fn, void *arg);

/* exported.c */

/* sym_section_data - the data of elf's first section of that type (its header in *sh), or NULL */
Elf_Data *sym_section_data(Elf *elf, Elf64_Word type, GElf_Shdr *sh);

/* unwind.c */
struct sym_unwinder;

/**
 * sym_unwinder_fp_only - follow only the frame-pointer chain, never CFI
 * @uw: the unwinder
 * @on: true for the frame-pointer chain only
 *
 * For tests of our fallback (libdwfl's x86-64 backend follows the frame
 * pointer itself where CFI is missing, which hides ours) and for
 * comparing costs.
 */
void sym_unwinder_fp_only(struct sym_unwinder *uw, bool on);

/* synth.c */

/**
 * sym_synth_plt - add "name@plt" symbols for the PLT stubs (native images only)
 * @img: the image, its tables loaded and indexed
 */
void sym_synth_plt(struct sym_image *img);

/**
 * sym_synth_entry - add "_start" and "main" decoded from the entry point
 * @img: the image, its tables loaded and indexed
 *
 * _start is added when no symbol starts at the entry of an executable;
 * main when no symbol has that name and the entry code is glibc's _start.
 */
void sym_synth_entry(struct sym_image *img);

#endif
