/*
 * The HTTP side of the viewer: a libmicrohttpd daemon with a thread per
 * connection, the token check, the fixed routes (the page's files and the
 * API's handlers) and the answers' headers. Nothing in a request's URL is
 * used as a path: a URL is looked up in two tables, and anything else is
 * a 404.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "util/xalloc.h"
#include "web/internal.h"

/*
 * Connections served at once (each has a thread). A closed one counts
 * until its thread is reaped, which lags under load: 64 refused a burst
 * of 32 clients now and then (tests/web/api.py concurrent_clients).
 */
#define WEB_CONNECTIONS 256
#define WEB_TIMEOUT_S   60

/*
 * libmicrohttpd is loaded when a server starts, not with nosco: it brings
 * gnutls and eight more libraries, about 4 ms of every command's start-up
 * that only `nosco view` needs.
 */
#define MHD_LIBRARY "libmicrohttpd.so.12"

static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	bool loaded;
	char why[256]; /* what went wrong when it did not load */
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

#define MHD_SYM(field, name) ((*(void **)&mhd.field = dlsym(lib, name)) != NULL)

static void mhd_load(void)
{
	void *lib = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	const char *why;

	mhd.loaded = lib && MHD_SYM(start_daemon, "MHD_start_daemon") &&
	             MHD_SYM(stop_daemon, "MHD_stop_daemon") &&
	             MHD_SYM(get_daemon_info, "MHD_get_daemon_info") &&
	             MHD_SYM(create_response_from_buffer, "MHD_create_response_from_buffer") &&
	             MHD_SYM(add_response_header, "MHD_add_response_header") &&
	             MHD_SYM(queue_response, "MHD_queue_response") &&
	             MHD_SYM(destroy_response, "MHD_destroy_response") &&
	             MHD_SYM(lookup_connection_value, "MHD_lookup_connection_value");
	why = mhd.loaded ? NULL : dlerror();
	snprintf(mhd.why, sizeof(mhd.why), "%s", why ? why : "a function is missing");
}

struct web_server {
	struct web w;
	struct MHD_Daemon *d;
	uint16_t port;
};

static const struct {
	const char *url;
	web_api_fn fn;
} routes[] = {
	{ "/api/overview", web_api_overview }, { "/api/counts", web_api_counts },
	{ "/api/threads", web_api_threads },   { "/api/roots", web_api_roots },
	{ "/api/call", web_api_call },         { "/api/calls", web_api_calls },
	{ "/api/insns", web_api_insns },       { "/api/search", web_api_search },
	{ "/api/flame", web_api_flame },       { "/api/timeline", web_api_timeline },
};

