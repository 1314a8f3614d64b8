/*
 * Full rings replayed on another CPU. Replaying a ring into the core costs
 * about as much as running the code that filled it, so instead of
 * replaying while the thread waits, the tracer hands the full ring to a
 * worker thread and resumes the thread on its next ring (each thread has
 * DBT_RINGS); the worker replays the full one meanwhile, where it is
 * (docs/engine.md, "Rings and the replay").
 *
 * The worker owns the core and the store while it has work: the tracer
 * thread serves only cache misses (translation touches neither), full
 * rings and system calls that change mappings, and calls dbt_async_sync()
 * before anything else. The hand-over is explicit (core_hand_over()): to
 * the worker as a job is queued, back to the tracer thread as the worker
 * goes idle; debug builds check it at every core_* and store_* call that
 * changes the trace (util/owner.h). The worker stops
 * at a record it must not replay (worker_may_replay in replay.c); the rest
 * of that job, and of the ones behind it, is replayed by the tracer at the
 * next sync. Jobs are replayed in the order the rings filled.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "trace/dbt/dbt.h"
#include "trace/session.h"
#include "util/thread.h"
#include "util/ticker.h"
#include "util/xalloc.h"

/*
 * Full rings waiting, of all threads together. A thread also waits when
 * its next ring has not been replayed yet: its DBT_RINGS rings let the
 * worker catch up later with what it filled faster than it was replayed.
 */
#define ASYNC_JOBS 1024

/*
 * What a ring must hold before it is offered to an idle worker early: 64
 * KiB of records, or a quarter of it when rings are smaller (the tests').
 */
#define OFFER_MIN (64u << 10)

/*
 * While threads run with no stop, the tracer wakes this often to hand what
 * their rings hold to an idle worker, if that is this many words or more:
 * Python's PyDict_New scope logged 40,000 words in the 21 ms after its
 * last stop, all replayed at its exit stop (1 ms) until then.
 */
#define RUNNING_WAKE_US 2000
#define RUNNING_MIN     1024 /* words, or a quarter of a ring when rings are smaller (the tests') */

struct async_job {
	struct dbt_thread *dt;
	uint32_t ring;     /* which of its rings */
	const uint32_t *w; /* that ring, in the shared memory */
	size_t n, done;
	bool running; /* handed over while dt ran (dbt_async_running()) */
};

struct dbt_async {
	pthread_t thread;
	pthread_t tracer; /* the thread that started it: the core's owner when it is idle */
	pthread_mutex_t mu;
	pthread_cond_t work; /* the worker waits for a job */
	pthread_cond_t idle; /* the tracer waits for the worker */
	struct async_job jobs[ASYNC_JOBS];
	size_t head, len;
	bool busy;    /* the worker is replaying jobs[head] */
	bool stalled; /* jobs[head] has a record the worker leaves to the tracer */
	bool hold;    /* the tracer takes the jobs: start no other */
	bool quit;
	bool failed;
	struct err err;
};

/* take_head - replay what the worker may of the first job; called without the lock */
static void take_head(struct dbt *d, struct dbt_async *a, struct async_job *j)
{
	struct err err;
	size_t used = 0;
	int rc = dbt_replay_records(d, j->dt, j->w + j->done, j->n - j->done, true, &used, &err);

	/*
	 * The store is the worker's now: this is where it commits what is due,
	 * and, while the program runs, writes what it has gathered, which would
	 * otherwise be compressed at the end, with the program gone.
	 */
	if (!rc && used == j->n - j->done)
		rc = session_tick(d->s, &err);
	if (!rc && used == j->n - j->done && j->running)
		rc = session_flush(d->s, &err);
	pthread_mutex_lock(&a->mu);
	d->n_worker_records += used;
	j->done += used;
	if (rc) {
		a->failed = true;
		a->err = err;
	} else if (j->done < j->n) {
		a->stalled = true;
	} else {
		j->dt->held[j->ring]--;
		a->head = (a->head + 1) % ASYNC_JOBS;
		a->len--;
	}
	a->busy = false;
	/* Idle (what dbt_async_idle() says): the core and the store go back. */
	if (!a->len || a->stalled || a->failed)
		core_hand_over(d->t->core, a->tracer);
	pthread_cond_broadcast(&a->idle);
}

