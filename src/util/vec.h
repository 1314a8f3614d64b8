/*
 * Growable arrays. A vector is a struct with `data`, `len` and `cap`
 * members, declared with VEC(type); the macros keep the growth policy in
 * one place.
 */
#ifndef NOSCO_UTIL_VEC_H
#define NOSCO_UTIL_VEC_H

#include <stddef.h>

#include "util/xalloc.h"

#define VEC(type)                                                                                  \
	struct {                                                                                   \
		type *data;                                                                        \
		size_t len;                                                                        \
		size_t cap;                                                                        \
	}

/* vec_reserve - make room for at least n more elements */
#define vec_reserve(v, n)                                                                          \
	do {                                                                                       \
		if ((v)->len + (n) > (v)->cap) {                                                   \
			size_t vec_cap_ = (v)->cap ? (v)->cap * 2 : 8;                             \
			while (vec_cap_ < (v)->len + (n))                                          \
				vec_cap_ *= 2;                                                     \
			(v)->data = xreallocarray((v)->data, vec_cap_, sizeof(*(v)->data));        \
			(v)->cap = vec_cap_;                                                       \
		}                                                                                  \
	} while (0)

#define vec_push(v, value)                                                                         \
	do {                                                                                       \
		vec_reserve(v, 1);                                                                 \
		(v)->data[(v)->len++] = (value);                                                   \
	} while (0)

#define vec_last(v) ((v)->data[(v)->len - 1])

#define vec_free(v)                                                                                \
	do {                                                                                       \
		free((v)->data);                                                                   \
		(v)->data = NULL;                                                                  \
		(v)->len = (v)->cap = 0;                                                           \
	} while (0)

#define vec_foreach(v, it) for ((it) = (v)->data; (it) < (v)->data + (v)->len; (it)++)

#endif
