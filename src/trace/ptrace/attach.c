/*
 * Attaching to a process that runs already (nosco run --pid), and
 * detaching from it so that it goes on exactly as it would have.
 *
 * Attach: every thread in /proc/PID/task is seized with the options of a
 * spawned program (but not PTRACE_O_EXITKILL: nosco ending must not end
 * the program) and interrupted, again until no thread appears that is not
 * seized: threads created by a seized thread are attached by the kernel
 * (PTRACE_O_TRACECLONE) and announced by their creator's clone stop.
 *
 * Detach: every thread is interrupted and handled until it stops at its
 * interrupt with no signal waiting for it (tracee_detach_interrupt,
 * tracee_detach_stop: the engine handles every other stop as usual, so
 * signals that came meanwhile are delivered, new threads and processes
 * are dealt with). A thread interrupted in a system call keeps its
 * registers: the kernel restarts the call when the thread is let go.
 * Then the breakpoints go and every thread is detached (tracee_detach).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static char *proc_link(pid_t pid, const char *name)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int ptrace_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* not_permitted - EPERM from PTRACE_SEIZE: what stops it and what to do */
static int not_permitted(pid_t pid, struct err *err)
{
	int scope = ptrace_scope();

	if (scope >= 1)
		return err_set(err, ERR_PERMISSION,
		               "cannot attach to process %d: ptrace is restricted by "
		               "/proc/sys/kernel/yama/ptrace_scope (%d); run nosco as root%s",
		               (int)pid, scope,
		               scope < 3 ? " or set it to 0 (sysctl kernel.yama.ptrace_scope=0)"
		                         : "");
	return err_set(err, ERR_PERMISSION,
	               "cannot attach to process %d: ptrace is not permitted (run nosco as the "
	               "process's user or as root; in a container it needs CAP_SYS_PTRACE)",
	               (int)pid);
}

int tracee_attach_check(pid_t pid, struct err *err)
{
	char v[128], n[32], comm[64] = "?";
	unsigned uid = 0;
	int tracer = 0;

	if (pid == getpid())
		return err_set(err, ERR_PERMISSION, "cannot attach to nosco itself (pid %d)",
		               (int)pid);
	if (tracee_status_line(pid, "State", v, sizeof(v)))
		return err_set(err, ERR_NOT_FOUND, "no process %d (check the pid: ps -p %d)",
		               (int)pid, (int)pid);
	if ((v[0] == 'Z' || v[0] == 'X') && !tracee_status_line(pid, "Threads", n, sizeof(n)) &&
	    atoi(n) > 1)
		return err_set(err, ERR_UNSUPPORTED,
		               "the main thread of process %d has exited (pthread_exit) while "
		               "others run: nosco cannot attach to such a process",
		               (int)pid);
	if (v[0] == 'Z' || v[0] == 'X')
		return err_set(err, ERR_NOT_FOUND,
		               "process %d has exited (a zombie its parent has not reaped)",
		               (int)pid);
	if (!tracee_status_line(pid, "TracerPid", v, sizeof(v)))
		tracer = atoi(v);
	if (tracer) {
		tracee_status_line(tracer, "Name", comm, sizeof(comm));
		return err_set(err, ERR_PERMISSION,
		               "process %d is already traced by process %d (%s): detach that "
		               "tracer (a debugger, strace, another nosco) first",
		               (int)pid, tracer, comm);
	}
	if (!tracee_status_line(pid, "Kthread", v, sizeof(v)) && atoi(v))
		return err_set(err, ERR_PERMISSION, "process %d is a kernel thread", (int)pid);
	if (!tracee_status_line(pid, "Uid", v, sizeof(v)) && sscanf(v, "%*u %u", &uid) == 1 &&
	    geteuid() != 0 && uid != geteuid())
		return err_set(err, ERR_PERMISSION,
		               "process %d belongs to another user (uid %u): run nosco as that "
		               "user or as root",
		               (int)pid, uid);
	return 0;
}

