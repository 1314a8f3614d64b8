/*
 * Scopes: resolving the configuration's `trace` nodes in the binaries as
 * they load, arming their entries, recording what they became, and the
 * scopes that never resolve.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/core-internal.h"
#include "util/near.h"
#include "util/strbuf.h"

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
		if (max_level > arm->max_level)
			arm->max_level = max_level;
		return 0;
	}
	arm = xcalloc(1, sizeof(*arm));
	arm->addr = addr;
	arm->image_base = image_base;
	arm->max_level = max_level;
	hashmap_put(&c->scope_by_addr, addr, arm);
	return c->target.arm_scope(c->target.ctx, addr, err);
}

int core_scopes_load(struct core *c, struct image *img, struct err *err)
{
	uint64_t addr;
	int64_t id;
	size_t i;

	for (i = 0; i < c->cfg->n_scopes; i++) {
		const struct config_scope *sc = &c->cfg->scopes[i];

		if (!image_matches(img, sc->binary))
			continue;
		c->scope_matched[i] = true;
		if (image_symbol_addr(img, sc->symbol, &addr, err))
			return err_prefix(err, "%s:%u:%u: scope \"%s\" binary=\"%s\"",
			                  c->cfg->source, sc->line, sc->col, sc->symbol,
			                  sc->binary);
		if (add_row(c, i, img->id, addr, 0, &id, err) ||
		    arm_entry(c, addr, img->base, (uint32_t)sc->call_depth, err))
			return -1;
	}
	return 0;
}

void core_scopes_unload(struct core *c, uint64_t image_base)
{
	struct scope_arm *arm;
	uint64_t addr;
	size_t i = 0;

	while (hashmap_next(&c->scope_by_addr, &i, &addr, (void **)&arm)) {
		if (arm->image_base != image_base)
			continue;
		c->target.disarm_scope(c->target.ctx, addr);
		hashmap_del(&c->scope_by_addr, addr);
		free(arm);
		i = 0; /* deleting reorders the table: rescan */
	}
}

void core_scopes_free(struct core *c)
{
	size_t i = 0;
	void *arm;

	while (hashmap_next(&c->scope_by_addr, &i, NULL, &arm))
		free(arm);
	hashmap_fini(&c->scope_by_addr);
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

int core_scopes_finish(struct core *c, struct err *err)
{
	struct strbuf sb;
	size_t i, n = 0;

	sb_init(&sb);
	for (i = 0; i < c->cfg->n_scopes; i++) {
		const struct config_scope *sc = &c->cfg->scopes[i];

		if (c->scope_matched[i])
			continue;
		sb_addf(&sb, "%s%s:%u:%u: scope \"%s\": no binary named \"%s\" was loaded",
		        n++ ? "; " : "", c->cfg->source, sc->line, sc->col, sc->symbol, sc->binary);
		suggest_binary(c, &sb, sc->binary);
	}
	if (n)
		err_set(err, ERR_CONFIG, "%s", sb.buf);
	sb_fini(&sb);
	return n ? -1 : 0;
}
