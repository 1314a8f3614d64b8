/*
 * Test helpers for test-sym.c (included there, static functions): reading
 * ELF files with plain structs from <elf.h>, independently of libelf, and
 * decoding their code with Zydis, so that expected values do not come from
 * the code under test.
 */
#ifndef NOSCO_TEST_SYM_RAW_ELF_H
#define NOSCO_TEST_SYM_RAW_ELF_H

struct raw_elf {
	uint8_t *buf;
	size_t len;
	Elf64_Ehdr *eh;
};

static void raw_open(struct raw_elf *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	r->len = (size_t)st.st_size;
	r->buf = xmalloc(r->len);
	assert_int_equal(fread(r->buf, 1, r->len, f), r->len);
	fclose(f);
	r->eh = (Elf64_Ehdr *)r->buf;
	assert_memory_equal(r->eh->e_ident, ELFMAG, SELFMAG);
}

static Elf64_Phdr *raw_phdr(struct raw_elf *r, int i)
{
	return (Elf64_Phdr *)(r->buf + r->eh->e_phoff + (size_t)i * r->eh->e_phentsize);
}

static const uint8_t *raw_at(struct raw_elf *r, uint64_t vaddr, size_t *avail)
{
	for (int i = 0; i < r->eh->e_phnum; i++) {
		Elf64_Phdr *p = raw_phdr(r, i);

		if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr &&
		    vaddr < p->p_vaddr + p->p_filesz) {
			*avail = p->p_vaddr + p->p_filesz - vaddr;
			return r->buf + p->p_offset + (vaddr - p->p_vaddr);
		}
	}
	return NULL;
}

static bool raw_section(struct raw_elf *r, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(r->buf + r->eh->e_shoff);
	const char *strs = (const char *)r->buf + sh[r->eh->e_shstrndx].sh_offset;

	for (int i = 0; i < r->eh->e_shnum; i++) {
		if (!strcmp(strs + sh[i].sh_name, name)) {
			*addr = sh[i].sh_addr;
			*size = sh[i].sh_size;
			return true;
		}
	}
	return false;
}

static int raw_nload(struct raw_elf *r)
{
	int n = 0;

	for (int i = 0; i < r->eh->e_phnum; i++)
		n += raw_phdr(r, i)->p_type == PT_LOAD;
	return n;
}

static void raw_close(struct raw_elf *r)
{
	free(r->buf);
}

static bool in_section(const char *path, const char *sec, uint64_t addr)
{
	struct raw_elf r;
	uint64_t a, n;
	bool ok;

	raw_open(&r, path);
	ok = raw_section(&r, sec, &a, &n) && addr >= a && addr < a + n;
	raw_close(&r);
	return ok;
}

static void *read_all(const char *path, size_t *len)
{
	struct raw_elf r;

	raw_open(&r, path);
	*len = r.len;
	return r.buf;
}

/* Targets of the direct calls in a function, decoded from the file with Zydis. */
static size_t call_targets(const char *path, uint64_t addr, uint64_t size, uint64_t *out,
                           size_t max)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct raw_elf r;
	const uint8_t *code;
	size_t avail = 0, n = 0;

	raw_open(&r, path);
	code = raw_at(&r, addr, &avail);
	assert_non_null(code);
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (uint64_t off = 0; off < size && n < max; off += in.length) {
		ZyanU64 t;

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, avail - off, &in, ops)))
			break;
		if (in.mnemonic == ZYDIS_MNEMONIC_CALL &&
		    ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
		    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], addr + off, &t)))
			out[n++] = t;
	}
	raw_close(&r);
	return n;
}

#endif
