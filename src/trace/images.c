/*
 * The traced process's binaries, over src/sym. Kept in load order; looked
 * up by load bias, which is how the dynamic linker identifies them too.
 */
#include "trace/images.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sym/image.h"
#include "sym/unwind.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define NEAR_NAMES 5

struct images {
	VEC(struct image *) list;
	images_read_fn read;
	void *read_ctx;
	struct sym_unwinder *unwinder; /* NULL if it could not be set up: no backtraces */
	VEC(struct image *) reusable;  /* another list's binaries (images_reuse), by path */
};

struct images *images_new(images_read_fn read, void *read_ctx)
{
	struct images *imgs = xcalloc(1, sizeof(*imgs));

	imgs->read = read;
	imgs->read_ctx = read_ctx;
	/* Without the process's memory (the scope check before it starts) nothing is unwound. */
	imgs->unwinder = read ? sym_unwinder_new(NULL) : NULL;
	return imgs;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	sym_image_free(img->sym);
	free(img->path);
	free(img->name);
	free(img);
}

void images_free(struct images *imgs)
{
	struct image **img;

	if (!imgs)
		return;
	vec_foreach (&imgs->list, img)
		image_free(*img);
	vec_free(&imgs->list);
	vec_foreach (&imgs->reusable, img)
		image_free(*img);
	vec_free(&imgs->reusable);
	sym_unwinder_free(imgs->unwinder);
	free(imgs);
}

void images_reuse(struct images *imgs, const struct images *from)
{
	struct image **img;

	if (!from)
		return;
	vec_foreach (&from->list, img) {
		struct image *copy = xcalloc(1, sizeof(*copy));

		copy->path = xstrdup((*img)->path);
		copy->name = xstrdup((*img)->name);
		copy->sym = (*img)->sym ? sym_image_ref((*img)->sym) : NULL;
		vec_push(&imgs->reusable, copy);
	}
}

/* reusable_at - the reusable binary read from path, or NULL */
static struct image *reusable_at(struct images *imgs, const char *path)
{
	struct image **img;

	vec_foreach (&imgs->reusable, img)
		if ((*img)->sym && !strcmp((*img)->path, path))
			return *img;
	return NULL;
}

/* The file at path, from the reusable binaries when it is one of them. */
static struct sym_image *open_file(struct images *imgs, const char *path, struct err *e)
{
	struct image *img = reusable_at(imgs, path);

	return img ? sym_image_ref(img->sym) : sym_image_open(path, NULL, e);
}

struct image *images_preload(struct images *imgs, const char *path, uint64_t base)
{
	char real[PATH_MAX];
	struct image *img;
	struct err e;

	if (realpath(path, real))
		path = real;
	img = reusable_at(imgs, path);
	if (img) {
		img->base = base;
		return img;
	}
	img = xcalloc(1, sizeof(*img));
	img->path = xstrdup(path);
	img->name = xstrdup(path);
	img->base = base;
	img->sym = sym_image_open(path, NULL, &e);
	if (!img->sym) {
		image_free(img);
		return NULL;
	}
	vec_push(&imgs->reusable, img);
	return img;
}

const char *image_interp(const struct image *img)
{
	return img->sym ? sym_image_interp(img->sym) : NULL;
}

struct image *images_add(struct images *imgs, const char *path, const char *name, uint64_t base,
                         const uint8_t *image, size_t image_len, bool is_main)
{
	struct image *img = xcalloc(1, sizeof(*img));
	char real[PATH_MAX];
	uint64_t lo, hi;
	struct err e;

	if (!image && realpath(path, real))
		path = real;
	img->path = xstrdup(image ? name : path);
	img->name = xstrdup(name);
	img->base = base;
	img->is_main = is_main;
	img->sym = image ? sym_image_open_memory(name, image, image_len, &e)
	                 : open_file(imgs, path, &e);
	if (img->sym && !sym_image_extent(img->sym, &lo, &hi)) {
		img->start = base + lo;
		img->end = base + hi;
	} else {
		img->start = img->end = base;
	}
	if (img->sym && imgs->unwinder)
		sym_unwinder_add(imgs->unwinder, img->sym, base, NULL);
	vec_push(&imgs->list, img);
	return img;
}

struct image *images_find(struct images *imgs, uint64_t base)
{
	struct image **img;

	vec_foreach (&imgs->list, img)
		if ((*img)->base == base)
			return *img;
	return NULL;
}

struct image *images_take(struct images *imgs, uint64_t base)
{
	size_t i;

	for (i = 0; i < imgs->list.len; i++) {
		struct image *img = imgs->list.data[i];

		if (img->base != base)
			continue;
		memmove(imgs->list.data + i, imgs->list.data + i + 1,
		        (imgs->list.len - i - 1) * sizeof(img));
		imgs->list.len--;
		return img;
	}
	return NULL;
}

void images_foreach(struct images *imgs, void (*fn)(struct image *img, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < imgs->list.len; i++)
		fn(imgs->list.data[i], arg);
}

