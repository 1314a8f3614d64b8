/*
 * Symbol tables: reading .symtab/.dynsym (and the debug file's .symtab),
 * the two sorted indexes, and the lookups. See image.h.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/demangle.h"
#include "sym/internal.h"
#include "util/xalloc.h"

#define VERSYM_HIDDEN   0x8000
#define LOOKBACK_GROUPS 64 /* enclosing symbols searched before the nearest one */

/* What symbols need to know about the section they are defined in. */
struct sec_info {
	uint64_t addr, size;
	bool exec;
};

struct table_ctx {
	struct sym_image *img;
	Elf *elf;
	struct sec_info *secs;
	size_t nsecs;
};

static void load_sections(struct table_ctx *c)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrnum(c->elf, &c->nsecs) < 0)
		c->nsecs = 0;
	c->secs = xcalloc(c->nsecs, sizeof(*c->secs));
	while ((scn = elf_nextscn(c->elf, scn))) {
		size_t i = elf_ndxscn(scn);

		if (i < c->nsecs && gelf_getshdr(scn, &sh))
			c->secs[i] = (struct sec_info){ sh.sh_addr, sh.sh_size,
				                        (sh.sh_flags & SHF_EXECINSTR) != 0 };
	}
}

/* Kept from a symbol table: a function, or a sized symbol without a type. */
static bool wanted(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (type != STT_FUNC && type != STT_GNU_IFUNC && !(type == STT_NOTYPE && sym->st_size))
		return false;
	return sym->st_shndx != SHN_UNDEF && sym->st_shndx < SHN_LORESERVE && sym->st_value;
}

bool sym_exec_section(Elf *elf, size_t i)
{
	Elf_Scn *scn = elf_getscn(elf, i);
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

bool sym_table_wanted(const GElf_Sym *sym, Elf *elf)
{
	return wanted(sym) && sym_exec_section(elf, sym->st_shndx);
}

/* The .gnu.version data matching a .dynsym, or NULL. */
static Elf_Data *find_versym(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	return NULL;
}

static void load_table(struct table_ctx *c, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL), *ver = NULL;
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	GElf_Versym vs;
	GElf_Sym sym;
	const char *name;

	if (sh->sh_type == SHT_DYNSYM)
		ver = find_versym(c->elf);
	for (size_t i = 1; data && i < n; i++) {
		struct sym_entry s = { 0 };
		int bind;

		if (!gelf_getsym(data, (int)i, &sym) || !wanted(&sym))
			continue;
		if (sym.st_shndx >= c->nsecs || !c->secs[sym.st_shndx].exec)
			continue;
		name = elf_strptr(c->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		bind = GELF_ST_BIND(sym.st_info);
		s.addr = sym.st_value;
		s.size = sym.st_size;
		s.sec_end = c->secs[sym.st_shndx].addr + c->secs[sym.st_shndx].size;
		s.raw = name;
		s.kind = SYM_KIND_TABLE;
		s.flags = (bind == STB_LOCAL ? SYM_E_LOCAL : 0) |
		          (bind == STB_WEAK ? SYM_E_WEAK : 0) |
		          (GELF_ST_TYPE(sym.st_info) == STT_NOTYPE ? SYM_E_NOTYPE : 0) |
		          (GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC ? SYM_E_IFUNC : 0);
		if (ver && gelf_getversym(ver, (int)i, &vs) && (vs & VERSYM_HIDDEN))
			s.flags |= SYM_E_HIDDEN_VER;
		sym_image_add(c->img, &s);
	}
}

/* Every symbol table of one ELF file. */
static void load_tables(struct sym_image *img, Elf *elf, bool symtab_only)
{
	struct table_ctx c = { img, elf, NULL, 0 };
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	load_sections(&c);
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !symtab_only))
			load_table(&c, scn, &sh);
	}
	free(c.secs);
}

