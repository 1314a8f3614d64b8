/*
 * The export formats, by name: `nosco export -f NAME`. The usage text of
 * the command lists this table (export.h says how to add a format).
 */
#include <string.h>

#include "export/export.h"

const struct export_format export_formats[] = {
	{ "chrome", "Trace Event JSON: Perfetto UI, chrome://tracing, speedscope", export_chrome,
	  EXPORT_FLAG_CLOCK },
	{ "folded", "folded stacks by own instructions: flamegraph.pl, inferno, speedscope",
	  export_folded, 0 },
	{ "drcov", "DynamoRIO coverage: Lighthouse, lightkeeper, bncov (--hits: hit counts)",
	  export_drcov, EXPORT_FLAG_HITS },
	{ "callgrind", "instruction costs and calls: KCachegrind, callgrind_annotate",
	  export_callgrind, EXPORT_FLAG_LINES },
	{ "uftrace", "a uftrace.data directory: uftrace replay, report, graph, tui", export_uftrace,
	  EXPORT_FLAG_CLOCK | EXPORT_FLAG_FILE | EXPORT_FLAG_DIR },
	{ "perfetto", "Perfetto's protobuf trace: Perfetto UI, trace_processor", export_perfetto,
	  EXPORT_FLAG_CLOCK | EXPORT_FLAG_FILE },
};

const size_t export_format_count = sizeof(export_formats) / sizeof(export_formats[0]);

const struct export_format *export_find(const char *name)
{
	size_t i;

	for (i = 0; i < export_format_count; i++)
		if (!strcmp(export_formats[i].name, name))
			return &export_formats[i];
	return NULL;
}
