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

static Elf_Data *section_data(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
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
	ds->syms = section_data(elf, SHT_DYNSYM, &sh);
	hash = section_data(elf, SHT_GNU_HASH, &hsh);
	if (!ds->syms || !hash || !sh.sh_entsize)
		return false;
	ds->strtab = sh.sh_link;
	ds->nsyms = sh.sh_size / sh.sh_entsize;
	ds->versym = section_data(elf, SHT_GNU_versym, &hsh);
	return parse_gnu_hash(hash, gelf_getclass(elf), &ds->hash);
}

/* Symbol i is name, a function defined here, of its default version? */
static bool defines(const struct dynsym *ds, size_t i, const char *name, uint64_t *addr,
                    bool *ifunc)
{
	GElf_Versym vs;
	GElf_Sym sym;
	const char *s;
	int type;

	if (i >= ds->nsyms || !gelf_getsym(ds->syms, (int)i, &sym))
		return false;
	type = GELF_ST_TYPE(sym.st_info);
	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
	    sym.st_shndx >= SHN_LORESERVE || !sym.st_value ||
	    !sym_exec_section(ds->elf, sym.st_shndx))
		return false;
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

/*
 * A function named name in one file's symbol tables, read in order: a
 * global one at once, else the first weak or local one (the order
 * sym_image_by_name() prefers them in).
 */
static bool table_defines(Elf *elf, bool symtab_only, const char *name, uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	bool found = false;
	GElf_Shdr sh;
	GElf_Sym sym;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		const char *s;

		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
		    (sh.sh_type != SHT_SYMTAB && (sh.sh_type != SHT_DYNSYM || symtab_only)))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 1; d && i < sh.sh_size / sh.sh_entsize; i++) {
			if (!gelf_getsym(d, (int)i, &sym) || !sym_table_wanted(&sym, elf))
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!s || strcmp(s, name) ||
			    (found && GELF_ST_BIND(sym.st_info) != STB_GLOBAL))
				continue;
			*addr = sym.st_value;
			if (GELF_ST_BIND(sym.st_info) == STB_GLOBAL)
				return true;
			found = true;
		}
	}
	return found;
}

bool sym_image_exported(struct sym_image *img, const char *name, uint64_t *addr)
{
	struct dynsym ds;
	Elf *debug;
	bool ifunc;

	/*
	 * Only a shared library's exports are all there is: a program keeps
	 * its runtime's functions local when it is linked statically, even
	 * when it has a dynamic symbol table (static-pie), and its C++ runtime
	 * with -static-libgcc. Its tables are read name by name rather than
	 * loaded and sorted whole: the tracer asks for 6 names per binary.
	 */
	if (img->soname && open_dynsym(img->main.elf, &ds))
		return lookup(&ds, name, addr, &ifunc);
	if (table_defines(img->main.elf, false, name, addr))
		return true;
	debug = sym_image_debug_elf(img);
	return debug && table_defines(debug, true, name, addr);
}