void tracee_free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* read_cmdline - the process's arguments (NUL-separated in /proc/PID/cmdline) */
static char **read_cmdline(pid_t pid)
{
	char path[64], buf[65536];
	VEC(char *) args = { 0 };
	size_t n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	for (i = 0; i < n; i += strlen(buf + i) + 1)
		vec_push(&args, xstrdup(buf + i));
	vec_push(&args, NULL);
	return args.data;
}

int tracee_describe(pid_t pid, char **exe, char ***argv, char **cwd, struct err *err)
{
	*exe = proc_link(pid, "exe");
	if (!*exe)
		return err_sys(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_PERMISSION,
		               "cannot read the executable of process %d", (int)pid);
	*argv = read_cmdline(pid);
	*cwd = proc_link(pid, "cwd");
	return 0;
}

/* release - let go the threads seized so far (attaching failed) */
static void release(struct tracee *t)
{
	struct tthread *th;
	size_t i = 0;

	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		ptrace(PTRACE_DETACH, th->tid, NULL, NULL);
}

/* seize - seize and interrupt tid: 1, or 0 when not to (gone, or ours already); -1 on error */
static int seize(struct tracee *t, pid_t pid, pid_t tid, struct err *err)
{
	char v[32];
	int e;

	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)TRACEE_PTRACE_OPTIONS)) {
		e = errno;
		/* Gone, or created by a seized thread: ours, its creator announces it. */
		if (e == ESRCH ||
		    (e == EPERM && !tracee_status_line(tid, "TracerPid", v, sizeof(v)) &&
		     atoi(v) == getpid()))
			return 0;
		if (e == EPERM && tid == pid)
			return not_permitted(pid, err);
		if (e == EPERM)
			return err_set(
			        err, ERR_PERMISSION,
			        "cannot attach to thread %d of process %d: is another tracer "
			        "attaching to it?",
			        (int)tid, (int)pid);
		errno = e;
		return err_sys(err, ERR_TRACE, "cannot attach to thread %d", (int)tid);
	}
	tracee_thread_add(t, tid, TT_THREAD)->running = true;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) && errno != ESRCH)
		return err_sys(err, ERR_TRACE, "cannot interrupt thread %d", (int)tid);
	return 1;
}

/* seize_new - seize and interrupt the threads of pid not seized yet; *added: how many */
static int seize_new(struct tracee *t, pid_t pid, size_t *added, struct err *err)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int r = 0;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return err_set(err, ERR_NOT_FOUND, "process %d has exited", (int)pid);
	while (r >= 0 && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tracee_thread(t, tid))
			continue;
		r = seize(t, pid, tid, err);
		if (r > 0)
			(*added)++;
	}
	closedir(d);
	return r < 0 ? -1 : 0;
}

/*
 * wait_seized - wait for th's first stop: its interrupt, or a stop of its
 * own queued for the engine (a signal, a clone, an exit...)
 */
static int wait_seized(struct tracee *t, struct tthread *th, struct err *err)
{
	struct tracee_event ev = { th->tid, 0 };

	if (tracee_wait_thread(th->tid, &ev.status, err))
		return -1;
	th->running = false;
	if (!WIFSTOPPED(ev.status) && th->tid == t->pid)
		return err_set(err, ERR_NOT_FOUND, "process %d exited while nosco attached to it",
		               (int)t->pid);
	if (!WIFSTOPPED(ev.status)) {
		tracee_thread_remove(t, th->tid);
		return 0;
	}
	if (ev.status >> 16 != PTRACE_EVENT_STOP || WSTOPSIG(ev.status) != SIGTRAP)
		vec_push(&t->queue, ev);
	return 0;
}

int tracee_attach(struct tracee *t, pid_t pid, struct err *err)
{
	VEC(pid_t) tids = { 0 };
	struct tthread *th;
	size_t added, i = 0;
	int ret = 0;

	t->pid = pid;
	t->mem_tid = pid;
	t->attached = true;
	do
		ret = seize_new(t, pid, &added, err);
	while (!ret && added);
	if (!ret && !tracee_thread(t, pid))
		ret = err_set(err, ERR_NOT_FOUND, "process %d has exited", (int)pid);
	while (!ret && hashmap_next(&t->threads, &i, NULL, (void **)&th))
		vec_push(&tids, th->tid);
	for (i = 0; !ret && i < tids.len; i++)
		ret = wait_seized(t, tracee_thread(t, tids.data[i]), err);
	vec_free(&tids);
	if (ret)
		release(t);
	return ret;
}

