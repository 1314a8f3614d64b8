/*
 * Scopes: resolving the configuration's `trace` nodes in the binaries as
 * they load, arming their entries, and what is said about those that never
 * resolve.
 *
 * A scope on an IFUNC (glibc's memcmp, strlen...) is not entered at the
 * symbol's address, which is its resolver's: the program never calls
 * that, the dynamic linker calls it once and binds the name to the
 * implementation it returns. The scope is entered at that implementation,
 * found two ways:
 * - what the dynamic linker has stored already: when a binary loads, the
 *   slots its relocations bind to the IFUNC (IRELATIVE with the resolver
 *   as addend, GLOB_DAT/JUMP_SLOT/64 against its names) are read; a slot
 *   that holds something else than before relocation holds the
 *   implementation (the dynamic linker reports the libraries loaded at
 *   start once it has relocated them);
 * - the resolver's result each time it runs later (lazy binding at the
 *   first call through the PLT, a library loaded by dlopen, a static
 *   program's start-up code): the backend watches the resolvers that
 *   core_resolvers() lists and reports what they return with
 *   core_ifunc_resolved().
 * The store's scope records say both where the scope is entered and which
 * resolver chose it. A direct call of the resolver is not a scope entry.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/core-internal.h"
#include "trace/libpath.h"
#include "sym/image.h"
#include "util/log.h"
#include "util/near.h"
#include "util/strbuf.h"

#define MAX_SLOTS 64

static int add_row(struct core *c, size_t config, int64_t binary, uint64_t addr, uint64_t resolver,
                   int64_t *id, struct err *err)
{
	const struct config_scope *sc = &c->cfg->scopes[config];
	const struct store_scope s = { sc->symbol, binary, addr, resolver,
		                       (uint32_t)sc->call_depth };

	*id = store_scope_add(c->store, &s, err);
	return *id < 0 ? -1 : 0;
}

/*
 * arm_entry - threads reaching addr enter a scope (two names for one
 * function: the deeper scope wins)
 */
static int arm_entry(struct core *c, uint64_t addr, uint64_t image_base, uint32_t max_level,
                     struct err *err)
{
	struct scope_arm *arm = hashmap_get(&c->scope_by_addr, addr);

	if (arm) {
		if (max_level > arm->max_level) {
			arm->max_level = max_level;
			if (c->target.scope_changed)
				c->target.scope_changed(c->target.ctx, addr);
		}
		return 0;
	}
	arm = xcalloc(1, sizeof(*arm));
	arm->addr = addr;
	arm->image_base = image_base;
	arm->max_level = max_level;
	hashmap_put(&c->scope_by_addr, addr, arm);
	return c->target.arm_scope(c->target.ctx, addr, err);
}

static struct ifunc_scope *ifunc_at(struct core *c, uint64_t resolver)
{
	struct ifunc_scope **it;

	vec_foreach (&c->ifuncs, it)
		if ((*it)->resolver == resolver)
			return *it;
	return NULL;
}

/*
 * resolved_to - the IFUNC's resolver returned impl (how: where that was
 * seen): its scopes are entered there
 */
static int resolved_to(struct core *c, struct ifunc_scope *f, uint64_t impl, const char *how,
                       struct err *err)
{
	struct scope_row *row;
	uint64_t *it;
	int64_t id;

	vec_foreach (&f->impls, it)
		if (*it == impl)
			return 0;
	vec_push(&f->impls, impl);
	vec_foreach (&f->rows, row) {
		if (f->impls.len == 1
		            ? store_scope_set_addr(c->store, row->id, impl, err)
		            : add_row(c, row->config, f->binary, impl, f->resolver, &id, err))
			return -1;
	}
	log_debug("IFUNC %s (resolver %#llx) resolved to %#llx, %s", f->n_names ? f->names[0] : "?",
	          (unsigned long long)f->resolver, (unsigned long long)impl, how);
	return arm_entry(c, impl, f->image_base, f->max_level, err);
}

/*
 * like_impl - could a relocated slot's value v be the IFUNC's implementation?
 * Not a PLT stub (a lazy slot, a canonical PLT address), not another
 * binary's own function of the same name (the name is bound to that).
 */
static bool like_impl(struct core *c, const struct ifunc_scope *f, uint64_t v)
{
	struct image *img = images_at(c->images, v);
	uint64_t a;
	bool ifunc;
	size_t i;

	if (!img || image_is_plt(img, v))
		return false;
	for (i = 0; img->base != f->image_base && i < f->n_names; i++)
		if (!image_function(img, f->names[i], &a, &ifunc, NULL) && a == v && !ifunc)
			return false;
	return true;
}

