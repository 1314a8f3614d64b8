/* ELF images: opening and header information. See image.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym/internal.h"
#include "util/xalloc.h"

static void libelf_init(void)
{
	elf_version(EV_CURRENT);
}

void sym_libelf_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, libelf_init);
}

/*
 * Only a regular file is read: a path from a trace may name a FIFO (whose
 * open would wait for a writer), a device (/dev/zero never ends) or a
 * directory. O_NONBLOCK keeps the open of a FIFO from waiting.
 */
int sym_elf_open(struct sym_elf *f, const char *path, struct err *e)
{
	struct stat st;

	sym_libelf_init();
	f->elf = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return err_sys(e, ERR_IO, "%s", path);
	if (fstat(f->fd, &st)) {
		err_sys(e, ERR_IO, "%s", path);
		sym_elf_close(f);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		sym_elf_close(f);
		return err_set(e, ERR_INPUT, "%s: not a regular file", path);
	}
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		sym_elf_close(f);
		return err_set(e, ERR_INPUT, "%s: not an ELF file", path);
	}
	return 0;
}

void sym_elf_close(struct sym_elf *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

static char *dup_str(const char *s, size_t max)
{
	return s ? xstrndup(s, max) : NULL;
}

/* The NT_GNU_BUILD_ID note of one note segment or section. */
static void read_build_id(struct sym_image *img, Elf_Data *data)
{
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;

	while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nh.n_descsz > 0) {
			img->build_id = xmalloc(nh.n_descsz);
			memcpy(img->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
			img->build_id_len = nh.n_descsz;
			return;
		}
	}
}

static void read_dynamic(struct sym_image *img, const GElf_Phdr *ph)
{
	Elf_Data *data;
	GElf_Dyn dyn;
	uint64_t strtab = 0, soname = 0, runpath = 0, rpath = 0, path;
	size_t avail;
	const uint8_t *s;

	/* by file offset: PT_DYNAMIC is not always covered by a section (vdso) */
	data = elf_getdata_rawchunk(img->main.elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_DYN);
	for (int i = 0; data && gelf_getdyn(data, i, &dyn); i++) {
		if (dyn.d_tag == DT_STRTAB)
			strtab = dyn.d_un.d_ptr;
		else if (dyn.d_tag == DT_SONAME)
			soname = dyn.d_un.d_val;
		else if (dyn.d_tag == DT_RUNPATH)
			runpath = dyn.d_un.d_val;
		else if (dyn.d_tag == DT_RPATH)
			rpath = dyn.d_un.d_val;
		else if (dyn.d_tag == DT_NULL)
			break;
	}
	if (!strtab)
		return;
	s = soname ? sym_image_bytes(img, strtab + soname, &avail) : NULL;
	if (s && avail)
		img->soname = dup_str((const char *)s, avail);
	/* The dynamic linker ignores DT_RPATH when there is a DT_RUNPATH. */
	path = runpath ? runpath : rpath;
	s = path ? sym_image_bytes(img, strtab + path, &avail) : NULL;
	if (s && avail)
		img->runpath = dup_str((const char *)s, avail);
}

static void read_phdrs(struct sym_image *img)
{
	size_t n, avail;
	GElf_Phdr ph;
	const uint8_t *p;

	if (elf_getphdrnum(img->main.elf, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(img->main.elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD) {
			struct sym_segment s = { ph.p_vaddr,  ph.p_memsz, ph.p_offset,
				                 ph.p_filesz, ph.p_align, ph.p_flags };
			vec_push(&img->segs, s);
		} else if (ph.p_type == PT_INTERP && !img->interp) {
			p = (const uint8_t *)elf_rawfile(img->main.elf, &avail);
			if (p && ph.p_offset < avail)
				img->interp = dup_str((const char *)p + ph.p_offset,
				                      avail - ph.p_offset < ph.p_filesz
				                              ? avail - ph.p_offset
				                              : ph.p_filesz);
		} else if (ph.p_type == PT_NOTE && !img->build_id) {
			read_build_id(img, elf_getdata_rawchunk(
			                           img->main.elf, (int64_t)ph.p_offset, ph.p_filesz,
			                           ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR));
		}
	}
	/* PT_DYNAMIC second: reading it needs the segments */
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(img->main.elf, (int)i, &ph) && ph.p_type == PT_DYNAMIC)
			read_dynamic(img, &ph);
}

