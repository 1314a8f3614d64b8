/*
 * Leaving a truncated call without returning (step.h): the landings of
 * exceptions and longjmps a thread may resume recording at.
 */
#include "trace/step/step.h"

/* watch - th resumes recording if it lands at target (a breakpoint there) */
static int watch(struct tracee *t, struct tthread *th, uint64_t target, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t *it;

	vec_foreach (&st->resume_bps, it)
		if (*it == target)
			return 0;
	if (tracee_bp_add(t, target, BP_RET, err))
		return -1;
	vec_push(&st->resume_bps, target);
	return 0;
}

int step_landing_on_hook(struct tracee *t, struct tthread *th, uint64_t addr, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t target;

	if (st->dir.mode != CORE_RUN_TO_RETURN && st->dir.mode != CORE_RECORD)
		return 0;
	target = escape_target(t, th, addr);
	if (!target)
		return 0;
	/* Recorded here, it may go on past the depth limit: watched from then on. */
	if (st->dir.mode == CORE_RECORD) {
		st->landing = target;
		return 0;
	}
	return watch(t, th, target, err);
}

int step_landing_watch(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);

	/* Out of every scope, it landed or will land unrecorded anyway. */
	if (st->dir.mode != CORE_RUN_TO_RETURN && st->dir.mode != CORE_RECORD)
		st->landing = 0;
	if (!st->landing || st->dir.mode != CORE_RUN_TO_RETURN)
		return 0;
	return watch(t, th, st->landing, err);
}

bool step_landing_take(struct tracee *t, struct tthread *th, uint64_t addr)
{
	struct step_thread *st = step_of(th);
	size_t i;

	for (i = 0; i < st->resume_bps.len; i++) {
		if (st->resume_bps.data[i] != addr)
			continue;
		st->resume_bps.data[i] = vec_last(&st->resume_bps);
		st->resume_bps.len--;
		tracee_bp_del(t, addr, BP_RET);
		if (st->landing == addr)
			st->landing = 0;
		return true;
	}
	return false;
}

void step_landing_clear(struct tracee *t, struct tthread *th)
{
	struct step_thread *st = step_of(th);
	uint64_t *it;

	vec_foreach (&st->resume_bps, it)
		tracee_bp_del(t, *it, BP_RET);
	st->resume_bps.len = 0;
}
