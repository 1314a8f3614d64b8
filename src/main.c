/*
 * nosco - a process execution tracer. This file only dispatches to the
 * commands in src/cmd/.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const char usage[] =
        "Usage: nosco [--help] [--version] COMMAND [ARGS...]\n"
        "\n"
        "nosco traces how a program runs: its threads, the binaries it loads, the\n"
        "calls it makes and the instructions it executes, into a trace file.\n"
        "\n"
        "Commands:\n"
        "  run    trace a program into a trace file\n"
        "  dump   show a trace file (threads, calls, instructions, binaries)\n"
        "  export write a trace for other tools (Perfetto, flame graphs, drcov, ...)\n"
        "  view   serve a trace file to a web browser\n"
        "\n"
        "Run 'nosco COMMAND --help' for the options of a command.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "dump", cmd_dump },
	{ "export", cmd_export },
	{ "view", cmd_view },
};

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	size_t i;

	if (!name || !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		fputs(usage, name ? stdout : stderr);
		return name ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("nosco %s\n", NOSCO_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr,
	        "nosco: unknown command '%s'\nTry 'nosco --help' for the list of commands.\n",
	        name);
	return EXIT_USAGE;
}
