/*
 * A process traced through ptrace: its threads, its memory, the
 * breakpoints nosco put into it, and the dynamic linker's list of loaded
 * binaries. Backends that control the program with ptrace build on this.
 *
 * Breakpoints are invisible to the program and to the trace: reads mask
 * them, and a thread is stepped over one with every other thread stopped,
 * so no thread can run past a breakpoint unseen.
 */
#ifndef NOSCO_TRACE_PTRACE_TRACEE_H
#define NOSCO_TRACE_PTRACE_TRACEE_H

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "trace/backend.h"
#include "trace/core.h"
#include "trace/engine.h"
#include "util/err.h"
#include "util/hashmap.h"
#include "util/vec.h"

enum tthread_kind {
	TT_THREAD,       /* a thread of the traced process */
	TT_SHARED_CHILD, /* a vfork child sharing our memory: kept attached only
	                    to step it over breakpoints until it execs or exits */
};

struct tthread {
	pid_t tid;
	enum tthread_kind kind;
	struct core_thread *core; /* the core's thread (NULL: a vfork child, not recorded) */
	bool running;             /* resumed, its next stop not yet seen */
	bool held;                /* stopped for another thread's breakpoint step-over */
	bool exiting;             /* PTRACE_EVENT_EXIT seen */
	bool group_stop;          /* in a job-control stop (PTRACE_LISTEN) */
	bool in_vfork;            /* waiting in the kernel for its vfork child: cannot run
	                             (nor be interrupted) until PTRACE_EVENT_VFORK_DONE */
	struct arch_regs regs;    /* at the last stop */
	uint64_t resume_epoch;    /* t->bp_epoch when it was last resumed */
	/* how it was last resumed (PTRACE_CONT or PTRACE_SINGLESTEP): how a thread
	 * held for another's step-over goes on when the world is let go */
	long resumed_by;
	int inject;          /* signal to deliver when resumed */
	int deferred_status; /* a stop seen while the world was being stopped */
	bool has_deferred;
	/* stepped by a breakpoint at this address after its instruction
	 * (tracee_step(), 0: not): its int3 stop there ends the step */
	uint64_t step_bp;
	uint64_t held_sigs; /* signals (bit N-1: N) that came between that instruction and its int3
	                     */
	/* detaching (attach.c): interrupted, and then stopped in the program's own state */
	bool detach_interrupted;
	bool quiet;
	/*
	 * What the engine driving the tracee keeps for this thread (the step
	 * engine's struct step_thread), made and freed through t->thread_state.
	 * Nothing here looks into it.
	 */
	void *engine_state;
};

/*
 * How the engine that drives a tracee makes and frees its state of a thread
 * (tthread.engine_state), as threads are added and removed.
 */
struct tthread_state_ops {
	void *(*make)(void);
	void (*free)(void *state);
};

#define BP_MAX_LEN 8

/* What a breakpoint address is for; one address can serve several roles. */
struct bp {
	uint64_t addr;
	/*
	 * What is written at addr while inserted (len bytes: the breakpoint
	 * instruction, or a door: a jump into an engine's code that does
	 * without a stop what a stop there would, tracee_bp_door()), and the
	 * program's own bytes under it.
	 */
	uint8_t code[BP_MAX_LEN], orig[BP_MAX_LEN];
	uint8_t len;
	bool inserted;
	unsigned scopes;   /* scope entries armed here */
	unsigned rets;     /* threads' return or resume points here */
	unsigned internal; /* the tracer's own hooks (r_brk, unwinding) */
	unsigned steps;    /* threads stepping up to here (tracee_step()) */
	unsigned doors;    /* an engine's door of its own (a return door: the dbt engine's) */
	/* that engine's word, told how many other roles the breakpoint has */
	uint64_t *armed;
};

/* The dynamic linker's r_debug and the link map we last saw there. */
struct linkmap_entry {
	uint64_t base;
	char *name;
};

