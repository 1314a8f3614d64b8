/* "Did you mean" candidates for a symbol name that was not found. See image.h. */
#include <stdlib.h>
#include <string.h>

#include "sym/internal.h"
#include "util/near.h"
#include "util/xalloc.h"

size_t sym_image_near_names(struct sym_image *img, const char *name, const char **out, size_t max)
{
	VEC(const char *) names = { 0 };
	struct near_match *m;
	const char *last = NULL;
	size_t n, i;

	if (sym_image_load_symbols(img, NULL) < 0 || !max)
		return 0;
	/* by_name is sorted: each distinct name once */
	for (i = 0; i < img->by_name.len; i++) {
		const char *cand = img->syms.data[img->by_name.data[i]].raw;

		if (!last || strcmp(last, cand))
			vec_push(&names, cand);
		last = cand;
	}
	m = xcalloc(max, sizeof(*m));
	n = near_rank(name, names.data, names.len, m, max);
	for (i = 0; i < n; i++)
		out[i] = m[i].name;
	free(m);
	vec_free(&names);
	return n;
}
