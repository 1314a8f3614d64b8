/*
 * One run of the tracer: the session metadata around a backend's run, so
 * that every trace file says what was traced, how, and how it ended.
 */
#ifndef NOSCO_TRACE_SESSION_H
#define NOSCO_TRACE_SESSION_H

#include "trace/backend.h"

/**
 * session_program - the session traces PROGRAM, started with argv
 * @argv: argv[0] is PROGRAM, found the way a shell does (a PATH search
 *        when it has no '/'); kept, not copied
 *
 * Return: 0, or -1 with ERR_NOT_FOUND or ERR_NOT_EXEC.
 */
int session_program(struct session *s, char *const *argv, struct err *err);

/**
 * session_process - the session attaches to the running process pid
 *
 * Checks first that nosco may attach to it: no such process, a zombie,
 * one traced already, another user's or nosco itself are one-line errors
 * naming the cause (ERR_NOT_FOUND for a process that is not there, else
 * ERR_PERMISSION). Then reads what it runs: its executable, arguments and
 * working directory. Return: 0, or -1 with err.
 */
int session_process(struct session *s, pid_t pid, struct err *err);

/**
 * session_launch - start the session's program before the trace file is
 * made, for the engine to adopt at its exec: it loads meanwhile
 *
 * Return: 0, or -1 with err (nothing left behind).
 */
int session_launch(struct session *s, struct err *err);

/* session_forget - free what session_program() or session_process() set (a launched program not
 * adopted is killed; one that ended while its memory was freed is reaped) */
void session_forget(struct session *s);

/**
 * session_check_scopes - resolve the scopes that name the program itself
 * @s: the session, whose path is the program's file
 *
 * So that a mistyped function name in the program is reported before
 * anything runs or any file is written. Scopes in libraries are resolved
 * when they load. The program's symbols stay read in s->checked, for the
 * core not to read them again. Return: 0, or -1 with an ERR_CONFIG message.
 */
int session_check_scopes(struct session *s, const struct config *cfg, struct err *err);

/**
 * session_create_store - the trace file, s->store, for a run with the engine named
 *
 * The output is checked and an old trace there removed now; the file is
 * made, with the session's metadata, on a thread of its own while the
 * program loads (store_create_async): the session's path, argv, cfg and
 * cwd must stay as they are. Return: 0, or -1 with err (no store).
 */
int session_create_store(struct session *s, const char *engine, const char *output, bool force,
                         struct err *err);

/**
 * session_run - trace the session's program with a backend
 *
 * Writes the session metadata after the run (also when the run fails) and
 * commits. Return: the backend's result.
 */
int session_run(struct session *s, const struct backend_ops *b, struct err *err);

/*
 * session_progress - give s->progress the core's statistics: from the
 * tracer thread's run loop, at each of its wake-ups (the ticker, or every
 * so many events), also while the dbt engine's replay worker owns the core
 */
void session_progress(const struct session *s, const struct core *c);

/*
 * session_tick - commit what is due (the commit interval passed): from
 * whichever thread owns the core and the store, the run loop or the dbt
 * engine's replay worker
 */
int session_tick(struct session *s, struct err *err);

/*
 * session_flush - write what the store has gathered, in chunks big enough
 * (SESSION_FLUSH_MIN), without committing: from whichever thread owns the
 * store, at a moment the program does not wait for
 */
int session_flush(struct session *s, struct err *err);

/* session_count - a backend's count, kept in the trace's metadata under name */
int session_count(struct session *s, const char *name, uint64_t n, struct err *err);

/* session_attached - nosco has attached: --duration counts from now */
void session_attached(struct session *s);

/* session_should_end - was the run asked to stop (a signal, or the deadline of --duration)? */
bool session_should_end(const struct session *s);

#endif
