/*
 * Detaching the dbt engine from a program nosco attached to (nosco run
 * --pid): each thread stopped for it is brought out of the code cache to
 * its exact state, as for any stop the cache cannot handle
 * (materialize.c); once every thread is out, the engine's mappings (the
 * data area with the lookup table, contexts and rings; the code regions)
 * are unmapped by system calls the program makes, as for a forked child.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trace/dbt/dbt.h"

/* app_base_back - th, not in the cache, gets the program's engine base back from the engine's */
static int app_base_back(struct dbt *d, struct tthread *th, const struct dbt_thread *dt,
                         struct err *err)
{
	if (th->kind != TT_THREAD || tracee_get_regs(d->t, th, err))
		return th->kind != TT_THREAD ? 0 : -1;
	if (!dbt_is_engine_base(d, arch_regs_engine_base(&th->regs)))
		return 0;
	arch_regs_set_engine_base(&th->regs, dt ? dt->app_base : 0);
	return tracee_set_regs(d->t, th, err);
}

int dbt_settle(struct dbt *d, struct tthread *th, struct err *err)
{
	struct dbt_thread *dt;
	struct dbt_stash st;
	struct dbt_loc l;
	int rc;

	dt = dbt_thread_of(d, th, false);
	if (!dt || !dt->in_cache)
		return dbt_door_leave(d, th, err) || app_base_back(d, th, dt, err) ? -1 : 0;
	if (dbt_async_sync(d, err))
		return -1;
	/* Interrupted in a copied syscall: at the real one's end, the kernel restarts it. */
	rc = dbt_syscall_restarts(d, dt, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	rc = dbt_materialize(d, dt, MAT_STEP, false, &l, &st, err);
	if (rc < 0)
		return -1;
	if (rc == 2 || st.sig) {
		/* It stopped otherwise on the way out (queued), or a signal came: not quiet yet. */
		th->quiet = false;
		if (rc == 2)
			return 0;
		syscall(SYS_tgkill, d->t->pid, th->tid, st.sig);
		return tracee_resume(d->t, th, false, err);
	}
	return app_base_back(d, th, dt, err);
}

/* quiet_thread - a thread of the program to make the unmapping calls (the leader if it can) */
static struct tthread *quiet_thread(struct tracee *t)
{
	struct tthread *th = tracee_thread(t, t->pid);
	size_t i = 0;

	if (th && th->quiet && !th->group_stop)
		return th;
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		if (th->kind == TT_THREAD && th->quiet && !th->group_stop)
			return th;
	return NULL;
}

int dbt_release(struct dbt *d, struct err *err)
{
	struct tthread *th;

	if (dbt_async_sync(d, err))
		return -1;
	if (!d->ready)
		return 0;
	th = quiet_thread(d->t);
	if (!th)
		return err_set(err, ERR_TRACE,
		               "dbt: no thread of the program can unmap the code cache (all are "
		               "stopped by job control)");
	if (dbt_mem_unmap(d, th, err))
		return -1;
	d->ready = false;
	return 0;
}
