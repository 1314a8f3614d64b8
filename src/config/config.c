/* Placeholder until the KDL reader lands: accepts only an empty configuration. */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

int config_parse(struct config *cfg, const char *text, const char *source, struct err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->call_depth = CONFIG_DEFAULT_CALL_DEPTH;
	cfg->backtrace_depth = CONFIG_DEFAULT_BACKTRACE_DEPTH;
	cfg->source = xstrdup(source);
	cfg->text = xstrdup(text);
	return 0;
}

int config_load(struct config *cfg, const char *arg, struct err *err)
{
	return config_parse(cfg, arg, "<inline>", err);
}

void config_fini(struct config *cfg)
{
	free(cfg->source);
	free(cfg->text);
	free(cfg->scopes);
}