/* What the kernel's auxiliary vector says of the program's start. */
struct linkmap_auxv {
	uint64_t entry, base, vdso, phdr, phnum;
};

struct linkmap {
	/* read by linkmap_prestart(), for the linkmap_start() it leads to (not read twice) */
	struct linkmap_auxv auxv;
	bool auxv_read;
	uint64_t r_debug;     /* address of the r_debug struct, 0 if unknown */
	uint64_t r_brk;       /* the breakpoint address the linker calls */
	uint64_t exe_dynamic; /* the executable's PT_DYNAMIC in memory, 0 if static */
	uint64_t interp_base;
	uint64_t vdso_base;
	bool settled; /* the binaries the program starts with were all reported */
	VEC(struct linkmap_entry) known;
};

struct tracee {
	pid_t pid;
	int mem_fd; /* /proc/PID/mem, reopened after exec */
	struct core *core;
	struct hashmap threads;             /* tid -> struct tthread */
	struct hashmap bps;                 /* address -> struct bp */
	struct hashmap hooks;               /* address -> hook kind (escape.c) */
	struct hashmap resolvers;           /* IFUNC resolver -> struct resolver (ifunc.c) */
	VEC(struct ifunc_wait) ifunc_waits; /* threads in those resolvers */
	struct hashmap children; /* pid -> how it was created, for stops seen before the event */
	struct hashmap parked;   /* tid -> wait status of stops from not yet announced tasks */
	VEC(struct tracee_event) queue;
	struct linkmap lm;
	volatile sig_atomic_t *stop;
	pid_t mem_tid; /* the thread whose memory reads go through (any live one) */
	bool world_stopped;
	/* counts changes of breakpoint bytes in memory: a thread that ran while
	 * it changed may have executed an int3 that is gone again */
	uint64_t bp_epoch;
	struct tthread *over_thread; /* the thread stepping over a breakpoint meanwhile */
	bool leader_dead;            /* the process is gone; leader_status says how */
	int leader_status;
	bool leader_unreaped; /* ... or is still freeing its memory (step/events.c) */
	/* the engine that drives this tracee (trace/engine.h): its take() and watch() */
	const struct engine *engine;
	const struct tthread_state_ops *thread_state; /* its per-thread state */
	/* a CPU for helper threads, not nosco's nor the program's when they are pinned, or -1 */
	int spare_cpu;
	/* when the program is pinned (--cpu same, split): to program_cpu, and
	 * cpus are the CPUs nosco was started with; NULL when it is not */
	cpu_set_t *cpus;
	int program_cpu;
	/* single-step hypervisor-emulated instructions too (NOSCO_STEP_TRUST_TRAPS) */
	bool trust_step_traps;
	/* attached to a running process (attach.c): detached, never killed, at the end */
	bool attached;
};

struct tracee_event {
	pid_t tid;
	int status;
};

/* A thread in an IFUNC resolver whose result a scope needs (ifunc.c). */
struct ifunc_wait {
	pid_t tid;
	uint64_t resolver;
	uint64_t ret; /* its return address */
	uint64_t sp;  /* the stack pointer at its entry */
};

/* The ptrace options of every traced task (spawned ones add PTRACE_O_EXITKILL). */
#define TRACEE_PTRACE_OPTIONS                                                                      \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEFORK |      \
	 PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE)

/* --- spawn.c --- */
/**
 * tracee_resolve_program - find PROGRAM the way a shell does (PATH search if no '/')
 *
 * Return: a newly allocated path, or NULL with ERR_NOT_FOUND or ERR_NOT_EXEC.
 */
char *tracee_resolve_program(const char *program, struct err *err);

/* A program launched and seized, on its way to its exec (tracee_launch). */
struct launch_child;

