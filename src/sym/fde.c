/*
 * The address range of the .eh_frame FDE that covers an address: the
 * extent of a function known only from its unwind info (main in a
 * stripped executable). libdw's CFI API answers per CFA row, not per FDE,
 * so the FDEs are read with dwarf_next_cfi and their pointers decoded here.
 */
#include <dwarf.h>
#include <string.h>

#include "sym/internal.h"

#define MAX_CIES 64

struct cie_enc {
	Dwarf_Off offset;
	uint8_t enc; /* DW_EH_PE_* of FDE addresses */
};

static size_t enc_size(uint8_t enc, size_t ptr_size)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		return ptr_size;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return 0; /* LEB128 and the rest: not used for FDE addresses by toolchains */
	}
}

/* The value of an encoded pointer (format only: no pc-relative adjustment). */
static bool read_enc(const uint8_t *p, const uint8_t *end, uint8_t enc, size_t ptr_size,
                     uint64_t *out)
{
	size_t n = enc_size(enc, ptr_size);
	int16_t s2;
	int32_t s4;
	uint64_t u = 0;

	if (!n || (size_t)(end - p) < n)
		return false;
	memcpy(&u, p, n); /* little-endian host and target */
	switch (enc & 0x0f) {
	case DW_EH_PE_sdata2:
		memcpy(&s2, p, 2);
		u = (uint64_t)(int64_t)s2;
		break;
	case DW_EH_PE_sdata4:
		memcpy(&s4, p, 4);
		u = (uint64_t)(int64_t)s4;
		break;
	default:
		break;
	}
	*out = u;
	return true;
}

/* The FDE pointer encoding from a CIE's "z...R..." augmentation. */
static bool cie_fde_encoding(const Dwarf_CIE *cie, size_t ptr_size, uint8_t *enc)
{
	const uint8_t *d = cie->augmentation_data;
	const uint8_t *end = d ? d + cie->augmentation_data_size : NULL;
	const char *a = cie->augmentation;

	*enc = DW_EH_PE_absptr;
	if (!a || a[0] != 'z')
		return a && !a[0];
	for (a++; *a; a++) {
		if (!d || d >= end)
			return false;
		switch (*a) {
		case 'R':
			*enc = *d;
			return true;
		case 'P': {
			size_t n = enc_size(*d, ptr_size);

			if (!n)
				return false;
			d += 1 + n;
			break;
		}
		case 'L':
			d++;
			break;
		case 'S':
		case 'B':
			break;
		default:
			return false;
		}
	}
	return true;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (gelf_getshdr(scn, sh) && (n = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    !strcmp(n, name))
			return scn;
	}
	return NULL;
}

static const struct cie_enc *find_cie(const struct cie_enc *cies, size_t n, Dwarf_Off off)
{
	for (size_t i = 0; i < n; i++)
		if (cies[i].offset == off)
			return &cies[i];
	return NULL;
}

/* [start, end) of one FDE, from its encoded initial location and range. */
static bool fde_bounds(const Dwarf_FDE *fde, const GElf_Shdr *sh, const Elf_Data *data, uint8_t enc,
                       size_t ptr_size, uint64_t *start, uint64_t *end)
{
	uint64_t loc, range;
	size_t n = enc_size(enc, ptr_size);

	if (!read_enc(fde->start, fde->end, enc, ptr_size, &loc) ||
	    !read_enc(fde->start + n, fde->end, enc & 0x0f, ptr_size, &range))
		return false;
	if ((enc & 0x70) == DW_EH_PE_pcrel)
		loc += sh->sh_addr + (uint64_t)(fde->start - (const uint8_t *)data->d_buf);
	else if ((enc & 0x70) != DW_EH_PE_absptr)
		return false;
	*start = loc;
	*end = loc + range;
	return true;
}

/**
 * sym_fde_range - the range of the .eh_frame FDE covering an address
 * @elf: the ELF file (its .eh_frame section is read)
 * @addr: file address
 * @start: receives the FDE's initial location
 * @end: receives its end
 *
 * Return: 0 when an FDE covers @addr, -1 otherwise.
 */
int sym_fde_range(Elf *elf, uint64_t addr, uint64_t *start, uint64_t *end)
{
	struct cie_enc cies[MAX_CIES];
	size_t ncies = 0, ptr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry entry;
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, ".eh_frame", &sh);
	Elf_Data *data = scn && sh.sh_type == SHT_PROGBITS ? elf_rawdata(scn, NULL) : NULL;
	int rc;

	while (data && ident && (rc = dwarf_next_cfi(ident, data, true, off, &next, &entry)) != 1) {
		const struct cie_enc *c;

		if (rc == 0 && dwarf_cfi_cie_p(&entry)) {
			uint8_t enc;

			if (ncies < MAX_CIES && cie_fde_encoding(&entry.cie, ptr_size, &enc))
				cies[ncies++] = (struct cie_enc){ off, enc };
		} else if (rc == 0 && (c = find_cie(cies, ncies, entry.fde.CIE_pointer)) &&
		           fde_bounds(&entry.fde, &sh, data, c->enc, ptr_size, start, end) &&
		           addr >= *start && addr < *end) {
			return 0;
		}
		if (next == (Dwarf_Off)-1 || next <= off)
			break;
		off = next;
	}
	return -1;
}

