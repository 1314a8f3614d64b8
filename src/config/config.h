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
	char *engine; /* the engine node's name as written (NULL: none; the run command picks) */
	unsigned engine_line, engine_col; /* where that name is, for config_unknown() */
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

/**
 * config_unknown - the error for a name in the configuration that is not one of names
 * @line: where the name is (engine_line)
 * @col: (engine_col)
 * @kind: what the name is ("engine"), @kinds: its plural
 * @err: ERR_CONFIG "SOURCE:LINE:COL: unknown KIND 'x', did you mean 'y'?
 *       (valid KINDS: a, b)", the offending line and a caret, as config_load()'s
 *
 * For the names a layer above the configuration knows (the engines).
 *
 * Return: -1.
 */
int config_unknown(const struct config *cfg, unsigned line, unsigned col, const char *kind,
                   const char *kinds, const char *word, const char *const *names, size_t n,
                   struct err *err);

#endif