struct tracee_launch {
	pid_t pid;                  /* 0 once adopted or aborted */
	struct launch_child *child; /* what the child uses until its exec (spawn.c) */
	const char *path;
	int report_fd; /* where the child says why its exec failed */
	bool at_exec;  /* it stopped there already */
	int spare_cpu, program_cpu;
	cpu_set_t *cpus; /* as struct tracee's */
	/*
	 * a descriptor of nosco's to close once the program has exec'd (-1:
	 * none), on a thread of its own: the program holds a copy of it until
	 * its exec, whose close of that copy must not be the last one (the
	 * trace a run replaces: freeing it would hold the exec)
	 */
	int close_after_exec;
};

/**
 * tracee_launch - start the program, seized, and let it run to its exec
 * @cpu: where to run it (and nosco)
 *
 * Return: 0, or -1 with nothing left behind (ERR_NOT_FOUND, ERR_NOT_EXEC
 * when it could not exec). Then tracee_adopt() or tracee_launch_abort().
 */
int tracee_launch(struct tracee_launch *l, const char *path, char *const *argv,
                  enum cpu_placement cpu, struct err *err);
/**
 * tracee_adopt - take a launched program at its exec into t
 *
 * Return: 0 with t->pid set and the main thread stopped after exec, or -1
 * with it gone.
 */
int tracee_adopt(struct tracee *t, struct tracee_launch *l, struct err *err);
/* tracee_launch_abort - kill and reap a launched program not adopted (none: nothing) */
void tracee_launch_abort(struct tracee_launch *l);
/* tracee_spawn - tracee_launch() and tracee_adopt() at once */
int tracee_spawn(struct tracee *t, const char *path, char *const *argv, enum cpu_placement cpu,
                 struct err *err);
/**
 * tracee_cpu_release - give a process leaving the tracer (a forked child
 * detached) the CPUs nosco was started with, if the program was pinned
 */
void tracee_cpu_release(struct tracee *t, pid_t pid);

/*
 * tracee_init - an empty tracee reporting to core; @state: how the engine
 * that will drive it makes and frees its per-thread state (NULL: none)
 */
void tracee_init(struct tracee *t, struct core *core, volatile sig_atomic_t *stop,
                 const struct tthread_state_ops *state);
void tracee_fini(struct tracee *t);
/* tracee_kill - SIGKILL the process and reap every thread */
void tracee_kill(struct tracee *t);

/* --- attach.c: a process that runs already --- */
/**
 * tracee_attach_check - may nosco attach to the process pid? Before
 * anything is written: no such process, a zombie, already traced, another
 * user's, nosco itself are one-line errors naming the cause and the fix
 * (ERR_NOT_FOUND for a process that is not there, else ERR_PERMISSION).
 */
int tracee_attach_check(pid_t pid, struct err *err);
/**
 * tracee_describe - the executable, the arguments and the working
 * directory of the process pid (newly allocated; argv NULL-terminated,
 * free with tracee_free_argv)
 */
int tracee_describe(pid_t pid, char **exe, char ***argv, char **cwd, struct err *err);
void tracee_free_argv(char **argv);
/**
 * tracee_attach - seize every thread of the process pid and stop it
 *
 * Threads created meanwhile are seized too, until the set is stable.
 * Return: 0 with every thread in t->threads, stopped: at the interrupt,
 * or at a stop of its own (a signal, a clone...) queued for the engine
 * (tracee_attach_queued). -1 on error (the threads seized are let go).
 */
int tracee_attach(struct tracee *t, pid_t pid, struct err *err);
/* tracee_attach_queued - has th a stop queued (not its interrupt)? */
bool tracee_attach_queued(const struct tracee *t, const struct tthread *th);
/**
 * tracee_detach_interrupt - stop every thread that runs (PTRACE_INTERRUPT),
 * on the way to detaching; threads that are quiet already stay as they are
 * Return: whether every thread of the process is quiet (and none is a vfork
 * child sharing its memory, which runs until it execs or exits).
 */
