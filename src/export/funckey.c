/*
 * A function's identity for the formats that keep one entry per function
 * (uftrace's symbol files, perfetto's interned names): its entry address
 * and the binary mapped there when it was called, as the name the views
 * print depends on nothing else.
 */
#include "export/export.h"

uint64_t export_func_key(struct export_ctx *x, const struct reader_call *c, int64_t *bin)
{
	const struct view_binary *vb = view_sym_binary_at(&x->syms, c->addr, c->time_start);
	int64_t b = vb ? vb - x->syms.bins.data : -1;

	if (bin)
		*bin = b;
	if (b < 0 || b >= 0xffff || c->addr >= 1ULL << 48)
		return 0;
	return c->addr ^ (uint64_t)(b + 1) << 48;
}
