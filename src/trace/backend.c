/*
 * The table of engines: adding an engine is one entry here. Messages list
 * the engines in its order.
 */
#include "trace/backend.h"

#include <stdio.h>
#include <string.h>

static const struct backend_entry backends[] = {
	{ &backend_step, "single-stepping", "the reference" },
	{ &backend_dbt, "a code cache", "docs/engine.md" },
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* dbt records the same traces as step (tests/e2e/engines.py), much faster. */
static const struct backend_ops *const default_backend = &backend_dbt;

_Static_assert(N_BACKENDS <= BACKEND_MAX, "raise BACKEND_MAX");

size_t backend_entries(const struct backend_entry **entries)
{
	*entries = backends;
	return N_BACKENDS;
}

const struct backend_ops *backend_default(void)
{
	return default_backend;
}

size_t backend_names(const char *names[static BACKEND_MAX])
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		names[i] = backends[i].ops->name;
	return N_BACKENDS;
}

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		if (!strcmp(backends[i].ops->name, name))
			return backends[i].ops;
	return NULL;
}

const struct backend_ops *backend_choose(const char *name, const struct config *cfg,
                                         struct err *err)
{
	const char *names[BACKEND_MAX];
	size_t i, n = backend_names(names);
	char list[256] = "";

	if (cfg->engine && !backend_find(cfg->engine)) {
		config_unknown(cfg, cfg->engine_line, cfg->engine_col, "engine", "engines",
		               cfg->engine, names, n, err);
		return NULL;
	}
	if (!name)
		return cfg->engine ? backend_find(cfg->engine) : default_backend;
	if (backend_find(name))
		return backend_find(name);
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         names[i]);
	err_set(err, ERR_USAGE, "unknown engine '%s' (known: %s)", name, list);
	return NULL;
}
