/*
 * What the viewer's server and its API handlers share. Not for use
 * outside src/web/.
 *
 * Threads: libmicrohttpd runs each connection in a thread of its own.
 * A store reader is not thread-safe, so each request takes readers from
 * the pool (pool.c) for itself; the symbolizer is shared behind a mutex
 * (syms.c).
 */
#ifndef NOSCO_WEB_INTERNAL_H
#define NOSCO_WEB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"
#include "store/reader.h"
#include "util/strbuf.h"
#include "view/internal.h"
#include "web/json.h"
#include "web/web.h"

/* Idle readers kept for the next request that plans the same calls. */
#define WEB_POOL_IDLE 6

struct web_pool_ent {
	struct store_reader *r;
	uint64_t used; /* when it was last given back (a counter) */
};

struct web_pool {
	pthread_mutex_t lock;
	const char *path;
	struct web_pool_ent idle[WEB_POOL_IDLE];
	size_t n_idle;
	uint64_t clock;
};

/* A function of the trace, for search (syms.c). */
struct web_func {
	char *name;
	uint64_t addr;
	uint64_t calls, insns; /* how many calls, their instructions in all */
	int64_t first[8];      /* the first calls' ids ... */
	bool first_known;      /* ... once looked up (the first search of it) */
};

struct web {
	struct web_opts o;
	struct web_pool pool;
	enum arch_mode mode;
	/* The shared symbolizer and what it warned about. */
	pthread_mutex_t sym_lock;
	struct view_syms syms;
	struct strbuf warnings;
	/* The functions of the trace: built by the first search, then kept. */
	pthread_mutex_t func_lock;
	bool funcs_ready;
	VEC(struct web_func) funcs;
};

/* One API request: its parameters, and the answer being written. */
struct web_req {
	struct web *w;
	void *conn; /* struct MHD_Connection */
	struct json j;
	int status;        /* 200, or the HTTP error */
	struct strbuf msg; /* the error's message */
};

/* An API handler: writes the JSON answer into q->j; returns 0, or -1 after web_fail(). */
typedef int (*web_api_fn)(struct web_req *q);

int web_api_overview(struct web_req *q);
int web_api_counts(struct web_req *q);
int web_api_threads(struct web_req *q);
int web_api_roots(struct web_req *q);
int web_api_call(struct web_req *q);
int web_api_calls(struct web_req *q);
int web_api_insns(struct web_req *q);
int web_api_search(struct web_req *q);
int web_api_flame(struct web_req *q);
int web_api_timeline(struct web_req *q);

/* web_fail - answer with an HTTP error and a message: always -1 */
int web_fail(struct web_req *q, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* web_fail_err - the error of a read: 404 for ERR_NOT_FOUND, else 500 */
int web_fail_err(struct web_req *q, const struct err *e);

/*
 * struct web_param - an integer query parameter of a handler: its name,
 * the range it must be in, and its value when absent (WEB_OPTIONAL) or
 * none (WEB_REQUIRED), read into *out
 */
struct web_param {
	const char *name;
	int64_t lo, hi;
	bool has_dflt;
	int64_t dflt;
	int64_t *out;
};
#define WEB_REQUIRED(name, lo, hi, out)       ((struct web_param){ name, lo, hi, false, 0, out })
#define WEB_OPTIONAL(name, lo, hi, dflt, out) ((struct web_param){ name, lo, hi, true, dflt, out })
/* WEB_PARAMS - an array of struct web_param as the (ps, n) arguments below */
#define WEB_PARAMS(ps) (ps), sizeof(ps) / sizeof((ps)[0])

/* web_params - read n parameters; Return: 0, or -1 after a 400 answer naming the first bad one */
int web_params(struct web_req *q, const struct web_param *ps, size_t n);
/*
 * web_begin - a handler's prologue: read its n parameters (none: ps NULL),
 * then take a reader. Return: the reader (give it back with
 * web_pool_give()), or NULL after a 400 or 500 answer.
 */
struct store_reader *web_begin(struct web_req *q, const struct web_param *ps, size_t n);
/* web_param_str - a text query parameter, or NULL when absent */
const char *web_param_str(struct web_req *q, const char *name);

/* Readers (pool.c). */
int web_pool_init(struct web_pool *p, const char *path, struct err *err);
void web_pool_fini(struct web_pool *p);
/* web_pool_take - a reader of the trace: the idle one given back last, or a new one */
struct store_reader *web_pool_take(struct web_pool *p, struct err *err);
/* web_pool_give - keep a reader taken for the next request (NULL: nothing) */
void web_pool_give(struct web_pool *p, struct store_reader *r);
/* web_take_reader - web_pool_take() for a request; 500 answered on failure */
struct store_reader *web_take_reader(struct web_req *q);
/* web_get_call - the call by id from r; 404 naming the range of ids when there is none */
int web_get_call(struct web_req *q, struct store_reader *r, int64_t id, struct reader_call *out);

/* Symbols (syms.c), safe from any thread. */
int web_syms_init(struct web *w, struct err *err);
void web_syms_fini(struct web *w);
/* web_sym - the display name of an address into sb (view_sym_name()) */
void web_sym(struct web *w, uint64_t addr, uint64_t time, enum view_addr_kind kind,
             struct strbuf *sb);
/* web_line - "file:line" of an address into sb; false when DWARF has none */
bool web_line(struct web *w, uint64_t addr, uint64_t time, struct strbuf *sb);

/* JSON of records shared by the handlers (api.c). */
/* web_json_call - a call's fields, in an object already opened */
void web_json_call(struct web_req *q, const struct reader_call *c, struct strbuf *scratch);
/*
 * web_call_self - a call's own instructions (total minus its callees') and
 * the number of its callees; the reader must hold its children.
 */
int web_call_self(struct store_reader *r, const struct reader_call *c, uint64_t *self,
                  uint64_t *kids, struct err *err);

/*
 * web_json_calls_page - "calls": the records @offset.. (@limit of them) of a
 * cursor, and "total": how many it had; with @with_self, each call's own
 * instructions and callee count (the reader must hold their callees).
 * Return: 0, or -1 with e.
 */
int web_json_calls_page(struct web_req *q, struct store_reader *r, struct reader_cursor *c,
                        int64_t offset, int64_t limit, bool with_self, struct err *e);

/* The embedded page (assets.c). */
struct web_asset {
	const char *name; /* "/", "/app.js", ... */
	const char *type; /* Content-Type */
	const char *data;
	size_t len;
};
/* web_asset - the file served at @url: false when there is none */
bool web_asset(const char *url, struct web_asset *out);

#endif
