/* Shared by config.c (loading, messages) and schema.c (what the nodes mean). */
#ifndef NOSCO_CONFIG_INTERNAL_H
#define NOSCO_CONFIG_INTERNAL_H

#include "config/config.h"
#include "kdl/kdl.h"
#include "util/vec.h"

struct config_ctx {
	struct config *cfg;
	const char *text; /* for quoting the offending line */
	size_t len;
	enum kdl_version version; /* the syntax the document was written in */
	struct err *err;
	/* the first node of each kind, for duplicate errors */
	const struct kdl_node *call_depth, *backtrace_depth, *engine;
	VEC(struct config_scope) scopes; /* call_depth < 0: the document's */
};

int config_fail(struct config_ctx *c, struct kdl_pos pos, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int config_fail_unknown(struct config_ctx *c, struct kdl_pos pos, const char *kind,
                        const char *kinds, const char *where, const char *word,
                        const char *const *names, size_t n);
int config_apply(struct config_ctx *c, const struct kdl_document *doc);

#endif