/* /usr/lib/debug/.build-id/xx/rest.debug under the sysroot, when it exists. */
static void open_debug_file(struct sym_image *img)
{
	static const char hex[] = "0123456789abcdef";
	char *id;

	if (img->debug_tried)
		return;
	img->debug_tried = true;
	if (img->mem || img->build_id_len < 2)
		return;
	id = xmalloc(img->build_id_len * 2 + 2);
	for (size_t i = 0, o = 0; i < img->build_id_len; i++) {
		id[o++] = hex[img->build_id[i] >> 4];
		id[o++] = hex[img->build_id[i] & 15];
		if (i == 0)
			id[o++] = '/';
		id[o] = '\0';
	}
	img->debug_path = xasprintf("%s/usr/lib/debug/.build-id/%s.debug",
	                            img->sysroot ? img->sysroot : "", id);
	free(id);
	if (access(img->debug_path, R_OK) < 0 || sym_elf_open(&img->debug, img->debug_path, NULL)) {
		free(img->debug_path);
		img->debug_path = NULL;
	}
}

Elf *sym_image_debug_elf(struct sym_image *img)
{
	open_debug_file(img);
	return img->debug.elf;
}

static int kind_rank(const struct sym_entry *s)
{
	return s->kind; /* SYM_KIND_TABLE < SYM_KIND_PLT < SYM_KIND_ENTRY */
}

/* Preference between symbols at one address (negative: a is better). */
int sym_entry_cmp_pref(const struct sym_entry *a, const struct sym_entry *b)
{
	int d;
	size_t la, lb;

	if ((d = kind_rank(a) - kind_rank(b)))
		return d;
	if ((d = (a->flags & SYM_E_LAZY_PLT) - (b->flags & SYM_E_LAZY_PLT)))
		return d;
	if ((d = (a->flags & SYM_E_HIDDEN_VER) - (b->flags & SYM_E_HIDDEN_VER)))
		return d;
	if ((d = (a->flags & SYM_E_LOCAL) - (b->flags & SYM_E_LOCAL)))
		return d;
	if ((d = (a->raw[0] == '_') - (b->raw[0] == '_')))
		return d;
	if ((d = (a->flags & SYM_E_WEAK) - (b->flags & SYM_E_WEAK)))
		return d;
	if ((d = (a->flags & SYM_E_NOTYPE) - (b->flags & SYM_E_NOTYPE)))
		return d;
	la = strlen(a->raw);
	lb = strlen(b->raw);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->raw, b->raw);
}

static int cmp_addr_pref(const void *pa, const void *pb)
{
	const struct sym_entry *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return sym_entry_cmp_pref(a, b);
}

static int cmp_index_name(const void *pa, const void *pb, void *base)
{
	const struct sym_entry *a = (const struct sym_entry *)base + *(const uint32_t *)pa;
	const struct sym_entry *b = (const struct sym_entry *)base + *(const uint32_t *)pb;
	int d = strcmp(a->raw, b->raw);

	if (!d)
		d = sym_entry_cmp_pref(a, b);
	if (!d && a->addr != b->addr) /* same name and rank: the lower address, always */
		d = a->addr < b->addr ? -1 : 1;
	return d;
}

/*
 * Sort by address then preference: the entries from first on (added
 * since the last sort) by themselves, then merged into the sorted ones.
 */
static void sort_by_addr(struct sym_image *img, size_t first)
{
	struct sym_entry *s = img->syms.data, *merged;
	size_t n = img->syms.len, i = 0, j = first, o = 0;

	qsort(s + first, n - first, sizeof(*s), cmp_addr_pref);
	if (!first || first == n || cmp_addr_pref(&s[first - 1], &s[first]) <= 0)
		return;
	merged = xmalloc(n * sizeof(*s));
	while (i < first || j < n)
		merged[o++] =
		        j == n || (i < first && cmp_addr_pref(&s[i], &s[j]) <= 0) ? s[i++] : s[j++];
	memcpy(s, merged, n * sizeof(*s));
	free(merged);
}

/*
 * The same name twice in the group s[0..n) (.symtab, .dynsym and the debug
 * file name most symbols): the first, the preferred, keeps what the others
 * know. Returns the group's new length; sets *merged when flags changed.
 */
static size_t dedupe_group(struct sym_entry *s, size_t n, bool *merged)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (k < o && strcmp(s[k].raw, s[i].raw))
			k++;
		if (k == o) {
			s[o++] = s[i];
			continue;
		}
		if (!s[k].size)
			s[k].size = s[i].size;
		if (s[k].flags != (s[k].flags & (s[i].flags | SYM_E_DEMANGLED)))
			*merged = true;
		s[k].flags &= s[i].flags | SYM_E_DEMANGLED;
		free(s[i].demangled);
	}
	return o;
}