/* The .eh_frame_hdr table in the one layout toolchains write (sorted, datarel sdata4 pairs). */
#define HDR_TABLE_ENC (DW_EH_PE_datarel | DW_EH_PE_sdata4)

static int32_t table_word(const struct sym_fde_table *tb, size_t i, int half)
{
	int32_t v;

	memcpy(&v, tb->table + i * 8 + half * 4, 4);
	return v;
}

bool sym_fde_table_open(Elf *elf, struct sym_fde_table *tb)
{
	GElf_Shdr hs;
	Elf_Scn *hscn = find_section(elf, ".eh_frame_hdr", &hs), *escn;
	Elf_Data *h = hscn ? elf_rawdata(hscn, NULL) : NULL;
	const uint8_t *p;
	uint32_t n;

	memset(tb, 0, sizeof(*tb));
	/* 64-bit addresses and pointers below */
	if (gelf_getclass(elf) != ELFCLASS64)
		return false;
	escn = find_section(elf, ".eh_frame", &tb->eh_sh);
	tb->eh = escn && tb->eh_sh.sh_type == SHT_PROGBITS ? elf_rawdata(escn, NULL) : NULL;
	if (!h || !tb->eh || h->d_size < 12)
		return false;
	p = h->d_buf;
	/* version 1; eh_frame_ptr 4 bytes; fde_count udata4; the table's own encoding */
	if (p[0] != 1 || enc_size(p[1], 8) != 4 || p[2] != DW_EH_PE_udata4 || p[3] != HDR_TABLE_ENC)
		return false;
	memcpy(&n, p + 8, 4);
	if (n > (h->d_size - 12) / 8)
		return false;
	tb->table = p + 12;
	tb->n = n;
	tb->hdr_addr = hs.sh_addr;
	tb->ident = (const unsigned char *)elf_getident(elf, NULL);
	return tb->ident != NULL;
}

/* cfi_entry - the CIE or FDE at off in .eh_frame */
static bool cfi_entry(const struct sym_fde_table *tb, Dwarf_Off off, Dwarf_CFI_Entry *e)
{
	Dwarf_Off next;

	return off < tb->eh->d_size && dwarf_next_cfi(tb->ident, tb->eh, true, off, &next, e) == 0;
}

bool sym_fde_table_fde(const struct sym_fde_table *tb, size_t i, Dwarf_FDE *fde)
{
	uint64_t at = tb->hdr_addr + (uint64_t)(int64_t)table_word(tb, i, 1), off;
	const uint8_t *p;
	uint32_t len, cie;

	if (at < tb->eh_sh.sh_addr || (off = at - tb->eh_sh.sh_addr) + 8 > tb->eh->d_size)
		return false;
	/* read here, not by dwarf_next_cfi(): a third of the time of all the rows */
	p = (const uint8_t *)tb->eh->d_buf + off;
	memcpy(&len, p, 4);
	memcpy(&cie, p + 4, 4);
	if (len == 0xffffffffu || len < 4 || len > tb->eh->d_size - off - 4 || !cie ||
	    cie > off + 4)
		return false;
	fde->CIE_pointer = off + 4 - cie;
	fde->start = p + 8;
	fde->end = p + 4 + len;
	return true;
}

bool sym_fde_table_before(const struct sym_fde_table *tb, uint64_t addr, uint64_t *start,
                          uint64_t *end)
{
	size_t lo = 0, hi = tb->n;
	const uint8_t *after;
	Dwarf_FDE fde;
	Dwarf_CIE cie;
	uint8_t enc;

	/* the first FDE that starts at addr or above: the one before it is the one */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tb->hdr_addr + (uint64_t)(int64_t)table_word(tb, mid, 0) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && sym_fde_table_fde(tb, lo - 1, &fde) &&
	       sym_fde_table_cie(tb, fde.CIE_pointer, &cie, &enc) &&
	       sym_fde_table_bounds(tb, &fde, enc, start, end, &after);
}

bool sym_fde_table_cie(const struct sym_fde_table *tb, Dwarf_Off off, Dwarf_CIE *cie, uint8_t *enc)
{
	Dwarf_CFI_Entry e;

	if (!cfi_entry(tb, off, &e) || !dwarf_cfi_cie_p(&e) || !cie_fde_encoding(&e.cie, 8, enc))
		return false;
	*cie = e.cie;
	return true;
}

bool sym_fde_table_bounds(const struct sym_fde_table *tb, const Dwarf_FDE *fde, uint8_t enc,
                          uint64_t *start, uint64_t *end, const uint8_t **after)
{
	*after = fde->start + 2 * enc_size(enc, 8);
	return fde_bounds(fde, &tb->eh_sh, tb->eh, enc, 8, start, end);
}
