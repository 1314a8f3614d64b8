/*
 * Loading the run configuration: file or inline text, KDL parsing, and
 * error messages that quote the offending line with a caret under the
 * column. What the nodes mean is in schema.c.
 */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/internal.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define EXCERPT_MAX 300 /* bytes of a long line shown under an error */

/* The source line at pos, then a caret under its column (tabs kept so it lines up). */
static void add_excerpt(struct strbuf *sb, const char *text, size_t len, struct kdl_pos pos)
{
	size_t start, end, i;
	unsigned col = 1;

	if (!kdl_source_line(text, len, pos.line, &start, &end))
		return;
	if (end - start > EXCERPT_MAX)
		end = start + EXCERPT_MAX;
	sb_addc(sb, '\n');
	sb_addn(sb, text + start, end - start);
	sb_addc(sb, '\n');
	for (i = start; i < end && col < pos.col; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue; /* columns count code points */
		sb_addc(sb, text[i] == '\t' ? '\t' : ' ');
		col++;
	}
	for (; col < pos.col; col++)
		sb_addc(sb, ' ');
	sb_addc(sb, '^');
}

/* Sets c->err to "SOURCE:LINE:COL: what", the line and the caret line. */
static int fail_with(struct config_ctx *c, struct kdl_pos pos, const char *what)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "%s:%u:%u: %s", c->cfg->source, pos.line, pos.col, what);
	add_excerpt(&sb, c->text, c->len, pos);
	err_set(c->err, ERR_CONFIG, "%s", sb.buf);
	sb_fini(&sb);
	return -1;
}

/**
 * config_fail - record a configuration error at a position of the document
 * @c: the loading context
 * @pos: where the offending item starts
 * @fmt: what is wrong and what was expected
 *
 * Return: always -1.
 */
int config_fail(struct config_ctx *c, struct kdl_pos pos, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fail_with(c, pos, what);
}

static int parse_text(struct config *cfg, const char *text, size_t len, const char *source,
                      struct err *err)
{
	struct kdl_parse_opts opts = { .version = KDL_DETECT, .source = NULL };
	struct config_ctx c = { .cfg = cfg, .text = text, .len = len, .err = err };
	struct kdl_document doc;
	struct kdl_pos where;
	struct err kerr;
	const char *what;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->call_depth = CONFIG_DEFAULT_CALL_DEPTH;
	cfg->backtrace_depth = CONFIG_DEFAULT_BACKTRACE_DEPTH;
	cfg->source = xstrdup(source);
	r = kdl_parse(&doc, text, len, &opts, &where, &kerr);
	if (r) {
		/* the reader's message is "LINE:COL: what"; ours names the source too */
		what = strstr(kerr.msg, ": ");
		fail_with(&c, where, what ? what + 2 : kerr.msg);
	} else {
		c.version = doc.version;
		r = config_apply(&c, &doc);
	}
	kdl_document_fini(&doc);
	if (r) {
		config_fini(cfg);
		return -1;
	}
	cfg->text = xmalloc(len + 1);
	memcpy(cfg->text, text, len);
	cfg->text[len] = '\0';
	return 0;
}

int config_parse(struct config *cfg, const char *text, const char *source, struct err *err)
{
	return parse_text(cfg, text, strlen(text), source, err);
}

static char *read_file(const char *path, size_t *len, struct err *err)
{
	struct strbuf sb;
	char buf[4096], *data;
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return err_sys(err, ERR_IO, "cannot open config file '%s'", path), NULL;
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_addn(&sb, buf, n);
	if (ferror(f)) {
		err_sys(err, ERR_IO, "cannot read config file '%s'", path);
		fclose(f);
		sb_fini(&sb);
		return NULL;
	}
	fclose(f);
	*len = sb.len;
	data = sb_detach(&sb);
	return data;
}

/* Inline KDL has spaces, quotes or braces; a mistyped path has none of those. */
static bool looks_like_path(const char *arg)
{
	size_t n = strlen(arg);

	if (n > 4 && !strcmp(arg + n - 4, ".kdl"))
		return true;
	return strchr(arg, '/') && !strpbrk(arg, " \t\r\n\"{}");
}

int config_load(struct config *cfg, const char *arg, struct err *err)
{
	struct stat st;
	size_t len;
	char *text;
	int r, found;

	memset(cfg, 0, sizeof(*cfg));
	found = stat(arg, &st) == 0;
	if (found && S_ISREG(st.st_mode)) {
		text = read_file(arg, &len, err);
		if (!text)
			return -1;
		r = parse_text(cfg, text, len, arg, err);
		free(text);
		return r;
	}
	if (!looks_like_path(arg))
		return config_parse(cfg, arg, "<inline>", err);
	if (found)
		return err_set(err, ERR_IO, "config file '%s' is not a regular file", arg);
	if (errno == ENOENT || errno == ENOTDIR)
		return err_set(err, ERR_IO, "config file '%s' not found", arg);
	return err_sys(err, ERR_IO, "cannot access config file '%s'", arg);
}

void config_fini(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_scopes; i++) {
		free(cfg->scopes[i].symbol);
		free(cfg->scopes[i].binary);
	}
	free(cfg->scopes);
	free(cfg->source);
	free(cfg->text);
	memset(cfg, 0, sizeof(*cfg));
}