/* scan - the implementations the dynamic linker has stored in img's slots for the IFUNC */
static int scan(struct core *c, struct ifunc_scope *f, const struct image *img, struct err *err)
{
	struct sym_slot slots[MAX_SLOTS];
	size_t n = image_ifunc_slots(img, img->base == f->image_base ? f->resolver : 0, f->names,
	                             f->n_names, slots, MAX_SLOTS),
	       i;

	for (i = 0; i < n && i < MAX_SLOTS; i++) {
		uint64_t v = 0;

		if (c->target.read_mem(c->target.ctx, slots[i].addr, &v, sizeof(v)) != sizeof(v))
			continue;
		/* Not relocated yet (a lazy JUMP_SLOT holds its PLT entry, biased) */
		if (!v || v == slots[i].init || v == slots[i].init + img->base ||
		    v == f->resolver || !like_impl(c, f, v))
			continue;
		if (resolved_to(c, f, v, "stored in a slot of a binary", err))
			return -1;
	}
	return 0;
}

struct scan_all {
	struct core *c;
	struct ifunc_scope *f;
	struct err *err;
	int ret;
};

static void scan_one(struct image *img, void *arg)
{
	struct scan_all *s = arg;

	if (!s->ret)
		s->ret = scan(s->c, s->f, img, s->err);
}

/* ifunc_scope - the scope i names the IFUNC whose resolver is at resolver in img */
static int ifunc_scope(struct core *c, struct image *img, size_t i, uint64_t resolver,
                       struct err *err)
{
	uint32_t depth = (uint32_t)c->cfg->scopes[i].call_depth;
	struct ifunc_scope *f = ifunc_at(c, resolver);
	struct scope_row row = { .config = i };
	uint64_t *it;

	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->resolver = resolver;
		f->image_base = img->base;
		f->binary = img->id;
		f->max_level = depth;
		f->n_names = image_names_at(img, resolver, f->names, IFUNC_NAMES);
		if (f->n_names > IFUNC_NAMES)
			f->n_names = IFUNC_NAMES;
		vec_push(&c->ifuncs, f);
	}
	if (depth > f->max_level)
		f->max_level = depth;
	if (add_row(c, i, f->binary, f->impls.len ? f->impls.data[0] : 0, resolver, &row.id, err))
		return -1;
	vec_push(&f->rows, row);
	/* A second name for an IFUNC already resolved: its depth may be deeper. */
	vec_foreach (&f->impls, it)
		if (arm_entry(c, *it, f->image_base, f->max_level, err))
			return -1;
	return 0;
}

int core_scopes_load(struct core *c, struct image *img, struct err *err)
{
	size_t i, known = c->ifuncs.len;
	uint64_t addr;
	int64_t id;
	bool ifunc;

	for (i = 0; i < c->cfg->n_scopes; i++) {
		const struct config_scope *sc = &c->cfg->scopes[i];

		if (!image_matches(img, sc->binary))
			continue;
		c->scope_matched[i] = true;
		if (image_function(img, sc->symbol, &addr, &ifunc, err))
			return err_prefix(err, "%s:%u:%u: scope \"%s\" binary=\"%s\"",
			                  c->cfg->source, sc->line, sc->col, sc->symbol,
			                  sc->binary);
		if (ifunc ? ifunc_scope(c, img, i, addr, err)
		          : add_row(c, i, img->id, addr, 0, &id, err) ||
		                    arm_entry(c, addr, img->base, (uint32_t)sc->call_depth, err))
			return -1;
	}
	/*
	 * What the dynamic linker stored already: in this binary for the
	 * IFUNCs known before, in every binary for the new ones.
	 */
	for (i = 0; i < c->ifuncs.len; i++) {
		struct scan_all s = { c, c->ifuncs.data[i], err, 0 };

		if (i < known)
			s.ret = scan(c, s.f, img, err);
		else
			images_foreach(c->images, scan_one, &s);
		if (s.ret)
			return -1;
	}
	return 0;
}

static void ifunc_free(struct ifunc_scope *f)
{
	vec_free(&f->rows);
	vec_free(&f->impls);
	free(f);
}

