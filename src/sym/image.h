/*
 * ELF images and their symbols, for the tracer (scopes, PLT names,
 * backtraces) and the dump views (symbolication, --lines).
 *
 * An image is opened from a file or from a copy of its bytes (the vdso has
 * no file). Headers are read at open time; the symbol tables, the separate
 * debug file and DWARF are read on first use, so a dump may open many
 * images and pay only for those it symbolizes.
 *
 * Addresses in this API are file addresses: the p_vaddr/st_value space of
 * the image. The address in a process is the file address plus the load
 * bias of the mapping (0 for ET_EXEC).
 *
 * Symbol table: function symbols (STT_FUNC, STT_GNU_IFUNC, and STT_NOTYPE
 * with a size) defined in executable sections of .symtab and .dynsym, plus
 * the .symtab of the separate debug file found by build-id, plus synthetic
 * names: "name@plt" for PLT stubs, "main" and "_start" decoded from the
 * entry code of a stripped executable. Every alias is kept, so a name
 * lookup finds both puts and _IO_puts; an address lookup returns one name
 * per address, chosen by sym_image_by_addr()'s rule.
 */
#ifndef NOSCO_SYM_IMAGE_H
#define NOSCO_SYM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct sym_image;

/**
 * struct sym_segment - one PT_LOAD program header
 * @vaddr: file address of the segment
 * @memsz: its size in memory
 * @offset: its offset in the file
 * @filesz: its size in the file
 * @align: its alignment (p_align)
 * @flags: PF_R, PF_W, PF_X
 */
struct sym_segment {
	uint64_t vaddr;
	uint64_t memsz;
	uint64_t offset;
	uint64_t filesz;
	uint64_t align;
	uint32_t flags;
};

/* Where a symbol comes from. */
enum sym_kind {
	SYM_KIND_TABLE, /* .symtab, .dynsym or the debug file's .symtab */
	SYM_KIND_PLT,   /* a PLT stub, named "<target>@plt" */
	SYM_KIND_ENTRY, /* main or _start found by decoding a stripped executable */
};

/**
 * struct sym_info - a symbol as returned by the lookups
 * @name: display name: demangled when @raw is a mangled C++ or Rust name
 * @raw: the name as written in the symbol table
 * @addr: file address of the symbol's start
 * @size: its size, 0 when unknown
 * @offset: for address lookups, the looked-up address minus @addr
 * @kind: where the symbol comes from
 * @local: STB_LOCAL (a static function)
 * @ifunc: STT_GNU_IFUNC: @addr is the resolver, which returns the address
 *	   of the implementation the dynamic linker binds the name to
 *
 * The strings belong to the image and live as long as it does.
 */
struct sym_info {
	const char *name;
	const char *raw;
	uint64_t addr;
	uint64_t size;
	uint64_t offset;
	enum sym_kind kind;
	bool local;
	bool ifunc;
};

/**
 * struct sym_line - a source position from DWARF line tables
 * @file: the source file's path as recorded by the compiler
 * @line: 1-based line number, 0 when unknown
 * @column: 1-based column, 0 when unknown
 */
struct sym_line {
	const char *file;
	int line;
	int column;
};

/**
 * sym_image_open - open an ELF file
 * @path: the file
 * @sysroot: prefix for the separate debug file (/usr/lib/debug/.build-id/...),
 *	     NULL or "" for the root of this machine. @path itself is taken
 *	     as given: a caller redirecting binaries prepends the sysroot itself.
 * @e: error record
 *
 * Return: a new image (free with sym_image_free()), or NULL with @e set
 * (ERR_IO when the file cannot be opened, ERR_INPUT when it is not ELF).
 */
struct sym_image *sym_image_open(const char *path, const char *sysroot, struct err *e);

/**
 * sym_image_open_memory - open an ELF image from bytes
 * @name: what sym_image_path() returns (e.g. "[vdso]")
 * @buf: the image as mapped in memory (the vdso's pages); copied
 * @len: its size
 * @e: error record
 *
 * No separate debug file is looked for.
 *
 * Return: a new image, or NULL with @e set.
 */
struct sym_image *sym_image_open_memory(const char *name, const void *buf, size_t len,
                                        struct err *e);

