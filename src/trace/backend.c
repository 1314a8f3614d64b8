/* The table of backends. */
#include "trace/backend.h"

#include <stdio.h>
#include <string.h>

static const struct backend_ops *const backends[] = {
	&backend_step,
	&backend_dbt,
};

const char *backend_names(void)
{
	static char names[128];
	size_t i;

	if (!names[0])
		for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			         i ? ", " : "", backends[i]->name);
	return names;
}

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}