void core_scopes_unload(struct core *c, uint64_t image_base)
{
	struct scope_arm *arm;
	uint64_t addr;
	size_t i = 0, o = 0;

	while (hashmap_next(&c->scope_by_addr, &i, &addr, (void **)&arm)) {
		if (arm->image_base != image_base)
			continue;
		c->target.disarm_scope(c->target.ctx, addr);
		hashmap_del(&c->scope_by_addr, addr);
		free(arm);
		i = 0; /* deleting reorders the table: rescan */
	}
	for (i = 0; i < c->ifuncs.len; i++) {
		if (c->ifuncs.data[i]->image_base == image_base)
			ifunc_free(c->ifuncs.data[i]);
		else
			c->ifuncs.data[o++] = c->ifuncs.data[i];
	}
	c->ifuncs.len = o;
}

void core_scopes_free(struct core *c)
{
	struct ifunc_scope **f;
	size_t i = 0;
	void *arm;

	while (hashmap_next(&c->scope_by_addr, &i, NULL, &arm))
		free(arm);
	hashmap_fini(&c->scope_by_addr);
	vec_foreach (&c->ifuncs, f)
		ifunc_free(*f);
	vec_free(&c->ifuncs);
}

size_t core_resolvers(const struct core *c, uint64_t base, uint64_t *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < c->ifuncs.len; i++) {
		if (c->ifuncs.data[i]->image_base != base)
			continue;
		if (n < max)
			out[n] = c->ifuncs.data[i]->resolver;
		n++;
	}
	return n;
}

int core_ifunc_resolved(struct core *c, uint64_t resolver, uint64_t impl, struct err *err)
{
	struct ifunc_scope *f = ifunc_at(c, resolver);

	OWNER_CHECK(&c->owner);
	/* Not code of the program's: nothing to arm (a resolver returning NULL). */
	if (!f || !images_at(c->images, impl))
		return 0;
	return resolved_to(c, f, impl, "returned by the resolver", err);
}

/* suggest_binary - "(did you mean ...?)", else the names that did load */
static void suggest_binary(struct core *c, struct strbuf *sb, const char *name)
{
	struct near_match m[3];
	size_t n = near_rank(name, (const char *const *)c->binary_names.data, c->binary_names.len,
	                     m, 3),
	       i;

	if (n) {
		for (i = 0; i < n; i++)
			sb_addf(sb, "%s\"%s\"", i ? ", " : " (did you mean ", m[i].name);
		sb_adds(sb, "?)");
		return;
	}
	for (i = 0; i < c->binary_names.len && i < 8; i++)
		sb_addf(sb, "%s%s", i ? ", " : " (loaded: ", c->binary_names.data[i]);
	if (i)
		sb_adds(sb, c->binary_names.len > i ? ", ...)" : ")");
}

/* warn_unmatched - say that scope i's binary is not there, then what */
static void warn_unmatched(struct core *c, size_t i, const char *what, const char *then)
{
	const struct config_scope *sc = &c->cfg->scopes[i];
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "%s:%u:%u: scope \"%s\" binary=\"%s\": %s", c->cfg->source, sc->line, sc->col,
	        sc->symbol, sc->binary, what);
	suggest_binary(c, &sb, sc->binary);
	sb_adds(&sb, then);
	log_warn("%s", sb.buf);
	sb_fini(&sb);
	c->scope_warned[i] = true;
}

struct main_image {
	const char *path, *runpath;
};

static void find_main(struct image *img, void *arg)
{
	struct main_image *m = arg;

	if (img->is_main) {
		m->path = img->path;
		m->runpath = img->sym ? sym_image_runpath(img->sym) : NULL;
	}
}

void core_binaries_settled(struct core *c)
{
	struct main_image m = { NULL, NULL };
	size_t i;

	OWNER_CHECK(&c->owner);
	images_foreach(c->images, find_main, &m);
	for (i = 0; i < c->cfg->n_scopes; i++) {
		const char *name = c->cfg->scopes[i].binary;

		/* A library the program may still load by name stays quiet until the end. */
		if (c->scope_matched[i] || c->scope_warned[i] ||
		    libpath_has(name, m.path, m.runpath))
			continue;
		warn_unmatched(c, i,
		               "no binary of that name is loaded, nor a library of that name where "
		               "the dynamic linker looks",
		               "; the scope applies only if the program loads such a binary by its "
		               "path or executes one");
	}
}

void core_scopes_finish(struct core *c)
{
	size_t i;

	for (i = 0; i < c->cfg->n_scopes; i++)
		if (!c->scope_matched[i] && !c->scope_warned[i])
			warn_unmatched(c, i, "no binary of that name was loaded",
			               "; nothing was traced for it");
}
