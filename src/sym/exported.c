/*
 * A function a binary exports, found the way the dynamic linker finds it:
 * through the GNU hash table over .dynsym. The tracer's runtime hooks
 * (longjmp, _Unwind_SetIP, _dl_debug_state) are all exported, and so are
 * most functions people scope (PyDict_New, malloc): this spares reading
 * and sorting every symbol table of every binary the program loads
 * (libc's with its debug file takes 10 ms).
 */
#include <string.h>

#include "sym/internal.h"
#include "util/populate.h"

#define VERSYM_HIDDEN 0x8000

struct gnu_hash {
	const uint32_t *buckets, *chain;
	uint32_t nbuckets, symoffset;
	size_t nchain;
};

struct dynsym {
	Elf *elf;
	Elf_Data *syms, *versym;
	size_t strtab, nsyms;
	struct gnu_hash hash;
};

Elf_Data *sym_section_data(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return elf_getdata(scn, NULL);
	return NULL;
}

/* The table's header words, its bloom filter (skipped), buckets and chains. */
static bool parse_gnu_hash(const Elf_Data *d, int elf_class, struct gnu_hash *h)
{
	const uint32_t *w = d->d_buf;
	size_t words = d->d_size / sizeof(uint32_t), head;

	if (!w || words < 4)
		return false;
	h->nbuckets = w[0];
	h->symoffset = w[1];
	head = 4 + (size_t)w[2] * (elf_class == ELFCLASS64 ? 2 : 1);
	if (!h->nbuckets || head > words || words - head < h->nbuckets)
		return false;
	h->buckets = w + head;
	h->chain = h->buckets + h->nbuckets;
	h->nchain = words - head - h->nbuckets;
	return true;
}

static bool open_dynsym(Elf *elf, struct dynsym *ds)
{
	GElf_Shdr sh, hsh;
	Elf_Data *hash;

	ds->elf = elf;
	ds->syms = sym_section_data(elf, SHT_DYNSYM, &sh);
	hash = sym_section_data(elf, SHT_GNU_HASH, &hsh);
	if (!ds->syms || !hash || !sh.sh_entsize)
		return false;
	ds->strtab = sh.sh_link;
	ds->nsyms = sh.sh_size / sh.sh_entsize;
	ds->versym = sym_section_data(elf, SHT_GNU_versym, &hsh);
	return parse_gnu_hash(hash, gelf_getclass(elf), &ds->hash);
}

/* Is symbol sym a function defined in an executable section here? */
static bool defined_function(Elf *elf, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return (type == STT_FUNC || type == STT_GNU_IFUNC) && sym->st_shndx != SHN_UNDEF &&
	       sym->st_shndx < SHN_LORESERVE && sym->st_value &&
	       sym_exec_section(elf, sym->st_shndx);
}

/* Symbol i is name, a function defined here, of its default version? */
static bool defines(const struct dynsym *ds, size_t i, const char *name, uint64_t *addr,
                    bool *ifunc)
{
	GElf_Versym vs;
	GElf_Sym sym;
	const char *s;
	int type;

	if (i >= ds->nsyms || !gelf_getsym(ds->syms, (int)i, &sym) ||
	    !defined_function(ds->elf, &sym))
		return false;
	type = GELF_ST_TYPE(sym.st_info);
	if (ds->versym && gelf_getversym(ds->versym, (int)i, &vs) && (vs & VERSYM_HIDDEN))
		return false;
	s = elf_strptr(ds->elf, ds->strtab, sym.st_name);
	if (!s || strcmp(s, name))
		return false;
	*addr = sym.st_value;
	*ifunc = type == STT_GNU_IFUNC;
	return true;
}

static bool lookup(const struct dynsym *ds, const char *name, uint64_t *addr, bool *ifunc)
{
	const struct gnu_hash *h = &ds->hash;
	uint32_t hash = (uint32_t)elf_gnu_hash(name);
	size_t i = h->buckets[hash % h->nbuckets];

	/* A chain's entries share the bucket; the last one has bit 0 set. */
	for (; i >= h->symoffset && i - h->symoffset < h->nchain; i++) {
		uint32_t c = h->chain[i - h->symoffset];

		if ((c | 1) == (hash | 1) && defines(ds, i, name, addr, ifunc))
			return true;
		if (c & 1)
			break;
	}
	return false;
}

bool sym_image_dynamic(struct sym_image *img, const char *name, uint64_t *addr, bool *ifunc)
{
	struct dynsym ds;

	return open_dynsym(img->main.elf, &ds) && lookup(&ds, name, addr, ifunc);
}

bool sym_image_exported_names_at(struct sym_image *img, uint64_t addr, const char **out, size_t max,
                                 size_t *n)
{
	struct dynsym ds;

	*n = 0;
	if (!img->soname || !open_dynsym(img->main.elf, &ds))
		return false;
	for (size_t i = 1; i < ds.nsyms && *n < max; i++) {
		GElf_Sym sym;
		const char *s;
		size_t k = 0;

		if (!gelf_getsym(ds.syms, (int)i, &sym) || sym.st_value != addr ||
		    !defined_function(ds.elf, &sym) ||
		    !(s = elf_strptr(ds.elf, ds.strtab, sym.st_name)) || !*s)
			continue;
		/* a name once, however many of its versions are defined here */
		while (k < *n && strcmp(out[k], s))
			k++;
		if (k == *n)
			out[(*n)++] = s;
	}
	return true;
}