/**
 * sym_image_ref - take another reference to an image
 * @img: the image
 *
 * Each reference is dropped by one sym_image_free(). The unwinder keeps a
 * reference to the images it was given, so callers may free theirs.
 *
 * Return: @img.
 */
struct sym_image *sym_image_ref(struct sym_image *img);

/**
 * sym_image_free - drop a reference; the last one closes the image
 * @img: the image, or NULL (nothing happens)
 */
void sym_image_free(struct sym_image *img);

/**
 * sym_image_path - the path (or name) the image was opened with
 * @img: the image
 *
 * Return: a string owned by the image.
 */
const char *sym_image_path(const struct sym_image *img);

/**
 * sym_image_class - ELFCLASS32 or ELFCLASS64
 * @img: the image
 *
 * Return: the ELF class.
 */
int sym_image_class(const struct sym_image *img);

/**
 * sym_image_machine - the ELF machine (elf.h's EM_* value)
 * @img: the image
 *
 * Return: e_machine.
 */
int sym_image_machine(const struct sym_image *img);

/**
 * sym_image_type - the ELF type: ET_EXEC, ET_DYN (PIE or shared object), ...
 * @img: the image
 *
 * Return: e_type.
 */
int sym_image_type(const struct sym_image *img);

/**
 * sym_image_entry - the entry point's file address (0 when there is none)
 * @img: the image
 *
 * Return: e_entry.
 */
uint64_t sym_image_entry(const struct sym_image *img);

/**
 * sym_image_segments - the PT_LOAD headers in file order
 * @img: the image
 * @n: receives their number
 *
 * Return: an array owned by the image (NULL when @n is 0).
 */
const struct sym_segment *sym_image_segments(const struct sym_image *img, size_t *n);

/**
 * sym_image_extent - the file addresses the PT_LOAD segments span
 * @img: the image
 * @lo: receives the lowest p_vaddr
 * @hi: receives the highest p_vaddr + p_memsz
 *
 * Not page-rounded. With a load bias B the image occupies [B + @lo, B + @hi).
 *
 * Return: 0, or -1 when the image has no PT_LOAD segment.
 */
int sym_image_extent(const struct sym_image *img, uint64_t *lo, uint64_t *hi);

/**
 * sym_image_build_id - the NT_GNU_BUILD_ID note's bytes
 * @img: the image
 * @len: receives their number (0 when there is no build-id)
 *
 * Return: bytes owned by the image, or NULL.
 */
const uint8_t *sym_image_build_id(const struct sym_image *img, size_t *len);

/**
 * sym_image_soname - DT_SONAME of a shared object
 * @img: the image
 *
 * Return: a string owned by the image, or NULL.
 */
const char *sym_image_soname(const struct sym_image *img);

/**
 * sym_image_runpath - where the dynamic linker looks for the image's libraries
 * @img: the image
 *
 * Return: DT_RUNPATH (DT_RPATH when there is none) as written, with its
 * colons and $ORIGIN; a string owned by the image, or NULL.
 */
const char *sym_image_runpath(const struct sym_image *img);

/**
 * sym_image_interp - the PT_INTERP path (the dynamic linker)
 * @img: the image
 *
 * Return: a string owned by the image, or NULL (static or shared object).
 */
const char *sym_image_interp(const struct sym_image *img);

/**
 * sym_image_load_symbols - read the symbol tables now
 * @img: the image
 * @e: error record
 *
 * The lookups call this themselves; calling it first separates the cost
 * from the lookup. Loading happens once. An image without any symbol
 * table is not an error, and neither is a table libelf cannot read: it is
 * skipped, so a damaged file still gets the names that can be read.
 *
 * Return: 0 (-1 with @e set is reserved for failures that leave no usable
 * table; none exists today).
 */
int sym_image_load_symbols(struct sym_image *img, struct err *e);

/**
 * sym_image_debug_path - the separate debug file in use
 * @img: the image (symbols are loaded if they were not)
 *
 * Return: its path, or NULL when none was found.
 */
const char *sym_image_debug_path(struct sym_image *img);

