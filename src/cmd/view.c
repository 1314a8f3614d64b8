/*
 * nosco view: serve a trace to a web browser (docs/view.md). Starts the
 * server of src/web/, prints where it listens, opens a browser when there
 * is a display, and waits for Ctrl-C (or SIGTERM, SIGHUP).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/log.h"
#include "web/web.h"

extern char **environ;

static const char usage[] =
        "Usage: nosco view [OPTIONS] TRACE\n"
        "\n"
        "Serve TRACE to a web browser: its threads, call tree, timelines, flame\n"
        "graphs and every call's instructions. Prints the URL (with its access\n"
        "token) and opens a browser when there is a display; Ctrl-C stops it.\n"
        "\n"
        "Options:\n"
        "  -p, --port N         listen on port N (default: a free port)\n"
        "      --bind ADDR      listen on ADDR (default 127.0.0.1: this machine only)\n"
        "      --no-open        do not open a browser\n"
        "  -n, --no-symbols     raw addresses; the traced binaries are not read\n"
        "      --sysroot DIR    look for the traced binaries under DIR\n"
        "  -h, --help           show this help\n";

struct view_cmd_opts {
	struct web_opts web;
	bool no_open;
};

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 65535)
		return cmd_usage_error("view", "'%s' is not a port number (0 to 65535)", s);
	*out = (uint16_t)v;
	return 0;
}

static int parse(int argc, char **argv, struct view_cmd_opts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "no-open", no_argument, NULL, 'N' },
		{ "no-symbols", no_argument, NULL, 'n' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = cmd_getopt("view", argc, argv, "p:nh", longopts)) != -1) {
		switch (c) {
		case 'p':
			if (parse_port(optarg, &o->web.port))
				return -1;
			break;
		case 'b':
			o->web.bind = optarg;
			break;
		case 'N':
			o->no_open = true;
			break;
		case 'n':
			o->web.symbols = false;
			break;
		case 's':
			o->web.sysroot = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(EXIT_OK);
		default:
			return -1;
		}
	}
	if (optind >= argc) {
		cmd_usage_error("view", "missing TRACE");
		return -1;
	}
	if (optind + 1 < argc) {
		cmd_usage_error("view", "one TRACE only ('%s' is extra)", argv[optind + 1]);
		return -1;
	}
	o->web.trace = argv[optind];
	return 0;
}

static bool loopback(const char *addr)
{
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1");
}

/* The URL a browser on this machine reaches the server at. */
static void make_url(const struct web_opts *o, uint16_t port, char *buf, size_t size)
{
	const char *host = o->bind ? o->bind : "127.0.0.1";

	if (!strcmp(host, "0.0.0.0"))
		host = "127.0.0.1";
	else if (!strcmp(host, "::"))
		host = "::1";
	snprintf(buf, size,
	         strchr(host, ':') ? "http://[%s]:%u/?token=%s" : "http://%s:%u/?token=%s", host,
	         port, o->token);
}

/* The desktop's browser, when there is a desktop: xdg-open, detached, silent. */
static void open_browser(const char *url)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "xdg-open", (char *)url, NULL };
	pid_t pid;

	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ))
		log_warn("cannot start xdg-open: open the URL above in a browser");
	posix_spawn_file_actions_destroy(&fa);
}

int cmd_view(int argc, char **argv)
{
	struct view_cmd_opts o = { .web.symbols = true };
	struct web_server *s;
	struct err err = { 0 };
	char url[512];
	sigset_t stop;
	int sig;

	if (parse(argc, argv, &o))
		return EXIT_USAGE;
	if (web_token(o.web.token, &err)) {
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	/* Blocked before the server's threads start, so that they inherit it and sigwait gets it.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!(s = web_start(&o.web, &err))) {
		if (err.kind == ERR_USAGE)
			return cmd_usage_error("view", "--bind: %s", err.msg);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	if (o.web.bind && !loopback(o.web.bind))
		log_warn("listening on %s: other machines can reach the viewer (with the token)",
		         o.web.bind);
	make_url(&o.web, web_port(s), url, sizeof(url));
	fprintf(stderr, "nosco: viewing %s at %s\n", o.web.trace, url);
	if (!o.no_open)
		open_browser(url);
	sigwait(&stop, &sig);
	/* Requests under way are finished; a second Ctrl-C does not wait for them. */
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
	web_stop(s);
	return EXIT_OK;
}
