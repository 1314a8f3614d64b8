/*
 * What pinning the program only while it is single-stepped would cost
 * (bench/cpu): single-steps of a program with the tracer and the program
 * on one CPU ("same"), nothing pinned ("any"), and on one CPU with the
 * program's mask given back and taken again around every step ("churn":
 * two sched_setaffinity calls on the stopped thread, the most a tracer
 * pinning only recorded code could need per stop).
 * Usage: churn same|any|churn PROGRAM ARGS...   prints "STEPS SECONDS"
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int cpu = sched_getcpu();
	bool pin = argc > 1 && strcmp(argv[1], "any");
	bool churn = argc > 1 && !strcmp(argv[1], "churn");
	cpu_set_t orig, one;
	struct timespec a, b;
	unsigned long steps = 0;
	int status;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: churn same|any|churn PROGRAM ARGS...\n");
		return 2;
	}
	sched_getaffinity(0, sizeof(orig), &orig);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (pin)
		sched_setaffinity(0, sizeof(one), &one);
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(pid, &status, 0); /* the exec stop */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		if (churn)
			sched_setaffinity(pid, sizeof(one), &one);
		ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
		waitpid(pid, &status, 0);
		if (!WIFSTOPPED(status))
			break;
		if (churn)
			sched_setaffinity(pid, sizeof(orig), &orig);
		steps++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lu %.6f\n", steps, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
