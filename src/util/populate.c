#include "util/populate.h"

#include <link.h>
#include <stdint.h>

static void populate(const void *p, size_t len, int advice)
{
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095, hi = (uintptr_t)p + len;

	if (len)
		madvise((void *)lo, hi - lo, advice);
}

void populate_read(const void *p, size_t len)
{
	populate(p, len, MADV_POPULATE_READ);
}

void populate_write(void *p, size_t len)
{
	populate(p, len, MADV_POPULATE_WRITE);
}

static int populate_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W))
			populate_read((const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz);
	}
	return 0;
}

void populate_code(void)
{
	dl_iterate_phdr(populate_object, NULL);
}
