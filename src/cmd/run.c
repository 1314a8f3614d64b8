/*
 * nosco run: trace a program into a trace file.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "store/store.h"
#include "trace/backend.h"
#include "trace/session.h"
#include "util/log.h"
#include "util/populate.h"
#include "util/progress.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/*
 * What a short run allocates: a scope in `python3 -c pass` touches 1 MiB
 * of heap. Made present, a page costs even untouched (2 MiB: 0.65 ms
 * slower than this, 1 MiB no faster).
 */
#define RUN_HEAP (5u << 18)

/* run's help, before and after the engines (from their table) */
static const char run_usage_head[] =
        "Usage: nosco run -c CONFIG -o FILE [OPTIONS] [--] PROGRAM [ARGS...]\n"
        "       nosco run -c CONFIG -o FILE [OPTIONS] --pid PID [--duration SECONDS]\n"
        "\n"
        "Run PROGRAM under the tracer and write what it did to the trace file FILE;\n"
        "or attach to the running process PID, trace it until Ctrl-C, SECONDS or its\n"
        "end, and detach, leaving it running as it was.\n"
        "\n"
        "Options:\n"
        "  -c, --config CONFIG   a configuration file, or the configuration itself as\n"
        "                        KDL text (e.g. 'call-depth 3' or\n"
        "                        'trace \"main\" binary=\"echo\"'); see docs/config.md\n"
        "  -o, --output FILE     the trace file to write; an existing file is replaced\n"
        "                        only if it is a nosco trace\n"
        "  -f, --force           replace FILE even if it is not a nosco trace\n";

static const char run_usage_tail[] =
        "      --cpu WHERE       where nosco and the program run: wherever the OS\n"
        "                        puts them ('any', the default: the program sees the\n"
        "                        CPUs it would see without nosco), or pinned to one\n"
        "                        CPU ('same', faster for --engine step, but the\n"
        "                        program sees one CPU) or two ('split')\n"
        "  -p, --pid PID         attach to the running process PID instead of\n"
        "                        starting a program (docs/cli.md)\n"
        "  -d, --duration SECONDS  with --pid: detach after SECONDS (a decimal\n"
        "                        number); without it, at Ctrl-C or when PID ends\n"
        "      --no-progress     no live progress line (shown on a terminal after a\n"
        "                        second: elapsed time, instructions, calls, threads)\n"
        "  -v, --verbose         say more about what happens (twice: debug output)\n"
        "  -h, --help            show this help\n"
        "\n"
        "nosco exits with the program's exit code, 128+N if it was killed by signal N,\n"
        "125 if nosco itself failed (a scope that cannot be resolved stops the program\n"
        "and leaves no trace file), 126 if PROGRAM cannot be executed, 127 if it does\n"
        "not exist, and 2 for a bad command line. With --pid: 0 once detached (the\n"
        "process runs on), 127 if there is no process PID, 125 if nosco may not\n"
        "trace it.\n";

/* "how to trace: 'dbt' (a code cache, the default, docs/engine.md) or 'step' (...)" */
static void describe_engines(struct strbuf *sb)
{
	const struct backend_entry *e;
	size_t i, n = backend_entries(&e), left = n - 1;

	for (i = 0; i < n; i++)
		if (e[i].ops == backend_default())
			sb_addf(sb, "how to trace: '%s' (%s, the default, %s)", e[i].ops->name,
			        e[i].what, e[i].more);
	for (i = 0; i < n; i++)
		if (e[i].ops != backend_default())
			sb_addf(sb, "%s '%s' (%s, %s)", --left ? "," : " or", e[i].ops->name,
			        e[i].what, e[i].more);
}

static void print_usage(void)
{
	struct strbuf sb;

	sb_init(&sb);
	describe_engines(&sb);
	fputs(run_usage_head, stdout);
	cmd_put_wrapped(stdout, "  -e, --engine ENGINE  ", 24, sb.buf);
	fputs(run_usage_tail, stdout);
	sb_fini(&sb);
}

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "force", no_argument, NULL, 'f' },
	{ "engine", required_argument, NULL, 'e' },
	{ "cpu", required_argument, NULL, 'C' },
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "no-progress", no_argument, NULL, 'P' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct run_opts {
	const char *config;
	const char *output;
	const char *engine;
	bool force;
	bool no_progress;
	bool cpu_given;
	enum cpu_placement cpu;
	pid_t pid; /* --pid: attach (0: run PROGRAM) */
	const char *duration;
	double seconds;
};

