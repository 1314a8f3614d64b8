/*
 * The table of engines: adding an engine is one entry here. Messages list
 * the engines in its order.
 */
#include "trace/backend.h"

#include <stdio.h>
#include <string.h>

static const struct backend_ops *const backends[] = {
	&backend_step,
	&backend_dbt,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* dbt records the same traces as step (tests/e2e/engines.py), much faster. */
static const struct backend_ops *const backend_default = &backend_dbt;

_Static_assert(N_BACKENDS <= BACKEND_MAX, "raise BACKEND_MAX");

size_t backend_names(const char *names[static BACKEND_MAX])
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		names[i] = backends[i]->name;
	return N_BACKENDS;
}

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
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
		return cfg->engine ? backend_find(cfg->engine) : backend_default;
	if (backend_find(name))
		return backend_find(name);
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         names[i]);
	err_set(err, ERR_USAGE, "unknown engine '%s' (known: %s)", name, list);
	return NULL;
}
