/* The table of backends. */
#include "trace/backend.h"

#include <string.h>

static const struct backend_ops *const backends[] = {
	&backend_step,
};

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}
