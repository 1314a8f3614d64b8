/*
 * "Did you mean" suggestions: which of a set of names are close to one
 * that was not found. Shared by configuration errors (node names), scope
 * errors (symbols, binary names) and anything else that names things.
 */
#ifndef NOSCO_UTIL_NEAR_H
#define NOSCO_UTIL_NEAR_H

#include <stddef.h>

struct near_match {
	const char *name;
	size_t score; /* lower is closer */
};

/**
 * near_edit_distance - edit distance counting an adjacent swap as one edit
 * @limit: stop early: any distance above limit is returned as limit + 1
 */
size_t near_edit_distance(const char *a, const char *b, size_t limit);

/**
 * near_rank - the names closest to word, closest first
 * @cands: candidate names (duplicates are the caller's business)
 * @out: receives up to @max matches
 *
 * Close means, from closest: equal ignoring case; one contains the other
 * (for words of 3 or more characters: "bin" for "binary"); within an edit
 * distance of a third of the word's length (at least 1). Ties go in name
 * order. Names equal to word are not suggested.
 *
 * Return: the number of matches stored.
 */
size_t near_rank(const char *word, const char *const *cands, size_t n, struct near_match *out,
                 size_t max);

/**
 * near_closest - the one name word was most likely meant to be
 *
 * Return: the closest of @cands by near_rank(), or NULL when none is close
 * or two are equally close (guessing one would mislead half the time).
 */
const char *near_closest(const char *word, const char *const *cands, size_t n);

#endif
