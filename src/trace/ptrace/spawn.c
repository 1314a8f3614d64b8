/*
 * Starting the program under the tracer. The child waits for a byte from
 * the parent before it execs, and the parent seizes it meanwhile with
 * every option set: the program then starts traced from its very first
 * instruction, and neither waits for the other's stops. The child shares
 * nosco's memory until its exec (struct launch_child): a fork would copy
 * nosco's page tables and make every page either side writes fault.
 * PTRACE_O_EXITKILL makes sure no traced process outlives nosco. A run
 * launches the program before it does anything slow (the trace file):
 * the kernel loads the program on the other CPU meanwhile, and the engine
 * adopts it at its exec.
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "trace/ptrace/tracee.h"
#include "util/fdio.h"
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

static void only_cpu(cpu_set_t *set, int cpu)
{
	CPU_ZERO(set);
	CPU_SET(cpu, set);
}

/* pin_to - run the calling process on one CPU; a failure only costs speed */
static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	only_cpu(&set, cpu);
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

/*
 * What the child needs until it execs. It shares nosco's memory (its
 * page tables are not copied: nosco is big, and every page either side
 * wrote after a fork would fault), so it runs on a stack of its own and
 * makes its calls by hand (arch_raw_syscall: errno is nosco's thread's).
 */
struct launch_child {
	const char *path;
	char *const *argv;
	cpu_set_t cpu; /* where it runs, if pinned; else nosco's CPUs, if moved away */
	bool pinned;
	bool moved;    /* kept off nosco's CPU until its exec (move_away) */
	sigset_t mask; /* the program's signal mask: nosco's */
	int go_fd;     /* a byte there once it is seized; end of file: nosco is gone */
	int report_fd; /* where it says why its exec failed */
	void *stack;
};

#define CHILD_STACK (64u << 10)

/*
 * child_main - the child: exec once the parent has seized it. Not
 * instrumented by ASan: the shadow of its stack's redzones would stay
 * when the stack is unmapped, and a later mapping there look corrupt.
 */
__attribute__((no_sanitize_address)) static int child_main(void *arg)
{
	const struct launch_child *c = arg;
	char go;
	long n;
	int e;

	if (c->pinned)
		arch_raw_syscall(SYS_sched_setaffinity, 0, sizeof(c->cpu), (long)&c->cpu, 0);
	do
		n = arch_raw_syscall(SYS_read, c->go_fd, (long)&go, 1, 0);
	while (n == -EINTR);
	if (n != 1)
		arch_raw_syscall(SYS_exit_group, 127, 0, 0, 0);
	arch_raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&c->mask, 0, _NSIG / 8);
	e = (int)-arch_raw_syscall(SYS_execve, (long)c->path, (long)c->argv, (long)environ, 0);
	arch_raw_syscall(SYS_write, c->report_fd, (long)&e, sizeof(e), 0);
	arch_raw_syscall(SYS_exit_group, 127, 0, 0, 0);
	return 127;
}

