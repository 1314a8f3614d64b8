/*
 * The run configuration: what to trace and how deep. It is written in KDL
 * (v2, with the KDL v1 forms of the reference still accepted) and comes
 * either from a file or inline from the command line. docs/config.md is the
 * user's reference for it.
 */
#ifndef NOSCO_CONFIG_CONFIG_H
#define NOSCO_CONFIG_CONFIG_H

#include <stddef.h>

#include "util/err.h"

#define CONFIG_DEFAULT_CALL_DEPTH      250
#define CONFIG_DEFAULT_BACKTRACE_DEPTH 20
#define CONFIG_MAX_DEPTH               100000 /* larger depths are rejected as absurd */

enum config_engine {
	CONFIG_ENGINE_DEFAULT = 0, /* not set: the run command picks */
	CONFIG_ENGINE_STEP,
	CONFIG_ENGINE_DBT,
};

/* One `trace "SYMBOL" binary="NAME" [call-depth=N]` node. */
struct config_scope {
	char *symbol;
	char *binary;
	int call_depth;     /* the scope's own depth, or the document's call-depth */
	unsigned line, col; /* where the node starts, for later error messages */
};

struct config {
	int call_depth;
	int backtrace_depth;
	enum config_engine engine;
	struct config_scope *scopes;
	size_t n_scopes;
	char *source; /* file path, or "<inline>" */
	char *text;   /* the configuration text as given */
};

/**
 * config_load - read a configuration
 * @cfg: filled on success; config_fini() it afterwards
 * @arg: the -c argument: a path to an existing file, else inline KDL text
 * @err: on failure, an ERR_CONFIG (or ERR_IO) one-line message naming
 *       SOURCE:LINE:COL and what was expected, followed by the offending
 *       source line and a caret under the column (so the message has three
 *       lines for syntax and schema errors)
 *
 * A path that does not exist but looks like one (it ends in ".kdl", or it
 * has a '/' and no spaces, quotes or braces) is an ERR_IO "not found"
 * rather than a confusing KDL error. On failure nothing is left to free.
 *
 * Return: 0 on success, -1 on failure.
 */
int config_load(struct config *cfg, const char *arg, struct err *err);

/**
 * config_parse - parse configuration text
 * @cfg: filled on success; config_fini() it afterwards
 * @text: the KDL text (v2, or the reference's v1)
 * @source: the name used in error messages ("cfg.kdl", "<inline>")
 * @err: on failure, an ERR_CONFIG message as for config_load()
 *
 * On failure nothing is left to free in cfg.
 *
 * Return: 0 on success, -1 on failure.
 */
int config_parse(struct config *cfg, const char *text, const char *source, struct err *err);

/**
 * config_fini - free what a configuration holds
 * @cfg: may be NULL
 */
void config_fini(struct config *cfg);

#endif