/**
 * sym_image_by_addr - the symbol containing a file address
 * @img: the image
 * @addr: file address
 * @out: filled when found
 * @e: error record
 *
 * A symbol contains the addresses [start, start + size). A symbol without
 * a size (hand-written assembly) reaches to the next symbol or the end of
 * its section. An address outside every symbol is not found, even inside
 * .text: the caller then shows "binary+0xOFF" rather than a misleading
 * "previous_function+0x1234". Of several names at one address the result
 * is, in order of preference: a symbol-table name over a PLT or decoded
 * name, a default symbol version over a hidden one, global or weak over
 * local, not starting with '_' over starting with it, global over weak,
 * a function over a NOTYPE label, the shortest, then the first in strcmp
 * order (so libc's puts wins over _IO_puts, fopen over fopen64).
 *
 * Return: 1 when found, 0 when not, -1 with @e set when the symbols could
 * not be loaded.
 */
int sym_image_by_addr(struct sym_image *img, uint64_t addr, struct sym_info *out, struct err *e);

/**
 * sym_image_by_name - the address of a named symbol
 * @img: the image
 * @name: a raw (mangled) name, or failing that a demangled one
 *	  ("ns::f(int)"); "puts@plt" names a PLT stub
 * @out: filled when found (@out->offset is 0)
 * @e: error record
 *
 * All aliases are found. When several symbols have the name (static
 * functions of different files, symbol versions), the preference order of
 * sym_image_by_addr() picks one; sym_image_by_name_all() lists them.
 *
 * Return: 1 when found, 0 when not, -1 with @e set when the symbols could
 * not be loaded.
 */
int sym_image_by_name(struct sym_image *img, const char *name, struct sym_info *out, struct err *e);

/**
 * sym_image_by_name_all - every symbol with a raw name
 * @img: the image
 * @name: the raw name
 * @out: receives up to @max symbols, preferred first
 * @max: capacity of @out
 *
 * Return: the number of symbols with that name (may exceed @max).
 */
size_t sym_image_by_name_all(struct sym_image *img, const char *name, struct sym_info *out,
                             size_t max);

/**
 * sym_image_dynamic - a function in the binary's dynamic symbol table
 * @img: the image
 * @name: the raw name
 * @addr: set to its address (file-relative) when found
 * @ifunc: set to whether it is an IFUNC (@addr is then its resolver's)
 *
 * Found through the GNU hash table, as the dynamic linker does: the
 * symbol's default version, without reading the symbol tables. It is the
 * symbol sym_image_by_name() prefers among those with the name (a
 * global, default-version function comes first).
 *
 * Return: true when found; false when not, or when the binary has no such
 * table (then only sym_image_by_name() can tell).
 */
bool sym_image_dynamic(struct sym_image *img, const char *name, uint64_t *addr, bool *ifunc);

/**
 * sym_image_exported - the address of a function the binary exports
 * @img: the image
 * @name: the raw name
 * @addr: set to its address (file-relative, as sym_info's) when found
 *
 * Looks in the dynamic symbol table through its GNU hash table, as the
 * dynamic linker does, for the symbol's default version; without reading
 * the other symbol tables or the debug file, so it is cheap for every
 * library a program loads. A binary that is not a shared library (no
 * soname: a program, static or not) or has no such table is searched
 * through its symbol tables and its debug file's, without loading them:
 * a global definition first, as sym_image_by_name() prefers.
 *
 * Return: true when found (tables libelf cannot read are skipped).
 */
bool sym_image_exported(struct sym_image *img, const char *name, uint64_t *addr);

/**
 * sym_image_exported_each - sym_image_exported() for several names at once
 * @img: the image
 * @names: n raw names
 * @n: how many
 * @addrs: addrs[i] set to names[i]'s address when found[i]
 * @found: found[i] set to whether names[i] was found
 *
 * A program's symbol tables are read once for up to 8 of them.
 */
void sym_image_exported_each(struct sym_image *img, const char *const *names, size_t n,
                             uint64_t *addrs, bool *found);

/**
 * sym_image_near_names - names close to one that was not found
 * @img: the image
 * @name: the name looked for
 * @out: receives up to @max raw names (owned by the image), best first
 * @max: capacity of @out
 *
 * For "did you mean" messages: names equal ignoring case first, then
 * names containing @name (or contained in it), then names within a small
 * edit distance, closest first; ties in name order.
 *
 * Return: the number of names stored.
 */
size_t sym_image_near_names(struct sym_image *img, const char *name, const char **out, size_t max);