bool tracee_attach_queued(const struct tracee *t, const struct tthread *th)
{
	size_t i;

	for (i = 0; i < t->queue.len; i++)
		if (t->queue.data[i].tid == th->tid)
			return true;
	return false;
}

int tracee_detach_interrupt(struct tracee *t, bool *all_quiet, struct err *err)
{
	struct tthread *th;
	size_t i = 0;

	*all_quiet = true;
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th)) {
		/* An exiting thread does not stop again (a leader gone before its threads). */
		if (th->quiet || th->exiting)
			continue;
		*all_quiet = false;
		/* A vfork child runs on, and its parent cannot stop, until it execs or exits. */
		if (th->kind == TT_SHARED_CHILD || th->in_vfork || th->detach_interrupted ||
		    (!th->running && !th->group_stop))
			continue;
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) && errno != ESRCH)
			return err_sys(err, ERR_TRACE, "cannot interrupt thread %d", (int)th->tid);
		th->detach_interrupted = true;
	}
	return 0;
}

/* waiting_signals - signals pending for the thread alone that it does not block */
static uint64_t waiting_signals(pid_t tid)
{
	char v[64];
	unsigned long long pending = 0, blocked = 0;

	if (!tracee_status_line(tid, "SigPnd", v, sizeof(v)))
		pending = strtoull(v, NULL, 16);
	if (!tracee_status_line(tid, "SigBlk", v, sizeof(v)))
		blocked = strtoull(v, NULL, 16);
	return pending & ~blocked;
}

int tracee_detach_stop(struct tracee *t, struct tthread *th, int status, struct err *err)
{
	if (!th->detach_interrupted || status >> 16 != PTRACE_EVENT_STOP ||
	    (WSTOPSIG(status) != SIGTRAP && !th->group_stop))
		return 2;
	th->detach_interrupted = false;
	th->running = false;
	/*
	 * A signal raised before the interrupt (a breakpoint's or a step's
	 * SIGTRAP, a fault, one the program sent) waits behind it: the thread
	 * must take it as the engine would, or the program would get it
	 * untraced (a SIGTRAP would kill it).
	 */
	if (waiting_signals(th->tid))
		return tracee_resume(t, th, false, err) ? -1 : 0;
	th->quiet = true;
	return 1;
}

/* remove_breakpoints - put back the program's bytes under every breakpoint */
static int remove_breakpoints(struct tracee *t, struct err *err)
{
	struct bp *bp;
	size_t i = 0;
	int ret = 0;

	while (hashmap_next(&t->bps, &i, NULL, (void **)&bp)) {
		if (bp->inserted && tracee_write_raw(t, bp->addr, bp->orig, bp->len) && !ret)
			ret = err_set(err, ERR_TRACE, "cannot remove the breakpoint at %#llx",
			              (unsigned long long)bp->addr);
		bp->inserted = false;
	}
	return ret;
}

int tracee_detach(struct tracee *t, struct err *err)
{
	struct tthread *th;
	size_t i = 0;
	int ret = remove_breakpoints(t, err), sig;

	while (hashmap_next(&t->threads, &i, NULL, (void **)&th)) {
		for (sig = 1; th->held_sigs; sig++)
			if (th->held_sigs & (1ull << (sig - 1))) {
				th->held_sigs &= ~(1ull << (sig - 1));
				syscall(SYS_tgkill, t->pid, th->tid, sig);
			}
		if (ptrace(PTRACE_DETACH, th->tid, NULL, NULL) && errno != ESRCH && !ret)
			ret = err_sys(err, ERR_TRACE, "cannot detach from thread %d", (int)th->tid);
	}
	return ret;
}