/* parse_pid - --pid's argument: a positive process id */
static int parse_pid(const char *arg, pid_t *pid)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg < '0' || *arg > '9' || *end || v <= 0 || v > INT32_MAX)
		return cmd_usage_error("run",
		                       "--pid takes a process id (a positive number), not '%s'",
		                       arg),
		       -1;
	*pid = (pid_t)v;
	return 0;
}

/* parse_duration - --duration's argument: seconds, more than 0 */
static int parse_duration(const char *arg, double *seconds)
{
	char *end;
	double v = strtod(arg, &end);

	if (*arg < '0' || *arg > '9' || *end || !(v > 0) || v > 1e9)
		return cmd_usage_error("run",
		                       "--duration takes a number of seconds greater than 0 (such "
		                       "as 2 or 0.5), not '%s'",
		                       arg),
		       -1;
	*seconds = v;
	return 0;
}

/* check_attach - --pid, --duration and PROGRAM go together as documented */
static int check_attach(const struct run_opts *o, int argc, char **argv)
{
	if (o->duration && !o->pid)
		return cmd_usage_error("run", "--duration needs --pid (a program started by nosco "
		                              "is traced to its end)"),
		       -1;
	if (o->pid && optind < argc)
		return cmd_usage_error("run",
		                       "--pid %d and a program to run ('%s') exclude each other: "
		                       "give one",
		                       (int)o->pid, argv[optind]),
		       -1;
	if (o->pid && o->cpu_given)
		return cmd_usage_error("run",
		                       "--cpu cannot be used with --pid (nosco does not move "
		                       "a running process to other CPUs)"),
		       -1;
	return 0;
}

static int parse_run_options(int argc, char **argv, struct run_opts *o)
{
	int c;

	optind = 1;
	/* '+': stop at PROGRAM, its own options are not ours. */
	while ((c = cmd_getopt("run", argc, argv, "+c:o:fe:p:d:vh", run_options)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			o->force = true;
			break;
		case 'e':
			o->engine = optarg;
			break;
		case 'C':
			if (!strcmp(optarg, "same"))
				o->cpu = CPU_SAME;
			else if (!strcmp(optarg, "split"))
				o->cpu = CPU_SPLIT;
			else if (!strcmp(optarg, "any"))
				o->cpu = CPU_ANY;
			else
				return cmd_usage_error("run",
				                       "--cpu takes same, split or any, not '%s'",
				                       optarg),
				       -1;
			o->cpu_given = true;
			break;
		case 'p':
			if (parse_pid(optarg, &o->pid))
				return -1;
			break;
		case 'd':
			o->duration = optarg;
			if (parse_duration(optarg, &o->seconds))
				return -1;
			break;
		case 'P':
			o->no_progress = true;
			break;
		case 'v':
			log_verbosity++;
			break;
		case 'h':
			print_usage();
			exit(EXIT_OK);
		default:
			return -1;
		}
	}
	if (!o->config)
		return cmd_usage_error("run", "missing -c CONFIG"), -1;
	if (!o->output)
		return cmd_usage_error("run", "missing -o FILE"), -1;
	if (check_attach(o, argc, argv))
		return -1;
	if (optind >= argc && !o->pid)
		return cmd_usage_error("run", "missing PROGRAM to run (or --pid PID to attach to)"),
		       -1;
	return 0;
}

static struct session *running; /* for the signal handler */
static volatile sig_atomic_t stop_signal;

/*
 * on_stop_signal - Ctrl-C and friends: kill the program (detach from one
 * nosco attached to); the run then finalizes the trace
 */
static void on_stop_signal(int sig)
{
	stop_signal = sig;
	if (running && running->pid > 0 && !running->attach_pid)
		kill(running->pid, SIGKILL);
}

static void catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked waitpid must notice. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* show_progress - the session's progress hook: the core's counts and the trace's size */
static void show_progress(void *output, const struct core_stats *st)
{
	struct progress_counts c = { .insns = st->insns,
		                     .calls = st->calls,
		                     .threads = st->live_threads };
	struct stat sb;

	/* Often called, seldom due: the stat only when the line is drawn. */
	if (!progress_due())
		return;
	if (!stat(output, &sb))
		c.bytes = (uint64_t)sb.st_size;
	progress_show(&c);
}