int web_token(char out[WEB_TOKEN_LEN + 1], struct err *err)
{
	uint8_t bytes[WEB_TOKEN_LEN / 2];
	size_t i;

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return err_sys(err, ERR_IO, "cannot get random bytes for the token");
	for (i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/* Compares in a time that does not depend on where the strings differ. */
static bool token_ok(const struct web *w, const char *given)
{
	unsigned diff = 0;
	size_t i;

	if (!given || strlen(given) != WEB_TOKEN_LEN)
		return false;
	for (i = 0; i < WEB_TOKEN_LEN; i++)
		diff |= (unsigned)(given[i] ^ w->o.token[i]);
	return diff == 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, int status, const char *type, char *body,
                              size_t len)
{
	struct MHD_Response *resp =
	        mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	mhd.add_response_header(resp, "Content-Type", type);
	mhd.add_response_header(resp, "Cache-Control", "no-store");
	mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	mhd.add_response_header(resp, "X-Frame-Options", "DENY");
	/* The token is in the page's URL: no other site may see it in a Referer. */
	mhd.add_response_header(resp, "Referrer-Policy", "no-referrer");
	mhd.add_response_header(resp, "Content-Security-Policy",
	                        "default-src 'none'; script-src 'self'; style-src 'self'; "
	                        "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	rc = mhd.queue_response(conn, (unsigned)status, resp);
	mhd.destroy_response(resp);
	return rc;
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, int status, const char *msg)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "{\"error\":\"");
	json_escape(&sb, msg, strlen(msg));
	sb_adds(&sb, "\"}\n");
	return answer(conn, status, "application/json", sb.buf, sb.len);
}

int web_fail(struct web_req *q, int status, const char *fmt, ...)
{
	va_list ap;

	q->status = status;
	sb_reset(&q->msg);
	va_start(ap, fmt);
	sb_vaddf(&q->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int web_fail_err(struct web_req *q, const struct err *e)
{
	return web_fail(q, e->kind == ERR_NOT_FOUND ? 404 : 500, "%s", e->msg);
}

const char *web_param_str(struct web_req *q, const char *name)
{
	return mhd.lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int param_int(struct web_req *q, const struct web_param *p)
{
	const char *s = web_param_str(q, p->name);
	char *end;
	long long v;

	if (!s || !*s) {
		if (!p->has_dflt)
			return web_fail(q, 400, "parameter '%s' is required", p->name);
		*p->out = p->dflt;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || ((s[0] < '0' || s[0] > '9') && s[0] != '-'))
		return web_fail(q, 400, "parameter '%s' must be an integer, not '%.40s'", p->name,
		                s);
	if (v < p->lo || v > p->hi)
		return web_fail(q, 400,
		                "parameter '%s' must be in %" PRId64 "..%" PRId64 ", not %lld",
		                p->name, p->lo, p->hi, v);
	*p->out = v;
	return 0;
}

int web_params(struct web_req *q, const struct web_param *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (param_int(q, &ps[i]))
			return -1;
	return 0;
}

struct store_reader *web_begin(struct web_req *q, const struct web_param *ps, size_t n)
{
	return web_params(q, ps, n) ? NULL : web_take_reader(q);
}

static enum MHD_Result serve_api(struct web *w, struct MHD_Connection *conn, web_api_fn fn)
{
	struct web_req q = { .w = w, .conn = conn, .status = 200 };
	enum MHD_Result rc;

	json_init(&q.j);
	sb_init(&q.msg);
	if (fn(&q) == 0) {
		size_t len;

		sb_addc(&q.j.sb, '\n');
		len = q.j.sb.len;
		rc = answer(conn, 200, "application/json", sb_detach(&q.j.sb), len);
	} else {
		rc = answer_error(conn, q.status, q.msg.buf);
	}
	json_fini(&q.j);
	sb_fini(&q.msg);
	return rc;
}

/* The page: index.html names its scripts with the token, which the server fills in. */
static enum MHD_Result serve_asset(struct web *w, struct MHD_Connection *conn,
                                   const struct web_asset *a)
{
	struct strbuf sb;
	const char *p = a->data, *end = a->data + a->len, *hit;

	sb_init(&sb);
	while ((hit = memmem(p, (size_t)(end - p), "{{TOKEN}}", 9))) {
		sb_addn(&sb, p, (size_t)(hit - p));
		sb_adds(&sb, w->o.token);
		p = hit + 9;
	}
	sb_addn(&sb, p, (size_t)(end - p));
	return answer(conn, 200, a->type, sb.buf, sb.len);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
	static int first_call;
	struct web *w = cls;
	struct web_asset a;
	size_t i;

	(void)version;
	(void)upload;
	/* The first call only has the headers: answer once the request is whole. */
	if (!*state) {
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* a body is read and dropped; the answer is a 405 */
		return MHD_YES;
	}
	if (!token_ok(w, mhd.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token")))
		return answer_error(conn, 403,
		                    "missing or wrong token: use the URL nosco view printed");
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return answer_error(conn, 405, "the viewer answers GET requests only");
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(url, routes[i].url))
			return serve_api(w, conn, routes[i].fn);
	if (web_asset(url, &a))
		return serve_asset(w, conn, &a);
	return answer_error(conn, 404, "no such page");
}

/* The socket address to listen on: IPv4 or IPv6, numeric only. */
static int parse_bind(const char *bind, uint16_t port, struct sockaddr_storage *ss, bool *v6,
                      struct err *err)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, bind, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, bind, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*v6 = true;
		return 0;
	}
	return err_set(err, ERR_USAGE, "'%s' is not an IPv4 or IPv6 address", bind);
}

static int web_init(struct web *w, const struct web_opts *o, struct err *err)
{
	memset(w, 0, sizeof(*w));
	w->o = *o;
	pthread_mutex_init(&w->func_lock, NULL);
	if (web_pool_init(&w->pool, o->trace, err))
		return -1;
	if (web_syms_init(w, err)) {
		web_pool_fini(&w->pool);
		return -1;
	}
	return 0;
}

static void web_fini(struct web *w)
{
	size_t i;

	web_syms_fini(w);
	web_pool_fini(&w->pool);
	for (i = 0; i < w->funcs.len; i++)
		free(w->funcs.data[i].name);
	vec_free(&w->funcs);
	pthread_mutex_destroy(&w->func_lock);
}

struct web_server *web_start(const struct web_opts *o, struct err *err)
{
	struct web_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags =
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
	bool v6 = false;

	pthread_once(&mhd_once, mhd_load);
	if (!mhd.loaded) {
		free(s);
		err_set(err, ERR_UNSUPPORTED, "nosco view needs %s (Debian: libmicrohttpd12): %s",
		        MHD_LIBRARY, mhd.why);
		return NULL;
	}
	if (parse_bind(o->bind ? o->bind : "127.0.0.1", o->port, &ss, &v6, err)) {
		free(s);
		return NULL;
	}
	if (web_init(&s->w, o, err)) {
		free(s);
		return NULL;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	s->d = mhd.start_daemon(flags, o->port, NULL, NULL, handle, &s->w, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	                        (unsigned)WEB_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)WEB_TIMEOUT_S, MHD_OPTION_END);
	if (!s->d) {
		err_set(err, ERR_IO,
		        "cannot listen on %s port %u (in use, or not an address of this machine)",
		        o->bind ? o->bind : "127.0.0.1", o->port);
		web_fini(&s->w);
		free(s);
		return NULL;
	}
	info = mhd.get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
	return s;
}

uint16_t web_port(const struct web_server *s)
{
	return s->port;
}

void web_stop(struct web_server *s)
{
	if (!s)
		return;
	mhd.stop_daemon(s->d);
	web_fini(&s->w);
	free(s);
}
