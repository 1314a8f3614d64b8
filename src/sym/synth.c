/*
 * Synthetic symbols: PLT stub names ("puts@plt") and, for stripped
 * executables, "main" and "_start" found by decoding the entry code. The
 * instruction patterns are the ISA's (arch_plt_scan(), arch_start_scan());
 * this file maps what they find to names through the relocations.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "sym/internal.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define ENTRY_CODE_LEN 256 /* glibc's _start is about 40 bytes */

void sym_for_each_reloc(struct sym_image *img, void (*fn)(const struct sym_reloc *r, void *arg),
                        void *arg)
{
	Elf *elf = img->main.elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh, symsh;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data, *syms = NULL;
		Elf_Scn *symscn;
		const char *name;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(sh.sh_flags & SHF_ALLOC))
			continue;
		data = elf_getdata(scn, NULL);
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		symscn = sh.sh_link ? elf_getscn(elf, sh.sh_link) : NULL;
		if (symscn && gelf_getshdr(symscn, &symsh))
			syms = elf_getdata(symscn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; data && i < n; i++) {
			struct sym_reloc r = { 0 };
			GElf_Rela rela;
			GElf_Sym sym;
			size_t symi;

			if (!gelf_getrela(data, (int)i, &rela))
				break;
			r.offset = rela.r_offset;
			r.addend = (uint64_t)rela.r_addend;
			r.type = (unsigned)GELF_R_TYPE(rela.r_info);
			r.in_rela_plt = name && !strcmp(name, ".rela.plt");
			symi = GELF_R_SYM(rela.r_info);
			if (symi && syms && gelf_getsym(syms, (int)symi, &sym))
				r.sym = elf_strptr(elf, symsh.sh_link, sym.st_name);
			fn(&r, arg);
		}
	}
}

/* The name a GOT-slot relocation gives its slot. */
static const char *slot_name(struct sym_image *img, const struct sym_reloc *r)
{
	struct sym_info si;

	switch (arch_reloc_kind(r->type)) {
	case ARCH_RELOC_SLOT:
		return r->sym && *r->sym ? r->sym : NULL;
	case ARCH_RELOC_IRELATIVE:
		/* static binaries: the addend is the IFUNC resolver, named like the function */
		if (sym_image_by_addr(img, r->addend, &si, NULL) == 1 && si.offset == 0)
			return si.raw;
		return NULL;
	default:
		return NULL;
	}
}

struct plt_ctx {
	struct sym_image *img;
	struct hashmap slots;    /* GOT slot -> name */
	VEC(uint64_t) plt_slots; /* slot of each .rela.plt entry, by index */
	uint64_t sec_end;
};

static void plt_reloc(const struct sym_reloc *r, void *arg)
{
	struct plt_ctx *c = arg;
	const char *name = slot_name(c->img, r);

	if (r->in_rela_plt)
		vec_push(&c->plt_slots, r->offset);
	if (name)
		hashmap_put(&c->slots, r->offset, (void *)name);
}

static void plt_stub(const struct arch_plt_stub *stub, void *arg)
{
	struct plt_ctx *c = arg;
	const char *name = stub->slot ? hashmap_get(&c->slots, stub->slot) : NULL;
	struct sym_entry s = { 0 };

	/* IBT .plt entries only push the index; their names come from .rela.plt */
	if (!name && stub->push_index >= 0 && (size_t)stub->push_index < c->plt_slots.len) {
		name = hashmap_get(&c->slots, c->plt_slots.data[stub->push_index]);
		s.flags = SYM_E_LAZY_PLT;
	}
	if (!name)
		return;
	s.addr = stub->start;
	s.size = stub->end - stub->start;
	s.sec_end = c->sec_end;
	s.raw = sym_image_own(c->img, xasprintf("%s@plt", name));
	s.kind = SYM_KIND_PLT;
	sym_image_add(c->img, &s);
}

bool sym_is_plt_section(const char *name)
{
	return name && (!strcmp(name, ".plt") || !strcmp(name, ".plt.sec") ||
	                !strcmp(name, ".plt.got") || !strcmp(name, ".iplt"));
}

bool sym_image_is_native(const struct sym_image *img)
{
	return img->ehdr.e_machine == ARCH_ELF_MACHINE &&
	       img->ehdr.e_ident[EI_CLASS] == ARCH_ELF_CLASS;
}