static void child_free(struct launch_child *c)
{
	if (!c)
		return;
	if (c->stack)
		munmap(c->stack, CHILD_STACK);
	free(c);
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

/* wait_exec - 0 once the seized child stopped at its exec (l->at_exec) */
static int wait_exec(struct tracee_launch *l, struct err *err)
{
	int status;

	for (;;) {
		if (tracee_wait_thread(l->pid, &status, err))
			return -1;
		if (!WIFSTOPPED(status)) {
			l->pid = 0; /* reaped: its pid may be another process's already */
			return exec_failure(l->path, l->report_fd, err);
		}
		if (status >> 16 == PTRACE_EVENT_EXEC) {
			l->at_exec = true;
			return 0;
		}
		/* Anything before exec is not the program's business. */
		if (ptrace(PTRACE_CONT, l->pid, NULL, NULL))
			return err_sys(err, ERR_TRACE, "PTRACE_CONT");
	}
}

/*
 * move_away - keep the unpinned child off nosco's CPU until its exec.
 * Woken by nosco's byte, it would otherwise be queued behind nosco (a
 * waker is expected to sleep soon) and loaded only once nosco waits for
 * it, not while nosco makes the trace file.
 */
static void move_away(struct launch_child *c, pid_t pid, int here)
{
	cpu_set_t away;

	if (here < 0 || sched_getaffinity(0, sizeof(c->cpu), &c->cpu) || CPU_COUNT(&c->cpu) < 2 ||
	    !CPU_ISSET(here, &c->cpu))
		return;
	away = c->cpu;
	CPU_CLR(here, &away);
	c->moved = !sched_setaffinity(pid, sizeof(away), &away);
}

/*
 * start_child - clone the child, sharing memory, with every signal
 * blocked (nosco's handlers are its until exec); its pid, or -1
 */
static pid_t start_child(struct launch_child *c)
{
	sigset_t all;
	pid_t pid;

	c->stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (c->stack == MAP_FAILED) {
		c->stack = NULL;
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &c->mask);
	pid = clone(child_main, (char *)c->stack + CHILD_STACK, CLONE_VM | SIGCHLD, c);
	pthread_sigmask(SIG_SETMASK, &c->mask, NULL);
	return pid;
}

int tracee_launch(struct tracee_launch *l, const char *path, char *const *argv,
                  enum cpu_placement cpu, struct err *err)
{
	int report[2], go[2], here = sched_getcpu(), child_cpu = -1, rc;
	struct launch_child *c;
	pid_t pid;

	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
	l->close_after_exec = -1;
	l->spare_cpu = -1;
	l->path = path;
	if (pipe2(report, O_CLOEXEC))
		return err_sys(err, ERR_TRACE, "pipe");
	if (pipe2(go, O_CLOEXEC)) {
		rc = err_sys(err, ERR_TRACE, "pipe");
		close(report[0]);
		close(report[1]);
		return rc;
	}
	l->report_fd = report[0];
	c = l->child = xcalloc(1, sizeof(*c));
	*c = (struct launch_child){
		.path = path, .argv = argv, .go_fd = go[0], .report_fd = report[1]
	};
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
		only_cpu(&c->cpu, child_cpu);
		c->pinned = true;
	}
	pid = start_child(c);
	close(report[1]);
	close(go[0]);
	l->pid = pid > 0 ? pid : 0;
	if (pid > 0 && !c->pinned)
		move_away(c, pid, here);
	/*
	 * Seized while it waits for the go: there is no stop to wait for, and
	 * its exec is traced. The kernel loads the program while nosco goes on.
	 */
	if (pid < 0)
		rc = err_sys(err, ERR_TRACE, "cannot start a process");
	else if (seize(pid, err))
		rc = -1;
	else if (write(go[1], "x", 1) != 1)
		rc = err_sys(err, ERR_TRACE, "cannot start the program");
	else
		rc = 0;
	close(go[1]);
	if (rc)
		tracee_launch_abort(l);
	return rc;
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
	if (l->close_after_exec >= 0)
		close(l->close_after_exec);
	free(l->cpus);
	child_free(l->child);
	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
	l->close_after_exec = -1;
}

int tracee_adopt(struct tracee *t, struct tracee_launch *l, struct err *err)
{
	if (!l->at_exec && wait_exec(l, err)) {
		tracee_launch_abort(l);
		return -1;
	}
	/* The program starts with the CPUs nosco was started with, as it would without nosco. */
	if (l->child->moved)
		sched_setaffinity(l->pid, sizeof(l->child->cpu), &l->child->cpu);
	t->pid = l->pid;
	t->spare_cpu = l->spare_cpu;
	t->cpus = l->cpus;
	t->program_cpu = l->program_cpu;
	close(l->report_fd);
	fd_close_later(l->close_after_exec);
	/* Past its exec: the child has a memory of its own. */
	child_free(l->child);
	memset(l, 0, sizeof(*l));
	l->report_fd = -1;
	l->close_after_exec = -1;
	return 0;
}

int tracee_spawn(struct tracee *t, const char *path, char *const *argv, enum cpu_placement cpu,
                 struct err *err)
{
	struct tracee_launch l;

	return tracee_launch(&l, path, argv, cpu, err) || tracee_adopt(t, &l, err) ? -1 : 0;
}
