/* "Did you mean" ranking: see near.h. */
#include "util/near.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/vec.h"

#define NEAR_MAX_LEN 256 /* longer names are compared by substring only */

/* Score bands: lower is closer. */
enum {
	NEAR_CASE = 1,
	NEAR_SUBSTRING = 1000, /* + length difference */
	NEAR_EDIT = 100000,    /* + edit distance */
};

size_t near_edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best, d;
	size_t rows[3][NEAR_MAX_LEN + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;

	if (la > NEAR_MAX_LEN || lb > NEAR_MAX_LEN || (la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = best = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > limit)
			return limit + 1;
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb] > limit ? limit + 1 : prev[lb];
}

static size_t score_of(const char *word, size_t lw, const char *cand)
{
	size_t lc = strlen(cand), limit = lw / 3 > 1 ? lw / 3 : 1, d;

	if (lc == lw && !strcasecmp(word, cand))
		return NEAR_CASE;
	if ((lw >= 3 && strstr(cand, word)) || (lc >= 3 && strstr(word, cand)))
		return NEAR_SUBSTRING + (lc > lw ? lc - lw : lw - lc);
	d = near_edit_distance(word, cand, limit);
	return d <= limit ? NEAR_EDIT + d : 0;
}

static int cmp_match(const void *pa, const void *pb)
{
	const struct near_match *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return strcmp(a->name, b->name);
}

size_t near_rank(const char *word, const char *const *cands, size_t n, struct near_match *out,
                 size_t max)
{
	VEC(struct near_match) m = { 0 };
	size_t lw = strlen(word), i, k;

	if (!lw)
		return 0;
	for (i = 0; i < n; i++) {
		size_t score;

		if (!strcmp(cands[i], word))
			continue;
		score = score_of(word, lw, cands[i]);
		if (score)
			vec_push(&m, ((struct near_match){ cands[i], score }));
	}
	if (m.len)
		qsort(m.data, m.len, sizeof(*m.data), cmp_match);
	for (k = 0; k < max && k < m.len; k++)
		out[k] = m.data[k];
	vec_free(&m);
	return k;
}

const char *near_closest(const char *word, const char *const *cands, size_t n)
{
	struct near_match m[2];
	size_t found = near_rank(word, cands, n, m, 2);

	if (!found || (found == 2 && m[0].score == m[1].score))
		return NULL;
	return m[0].name;
}