bool sym_image_in_plt(struct sym_image *img, uint64_t addr)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	if (elf_getshdrstrndx(img->main.elf, &shstrndx) < 0)
		return false;
	while ((scn = elf_nextscn(img->main.elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_PROGBITS &&
		    (sh.sh_flags & SHF_EXECINSTR) && addr >= sh.sh_addr &&
		    addr - sh.sh_addr < sh.sh_size)
			return sym_is_plt_section(elf_strptr(img->main.elf, shstrndx, sh.sh_name));
	return false;
}

/* How far the search for one name got in a file's symbol tables. */
enum found { NOT_FOUND, FOUND_WEAK, FOUND_GLOBAL };

/*
 * str_at - is the string at off in a string table of size bytes name?
 * Inline: most symbols differ from the names in their first two bytes,
 * and a call to strcmp for each of them cost more than the rest.
 */
static inline bool str_at(const char *strs, size_t size, size_t off, const char *name)
{
	for (; off < size; off++, name++)
		if (strs[off] != *name || !*name)
			return strs[off] == *name;
	return false;
}

/*
 * match - note sym (its name at str, in a string table of strsize bytes)
 * for the names it bears; how many of them it settled (found global)
 */
static size_t match(Elf *elf, const Elf64_Sym *sym, const char *str, size_t strsize,
                    const char *const *names, size_t n, uint64_t *addrs, enum found *state)
{
	bool global = ELF64_ST_BIND(sym->st_info) == STB_GLOBAL;
	size_t settled = 0;

	/* GElf_Sym is Elf64_Sym */
	for (size_t j = 0; j < n; j++) {
		if (state[j] == FOUND_GLOBAL || (state[j] == FOUND_WEAK && !global) ||
		    !str_at(str, strsize, sym->st_name, names[j]) || !sym_table_wanted(sym, elf))
			continue;
		addrs[j] = sym->st_value;
		state[j] = global ? FOUND_GLOBAL : FOUND_WEAK;
		settled += global;
	}
	return settled;
}

/*
 * Functions named names[] in one file's symbol tables, read once, in
 * order: for each name a global one at once, else the first weak or
 * local one (the order sym_image_by_name() prefers them in). A name whose
 * state is FOUND_GLOBAL on entry is not searched. A program's tables are
 * as long as its code (58,000 symbols for cargo): one reading for all of
 * the tracer's hooks rather than one for each.
 */
static void tables_define(Elf *elf, bool symtab_only, const char *const *names, size_t n,
                          uint64_t *addrs, enum found *state)
{
	size_t left = 0, i, j, nsyms;
	const Elf64_Sym *syms;
	Elf_Data *d, *strs;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	for (j = 0; j < n; j++)
		left += state[j] != FOUND_GLOBAL;
	/* Read in place (nosco traces x86-64), not copied symbol by symbol through gelf. */
	if (gelf_getclass(elf) != ELFCLASS64)
		return;
	while (left && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_entsize != sizeof(Elf64_Sym) ||
		    (sh.sh_type != SHT_SYMTAB && (sh.sh_type != SHT_DYNSYM || symtab_only)))
			continue;
		d = elf_getdata(scn, NULL);
		strs = elf_getdata(elf_getscn(elf, sh.sh_link), NULL);
		if (!d || !d->d_buf || !strs || !strs->d_buf)
			continue;
		/* at once, as the whole table is read: cargo's 4.4 MB took 2.2 ms in faults, 1.8 so
		 */
		populate_read(d->d_buf, d->d_size);
		populate_read(strs->d_buf, strs->d_size);
		syms = d->d_buf;
		nsyms = d->d_size / sizeof(*syms);
		for (i = 1; left && i < nsyms; i++)
			left -= match(elf, &syms[i], strs->d_buf, strs->d_size, names, n, addrs,
			              state);
	}
}

#define BATCH 8 /* names a reading of a program's tables looks for */

static void exported_batch(struct sym_image *img, const char *const *names, size_t n,
                           uint64_t *addrs, bool *found)
{
	enum found main_state[BATCH] = { 0 }, debug_state[BATCH];
	bool missing = false, ifunc;
	struct dynsym ds;
	Elf *debug;
	size_t j;

	/*
	 * Only a shared library's exports are all there is: a program keeps
	 * its runtime's functions local when it is linked statically, even
	 * when it has a dynamic symbol table (static-pie), and its C++ runtime
	 * with -static-libgcc. Its tables are read rather than loaded and
	 * sorted whole: the tracer asks for 6 names per binary.
	 */
	if (img->soname && open_dynsym(img->main.elf, &ds)) {
		for (j = 0; j < n; j++)
			found[j] = lookup(&ds, names[j], &addrs[j], &ifunc);
		return;
	}
	tables_define(img->main.elf, false, names, n, addrs, main_state);
	/* The debug file is searched only for what the program's own tables lack. */
	for (j = 0; j < n; j++) {
		debug_state[j] = main_state[j] == NOT_FOUND ? NOT_FOUND : FOUND_GLOBAL;
		missing |= main_state[j] == NOT_FOUND;
	}
	debug = missing ? sym_image_debug_elf(img) : NULL;
	if (debug)
		tables_define(debug, true, names, n, addrs, debug_state);
	for (j = 0; j < n; j++)
		found[j] = main_state[j] != NOT_FOUND || debug_state[j] != NOT_FOUND;
}

void sym_image_exported_each(struct sym_image *img, const char *const *names, size_t n,
                             uint64_t *addrs, bool *found)
{
	for (size_t i = 0; i < n; i += BATCH)
		exported_batch(img, names + i, n - i < BATCH ? n - i : BATCH, addrs + i, found + i);
}

bool sym_image_exported(struct sym_image *img, const char *name, uint64_t *addr)
{
	bool found;

	sym_image_exported_each(img, &name, 1, addr, &found);
	return found;
}