const uint8_t *image_build_id(const struct image *img, size_t *len)
{
	*len = 0;
	return img->sym ? sym_image_build_id(img->sym, len) : NULL;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool image_matches(const struct image *img, const char *name)
{
	const char *soname = img->sym ? sym_image_soname(img->sym) : NULL;

	/* The file's own name, the name it was loaded under (a soname symlink) or its soname. */
	return !strcmp(basename_of(img->path), name) || !strcmp(basename_of(img->name), name) ||
	       (soname && !strcmp(soname, name));
}

int image_symbol_addr(const struct image *img, const char *symbol, uint64_t *addr, struct err *err)
{
	bool ifunc;

	return image_function(img, symbol, addr, &ifunc, err);
}

bool image_has_ifunc(const struct image *img)
{
	return img->sym && sym_image_has_ifunc(img->sym);
}

void image_exported_addrs(const struct image *img, const char *const *names, size_t n,
                          uint64_t *addrs, bool *found)
{
	if (!img->sym) {
		memset(found, 0, n * sizeof(*found));
		return;
	}
	sym_image_exported_each(img->sym, names, n, addrs, found);
	for (size_t i = 0; i < n; i++)
		if (found[i])
			addrs[i] += img->base;
}

int image_function(const struct image *img, const char *symbol, uint64_t *addr, bool *ifunc,
                   struct err *err)
{
	const char *near[NEAR_NAMES];
	struct sym_info si;
	struct strbuf sb;
	size_t n, i;
	int found;

	if (!img->sym)
		return err_set(err, ERR_CONFIG, "cannot read the symbols of %s", img->path);
	/* An exported function is found without reading the symbol tables. */
	if (sym_image_dynamic(img->sym, symbol, &si.addr, ifunc)) {
		*addr = img->base + si.addr;
		return 0;
	}
	found = sym_image_by_name(img->sym, symbol, &si, err);
	if (found < 0)
		return -1;
	if (found) {
		*addr = img->base + si.addr;
		*ifunc = si.ifunc;
		return 0;
	}
	if (!err)
		return -1;
	sb_init(&sb);
	sb_addf(&sb, "no function \"%s\" in %s", symbol, img->path);
	n = sym_image_near_names(img->sym, symbol, near, NEAR_NAMES);
	for (i = 0; i < n; i++)
		sb_addf(&sb, "%s\"%s\"", i ? ", " : " (did you mean ", near[i]);
	if (n)
		sb_adds(&sb, "?)");
	err_set(err, ERR_CONFIG, "%s", sb.buf);
	sb_fini(&sb);
	return -1;
}

struct image *images_at(struct images *imgs, uint64_t addr)
{
	struct image **img;

	vec_foreach (&imgs->list, img)
		if (addr >= (*img)->start && addr < (*img)->end)
			return *img;
	return NULL;
}

bool image_is_plt(const struct image *img, uint64_t addr)
{
	return img->sym && addr >= img->base && sym_image_in_plt(img->sym, addr - img->base);
}

size_t image_names_at(const struct image *img, uint64_t addr, const char **out, size_t max)
{
	size_t n;

	if (!img->sym || addr < img->base)
		return 0;
	if (sym_image_exported_names_at(img->sym, addr - img->base, out, max, &n))
		return n;
	return sym_image_names_at(img->sym, addr - img->base, out, max);
}

size_t image_ifunc_slots(const struct image *img, uint64_t resolver, const char *const *names,
                         size_t n_names, struct sym_slot *out, size_t max)
{
	size_t n, i;

	if (!img->sym)
		return 0;
	n = sym_image_ifunc_slots(img->sym, resolver ? resolver - img->base : 0, names, n_names,
	                          out, max);
	for (i = 0; i < n && i < max; i++)
		out[i].addr += img->base;
	return n;
}

int image_object_addr(const struct image *img, const char *name, uint64_t *addr)
{
	uint64_t file_addr;

	if (!img->sym || sym_image_object_by_name(img->sym, name, &file_addr) != 1)
		return -1;
	*addr = img->base + file_addr;
	return 0;
}

static long read_for_unwinder(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct images *imgs = arg;

	return imgs->read(imgs->read_ctx, addr, buf, len);
}

size_t images_backtrace(struct images *imgs, const struct arch_regs *regs, uint64_t *out,
                        size_t max)
{
	struct sym_mem mem = { read_for_unwinder, imgs };
	uint64_t dwarf[ARCH_DWARF_NREGS];

	if (!imgs->unwinder)
		return 0;
	arch_regs_to_dwarf(regs, dwarf);
	return sym_unwinder_backtrace(imgs->unwinder, dwarf, &mem, out, max);
}

int images_read_word(struct images *imgs, uint64_t addr, uint64_t *out)
{
	struct sym_mem mem = { read_for_unwinder, imgs };

	if (imgs->unwinder)
		return sym_unwinder_read(imgs->unwinder, &mem, addr, out) ? 0 : -1;
	return read_for_unwinder(imgs, addr, out, sizeof(*out)) == sizeof(*out) ? 0 : -1;
}

void images_hold_memory(struct images *imgs, bool hold)
{
	if (imgs->unwinder)
		sym_unwinder_hold_memory(imgs->unwinder, hold);
}

int images_frame_rule(struct images *imgs, uint64_t pc, bool first, struct sym_frame_rule *rule)
{
	return imgs->unwinder ? sym_unwinder_frame_rule(imgs->unwinder, pc, first, rule) : -1;
}

int images_code_before(struct images *imgs, uint64_t addr, uint64_t *start, uint64_t *end)
{
	return imgs->unwinder ? sym_unwinder_code_before(imgs->unwinder, addr, start, end) : -1;
}

int images_frame_rows(struct images *imgs, uint64_t addr, struct sym_rows_cursor *cur, size_t max,
                      sym_frame_row_fn fn, void *arg)
{
	return imgs->unwinder ? sym_unwinder_frame_rows(imgs->unwinder, addr, cur, max, fn, arg)
	                      : -1;
}
