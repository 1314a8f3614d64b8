/*
 * Starting the program under the tracer. The child stops itself before
 * exec so that the parent can seize it with every option set; the program
 * then starts traced from its very first instruction. PTRACE_O_EXITKILL
 * makes sure no traced process outlives nosco. A run launches the program
 * before it does anything slow (the trace file, the symbols the scopes
 * need): the fork copies a small nosco, and the kernel loads the program
 * on the other CPU meanwhile; the engine adopts it at its exec.
 *
 * Where it runs (--cpu): by default (CPU_ANY) nothing is pinned, and the
 * program and its children have the CPUs nosco was started with, as they
 * would without nosco (programs size their thread pools by it). CPU_SAME and
 * CPU_SPLIT pin the program to one CPU, which it sees (sched_getaffinity,
 * nproc); a child that leaves the tracer gets nosco's CPUs back
 * (tracee_cpu_release).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define PTRACE_OPTIONS (PTRACE_O_EXITKILL | TRACEE_PTRACE_OPTIONS)

static int check_executable(const char *path, const char *program, struct err *err)
{
	struct stat st;

	if (stat(path, &st))
		return err_sys(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_NOT_EXEC, "%s", program);
	if (S_ISDIR(st.st_mode))
		return err_set(err, ERR_NOT_EXEC, "%s: is a directory", program);
	if (!S_ISREG(st.st_mode) || access(path, X_OK))
		return err_set(err, ERR_NOT_EXEC, "%s: permission denied (not executable)",
		               program);
	return 0;
}

char *tracee_resolve_program(const char *program, struct err *err)
{
	const char *path = getenv("PATH");
	bool found_unexecutable = false;
	struct strbuf sb;

	if (!*program)
		return err_set(err, ERR_NOT_FOUND, "empty program name"), NULL;
	if (strchr(program, '/'))
		return check_executable(program, program, err) ? NULL : xstrdup(program);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	sb_init(&sb);
	while (*path) {
		size_t n = strcspn(path, ":");
		struct err e;

		sb_reset(&sb);
		/* An empty PATH entry means the current directory, as for a shell. */
		sb_addn(&sb, n ? path : ".", n ? n : 1);
		sb_addf(&sb, "/%s", program);
		if (!check_executable(sb.buf, program, &e))
			return sb_detach(&sb);
		if (e.kind == ERR_NOT_EXEC && access(sb.buf, F_OK) == 0)
			found_unexecutable = true;
		path += n + (path[n] == ':');
	}
	sb_fini(&sb);
	if (found_unexecutable)
		return err_set(err, ERR_NOT_EXEC, "%s: permission denied (not executable)",
		               program),
		       NULL;
	return err_set(err, ERR_NOT_FOUND, "%s: command not found (searched PATH)", program), NULL;
}

/* pin_to - run the calling process on one CPU; a failure only costs speed */
static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* other_cpu - a CPU other than a and b that we may run on, or -1 */
static int other_cpu(int a, int b)
{
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (i != a && i != b && CPU_ISSET(i, &set))
			return i;
	return -1;
}

void tracee_cpu_release(struct tracee *t, pid_t pid)
{
	cpu_set_t set;

	if (!t->cpus || sched_getaffinity(pid, sizeof(set), &set))
		return;
	/* Only if it is still where we put it: the program may have chosen CPUs of its own. */
	if (CPU_COUNT(&set) == 1 && CPU_ISSET(t->program_cpu, &set))
		sched_setaffinity(pid, sizeof(*t->cpus), t->cpus);
}

static void child_exec(const char *path, char *const *argv, int child_cpu, int report_fd)
{
	int e;

	pin_to(child_cpu);
	raise(SIGSTOP);
	execv(path, argv);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int exec_failure(const char *path, int report_fd, struct err *err)
{
	int e = 0;

	if (read(report_fd, &e, sizeof(e)) != sizeof(e))
		return err_set(err, ERR_TRACE, "%s: the program exited before it started", path);
	errno = e;
	if (e == ENOENT)
		return err_sys(err, ERR_NOT_FOUND,
		               "%s: cannot execute (is its ELF interpreter missing?)", path);
	return err_sys(err, e == ENOEXEC || e == EACCES ? ERR_NOT_EXEC : ERR_TRACE,
	               "%s: cannot execute", path);
}

static int seize(pid_t pid, struct err *err)
{
	if (!ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_OPTIONS))
		return 0;
	if (errno == EPERM)
		return err_set(
		        err, ERR_PERMISSION,
		        "ptrace is not permitted here: check /proc/sys/kernel/yama/ptrace_scope "
		        "(0 or 1 allows tracing your own children), that nosco is not itself "
		        "being traced, and, in a container, that it has CAP_SYS_PTRACE and "
		        "its seccomp profile allows ptrace");
	return err_sys(err, ERR_TRACE, "PTRACE_SEIZE");
}

