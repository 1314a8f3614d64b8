/* "Did you mean" candidates for a symbol name that was not found. See image.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sym/internal.h"
#include "util/xalloc.h"

#define NEAR_MAX_LEN 256 /* longer names are compared by substring only */

/* Lower scores are closer. */
enum near_class {
	NEAR_CASE = 0,         /* equal ignoring case */
	NEAR_SUBSTRING = 1000, /* + length difference */
	NEAR_EDIT = 100000,    /* + edit distance */
};

struct near_cand {
	const char *name;
	size_t score;
};

/* Levenshtein distance, or limit + 1 as soon as it must exceed limit. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
	size_t row[NEAR_MAX_LEN + 1], best, prev, cur;

	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev + (a[i - 1] != b[j - 1]);

			cur = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			if (sub < cur)
				cur = sub;
			prev = row[j];
			row[j] = cur;
			if (cur < best)
				best = cur;
		}
		if (best > limit)
			return limit + 1;
	}
	return row[lb];
}

/* The closeness of a candidate, or 0 when it is not close at all. */
static size_t near_score(const char *name, size_t ln, const char *cand)
{
	size_t lc = strlen(cand), limit = ln / 3 > 2 ? ln / 3 : 2, d;

	if (lc == ln && !strcasecmp(name, cand))
		return NEAR_CASE + 1;
	if ((ln >= 3 && strstr(cand, name)) || (lc >= 3 && strstr(name, cand)))
		return NEAR_SUBSTRING + (lc > ln ? lc - ln : ln - lc);
	if (ln > NEAR_MAX_LEN || lc > NEAR_MAX_LEN)
		return 0;
	d = edit_distance(name, ln, cand, lc, limit);
	return d <= limit ? NEAR_EDIT + d : 0;
}

static int cmp_cand(const void *pa, const void *pb)
{
	const struct near_cand *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return strcmp(a->name, b->name);
}

size_t sym_image_near_names(struct sym_image *img, const char *name, const char **out, size_t max)
{
	VEC(struct near_cand) c = { 0 };
	size_t ln = strlen(name), n = 0;
	const char *last = NULL;

	if (sym_image_load_symbols(img, NULL) < 0 || !ln)
		return 0;
	/* by_name is sorted: each distinct name is scored once */
	for (size_t i = 0; i < img->by_name.len; i++) {
		const char *cand = img->syms.data[img->by_name.data[i]].raw;
		size_t score;

		if (last && !strcmp(last, cand))
			continue;
		last = cand;
		if (!strcmp(cand, name))
			continue;
		score = near_score(name, ln, cand);
		if (score)
			vec_push(&c, ((struct near_cand){ cand, score }));
	}
	if (c.len)
		qsort(c.data, c.len, sizeof(*c.data), cmp_cand);
	for (; n < max && n < c.len; n++)
		out[n] = c.data[n].name;
	vec_free(&c);
	return n;
}