int tracee_detach_interrupt(struct tracee *t, bool *all_quiet, struct err *err);
/*
 * tracee_detach_stop - is this stop th's interrupt for the detach? Then
 * th is quiet unless a signal waits for it (1: quiet; 0: it was resumed
 * to take the signal as the engine would; -1 on error). Not its interrupt: 2.
 */
int tracee_detach_stop(struct tracee *t, struct tthread *th, int status, struct err *err);
/**
 * tracee_detach - every thread quiet: remove every breakpoint, send again
 * the signals held back, and let every thread go (PTRACE_DETACH). Best
 * effort: goes on after an error, and returns the first.
 */
int tracee_detach(struct tracee *t, struct err *err);

/* --- mem.c --- */
int tracee_open_mem(struct tracee *t, struct err *err);
/* tracee_read - read memory as the program sees it (breakpoints masked); 0 or -1 */
int tracee_read(struct tracee *t, uint64_t addr, void *buf, size_t len);
/* tracee_read_partial - like tracee_read, returns the number of bytes read (may be short) */
size_t tracee_read_partial(struct tracee *t, uint64_t addr, void *buf, size_t len);
int tracee_write_raw(struct tracee *t, uint64_t addr, const void *buf, size_t len);
/* tracee_decode - decode the instruction at addr (breakpoints masked) */
int tracee_decode(struct tracee *t, uint64_t addr, struct arch_insn *insn);
/* tracee_read_cstr - read a NUL-terminated string (at most max bytes); newly allocated */
char *tracee_read_cstr(struct tracee *t, uint64_t addr, size_t max);

/* --- bp.c --- */
enum bp_role { BP_SCOPE, BP_RET, BP_INTERNAL, BP_STEP, BP_DOOR };
int tracee_bp_add(struct tracee *t, uint64_t addr, enum bp_role role, struct err *err);
void tracee_bp_del(struct tracee *t, uint64_t addr, enum bp_role role);
struct bp *tracee_bp_at(struct tracee *t, uint64_t addr);
/*
 * tracee_bp_watch - *armed (NULL: none) is told, from now on, how many
 * roles bp has besides BP_DOOR: an engine's door stops every thread while
 * it is not 0
 */
void tracee_bp_watch(struct bp *bp, uint64_t *armed);
/* tracee_bp_forget_all - drop every breakpoint without touching memory (after exec) */
void tracee_bp_forget_all(struct tracee *t);
/* tracee_bp_clean_child - remove our breakpoints from a forked child's copy of memory */
int tracee_bp_clean_child(struct tracee *t, pid_t child, struct err *err);
/* tracee_bp_lift / tracee_bp_restore - take a breakpoint out for a step-over, put it back */
int tracee_bp_lift(struct tracee *t, struct bp *bp, struct err *err);
int tracee_bp_restore(struct tracee *t, uint64_t addr, struct err *err);
/*
 * tracee_bp_covering - the breakpoint whose bytes in memory hold addr (a
 * door is longer than the breakpoint instruction), or NULL
 */
struct bp *tracee_bp_covering(struct tracee *t, uint64_t addr);
/**
 * tracee_bp_door - write code (len bytes) at bp's address instead of the
 * breakpoint instruction: a jump that does what the breakpoint would
 * without a stop where it can, and otherwise stops the thread as if it
 * had hit the breakpoint (the engine's handle() makes it look so). The
 * caller has made sure that no thread can be in the middle of those
 * bytes (every other thread stopped, none inside) and that no code jumps
 * there.
 */
int tracee_bp_door(struct tracee *t, struct bp *bp, const uint8_t *code, size_t len,
                   struct err *err);