/* Notes in sections only (object files, stripped program headers). */
static void read_note_sections(struct sym_image *img)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while (!img->build_id && (scn = elf_nextscn(img->main.elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
			read_build_id(img, elf_getdata(scn, NULL));
}

static struct sym_image *image_new(const char *path)
{
	struct sym_image *img = xcalloc(1, sizeof(*img));

	img->refs = 1;
	img->path = xstrdup(path);
	img->main.fd = -1;
	img->debug.fd = -1;
	return img;
}

static struct sym_image *image_finish(struct sym_image *img, struct err *e)
{
	if (!gelf_getehdr(img->main.elf, &img->ehdr)) {
		err_set(e, ERR_INPUT, "%s: bad ELF header: %s", img->path, elf_errmsg(-1));
		sym_image_free(img);
		return NULL;
	}
	read_phdrs(img);
	read_note_sections(img);
	return img;
}

struct sym_image *sym_image_open(const char *path, const char *sysroot, struct err *e)
{
	struct sym_image *img = image_new(path);

	if (sym_elf_open(&img->main, path, e) < 0) {
		sym_image_free(img);
		return NULL;
	}
	if (sysroot && *sysroot && strcmp(sysroot, "/"))
		img->sysroot = xstrdup(sysroot);
	return image_finish(img, e);
}

struct sym_image *sym_image_open_memory(const char *name, const void *buf, size_t len,
                                        struct err *e)
{
	struct sym_image *img = image_new(name);

	sym_libelf_init();
	img->mem = xmalloc(len);
	memcpy(img->mem, buf, len);
	img->main.elf = elf_memory(img->mem, len);
	if (!img->main.elf || elf_kind(img->main.elf) != ELF_K_ELF) {
		err_set(e, ERR_INPUT, "%s: not an ELF image", name);
		sym_image_free(img);
		return NULL;
	}
	return image_finish(img, e);
}

struct sym_image *sym_image_ref(struct sym_image *img)
{
	img->refs++;
	return img;
}

void sym_image_free(struct sym_image *img)
{
	struct sym_entry *s;
	char **p;

	if (!img || --img->refs > 0)
		return;
	if (img->dwarf)
		dwarf_end(img->dwarf);
	vec_foreach (&img->syms, s)
		free(s->demangled);
	vec_free(&img->syms);
	vec_free(&img->by_addr);
	vec_free(&img->by_name);
	vec_foreach (&img->owned, p)
		free(*p);
	vec_free(&img->owned);
	sym_elf_close(&img->debug);
	sym_elf_close(&img->main);
	vec_free(&img->segs);
	free(img->debug_path);
	free(img->build_id);
	free(img->soname);
	free(img->runpath);
	free(img->interp);
	free(img->sysroot);
	free(img->mem);
	free(img->path);
	free(img);
}

/*
 * The file bytes at a file address, through the PT_LOAD segments, and how
 * many follow in the file (bss is not in the file).
 */
const uint8_t *sym_image_bytes(const struct sym_image *img, uint64_t addr, size_t *avail)
{
	const struct sym_segment *s;
	const uint8_t *raw;
	size_t size;
	uint64_t off;

	raw = (const uint8_t *)elf_rawfile(img->main.elf, &size);
	if (!raw)
		return NULL;
	vec_foreach (&img->segs, s) {
		if (addr < s->vaddr || addr - s->vaddr >= s->filesz)
			continue;
		off = s->offset + (addr - s->vaddr);
		if (off >= size)
			return NULL;
		*avail = s->filesz - (addr - s->vaddr);
		if (*avail > size - off)
			*avail = size - off;
		return raw + off;
	}
	return NULL;
}

const char *sym_image_path(const struct sym_image *img)
{
	return img->path;
}

int sym_image_class(const struct sym_image *img)
{
	return img->ehdr.e_ident[EI_CLASS];
}

int sym_image_machine(const struct sym_image *img)
{
	return img->ehdr.e_machine;
}

int sym_image_type(const struct sym_image *img)
{
	return img->ehdr.e_type;
}

uint64_t sym_image_entry(const struct sym_image *img)
{
	return img->ehdr.e_entry;
}

const struct sym_segment *sym_image_segments(const struct sym_image *img, size_t *n)
{
	*n = img->segs.len;
	return img->segs.data;
}

int sym_image_extent(const struct sym_image *img, uint64_t *lo, uint64_t *hi)
{
	const struct sym_segment *s;

	if (!img->segs.len)
		return -1;
	*lo = UINT64_MAX;
	*hi = 0;
	vec_foreach (&img->segs, s) {
		if (s->vaddr < *lo)
			*lo = s->vaddr;
		if (s->vaddr + s->memsz > *hi)
			*hi = s->vaddr + s->memsz;
	}
	return 0;
}

const uint8_t *sym_image_build_id(const struct sym_image *img, size_t *len)
{
	*len = img->build_id_len;
	return img->build_id;
}

const char *sym_image_soname(const struct sym_image *img)
{
	return img->soname;
}

const char *sym_image_runpath(const struct sym_image *img)
{
	return img->runpath;
}

const char *sym_image_interp(const struct sym_image *img)
{
	return img->interp;
}
