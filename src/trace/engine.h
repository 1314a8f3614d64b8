/*
 * How the run loop drives an engine. The single-step engine
 * (src/trace/step/) is the base every ptrace engine builds on: it owns the
 * threads, breakpoints, signals and process events, and its step_apply()
 * and step_handle() are how an engine gives a thread back to it. An engine
 * that runs recording threads its own way (the dbt engine's code cache)
 * fills in more of these operations; the step engine fills in only
 * handle().
 */
#ifndef NOSCO_TRACE_ENGINE_H
#define NOSCO_TRACE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct tracee;
struct tthread;
struct tracee_event;
struct session;
struct core_directive;

struct engine_ops {
	/* handle - act on one stop or exit of the program's tasks */
	int (*handle)(void *self, const struct tracee_event *ev, struct err *err);
	/*
	 * take - th records and the step engine is about to single-step it:
	 * the engine may resume it its own way instead (*taken). NULL: never.
	 */
	int (*take)(void *self, struct tthread *th, bool *taken, struct err *err);
	/*
	 * watch - a hook (an internal breakpoint) was added while the program
	 * runs: the engine must see threads reach addr from now on, even in
	 * code it has translated already. NULL: nothing to do.
	 */
	void (*watch)(void *self, uint64_t addr);
	/*
	 * scope_hit - th stopped at a scope's breakpoint: core_scope_hit(),
	 * what the engine learns from it too (the dbt engine: the frames its
	 * stack walk needs). NULL: core_scope_hit() alone.
	 */
	int (*scope_hit)(void *self, struct tthread *th, struct core_directive *nd,
	                 struct err *err);
	/* idle - may the run loop commit the store now (no other thread owns it)? NULL: yes */
	bool (*idle)(void *self);
	/*
	 * defer - do one piece of work no stop waits for, while no stop is
	 * there to handle (the program runs meanwhile); false when there is
	 * none left for now. NULL: never any.
	 */
	bool (*defer)(void *self);
	/*
	 * running - the run loop woke with no stop to handle (the ticker):
	 * work that waits for none while the program runs. NULL: none.
	 */
	int (*running)(void *self, struct err *err);
	/*
	 * settle - detaching (step/attach.c): th stopped at its interrupt;
	 * bring it to the program's own state (out of the engine's code). A
	 * thread that stopped otherwise meanwhile is no longer th->quiet (its
	 * stop is queued). NULL: nothing to do.
	 */
	int (*settle)(void *self, struct tthread *th, struct err *err);
	/*
	 * release - detaching: every thread is quiet; take out of the program
	 * everything the engine put in it (its mappings). NULL: nothing.
	 */
	int (*release)(void *self, struct err *err);
};

struct engine {
	const struct engine_ops *ops;
	void *self;
};

/**
 * engine_run - wait for the program's stops and give them to e until the
 * program is gone or the session is stopped; commit the store and report
 * progress on the way (whenever the commit ticker ticked, and every so
 * many events)
 */
int engine_run(struct tracee *t, struct session *s, const struct engine *e, struct err *err);

/**
 * engine_leave - the run is over (ret: its result): when nosco attached to
 * the program and it still runs, detach from it (step/attach.c), else
 * nothing. Return: ret, or the error of detaching.
 */
int engine_leave(struct tracee *t, struct session *s, const struct engine *e, int ret,
                 struct err *err);

#endif
