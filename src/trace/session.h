/*
 * One run of the tracer: the session metadata around a backend's run, so
 * that every trace file says what was traced, how, and how it ended.
 */
#ifndef NOSCO_TRACE_SESSION_H
#define NOSCO_TRACE_SESSION_H

#include "trace/backend.h"

/**
 * session_check_scopes - resolve the scopes that name the program itself
 * @path: the program's file
 *
 * So that a mistyped function name in the program is reported before
 * anything runs or any file is written. Scopes in libraries are resolved
 * when they load. Return: 0, or -1 with an ERR_CONFIG message.
 */
int session_check_scopes(const struct config *cfg, const char *path, struct err *err);

/**
 * session_run - trace the session's program with a backend
 *
 * Writes the session metadata before and after the run (also when the run
 * fails) and commits. Return: the backend's result.
 */
int session_run(struct session *s, const struct backend_ops *b, struct err *err);

#endif