/* --- threads.c --- */
struct tthread *tracee_thread(struct tracee *t, pid_t tid);
struct tthread *tracee_thread_add(struct tracee *t, pid_t tid, enum tthread_kind kind);
void tracee_thread_remove(struct tracee *t, pid_t tid);
/* tracee_thread_free - free th (out of the table) and the engine's state of it */
void tracee_thread_free(struct tracee *t, struct tthread *th);
int tracee_get_regs(struct tracee *t, struct tthread *th, struct err *err);
int tracee_set_regs(struct tracee *t, struct tthread *th, struct err *err);
/* tracee_shadow_stack - does th run with a shadow stack (x86 CET: returns are checked)? */
bool tracee_shadow_stack(const struct tthread *th);
/* tracee_get_pc - the pc of a stopped thread alone (cheaper than every register) */
int tracee_get_pc(struct tracee *t, struct tthread *th, uint64_t *pc, struct err *err);
/* tracee_set_pc - set the pc of a stopped thread alone (th->regs untouched) */
int tracee_set_pc(struct tracee *t, struct tthread *th, uint64_t pc, struct err *err);
/*
 * tracee_next_event - the next stop or exit: queued ones first, else waitpid
 *
 * Return: 0 with ev filled, 1 when a signal to nosco (Ctrl-C, the commit
 * ticker) interrupted the wait, -1 on error.
 */
int tracee_next_event(struct tracee *t, struct tracee_event *ev, struct err *err);
/*
 * tracee_poll_event - a stop or exit waiting to be seen, without waiting
 * for one (not the queued ones: tracee_next_event())
 *
 * Return: 0 with ev filled, 1 when none is there, -1 on error.
 */
int tracee_poll_event(struct tracee_event *ev, struct err *err);
/*
 * tracee_wait_thread - wait for one task's next stop or exit, through the
 * signals to nosco that interrupt the wait
 *
 * Return: 0 with *status, -1 with err (and errno: ECHILD once it is gone).
 */
int tracee_wait_thread(pid_t tid, int *status, struct err *err);
/* tracee_stop_world - stop every running thread but except (their stops are queued) */
int tracee_stop_world(struct tracee *t, struct tthread *except, struct err *err);
/* tracee_resume_world - let the threads stopped by tracee_stop_world go */
int tracee_resume_world(struct tracee *t, struct err *err);
/*
 * tracee_resume - continue (step false) or single-step a stopped thread:
 * the bare request, for a step whose trap cannot be lost (one into a
 * signal handler stops at its entry; engine code known not to hold an
 * instruction a hypervisor emulates)
 */
int tracee_resume(struct tracee *t, struct tthread *th, bool step, struct err *err);
/**
 * tracee_return_over - th, stopped, is at a plain `ret` (its pc's
 * instruction, as the program has it): return for it, its return address
 * popped into its pc, rather than let it run. Not where it returns to a
 * breakpoint (that one must trap), nor with a shadow stack (its top would
 * stay behind).
 *
 * Return: 1 when th is at the return address, 0 when it is left as it was, -1 on error.
 */
int tracee_return_over(struct tracee *t, struct tthread *th, struct err *err);
/*
 * tracee_step - single-step a stopped thread over insn, the instruction at
 * its pc (NULL: not known, decoded here)
 *
 * A step over an instruction a hypervisor may emulate (arch_insn's
 * hv_emulated) is made by a breakpoint after it and PTRACE_CONT, since
 * the trap after such a step can be lost; th->step_bp then says where,
 * and the stop there (pc one past it) ends the step.
 */
int tracee_step(struct tracee *t, struct tthread *th, const struct arch_insn *insn,
                struct err *err);

/* --- escape.c: where exceptions and longjmp leave calls for --- */
/* escape_hooks_add - break where the binary at base decides unwinding targets */
int escape_hooks_add(struct tracee *t, uint64_t base, struct err *err);
void escape_hooks_remove(struct tracee *t, uint64_t base);
/* escape_hooks_forget - drop them all without touching memory (after exec) */
void escape_hooks_forget(struct tracee *t);
/*
 * escape_target - th is at addr with its registers read: if addr is one
 * of the unwinding hooks (_Unwind_SetIP, the longjmp family), where
 * execution will continue (the landing pad, the jmp_buf's target); else,
 * or when that is unknown, 0
 */