/* Drop the duplicates of each address group, keeping it in preference order. */
static void dedupe(struct sym_image *img)
{
	struct sym_entry *s = img->syms.data;
	size_t n = img->syms.len, o = 0, j;

	for (size_t i = 0; i < n; i = j) {
		bool merged = false;
		size_t g;

		for (j = i + 1; j < n && s[j].addr == s[i].addr;)
			j++;
		g = dedupe_group(s + i, j - i, &merged);
		if (merged)
			qsort(s + i, g, sizeof(*s), cmp_addr_pref);
		memmove(s + o, s + i, g * sizeof(*s));
		o += g;
	}
	img->syms.len = o;
}

/* What one address group resolves: its largest size, else up to the next symbol. */
static uint64_t group_reach(const struct sym_entry *s, size_t i, size_t j, size_t n)
{
	uint64_t reach = 0, end = 0;

	for (size_t k = i; k < j; k++) {
		if (s[k].size > reach)
			reach = s[k].size;
		if (s[k].sec_end > s[i].addr && (!end || s[k].sec_end < end))
			end = s[k].sec_end;
	}
	if (reach)
		return reach;
	if (j < n && (!end || s[j].addr < end))
		end = s[j].addr;
	return end > s[i].addr ? end - s[i].addr : 0;
}

static void index_by_addr(struct sym_image *img)
{
	struct sym_entry *s = img->syms.data;
	size_t n = img->syms.len, j;

	img->by_addr.len = 0;
	for (size_t i = 0; i < n; i = j) {
		uint64_t reach;

		for (j = i + 1; j < n && s[j].addr == s[i].addr;)
			j++;
		reach = group_reach(s, i, j, n);
		for (size_t k = i; k < j; k++)
			s[k].reach = reach;
		vec_push(&img->by_addr, (uint32_t)i);
	}
}

static void index_by_name(struct sym_image *img)
{
	img->by_name.len = 0;
	if (!img->syms.len)
		return;
	vec_reserve(&img->by_name, img->syms.len);
	for (size_t i = 0; i < img->syms.len; i++)
		img->by_name.data[img->by_name.len++] = (uint32_t)i;
	qsort_r(img->by_name.data, img->by_name.len, sizeof(uint32_t), cmp_index_name,
	        img->syms.data);
}

/* Sort what was added since first, and index it by address. */
static void finalize(struct sym_image *img, size_t first)
{
	if (first == img->syms.len)
		return;
	sort_by_addr(img, first);
	dedupe(img);
	index_by_addr(img);
}

int sym_image_load_symbols(struct sym_image *img, struct err *e)
{
	size_t tables;

	(void)e; /* tables that libelf cannot read are skipped, not fatal */
	if (img->syms_loaded)
		return 0;
	img->syms_loaded = true;
	load_tables(img, img->main.elf, false);
	open_debug_file(img);
	if (img->debug.elf)
		load_tables(img, img->debug.elf, true);
	finalize(img, 0);
	/* The synthetic names need to know the real ones at each address. */
	tables = img->syms.len;
	sym_synth_plt(img);
	sym_synth_entry(img);
	finalize(img, tables);
	index_by_name(img);
	return 0;
}

void sym_image_add(struct sym_image *img, const struct sym_entry *s)
{
	vec_push(&img->syms, *s);
}

const char *sym_image_own(struct sym_image *img, char *s)
{
	vec_push(&img->owned, s);
	return s;
}

const char *sym_image_debug_path(struct sym_image *img)
{
	sym_image_load_symbols(img, NULL);
	return img->debug_path;
}

const char *sym_entry_name(struct sym_entry *s)
{
	if (!(s->flags & SYM_E_DEMANGLED)) {
		s->demangled = sym_demangle_symbol(s->raw);
		s->flags |= SYM_E_DEMANGLED;
	}
	return s->demangled ? s->demangled : s->raw;
}

void sym_entry_info(struct sym_entry *s, struct sym_info *out)
{
	*out = (struct sym_info){ .name = sym_entry_name(s),
		                  .raw = s->raw,
		                  .addr = s->addr,
		                  .size = s->size,
		                  .kind = (enum sym_kind)s->kind,
		                  .local = (s->flags & SYM_E_LOCAL) != 0,
		                  .ifunc = (s->flags & SYM_E_IFUNC) != 0 };
}