/**
 * sym_image_exported_names_at - the names a shared library exports a function by
 * @img: the image
 * @addr: file address of the function's start
 * @out: receives up to @max raw names (owned by the image), each once
 * @max: capacity of @out
 * @n: set to the number stored
 *
 * The names of its dynamic symbol table only: all that other binaries'
 * relocations can bind to (an IFUNC's names, whose slots the tracer reads),
 * found without reading and sorting the symbol tables and the debug file
 * (libc's: 7 ms, at the stop where it loads).
 *
 * Return: false when the binary is not a shared library with a dynamic
 * symbol table and its hash (then only sym_image_names_at() can tell).
 */
bool sym_image_exported_names_at(struct sym_image *img, uint64_t addr, const char **out, size_t max,
                                 size_t *n);

/**
 * sym_image_in_plt - is an address in one of the binary's PLT sections?
 * @img: the image
 * @addr: file address
 *
 * From the section headers alone: a PLT stub (a lazy slot's value, a
 * canonical PLT address), never a function's code.
 */
bool sym_image_in_plt(struct sym_image *img, uint64_t addr);

/**
 * sym_image_names_at - every symbol-table name of the function starting at an address
 * @img: the image
 * @addr: file address
 * @out: receives up to @max raw names (owned by the image), preferred first
 * @max: capacity of @out
 *
 * Return: the number of names (may exceed @max).
 */
size_t sym_image_names_at(struct sym_image *img, uint64_t addr, const char **out, size_t max);

/**
 * struct sym_slot - a word the dynamic linker fills with a function's address
 * @addr: file address of the word (a GOT entry)
 * @init: what the file holds there, before any relocation (0 in bss)
 */
struct sym_slot {
	uint64_t addr;
	uint64_t init;
};

/**
 * sym_image_ifunc_slots - where an IFUNC's implementation is stored
 * @img: the image whose relocations are searched
 * @resolver: file address of the resolver when @img defines the IFUNC
 *	      (IRELATIVE relocations with this addend), or 0
 * @names: the IFUNC's names: relocations that bind a slot to one of them
 *	   (GLOB_DAT, JUMP_SLOT, 64-bit absolute) store what the resolver
 *	   returns, if the dynamic linker binds the name to this IFUNC
 * @n_names: their number
 * @out: receives up to @max slots
 * @max: capacity of @out
 *
 * Once the dynamic linker has relocated @img (a lazy JUMP_SLOT: once the
 * name was called through it), each slot holds the implementation; before,
 * it holds @init (plus the load bias for a lazy JUMP_SLOT).
 *
 * Return: the number of slots (may exceed @max); 0 for images of other
 * architectures.
 */
size_t sym_image_ifunc_slots(struct sym_image *img, uint64_t resolver, const char *const *names,
                             size_t n_names, struct sym_slot *out, size_t max);

/**
 * sym_image_count - the number of symbols (every alias counts)
 * @img: the image (symbols are loaded if they were not)
 *
 * Return: the count, 0 when the symbols cannot be loaded.
 */
size_t sym_image_count(struct sym_image *img);

/*
 * sym_image_has_ifunc - may the dynamic linker call a resolver of the
 * image: has it an IRELATIVE relocation, or does it export an IFUNC? From
 * the relocations and the dynamic symbol table (not the symbols' table).
 */
bool sym_image_has_ifunc(struct sym_image *img);

/**
 * sym_image_symbol - the i-th symbol in address order
 * @img: the image
 * @i: index below sym_image_count()
 * @out: filled (@out->offset is 0)
 */
void sym_image_symbol(struct sym_image *img, size_t i, struct sym_info *out);

/**
 * sym_image_object_by_name - the file address of a data symbol (STT_OBJECT)
 * @img: the image
 * @name: the raw name
 * @addr: receives its file address
 *
 * Data symbols are not part of the symbol table the other lookups use.
 *
 * Return: 1 when found, 0 when not.
 */
int sym_image_object_by_name(struct sym_image *img, const char *name, uint64_t *addr);

/**
 * sym_image_line - the source line of a file address, from DWARF
 * @img: the image (its own DWARF, or that of the separate debug file)
 * @addr: file address
 * @out: filled when found; strings owned by the image
 *
 * Return: 1 when found, 0 when there is no DWARF line for the address.
 */
int sym_image_line(struct sym_image *img, uint64_t addr, struct sym_line *out);

#endif
