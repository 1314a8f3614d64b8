/*
 * The slots an IFUNC's implementation is stored in: what the dynamic
 * linker (or a static program's start-up code) writes after calling the
 * resolver. See sym_image_ifunc_slots() in image.h.
 */
#include <string.h>

#include "arch/arch.h"
#include "sym/internal.h"

struct slots_ctx {
	struct sym_image *img;
	uint64_t resolver;
	const char *const *names;
	size_t n_names, n, max;
	struct sym_slot *out;
};

static bool named(const struct slots_ctx *c, const char *name)
{
	for (size_t i = 0; name && i < c->n_names; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

static bool stores_impl(const struct slots_ctx *c, const struct sym_reloc *r)
{
	switch (arch_reloc_kind(r->type)) {
	case ARCH_RELOC_IRELATIVE:
		return c->resolver && r->addend == c->resolver;
	case ARCH_RELOC_SLOT:
	case ARCH_RELOC_ABS:
		return r->addend == 0 && named(c, r->sym);
	default:
		return false;
	}
}

static void slot_reloc(const struct sym_reloc *r, void *arg)
{
	struct slots_ctx *c = arg;
	const uint8_t *p;
	size_t avail;

	if (!stores_impl(c, r))
		return;
	if (c->n < c->max) {
		struct sym_slot *s = &c->out[c->n];

		s->addr = r->offset;
		s->init = 0;
		p = sym_image_bytes(c->img, r->offset, &avail);
		if (p && avail >= sizeof(s->init))
			memcpy(&s->init, p, sizeof(s->init));
	}
	c->n++;
}

size_t sym_image_ifunc_slots(struct sym_image *img, uint64_t resolver, const char *const *names,
                             size_t n_names, struct sym_slot *out, size_t max)
{
	struct slots_ctx c = { img, resolver, names, n_names, 0, max, out };

	if (!sym_image_is_native(img))
		return 0;
	sym_for_each_reloc(img, slot_reloc, &c);
	return c.n;
}

static void note_irelative(const struct sym_reloc *r, void *arg)
{
	if (arch_reloc_kind(r->type) == ARCH_RELOC_IRELATIVE)
		*(bool *)arg = true;
}

/* exports_ifunc - does the dynamic symbol table define an IFUNC? (read raw: no symbols loaded) */
static bool exports_ifunc(struct sym_image *img)
{
	GElf_Shdr sh;
	Elf_Data *data = sym_section_data(img->main.elf, SHT_DYNSYM, &sh);
	GElf_Sym sym;

	for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++)
		if (gelf_getsym(data, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC &&
		    sym.st_shndx != SHN_UNDEF)
			return true;
	return false;
}

bool sym_image_has_ifunc(struct sym_image *img)
{
	bool irelative = false;

	sym_for_each_reloc(img, note_irelative, &irelative);
	return irelative || exports_ifunc(img);
}