static void print_summary(const struct session *s, const char *output)
{
	fprintf(stderr, "nosco: %s: %llu thread%s, %llu call%s, %llu instruction%s; ", output,
	        (unsigned long long)s->stats.threads, s->stats.threads == 1 ? "" : "s",
	        (unsigned long long)s->stats.calls, s->stats.calls == 1 ? "" : "s",
	        (unsigned long long)s->stats.insns, s->stats.insns == 1 ? "" : "s");
	if (s->detached)
		fprintf(stderr, "detached from process %d, which runs on\n", (int)s->pid);
	else if (stop_signal)
		fprintf(stderr, "stopped by SIG%s\n", sigabbrev_np(stop_signal));
	else if (s->exit.signaled)
		fprintf(stderr, "the program was killed by SIG%s\n", sigabbrev_np(s->exit.code));
	else
		fprintf(stderr, "the program exited with code %d\n", s->exit.code);
}

static int exit_code_of(const struct session *s)
{
	if (s->detached)
		return EXIT_OK;
	if (stop_signal)
		return 128 + stop_signal;
	return s->exit.signaled ? 128 + s->exit.code : s->exit.code;
}

/* trace - run the program into an open store; returns the exit code */
static int trace(struct session *s, const struct backend_ops *engine, const char *output,
                 bool progress)
{
	struct err err;
	int ret;

	s->stop = &stop_signal;
	if (progress && progress_start(STDERR_FILENO)) {
		s->progress = show_progress;
		s->progress_ctx = (void *)output;
	}
	running = s;
	catch_stop_signals();
	ret = session_run(s, engine, &err);
	running = NULL;
	progress_stop();
	/*
	 * The program never started, or a scope could not be resolved (the
	 * program was stopped when its binary loaded): leave no trace file
	 * behind, as for a mistake found before the start.
	 */
	if (ret && (s->pid <= 0 || err.kind == ERR_CONFIG)) {
		store_discard(s->store);
		return cmd_fail(&err);
	}
	if (store_close(s->store, ret ? NULL : &err) && !ret) {
		ret = -1;
	}
	if (ret)
		return cmd_fail(&err);
	print_summary(s, output);
	return exit_code_of(s);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .cpu = CPU_ANY };
	const struct backend_ops *engine;
	struct session s = { 0 };
	struct config cfg;
	struct err err;
	int ret;

	/* 280 page faults fewer on a short run: 1 ms of Python's 45 under a scope. */
	xalloc_reserve(RUN_HEAP);
	/* 55 page faults fewer, 21 of them the opener's: -0.4 to -0.85 ms for PyDict_New. */
	populate_code();
	if (parse_run_options(argc, argv, &o))
		return EXIT_USAGE;
	if (config_load(&cfg, o.config, &err))
		return cmd_fail(&err);
	engine = backend_choose(o.engine, &cfg, &err);
	if (!engine) {
		ret = err.kind == ERR_USAGE ? cmd_usage_error("run", "%s", err.msg)
		                            : cmd_fail(&err);
		config_fini(&cfg);
		return ret;
	}
	if (o.pid)
		ret = session_process(&s, o.pid, &err);
	else
		ret = session_program(&s, argv + optind, &err);
	s.cpu = o.cpu;
#ifndef __SANITIZE_ADDRESS__
	s.exits_after = true; /* where a leak checker looks, all is freed */
#endif
	s.cfg = &cfg;
	if (ret || session_check_scopes(&s, &cfg, &err) ||
	    session_create_store(&s, engine->name, o.output, o.force, &err) ||
	    (!o.pid && session_launch(&s, &err))) {
		store_discard(s.store);
		ret = cmd_fail(&err);
	} else {
		/* At least a nanosecond: 0 would mean no deadline. */
		if (o.duration)
			s.duration_ns = o.seconds < 1e-9 ? 1 : (int64_t)(o.seconds * 1e9);
		ret = trace(&s, engine, o.output, !o.no_progress);
	}
	session_forget(&s);
	config_fini(&cfg);
	return ret;
}
