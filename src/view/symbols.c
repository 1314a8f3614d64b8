/*
 * Symbolication for the views. The binaries come from the trace (path,
 * build-id, load bias, range, lifetime); their files are opened from disk
 * (under --sysroot) on first use. A binary that cannot be opened, or whose
 * build-id differs from the recorded one, never fails a dump: its
 * addresses print as "file+0xOFFSET" (the file address, what one types
 * into a disassembler) and one warning says why. Only an address outside
 * every recorded binary prints as "<0xADDR>".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "view/internal.h"

static void *dup_bytes(const void *p, size_t n)
{
	void *q;

	if (!p || !n)
		return NULL;
	q = xmalloc(n);
	memcpy(q, p, n);
	return q;
}

/* The time of an event, for a binary's lifetime: @dflt when there is none. */
static uint64_t event_time(struct store_reader *r, int64_t id, uint64_t dflt)
{
	struct reader_event e;

	if (id < 0 || reader_event_get(r, id, &e, NULL))
		return dflt;
	return e.time_ns;
}

static void add_binary(struct view_syms *s, const struct reader_binary *b)
{
	struct view_binary vb = { 0 };
	const char *slash;

	vb.id = b->id;
	vb.path = xstrndup(b->path, b->path_len);
	slash = strrchr(vb.path, '/');
	vb.file = slash && slash[1] ? slash + 1 : vb.path;
	vb.build_id = dup_bytes(b->build_id, b->build_id_len);
	vb.build_id_len = vb.build_id ? b->build_id_len : 0;
	vb.base = b->base;
	vb.start = b->start;
	vb.end = b->end;
	vb.load_event = b->load_event;
	vb.unload_event = b->unload_event;
	vb.image = dup_bytes(b->image, b->image_len);
	vb.image_len = vb.image ? b->image_len : 0;
	vec_push(&s->bins, vb);
}

int view_syms_init(struct view_syms *s, struct store_reader *r, const struct view_args *a,
                   struct err *err)
{
	struct reader_cursor *c;
	struct reader_binary b;
	struct view_binary *vb;
	int rc;

	memset(s, 0, sizeof(*s));
	s->enabled = a->symbols;
	s->lines = a->lines && a->symbols;
	s->sysroot = a->sysroot && *a->sysroot ? a->sysroot : NULL;
	s->warn = a->warn;
	s->warn_ctx = a->warn_ctx;
	if (!(c = reader_binaries(r, err)))
		return -1;
	while ((rc = reader_binary_next(c, &b, err)) > 0)
		add_binary(s, &b);
	reader_cursor_free(c);
	/* Lifetimes are read after the cursor is done: lookups reuse statements. */
	vec_foreach (&s->bins, vb) {
		vb->t_load = event_time(r, vb->load_event, 0);
		vb->t_unload = event_time(r, vb->unload_event, UINT64_MAX);
	}
	return rc < 0 ? -1 : 0;
}

void view_syms_fini(struct view_syms *s)
{
	struct view_binary *vb;

	vec_foreach (&s->bins, vb) {
		sym_image_free(vb->img);
		free(vb->path);
		free(vb->build_id);
		free(vb->image);
	}
	vec_free(&s->bins);
}

const struct view_binary *view_sym_binary(const struct view_syms *s, int64_t id)
{
	if (id < 0 || (uint64_t)id >= s->bins.len || s->bins.data[id].id != id) {
		const struct view_binary *vb;

		vec_foreach (&s->bins, vb)
			if (vb->id == id)
				return vb;
		return NULL;
	}
	return &s->bins.data[id];
}

static void warn(struct view_syms *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct view_syms *s, const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;

	if (!s->warn)
		return;
	sb_init(&sb);
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	s->warn(s->warn_ctx, sb.buf);
	sb_fini(&sb);
}

static void hex_bytes(struct strbuf *sb, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sb_addf(sb, "%02x", p[i]);
	if (!n)
		sb_adds(sb, "none");
}

/* The image on disk must be the one that ran: same build-id when one was recorded. */
static bool same_build(struct view_syms *s, struct view_binary *vb, struct sym_image *img,
                       const char *where)
{
	size_t len;
	const uint8_t *id = sym_image_build_id(img, &len);
	struct strbuf a, b;

	if (!vb->build_id_len || (len == vb->build_id_len && !memcmp(id, vb->build_id, len)))
		return true;
	sb_init(&a);
	sb_init(&b);
	hex_bytes(&a, vb->build_id, vb->build_id_len);
	hex_bytes(&b, id, len);
	warn(s,
	     "%s is not the binary that was traced (build-id %s, recorded %s); "
	     "its addresses are shown as %s+0xOFFSET",
	     where, b.buf, a.buf, vb->file);
	sb_fini(&a);
	sb_fini(&b);
	return false;
}

