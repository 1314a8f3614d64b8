/* Session metadata around a backend run: see session.h. */
#include "trace/session.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "trace/images.h"
#include "trace/ptrace/tracee.h"
#include "util/fdio.h"
#include "util/xalloc.h"

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool session_should_end(const struct session *s)
{
	return *s->stop || (s->deadline_ns && monotonic_ns() >= s->deadline_ns);
}

void session_attached(struct session *s)
{
	if (s->duration_ns)
		s->deadline_ns = monotonic_ns() + s->duration_ns;
}

/* write_attach - which process nosco attached to, and when */
static int write_attach(const struct session *s, struct store *st, struct err *err)
{
	if (!s->attach_pid)
		return 0;
	return store_meta_set_int(st, "attached_pid", s->attach_pid, err) ||
	       store_meta_set_int(st, "attached_ns", realtime_ns(), err);
}

/* write_start - what is traced and how: on the thread that makes the file (store_create_async) */
static int write_start(struct store *st, void *arg, struct err *err)
{
	const struct session *s = arg;
	char cwd[PATH_MAX];

	if (s->cwd)
		snprintf(cwd, sizeof(cwd), "%s", s->cwd);
	else if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	return write_attach(s, st, err) || store_meta_set_text(st, "program", s->path, err) ||
	       store_meta_set_argv(st, s->argv, err) ||
	       store_meta_set_text(st, "config", s->cfg->text, err) ||
	       store_meta_set_text(st, "config_source", s->cfg->source, err) ||
	       store_meta_set_text(st, "arch", ARCH_NAME, err) ||
	       store_meta_set_text(st, "engine", s->engine, err) ||
	       store_meta_set_text(st, "nosco_version", NOSCO_VERSION, err) ||
	       store_meta_set_text(st, "cwd", cwd, err) ||
	       store_meta_set_int(st, "start_ns", realtime_ns(), err) ||
	       store_meta_set_text(st, "exit_kind", "running", err);
}

int session_create_store(struct session *s, const char *engine, const char *output, bool force,
                         struct err *err)
{
	s->engine = engine;
	s->store = store_create_async(output, force, write_start, s, err);
	if (!s->store)
		return -1;
	/* No program started by nosco: the trace replaced is freed while the one attached runs. */
	if (s->attach_pid)
		fd_close_later(store_take_replaced(s->store));
	return 0;
}

static int write_end(struct session *s, bool failed, struct err *err)
{
	const char *kind = *s->stop ? "interrupted" : s->exit.signaled ? "signaled" : "exited";
	bool ended = !failed && !*s->stop && !s->detached;

	if (s->detached)
		kind = "detached";
	if (failed)
		kind = "failed";
	if (store_meta_set_int(s->store, "pid", s->pid, err) ||
	    store_meta_set_int(s->store, "end_ns", realtime_ns(), err) ||
	    store_meta_set_text(s->store, "exit_kind", kind, err))
		return -1;
	/* committed by store_close() with the rest */
	return ended && store_meta_set_int(s->store, s->exit.signaled ? "exit_signal" : "exit_code",
	                                   s->exit.code, err);
}

int session_run(struct session *s, const struct backend_ops *b, struct err *err)
{
	struct err end_err;
	int ret;

	ret = b->run(s, err);
	/* The run's own error is the one to report; the metadata is best effort then. */
	if (write_end(s, ret != 0, ret ? &end_err : err) && !ret)
		return -1;
	return ret;
}

void session_progress(const struct session *s, const struct core *c)
{
	struct core_stats st;

	if (!s->progress)
		return;
	core_get_stats(c, &st);
	s->progress(s->progress_ctx, &st);
}

int session_program(struct session *s, char *const *argv, struct err *err)
{
	char *path = tracee_resolve_program(argv[0], err);

	if (!path)
		return -1;
	s->path = path;
	s->argv = argv;
	return 0;
}

int session_process(struct session *s, pid_t pid, struct err *err)
{
	char *exe, *cwd;
	char **args;

	if (tracee_attach_check(pid, err) || tracee_describe(pid, &exe, &args, &cwd, err))
		return -1;
	s->attach_pid = pid;
	s->path = exe;
	s->argv = args;
	s->cwd = cwd;
	return 0;
}

int session_launch(struct session *s, struct err *err)
{
	s->launch = xmalloc(sizeof(*s->launch));
	if (!tracee_launch(s->launch, s->path, s->argv, s->cpu, err)) {
		/* The program's copy of it goes at its exec: nosco's must be the last. */
		s->launch->close_after_exec = store_take_replaced(s->store);
		return 0;
	}
	free(s->launch);
	s->launch = NULL;
	return -1;
}

void session_forget(struct session *s)
{
	int status;

	while (s->unreaped && waitpid(s->pid, &status, __WALL) < 0 && errno == EINTR)
		;
	s->unreaped = false;
	if (s->launch)
		tracee_launch_abort(s->launch);
	free(s->launch);
	s->launch = NULL;
	free((char *)s->path);
	free((char *)s->cwd);
	if (s->attach_pid)
		tracee_free_argv((char **)s->argv);
	if (!s->exits_after)
		images_free(s->checked);
	s->path = s->cwd = NULL;
	s->argv = NULL;
	s->checked = NULL;
}

int session_check_scopes(struct session *s, const struct config *cfg, struct err *err)
{
	struct image *img;
	uint64_t addr;
	size_t i;
	int ret = 0;

	if (!cfg->n_scopes)
		return 0;
	s->checked = images_new(NULL, NULL);
	img = images_add(s->checked, s->path, s->path, 0, NULL, 0, true);
	for (i = 0; i < cfg->n_scopes && !ret; i++) {
		const struct config_scope *sc = &cfg->scopes[i];

		if (image_matches(img, sc->binary) &&
		    image_symbol_addr(img, sc->symbol, &addr, err))
			ret = err_prefix(err, "%s:%u:%u: scope \"%s\" binary=\"%s\"", cfg->source,
			                 sc->line, sc->col, sc->symbol, sc->binary);
	}
	return ret;
}

int session_tick(struct session *s, struct err *err)
{
	return store_tick(s->store, err);
}

/* Smaller chunks compress worse: a call chunk of Python's 963 calls is 60 KB. */
#define SESSION_FLUSH_MIN (16u << 10)

int session_flush(struct session *s, struct err *err)
{
	return store_flush(s->store, SESSION_FLUSH_MIN, err);
}

int session_count(struct session *s, const char *name, uint64_t n, struct err *err)
{
	return store_meta_set_int(s->store, name, (int64_t)n, err);
}
