/*
 * The trace viewer's web server (`nosco view`, docs/view.md): an HTTP
 * server on libmicrohttpd that serves the page (embedded in the binary)
 * and a read-only JSON API over one trace file. Every request must carry
 * the server's token; only fixed routes exist, so nothing a request says
 * reaches the file system.
 */
#ifndef NOSCO_WEB_WEB_H
#define NOSCO_WEB_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define WEB_TOKEN_LEN 32 /* hex digits */

struct web_opts {
	const char *trace;   /* the trace file */
	const char *bind;    /* the address to listen on (IPv4 or IPv6), "127.0.0.1" by default */
	uint16_t port;       /* 0: a free port */
	const char *sysroot; /* where the traced binaries are, or NULL */
	bool symbols;        /* false: raw addresses */
	char token[WEB_TOKEN_LEN + 1];
};

struct web_server;

/**
 * web_token - a new random token for web_opts.token
 * Return: 0, or -1 with err when the kernel gives no random bytes.
 */
int web_token(char out[WEB_TOKEN_LEN + 1], struct err *err);

/**
 * web_start - open the trace and serve it
 * @o: what to serve and where
 * @err: ERR_IO/ERR_INPUT for a trace that cannot be read, ERR_USAGE for
 *       a bad address, ERR_IO when the port cannot be listened on
 *
 * The server runs in threads of its own until web_stop().
 * Return: the server, or NULL with err.
 */
struct web_server *web_start(const struct web_opts *o, struct err *err);

/* web_port - the port the server listens on */
uint16_t web_port(const struct web_server *s);

/* web_stop - stop serving (requests under way are finished) and free everything */
void web_stop(struct web_server *s);

#endif