/* Open a binary's image the first time it is needed; NULL if it cannot be used. */
static struct sym_image *binary_image(struct view_syms *s, struct view_binary *vb)
{
	struct err e = { 0 };
	struct sym_image *img;
	char *path;

	if (vb->tried)
		return vb->img;
	vb->tried = true;
	if (vb->image) {
		img = sym_image_open_memory(vb->path, vb->image, vb->image_len, &e);
		path = xstrdup(vb->path);
	} else {
		if (vb->path[0] != '/') /* a name such as [vdso] with no stored image */
			return NULL;
		path = s->sysroot ? xasprintf("%s%s", s->sysroot, vb->path) : xstrdup(vb->path);
		img = sym_image_open(path, s->sysroot, &e);
	}
	if (!img)
		warn(s, "%s; its addresses are shown as %s+0xOFFSET", e.msg, vb->file);
	if (img && !same_build(s, vb, img, path)) {
		sym_image_free(img);
		img = NULL;
	}
	free(path);
	vb->img = img;
	return img;
}

/* The binary mapped at addr at the given time: the latest loaded, else any that held it. */
static struct view_binary *find_binary(struct view_syms *s, uint64_t addr, uint64_t time)
{
	struct view_binary *vb, *any = NULL;
	size_t i;

	for (i = s->bins.len; i-- > 0;) {
		vb = &s->bins.data[i];
		if (addr < vb->start || addr >= vb->end)
			continue;
		if (vb->t_load <= time && time <= vb->t_unload)
			return vb;
		if (!any)
			any = vb;
	}
	return any;
}

/*
 * A name decoded from a stripped executable's entry code (main, _start)
 * has no size: it names its own address, not the code that follows it up
 * to the end of .text ("main+0x9210" would be some other function).
 */
static bool trusted(const struct sym_info *si)
{
	return si->kind != SYM_KIND_ENTRY || si->size || si->offset == 0;
}

void view_sym_name(struct view_syms *s, uint64_t addr, uint64_t time, enum view_addr_kind kind,
                   struct strbuf *sb)
{
	/* A return address may be the first byte after a noreturn call's function. */
	uint64_t look = kind == VIEW_ADDR_RETURN && addr ? addr - 1 : addr;
	struct view_binary *vb;
	struct sym_image *img;
	struct sym_info si;

	if (!s->enabled || !(vb = find_binary(s, look, time))) {
		sb_addf(sb, "<0x%" PRIx64 ">", addr);
		return;
	}
	img = binary_image(s, vb);
	if (img && sym_image_by_addr(img, look - vb->base, &si, NULL) == 1 && trusted(&si)) {
		uint64_t off = addr - vb->base - si.addr;

		sb_adds(sb, si.name);
		if (off)
			sb_addf(sb, "+0x%" PRIx64, off);
		return;
	}
	sb_addf(sb, "%s+0x%" PRIx64, vb->file, addr - vb->base);
}

bool view_sym_source(struct view_syms *s, uint64_t addr, uint64_t time, struct sym_line *out)
{
	struct view_binary *vb;
	struct sym_image *img;

	return s->lines && (vb = find_binary(s, addr, time)) && (img = binary_image(s, vb)) &&
	       sym_image_line(img, addr - vb->base, out) == 1 && out->file;
}

bool view_sym_line(struct view_syms *s, uint64_t addr, uint64_t time, enum view_addr_kind kind,
                   struct strbuf *sb)
{
	uint64_t look = kind == VIEW_ADDR_RETURN && addr ? addr - 1 : addr;
	struct sym_line line;

	if (!view_sym_source(s, look, time, &line))
		return false;
	sb_addf(sb, "%s:%d", line.file, line.line);
	return true;
}

bool view_sym_timeless(const struct view_syms *s, uint64_t addr)
{
	const struct view_binary *vb;
	size_t n = 0;

	if (!s->enabled)
		return true;
	vec_foreach (&s->bins, vb)
		n += addr >= vb->start && addr < vb->end;
	return n <= 1;
}

const struct view_binary *view_sym_binary_at(struct view_syms *s, uint64_t addr, uint64_t time)
{
	return find_binary(s, addr, time);
}