/* Index in by_addr of the last group starting at or below addr, or -1. */
static long group_at_or_below(const struct sym_image *img, uint64_t addr)
{
	size_t lo = 0, hi = img->by_addr.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->syms.data[img->by_addr.data[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

int sym_image_by_addr(struct sym_image *img, uint64_t addr, struct sym_info *out, struct err *e)
{
	long g;

	if (sym_image_load_symbols(img, e) < 0)
		return -1;
	g = group_at_or_below(img, addr);
	for (long k = g; k >= 0 && k > g - LOOKBACK_GROUPS; k--) {
		struct sym_entry *s = &img->syms.data[img->by_addr.data[k]];

		if (addr == s->addr || addr - s->addr < s->reach) {
			sym_entry_info(s, out);
			out->offset = addr - s->addr;
			return 1;
		}
	}
	return 0;
}

/* Position in by_name of the first entry with this raw name, or by_name.len. */
static size_t name_first(const struct sym_image *img, const char *name)
{
	size_t lo = 0, hi = img->by_name.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(img->syms.data[img->by_name.data[mid]].raw, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool sym_image_has_name(const struct sym_image *img, const char *raw)
{
	size_t i;

	if (img->by_name.len < img->syms.len) { /* while the symbols load (synth.c) */
		for (i = 0; i < img->syms.len; i++)
			if (!strcmp(img->syms.data[i].raw, raw))
				return true;
		return false;
	}
	i = name_first(img, raw);
	return i < img->by_name.len && !strcmp(img->syms.data[img->by_name.data[i]].raw, raw);
}

size_t sym_image_by_name_all(struct sym_image *img, const char *name, struct sym_info *out,
                             size_t max)
{
	size_t n = 0;

	if (sym_image_load_symbols(img, NULL) < 0)
		return 0;
	for (size_t i = name_first(img, name); i < img->by_name.len; i++, n++) {
		struct sym_entry *s = &img->syms.data[img->by_name.data[i]];

		if (strcmp(s->raw, name))
			break;
		if (n < max)
			sym_entry_info(s, &out[n]);
	}
	return n;
}

/* "ns::f(int) const" matches "ns::f": the demangled name up to its parameters. */
static bool matches_without_params(const char *dem, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(dem, name, n) && dem[n] == '(';
}

/* Match a demangled name: exactly first, else without the parameter list. */
static struct sym_entry *by_demangled(struct sym_image *img, const char *name)
{
	struct sym_entry *loose = NULL, *s;

	vec_foreach (&img->syms, s) {
		const char *dem = sym_entry_name(s);

		if (dem == s->raw)
			continue;
		if (!strcmp(dem, name))
			return s;
		if (!loose && matches_without_params(dem, name))
			loose = s;
	}
	return loose;
}

int sym_image_by_name(struct sym_image *img, const char *name, struct sym_info *out, struct err *e)
{
	struct sym_entry *s;

	if (sym_image_load_symbols(img, e) < 0)
		return -1;
	if (sym_image_by_name_all(img, name, out, 1))
		return 1;
	s = by_demangled(img, name);
	if (!s)
		return 0;
	sym_entry_info(s, out);
	return 1;
}

size_t sym_image_names_at(struct sym_image *img, uint64_t addr, const char **out, size_t max)
{
	long g;
	size_t n = 0;

	if (sym_image_load_symbols(img, NULL) < 0)
		return 0;
	g = group_at_or_below(img, addr);
	if (g < 0)
		return 0;
	for (size_t k = img->by_addr.data[g]; k < img->syms.len && img->syms.data[k].addr == addr;
	     k++) {
		if (img->syms.data[k].kind != SYM_KIND_TABLE)
			continue;
		if (n < max)
			out[n] = img->syms.data[k].raw;
		n++;
	}
	return n;
}

size_t sym_image_count(struct sym_image *img)
{
	if (sym_image_load_symbols(img, NULL) < 0)
		return 0;
	return img->syms.len;
}

void sym_image_symbol(struct sym_image *img, size_t i, struct sym_info *out)
{
	sym_entry_info(&img->syms.data[i], out);
}
