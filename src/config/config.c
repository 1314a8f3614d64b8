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
#include "util/near.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define EXCERPT_MAX 300 /* bytes shown of a long line under an error */

/*
 * Whether the code point at s may reach the terminal as it is; *n gets its
 * length. Not: control characters (an ESC would drive the terminal, a CR
 * rewrite the line, a NUL end the message), the invisible ones that reorder
 * or hide text (bidi controls, the BOM) and bytes that are not UTF-8. A tab
 * is shown in the excerpt, whose caret line repeats it.
 */
static bool shown_raw(const char *s, size_t len, bool tabs, size_t *n)
{
	int32_t cp;

	*n = kdl_utf8_decode(s, len, &cp);
	if (!*n) {
		*n = 1;
		return false;
	}
	if (cp == '\t')
		return tabs;
	return cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f) && cp != 0x200e && cp != 0x200f &&
	       !(cp >= 0x2028 && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069) && cp != 0xfeff;
}

/* The escape of a code point shown_raw() refuses: KDL's own where it has one. */
static void add_escape(struct strbuf *sb, const char *s, size_t n)
{
	static const char named[] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'
	};
	int32_t cp;
	size_t i;

	if (!kdl_utf8_decode(s, n, &cp)) {
		for (i = 0; i < n; i++)
			sb_addf(sb, "\\x%02x", (unsigned char)s[i]);
	} else if (cp < (int32_t)sizeof(named) && named[cp]) {
		sb_addc(sb, '\\');
		sb_addc(sb, named[cp]);
	} else {
		sb_addf(sb, "\\u{%x}", (unsigned)cp);
	}
}

/* add_unit - append the code point (or stray byte) at s as add_shown() does; return its length */
static size_t add_unit(struct strbuf *sb, const char *s, size_t len, bool tabs)
{
	size_t n;

	if (shown_raw(s, len, tabs, &n))
		sb_addn(sb, s, n);
	else
		add_escape(sb, s, n);
	return n;
}

/* add_shown - append text that goes to a terminal, escaped where shown_raw() says */
static void add_shown(struct strbuf *sb, const char *s, size_t len, bool tabs)
{
	size_t i;

	for (i = 0; i < len;)
		i += add_unit(sb, s + i, len - i, tabs);
}

/* How many bytes of s add_shown() shows in at most max bytes (escapes are longer). */
static size_t shown_prefix(const char *s, size_t len, size_t max)
{
	struct strbuf sb;
	size_t i, n;

	sb_init(&sb);
	for (i = 0; i < len; i += n) {
		n = add_unit(&sb, s + i, len - i, true);
		if (sb.len > max)
			break;
	}
	sb_fini(&sb);
	return i;
}

/* A caret under column col of the line as add_shown() showed it. */
static void add_caret(struct strbuf *sb, const char *s, size_t len, unsigned col)
{
	struct strbuf esc;
	unsigned c = 1;
	size_t i, n;

	sb_init(&esc);
	for (i = 0; i < len && c < col; i += n, c++) {
		if (shown_raw(s + i, len - i, true, &n)) {
			sb_addc(sb, s[i] == '\t' ? '\t' : ' ');
			continue;
		}
		sb_reset(&esc);
		add_escape(&esc, s + i, n);
		sb_addf(sb, "%*s", (int)esc.len, "");
	}
	sb_fini(&esc);
	for (; c < col; c++)
		sb_addc(sb, ' ');
	sb_addc(sb, '^');
}

/* The source line at pos, then a caret under its column (tabs kept so it lines up). */
static void add_excerpt(struct strbuf *sb, const char *text, size_t len, struct kdl_pos pos)
{
	size_t start, end;

	if (!kdl_source_line(text, len, pos.line, &start, &end))
		return;
	end = start + shown_prefix(text + start, end - start, EXCERPT_MAX);
	sb_addc(sb, '\n');
	add_shown(sb, text + start, end - start, true);
	sb_addc(sb, '\n');
	add_caret(sb, text + start, end - start, pos.col);
}

/*
 * Sets c->err to "SOURCE:LINE:COL: what", the line and the caret line.
 * The source's name and what (which quotes the document) are shown escaped
 * too: the message is one line, whatever they hold.
 */
static int fail_with(struct config_ctx *c, struct kdl_pos pos, const char *what)
{
	struct strbuf sb, head;

	sb_init(&head);
	sb_addf(&head, "%s:%u:%u: %s", c->cfg->source, pos.line, pos.col, what);
	sb_init(&sb);
	add_shown(&sb, head.buf, head.len, false);
	add_excerpt(&sb, c->text, c->len, pos);
	err_set(c->err, ERR_CONFIG, "%s", sb.buf);
	sb_fini(&sb);
	sb_fini(&head);
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

/* config_fail_unknown - "unknown KIND 'x', did you mean 'y'? (valid KINDS: a, b)" */
int config_fail_unknown(struct config_ctx *c, struct kdl_pos pos, const char *kind,
                        const char *kinds, const char *where, const char *word,
                        const char *const *names, size_t n)
{
	const char *guess = near_closest(word, names, n);
	char list[256] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		strcat(list, i ? ", " : "");
		strcat(list, names[i]);
	}
	if (guess)
		return config_fail(c, pos, "unknown %s '%s'%s, did you mean '%s'? (valid %s: %s)",
		                   kind, word, where, guess, kinds, list);
	return config_fail(c, pos, "unknown %s '%s'%s (valid %s: %s)", kind, word, where, kinds,
	                   list);
}

int config_unknown(const struct config *cfg, unsigned line, unsigned col, const char *kind,
                   const char *kinds, const char *word, const char *const *names, size_t n,
                   struct err *err)
{
	/* fail_with() reads only the source's name from the configuration */
	struct config_ctx c = { .cfg = &(struct config){ .source = cfg->source },
		                .text = cfg->text,
		                .len = strlen(cfg->text),
		                .err = err };

	return config_fail_unknown(&c, (struct kdl_pos){ line, col }, kind, kinds, "", word, names,
	                           n);
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

/* The messages about a config file quote its name as typed: show it escaped. */
static int escape_message(struct err *err)
{
	struct strbuf sb;

	if (!err)
		return -1;
	sb_init(&sb);
	add_shown(&sb, err->msg, strlen(err->msg), false);
	snprintf(err->msg, sizeof(err->msg), "%s", sb.buf);
	sb_fini(&sb);
	return -1;
}

/* Why arg, which looks like a path, is not a file to read (found: stat() saw it). */
static int path_error(const char *arg, bool found, struct err *err)
{
	if (found)
		return err_set(err, ERR_IO, "config file '%s' is not a regular file", arg);
	if (errno == ENOENT || errno == ENOTDIR)
		return err_set(err, ERR_IO, "config file '%s' not found", arg);
	return err_sys(err, ERR_IO, "cannot access config file '%s'", arg);
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
			return escape_message(err);
		r = parse_text(cfg, text, len, arg, err);
		free(text);
		return r;
	}
	if (!looks_like_path(arg))
		return config_parse(cfg, arg, "<inline>", err);
	path_error(arg, found, err);
	return escape_message(err);
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
	free(cfg->engine);
	memset(cfg, 0, sizeof(*cfg));
}
