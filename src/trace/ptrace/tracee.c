/* The traced process as a whole: setting up, tearing down, killing. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"

void tracee_init(struct tracee *t, struct core *core, volatile sig_atomic_t *stop,
                 const struct tthread_state_ops *state)
{
	memset(t, 0, sizeof(*t));
	t->mem_fd = -1;
	t->spare_cpu = -1;
	/* Tests set it to make the lost-trap recovery run where traps are lost. */
	t->trust_step_traps = getenv("NOSCO_STEP_TRUST_TRAPS") != NULL;
	t->core = core;
	t->stop = stop;
	t->thread_state = state;
	hashmap_init(&t->threads);
	hashmap_init(&t->bps);
	hashmap_init(&t->hooks);
	hashmap_init(&t->resolvers);
	hashmap_init(&t->children);
	hashmap_init(&t->parked);
}

void tracee_fini(struct tracee *t)
{
	struct tthread *th;
	size_t i = 0;

	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		tracee_thread_free(t, th);
	hashmap_fini(&t->threads);
	tracee_bp_forget_all(t);
	hashmap_fini(&t->bps);
	escape_hooks_forget(t);
	hashmap_fini(&t->hooks);
	hashmap_fini(&t->resolvers);
	hashmap_fini(&t->children);
	hashmap_fini(&t->parked);
	vec_free(&t->queue);
	linkmap_reset(&t->lm);
	if (t->mem_fd >= 0)
		close(t->mem_fd);
	t->mem_fd = -1;
	free(t->cpus);
	t->cpus = NULL;
}

void tracee_kill(struct tracee *t)
{
	struct tthread *th;
	size_t i = 0;
	int status;

	if (t->pid <= 0)
		return;
	kill(t->pid, SIGKILL);
	/*
	 * Attached vfork children are processes of their own. A task whose
	 * stop was seen but not acted on (the tracer was told to stop at that
	 * moment) would stay stopped, even at its exit stop: let it go.
	 */
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th)) {
		if (th->kind == TT_SHARED_CHILD)
			kill(th->tid, SIGKILL);
		ptrace(PTRACE_CONT, th->tid, NULL, NULL);
	}
	for (i = 0; i < t->queue.len; i++)
		ptrace(PTRACE_CONT, t->queue.data[i].tid, NULL, NULL);
	t->queue.len = 0;
	/* Killed tasks still stop at PTRACE_EVENT_EXIT: let each one go on to die. */
	for (;;) {
		pid_t tid = waitpid(-1, &status, __WALL);

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFSTOPPED(status))
			ptrace(PTRACE_CONT, tid, NULL, NULL);
	}
}