void sym_synth_plt(struct sym_image *img)
{
	struct plt_ctx c = { .img = img };
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	if (!sym_image_is_native(img) || elf_getshdrstrndx(img->main.elf, &shstrndx) < 0)
		return;
	hashmap_init(&c.slots);
	sym_for_each_reloc(img, plt_reloc, &c);
	while (c.slots.len && (scn = elf_nextscn(img->main.elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) ||
		    !sym_is_plt_section(elf_strptr(img->main.elf, shstrndx, sh.sh_name)))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		c.sec_end = sh.sh_addr + sh.sh_size;
		arch_plt_scan(data->d_buf, data->d_size, sh.sh_addr, plt_stub, &c);
	}
	hashmap_fini(&c.slots);
	vec_free(&c.plt_slots);
}

/* What a slot holds: its relocation's name, or the pointer a RELATIVE one stores. */
struct slot_query {
	struct sym_image *img;
	uint64_t slot;
	const char *name;
	uint64_t relative;
};

static void slot_reloc(const struct sym_reloc *r, void *arg)
{
	struct slot_query *q = arg;

	if (r->offset != q->slot)
		return;
	if (arch_reloc_kind(r->type) == ARCH_RELOC_RELATIVE)
		q->relative = r->addend;
	else if (!q->name)
		q->name = slot_name(q->img, r);
}

static struct slot_query query_slot(struct sym_image *img, uint64_t slot)
{
	struct slot_query q = { img, slot, NULL, 0 };

	sym_for_each_reloc(img, slot_reloc, &q);
	return q;
}

/* The pointer stored at a file address: the file's bytes or its RELATIVE relocation. */
static uint64_t load_pointer(struct sym_image *img, uint64_t addr)
{
	const uint8_t *p;
	uint64_t v = 0;
	size_t avail;

	p = sym_image_bytes(img, addr, &avail);
	if (p && avail >= sizeof(v))
		memcpy(&v, p, sizeof(v));
	return v ? v : query_slot(img, addr).relative;
}

static bool in_exec_segment(const struct sym_image *img, uint64_t addr)
{
	const struct sym_segment *s;

	vec_foreach (&img->segs, s)
		if ((s->flags & PF_X) && addr >= s->vaddr && addr - s->vaddr < s->memsz)
			return true;
	return false;
}

/* The call must reach __libc_start_main when anything names its target. */
static bool calls_libc_start_main(struct sym_image *img, const struct arch_start_call *call)
{
	struct sym_info si;
	const char *name = NULL;

	if (call->call_slot)
		name = query_slot(img, call->call_slot).name;
	else if (sym_image_by_addr(img, call->call_target, &si, NULL) == 1 && !si.offset)
		name = si.raw;
	return !name || !strcmp(name, "__libc_start_main");
}

/* Size and section end of a decoded function: from its CFI, else unknown. */
static void fill_extent(struct sym_image *img, struct sym_entry *s)
{
	uint64_t start, end;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (sym_fde_range(img->main.elf, s->addr, &start, &end) == 0 && start == s->addr)
		s->size = end - start;
	while ((scn = elf_nextscn(img->main.elf, scn)))
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && s->addr >= sh.sh_addr &&
		    s->addr - sh.sh_addr < sh.sh_size)
			s->sec_end = sh.sh_addr + sh.sh_size;
}

static void add_entry_symbol(struct sym_image *img, const char *name, uint64_t addr)
{
	struct sym_entry s = { .addr = addr, .raw = name, .kind = SYM_KIND_ENTRY };

	fill_extent(img, &s);
	sym_image_add(img, &s);
}

static bool starts_symbol(struct sym_image *img, uint64_t addr)
{
	struct sym_info si;

	return sym_image_by_addr(img, addr, &si, NULL) == 1 && si.offset == 0;
}

void sym_synth_entry(struct sym_image *img)
{
	uint64_t entry = img->ehdr.e_entry, main_addr;
	struct arch_start_call call;
	const uint8_t *code;
	size_t avail;
	bool found;

	if (!entry || !sym_image_is_native(img))
		return;
	code = sym_image_bytes(img, entry, &avail);
	if (!code)
		return;
	found = arch_start_scan(code, avail < ENTRY_CODE_LEN ? avail : ENTRY_CODE_LEN, entry,
	                        &call) == 0;
	/* Programs start at _start; so does the dynamic linker (its soname is ld-*). */
	if ((found || img->ehdr.e_type == ET_EXEC || img->interp ||
	     (img->soname && !strncmp(img->soname, "ld-", 3))) &&
	    !starts_symbol(img, entry))
		add_entry_symbol(img, "_start", entry);
	if (!found || sym_image_has_name(img, "main"))
		return;
	main_addr = call.main_kind == ARCH_MAIN_LOAD ? load_pointer(img, call.main) : call.main;
	if (in_exec_segment(img, main_addr) && calls_libc_start_main(img, &call))
		add_entry_symbol(img, "main", main_addr);
}
