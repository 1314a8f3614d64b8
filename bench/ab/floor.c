/*
 * floor: the least any ptrace tracer does to run a program, for bench/ab's
 * -f row: its own exec (static: no dynamic linker), a fork, the traced
 * exec's stop, and waiting for the exit. No breakpoint, no file. With
 * --plain, not even ptrace: what launching the program from another
 * process costs by itself (stop 46: about as much as the ptrace floor).
 *
 * Usage: floor [--plain] PROGRAM ARGS...   (its exit status is the program's)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int status, sig, plain = argc > 1 && !strcmp(argv[1], "--plain");
	pid_t pid;

	argv += plain;
	argc -= plain;
	if (argc < 2) {
		fputs("usage: floor [--plain] PROGRAM ARGS...\n", stderr);
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		if (!plain)
			ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (plain)
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!WIFSTOPPED(status))
		return 1;
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_EXITKILL);
	for (sig = 0;; sig = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status)) {
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) ||
		    waitpid(pid, &status, 0) != pid)
			return 1;
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
	}
}