static void *worker(void *arg)
{
	struct dbt *d = arg;
	struct dbt_async *a = d->async;

	pthread_setname_np(pthread_self(), "nosco-replay");
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->quit && (!a->len || a->stalled || a->failed || a->hold))
			pthread_cond_wait(&a->work, &a->mu);
		if (a->quit)
			break;
		a->busy = true;
		pthread_mutex_unlock(&a->mu);
		take_head(d, a, &a->jobs[a->head]); /* returns locked */
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* pin_worker - on the spare CPU if there is one (--cpu same: tracer and program share theirs) */
static void pin_worker(struct dbt *d, pthread_t thread)
{
	cpu_set_t set;

	if (d->t->spare_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(d->t->spare_cpu, &set);
	pthread_setaffinity_np(thread, sizeof(set), &set);
}

static int start(struct dbt *d, struct err *err)
{
	struct dbt_async *a = xcalloc(1, sizeof(*a));
	int rc;

	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->idle, NULL);
	a->tracer = pthread_self();
	d->async = a;
	rc = thread_start(&a->thread, NULL, worker, d);
	if (rc) {
		d->async = NULL;
		free(a);
		errno = rc;
		return err_sys(err, ERR_TRACE, "cannot start the replay thread");
	}
	pin_worker(d, a->thread);
	return 0;
}

/* next_ring - dt goes on at the start of its next ring (the record stubs read the cursor) */
static void next_ring(struct dbt_thread *dt)
{
	dt->cur = (dt->cur + 1) % DBT_RINGS;
	dt->ring = dt->rings + dt->cur * DBT_RING_STRIDE;
	dt->ringp = dt->ringsp + dt->cur * DBT_RING_STRIDE;
	dbt_ctx_set(dt, DBT_CTX_CURSOR, dt->ring);
}

/*
 * queue - words from..n of dt's current ring to the worker; called with
 * the lock, which it may drop to sync first (a worker that stalled or
 * failed takes no more jobs). dt may go on writing past n meanwhile.
 */
static int queue(struct dbt *d, struct dbt_thread *dt, size_t from, size_t n, bool running,
                 struct err *err)
{
	struct dbt_async *a = d->async;

	if (a->stalled || a->failed) {
		pthread_mutex_unlock(&a->mu);
		if (dbt_async_sync(d, err))
			return -1;
		pthread_mutex_lock(&a->mu);
	}
	a->jobs[(a->head + a->len) % ASYNC_JOBS] =
	        (struct async_job){ dt, dt->cur, (const uint32_t *)dt->ringp, n, from, running };
	dt->held[dt->cur]++;
	a->len++;
	/* The worker has work: the core and the store are its own until it is idle again. */
	core_hand_over(d->t->core, a->thread);
	pthread_cond_signal(&a->work);
	return 0;
}

/* push - what dt's ring holds to the worker; dt goes on in its next ring */
static int push(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	uint32_t next = (dt->cur + 1) % DBT_RINGS;
	struct dbt_async *a;
	size_t from, n;
	int rc;

	if (!d->async && start(d, err))
		return -1;
	a = d->async;
	if (dbt_ring_take(d, dt, &from, &n, err))
		return -1;
	pthread_mutex_lock(&a->mu);
	while ((a->len == ASYNC_JOBS || dt->held[next]) && !a->stalled && !a->failed)
		pthread_cond_wait(&a->idle, &a->mu);
	rc = queue(d, dt, from, n, false, err);
	pthread_mutex_unlock(&a->mu);
	if (!rc)
		next_ring(dt);
	return rc;
}

int dbt_async_push(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	d->n_full++;
	return push(d, dt, err);
}

/* unhanded - the words of dt's ring no job has, up to its cursor (read once: dt may run) */
static size_t unhanded(const struct dbt_thread *dt, uint64_t cursor)
{
	uint64_t from = dt->ring + dt->taken * 4;

	return cursor > from ? (size_t)(cursor - from) / 4 : 0;
}

