#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util/populate.h"
#include "util/xalloc.h"

/* Chunks are huge-page sized and aligned: a code cache's blocks fill tens of them. */
#define ARENA_CHUNK ((size_t)2 << 20)
/*
 * The first two chunks stay on small pages. A narrowed trace touches a
 * few hundred KiB of them; a huge page is 2 MiB to clear, and where the
 * kernel must compact memory to find one (THP defrag "madvise") a first
 * fault took 3 to 4 ms. Python's interpreter loop traced at depth 1
 * (2,400 blocks) fills a little more than one chunk: its second one on a
 * huge page cost 2 to 3 ms of clearing on this VM (stop 46), whose host
 * backs fresh memory at its first touch. A full trace fills tens of
 * chunks, the others on huge pages.
 */
#define ARENA_SMALL_BYTES ((size_t)4 << 20)
/*
 * On small pages, small objects' pages are made present this much ahead
 * of them (about 1.5 us a page, against 10 for a page fault here); a big
 * object (a sparse table) is left to fault in the pages it touches.
 */
#define ARENA_PRESENT_STEP ((size_t)256 << 10)
#define ARENA_BIG          ((size_t)64 << 10)

/*
 * map_chunk - size zeroed bytes (a multiple of ARENA_CHUNK) on a chunk
 * boundary, huge pages asked for when @huge (one page fault per chunk
 * rather than one per 4 KiB where the system allows it) and refused
 * otherwise. NULL if the mapping failed.
 */
static void *map_chunk(size_t size, bool huge)
{
	char *p = mmap(NULL, size + ARENA_CHUNK, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (ARENA_CHUNK - (uintptr_t)p % ARENA_CHUNK) % ARENA_CHUNK;
	if (head)
		munmap(p, head);
	munmap(p + head + size, ARENA_CHUNK - head);
	/* Refused too: where THP is "always", a small chunk's first fault would get one. */
	madvise(p + head, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p + head;
}

void arena_init(struct arena *a)
{
	a->chunks.data = NULL;
	a->chunks.len = a->chunks.cap = 0;
	a->next = NULL;
	a->left = 0;
	a->mapped = 0;
	a->present = NULL;
}

/* present_ahead - the pages of the object just allocated, of size bytes, present and some after */
static void present_ahead(struct arena *a, size_t size)
{
	char *end = a->next + a->left;
	size_t n;

	if (size >= ARENA_BIG) {
		a->present = (char *)((uintptr_t)a->next & ~(uintptr_t)4095);
		return;
	}
	n = (size_t)(end - a->present) < ARENA_PRESENT_STEP ? (size_t)(end - a->present)
	                                                    : ARENA_PRESENT_STEP;
	populate_write(a->present, n);
	a->present += n;
}

void arena_fini(struct arena *a)
{
	struct arena_chunk *c;

	vec_foreach (&a->chunks, c) {
		if (c->mapped)
			munmap(c->p, c->size);
		else
			free(c->p);
	}
	vec_free(&a->chunks);
	arena_init(a);
}

void *arena_zalloc(struct arena *a, size_t size)
{
	size_t align = alignof(max_align_t);
	struct arena_chunk c;
	bool small;

	size = (size + align - 1) & ~(align - 1);
	if (size > a->left) {
		/* Fresh chunks come zeroed; an object bigger than one gets its own. */
		c.size = (size + ARENA_CHUNK - 1) / ARENA_CHUNK * ARENA_CHUNK;
		small = a->mapped < ARENA_SMALL_BYTES;
		c.p = map_chunk(c.size, !small);
		c.mapped = c.p != NULL;
		if (!c.p)
			c.p = xcalloc(1, c.size);
		vec_push(&a->chunks, c);
		a->mapped += c.size;
		if (size > ARENA_CHUNK)
			return c.p;
		a->next = c.p;
		a->left = c.size;
		a->present = small && c.mapped ? c.p : c.p + c.size;
	}
	c.p = a->next;
	a->next += size;
	a->left -= size;
	if (a->next > a->present)
		present_ahead(a, size);
	return c.p;
}
