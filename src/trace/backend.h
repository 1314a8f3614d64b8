/*
 * The backend interface. A backend executes the traced program and
 * observes it; everything it observes goes to the tracer core through the
 * functions of core.h, whose directives tell it, thread by thread, whether
 * to record every instruction, run free, or run until a call returns.
 *
 * Adding a backend means filling in one struct backend_ops: run() spawns
 * the program described by the session, drives the core until the program
 * ends (or session->stop is set), and reports how it ended. The ptrace
 * helpers in src/trace/ptrace/ (spawning, threads, breakpoints, binaries
 * via r_debug) are there to be reused by backends that control the program
 * through ptrace; a backend that controls it some other way (a GDB remote
 * stub) implements the same observations its own way.
 */
#ifndef NOSCO_TRACE_BACKEND_H
#define NOSCO_TRACE_BACKEND_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"
#include "store/store.h"
#include "trace/core.h"
#include "util/err.h"

/*
 * Where nosco and the program run (--cpu, docs/cli.md). ptrace round trips
 * cost several times more across CPUs, but a pinned program sees that it
 * is (sched_getaffinity, nproc), so nothing is pinned by default.
 */
enum cpu_placement {
	CPU_ANY,   /* wherever the OS schedules them: the program keeps nosco's CPUs */
	CPU_SAME,  /* tracer and program pinned to the CPU the tracer started on */
	CPU_SPLIT, /* pinned to two different CPUs (for measurements) */
};

/*
 * How often a run loop waiting for the program wakes up (util/ticker.h):
 * often enough for the progress line to move a few times a second.
 * store_tick() commits at its own pace (STORE_COMMIT_INTERVAL_MS).
 */
#define BACKEND_TICK_MS 250

struct session {
	/* in */
	const char *path;  /* the program's file, already resolved */
	char *const *argv; /* its argv (argv[0] as the user typed it) */
	const struct config *cfg;
	struct store *store;
	const char *engine;     /* the backend's name, for the trace's metadata */
	enum cpu_placement cpu; /* where tracer and program run */
	/* set asynchronously (signal handler) to stop tracing: the backend
	 * kills the program and returns with exit.signaled = SIGKILL (detaches
	 * from it when attached) */
	volatile sig_atomic_t *stop;
	/* the progress line (NULL: none), called with the core's statistics
	 * at each wake-up of the run loop (session_progress) */
	void (*progress)(void *ctx, const struct core_stats *st);
	void *progress_ctx;
	/* attach to this running process instead of starting one (path and
	 * argv: what it runs; cwd: its working directory) */
	pid_t attach_pid;
	const char *cwd;
	/*
	 * the process ends after the run: what the run allocated is left to
	 * the exit rather than freed piece by piece (2 ms of a short run's
	 * end, where nothing else happens)
	 */
	bool exits_after;
	/* binaries whose symbols were read before the run (session_check_scopes), or NULL */
	struct images *checked;
	/* the program, started before the run (session_launch) for its engine to adopt */
	struct tracee_launch *launch;
	/* attached: detach this long after attaching (ns; 0: not before a stop),
	 * at deadline_ns (CLOCK_MONOTONIC), set once attached (session_attached) */
	int64_t duration_ns;
	int64_t deadline_ns;
	/* out */
	pid_t pid;              /* set as soon as the program exists */
	bool detached;          /* nosco detached from the program, which goes on */
	struct store_exit exit; /* how the program ended */
	/* it ended while the kernel still freed its memory: session_forget() reaps it */
	bool unreaped;
	struct core_stats stats;
};

struct backend_ops {
	const char *name;
	/**
	 * run - trace the program of the session to its end
	 *
	 * Return: 0 when the program ran to its end (whatever its exit
	 * status) or was stopped through session->stop; -1 with err when
	 * tracing failed (the program is then killed). Either way the store
	 * holds everything observed up to that point.
	 */
	int (*run)(struct session *s, struct err *err);
};

extern const struct backend_ops backend_step;
extern const struct backend_ops backend_dbt;

/* The most engines the table (backend.c) may hold. */
#define BACKEND_MAX 8

/* An engine of the table, and what `nosco run --help` says of it. */
struct backend_entry {
	const struct backend_ops *ops;
	const char *what; /* "a code cache" */
	const char *more; /* said after "the default" when it is: "docs/engine.md" */
};

/* backend_entries - the table of engines into *entries; returns how many */
size_t backend_entries(const struct backend_entry **entries);

/* backend_default - the engine of a run that names none */
const struct backend_ops *backend_default(void);

/* backend_find - the backend called name, or NULL */
const struct backend_ops *backend_find(const char *name);

/* backend_names - the names of the backends into names, in the table's order; returns how many */
size_t backend_names(const char *names[static BACKEND_MAX]);

/**
 * backend_choose - the engine a run uses
 * @name: the one the command line names (-e), or NULL
 * @cfg: the configuration, whose engine node the command line overrides
 * @err: ERR_CONFIG for an unknown engine in the configuration (checked
 *       first, -e or not), with its position; ERR_USAGE for an unknown @name
 *
 * Return: the engine (the default one when neither names one), or NULL with err.
 */
const struct backend_ops *backend_choose(const char *name, const struct config *cfg,
                                         struct err *err);

#endif