/* cursor_now - dt's cursor: the words below it are written (x86 keeps stores in order) */
static uint64_t cursor_now(const struct dbt_thread *dt)
{
	return __atomic_load_n((const uint64_t *)(dt->ctxp + DBT_CTX_CURSOR), __ATOMIC_ACQUIRE);
}

/* worker_idle - nothing queued or in hand; called with the lock */
static bool worker_idle(const struct dbt_async *a)
{
	return !a->busy && !a->len && !a->stalled && !a->failed;
}

int dbt_async_offer(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct dbt_async *a = d->async;
	size_t min = d->ring_size / 4 < OFFER_MIN ? d->ring_size / 4 : OFFER_MIN;
	bool idle = true;

	if (unhanded(dt, cursor_now(dt)) < min / 4)
		return 0;
	if (a) {
		pthread_mutex_lock(&a->mu);
		idle = worker_idle(a) && !dt->held[(dt->cur + 1) % DBT_RINGS];
		pthread_mutex_unlock(&a->mu);
	}
	return idle ? push(d, dt, err) : 0;
}

void dbt_async_wake_later(struct dbt *d)
{
	if (!d->wake_set && d->threads.len)
		d->wake_set = !ticker_soon(RUNNING_WAKE_US);
}

int dbt_async_running(struct dbt *d, struct err *err)
{
	size_t quarter = d->ring_size / 4 / 4, min = quarter < RUNNING_MIN ? quarter : RUNNING_MIN;
	struct dbt_thread *dt;
	bool moved = false;
	size_t i = 0;
	int rc = 0;

	d->wake_set = false;
	while (!rc && hashmap_next(&d->threads, &i, NULL, (void **)&dt)) {
		uint64_t cursor = cursor_now(dt);
		size_t n = (size_t)(cursor - dt->ring) / 4;

		if (cursor == dt->seen)
			continue;
		dt->seen = cursor;
		moved = true;
		if (unhanded(dt, cursor) < min)
			continue;
		if (!d->async && start(d, err))
			return -1;
		pthread_mutex_lock(&d->async->mu);
		if (worker_idle(d->async)) {
			rc = queue(d, dt, dt->taken, n, true, err);
			dt->taken = n;
			d->n_running_jobs++;
		}
		pthread_mutex_unlock(&d->async->mu);
	}
	if (moved)
		dbt_async_wake_later(d);
	return rc;
}

int dbt_async_sync(struct dbt *d, struct err *err)
{
	struct dbt_async *a = d->async;
	struct async_job *j;
	size_t used;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	while (a->busy || (a->len && !a->stalled && !a->failed))
		pthread_cond_wait(&a->idle, &a->mu);
	a->hold = true;
	pthread_mutex_unlock(&a->mu);
	if (a->failed) {
		*err = a->err;
		return -1;
	}
	/* What the worker left, in order; it starts nothing while we hold. */
	while (a->len) {
		j = &a->jobs[a->head];
		if (dbt_replay_records(d, j->dt, j->w + j->done, j->n - j->done, false, &used, err))
			return -1;
		j->dt->held[j->ring]--;
		a->head = (a->head + 1) % ASYNC_JOBS;
		a->len--;
	}
	pthread_mutex_lock(&a->mu);
	a->stalled = false;
	a->hold = false;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

bool dbt_async_idle(struct dbt *d)
{
	struct dbt_async *a = d->async;
	bool idle;

	if (!a)
		return true;
	pthread_mutex_lock(&a->mu);
	idle = !a->busy && (!a->len || a->stalled || a->failed);
	pthread_mutex_unlock(&a->mu);
	return idle;
}

void dbt_async_free(struct dbt *d)
{
	struct dbt_async *a = d->async;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	/* It may have quit with work left (a run that failed): the core is ours again. */
	core_hand_over(d->t->core, a->tracer);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->idle);
	free(a);
	d->async = NULL;
}