uint64_t escape_target(struct tracee *t, const struct tthread *th, uint64_t addr);

/*
 * tracee_group_stop - act on a PTRACE_EVENT_STOP of th
 *
 * Return: 1 when it was a job-control stop (th stays stopped, listening for
 * SIGCONT), 0 for an interrupt stop the caller resumes from, -1 on error.
 */
int tracee_group_stop(struct tracee *t, struct tthread *th, int sig, struct err *err);

/*
 * tracee_hold_if_world_stopped - th stopped (status); if another thread is
 * stepping over a breakpoint, keep th stopped with its stop deferred.
 * Return: true when th was held.
 */
bool tracee_hold_if_world_stopped(struct tracee *t, struct tthread *th, int status);

/* tracee_status_line - the value of "key:" in /proc/tid/status, into out; -1 if none */
int tracee_status_line(pid_t tid, const char *key, char *out, size_t len);
/* tracee_is_thread_of - is the task tid a thread of process pid (not a process of its own)? */
bool tracee_is_thread_of(pid_t tid, pid_t pid);
/* tracee_shares_memory - do tasks a and b share one address space (vfork, CLONE_VM)? */
bool tracee_shares_memory(pid_t a, pid_t b, int event);

/* --- ifunc.c: what the IFUNC resolvers of scopes return --- */
/* ifunc_hooks_add - watch the resolvers the core lists for the binary at base */
int ifunc_hooks_add(struct tracee *t, uint64_t base, struct err *err);
void ifunc_hooks_remove(struct tracee *t, uint64_t base);
/* ifunc_forget - drop them all without touching memory (after exec) */
void ifunc_forget(struct tracee *t);
/* ifunc_on_hook - th is at addr, with its registers read: a resolver's entry or return? */
int ifunc_on_hook(struct tracee *t, struct tthread *th, uint64_t addr, struct err *err);

/* --- linkmap.c --- */
/**
 * linkmap_start - report the binaries of a freshly exec'd image to the core
 * @th, @regs: the thread that exec'd (NULL at the very start)
 *
 * Reads the auxiliary vector, reports the executable, the interpreter and
 * the vdso, and arms the dynamic linker's r_brk breakpoint.
 */
int linkmap_start(struct tracee *t, struct tthread *th, struct err *err);
/* What linkmap_prestart() does while the program loads its libraries. */
struct linkmap_meanwhile {
	int (*fn)(struct tracee *t, struct tthread *th, void *arg, struct err *err);
	void *arg;
	bool done; /* fn was called */
};

/**
 * linkmap_prestart - let a program just exec'd load its libraries before
 * any binary is reported, when the core says nothing is traced meanwhile
 * (core_quiet_start): the trace file can be made meanwhile
 *
 * Runs the program to the dynamic linker's first consistent list (its
 * r_brk), returned for at the notifications before (tracee_return_over()),
 * or to the first other stop; the thread is stopped there with that stop
 * queued for the engine, its registers read. After the first notification,
 * once the program runs again, meanwhile->fn is called (and
 * meanwhile->done set): the engine reports there what the program started
 * with (linkmap_start()) while the linker maps the libraries; else it does
 * so at the queued stop. The engine reports the libraries at the queued
 * stop, as it would have at r_brk.
 * Return: 1 if so, 0 if the program did not run (no dynamic linker, or
 * the core said no), -1 on error.
 */
int linkmap_prestart(struct tracee *t, struct tthread *th, struct linkmap_meanwhile *meanwhile,
                     struct err *err);
/* linkmap_update - r_brk was reached: report what was loaded or unloaded (th NULL: at attach) */
int linkmap_update(struct tracee *t, struct tthread *th, struct err *err);
void linkmap_reset(struct linkmap *lm);
/* linkmap_attach - report the binaries of a process attached to (every one mapped already) */
int linkmap_attach(struct tracee *t, struct err *err);

#endif
