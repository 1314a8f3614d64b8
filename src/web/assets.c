/*
 * The page's files, embedded in nosco when it is built (the assembler's
 * .incbin reads them from src/web/page/; the Makefile rebuilds this file
 * when one changes), so the viewer needs nothing on disk and no network.
 */
#include <string.h>

#include "web/internal.h"

/* EMBED(sym, file): sym and sym_end around the file's bytes, in .rodata. */
#define EMBED(sym, file)                                                                           \
	__asm__(".section .rodata\n"                                                               \
	        ".global " #sym "\n"                                                               \
	        ".hidden " #sym "\n" #sym ":\n"                                                    \
	        ".incbin \"src/web/page/" file "\"\n"                                              \
	        ".global " #sym "_end\n"                                                           \
	        ".hidden " #sym "_end\n" #sym "_end:\n"                                            \
	        ".previous\n");                                                                    \
	extern const char sym[], sym##_end[]

EMBED(web_index_html, "index.html");
EMBED(web_app_js, "app.js");
EMBED(web_style_css, "style.css");

bool web_asset(const char *url, struct web_asset *out)
{
	static const char *const urls[] = { "/", "/app.js", "/style.css" };
	static const char *const types[] = { "text/html; charset=utf-8",
		                             "text/javascript; charset=utf-8",
		                             "text/css; charset=utf-8" };
	const char *starts[] = { web_index_html, web_app_js, web_style_css };
	const char *ends[] = { web_index_html_end, web_app_js_end, web_style_css_end };
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (!strcmp(url, urls[i])) {
			*out = (struct web_asset){ urls[i], types[i], starts[i],
				                   (size_t)(ends[i] - starts[i]) };
			return true;
		}
	}
	return false;
}
