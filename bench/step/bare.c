/*
 * The baseline for bench/step: the cheapest possible single-step tracer,
 * PTRACE_SINGLESTEP and waitpid and nothing else, over the same program.
 * Usage: bare same|split PROGRAM ARGS...   prints "STEPS SECONDS"
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	int split = argc > 1 && !strcmp(argv[1], "split");
	int cpu = sched_getcpu(), ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec a, b;
	unsigned long steps = 0;
	int status;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: bare same|split PROGRAM ARGS...\n");
		return 2;
	}
	pin(cpu);
	pid = fork();
	if (pid == 0) {
		if (split && ncpu > 1)
			pin((cpu + 1) % ncpu);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(pid, &status, 0); /* the exec stop */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
		waitpid(pid, &status, 0);
		if (!WIFSTOPPED(status))
			break;
		steps++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lu %.6f\n", steps, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