/*
 * wait_exec - let the seized child run to its exec; 0 once it stopped
 * there (l->at_exec), or with until_going once it was let go after our
 * SIGCONT: until then it stops at every signal and ptrace event, and
 * would wait for the tracer instead of loading the program.
 */
static int wait_exec(struct tracee_launch *l, bool until_going, struct err *err)
{
	int status;

	for (;;) {
		if (waitpid(l->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(err, ERR_TRACE, "waitpid");
		}
		if (!WIFSTOPPED(status)) {
			l->pid = 0; /* reaped: its pid may be another process's already */
			return exec_failure(l->path, l->report_fd, err);
		}
		if (status >> 16 == PTRACE_EVENT_EXEC) {
			l->at_exec = true;
			return 0;
		}
		/* SIGCONT (ours) and anything else before exec is not the program's business. */
		if (ptrace(PTRACE_CONT, l->pid, NULL, NULL))
			return err_sys(err, ERR_TRACE, "PTRACE_CONT");
		if (until_going && !(status >> 16) && WSTOPSIG(status) == SIGCONT)
			return 0;
	}
}

int tracee_launch(struct tracee_launch *l, const char *path, char *const *argv,
                  enum cpu_placement cpu, struct err *err)
{
	int report[2], status, here = sched_getcpu(), child_cpu = -1;
	pid_t pid, got;

	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
	l->spare_cpu = -1;
	l->path = path;
	if (pipe2(report, O_CLOEXEC))
		return err_sys(err, ERR_TRACE, "pipe");
	if (cpu != CPU_ANY) {
		child_cpu = cpu == CPU_SPLIT ? other_cpu(here, here) : here;
		if (child_cpu < 0)
			child_cpu = here;
		l->spare_cpu = other_cpu(here, child_cpu);
		l->cpus = xmalloc(sizeof(*l->cpus));
		if (sched_getaffinity(0, sizeof(*l->cpus), l->cpus)) {
			free(l->cpus);
			l->cpus = NULL;
		}
		l->program_cpu = child_cpu;
		pin_to(here);
	}
	pid = fork();
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		free(l->cpus);
		l->cpus = NULL;
		return err_sys(err, ERR_TRACE, "fork");
	}
	if (pid == 0) {
		close(report[0]);
		child_exec(path, argv, child_cpu, report[1]);
	}
	close(report[1]);
	l->pid = pid;
	l->report_fd = report[0];
	got = waitpid(pid, &status, WUNTRACED);
	if (got != pid || !WIFSTOPPED(status)) {
		if (got == pid)
			l->pid = 0; /* it ended, reaped: its pid may be another process's already */
		tracee_launch_abort(l);
		return err_set(err, ERR_TRACE, "the child did not stop before exec");
	}
	if (seize(pid, err)) {
		tracee_launch_abort(l);
		return -1;
	}
	kill(pid, SIGCONT);
	if (wait_exec(l, true, err)) {
		tracee_launch_abort(l);
		return -1;
	}
	return 0;
}

void tracee_launch_abort(struct tracee_launch *l)
{
	int status;

	if (l->pid > 0) {
		kill(l->pid, SIGKILL);
		/* until it is reaped: an exit stop (PTRACE_O_TRACEEXIT) may come first */
		while (waitpid(l->pid, &status, __WALL) == l->pid && WIFSTOPPED(status))
			ptrace(PTRACE_CONT, l->pid, NULL, NULL);
	}
	if (l->report_fd >= 0)
		close(l->report_fd);
	free(l->cpus);
	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
}

int tracee_adopt(struct tracee *t, struct tracee_launch *l, struct err *err)
{
	if (!l->at_exec && wait_exec(l, false, err)) {
		tracee_launch_abort(l);
		return -1;
	}
	t->pid = l->pid;
	t->spare_cpu = l->spare_cpu;
	t->cpus = l->cpus;
	t->program_cpu = l->program_cpu;
	close(l->report_fd);
	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
	return 0;
}

int tracee_spawn(struct tracee *t, const char *path, char *const *argv, enum cpu_placement cpu,
                 struct err *err)
{
	struct tracee_launch l;

	return tracee_launch(&l, path, argv, cpu, err) || tracee_adopt(t, &l, err) ? -1 : 0;
}
