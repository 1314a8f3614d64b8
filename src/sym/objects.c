/*
 * Data symbols. The symbol table proper holds functions only (what
 * addresses in a trace resolve to); the tracer also needs a few variables
 * of the C runtime, such as the dynamic linker's _r_debug in a static
 * executable, so this looks them up directly in .symtab and .dynsym.
 */
#include <string.h>

#include "sym/internal.h"

static int find_in(Elf *elf, const char *name, uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t n, i;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 1; data && i < n; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_OBJECT || sym.st_shndx == SHN_UNDEF)
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (s && !strcmp(s, name)) {
				*addr = sym.st_value;
				return 1;
			}
		}
	}
	return 0;
}

int sym_image_object_by_name(struct sym_image *img, const char *name, uint64_t *addr)
{
	if (img->main.elf && find_in(img->main.elf, name, addr))
		return 1;
	if (sym_image_load_symbols(img, NULL) == 0 && img->debug.elf)
		return find_in(img->debug.elf, name, addr);
	return 0;
}
