$ nosco export --help
stdout| Usage: nosco export -i FILE -f FORMAT [-o OUT] [--thread TID] [--depth N]
stdout|                     [--clock insns|wall] [--hits] [-n] [--sysroot DIR] [CALL_ID]
stdout| 
stdout| Write a trace (all of it, or the subtree of CALL_ID) in the file format of
stdout| another tool. docs/export.md says which tool reads which format.
stdout| 
stdout| Formats:
stdout|   chrome     Trace Event JSON: Perfetto UI, chrome://tracing, speedscope
stdout|   folded     folded stacks by own instructions: flamegraph.pl, inferno, speedscope
stdout|   drcov      DynamoRIO coverage: Lighthouse, lightkeeper, bncov (--hits: hit counts)
stdout|   callgrind  instruction costs and calls: KCachegrind, callgrind_annotate
stdout|   uftrace    a uftrace.data directory: uftrace replay, report, graph, tui
stdout|   perfetto   Perfetto's protobuf trace: Perfetto UI, trace_processor
stdout| 
stdout| Options:
stdout|   -i, --input FILE      the trace file to read
stdout|   -f, --format FORMAT   the format to write
stdout|   -o, --output OUT      write to OUT instead of standard output
stdout|       --thread TID      only the calls of this thread (Linux thread id)
stdout|       --depth N         only N levels of calls below each root call; the
stdout|                         instructions of deeper calls count in their caller
stdout|       --clock CLOCK     the time axis: insns (default; one tick per
stdout|                         instruction) or wall (the recorded times)
stdout|       --hits            drcov: also write OUT.hits, each block's hit count
stdout|   -n, --no-symbols      raw addresses, do not read the traced binaries
stdout|       --sysroot DIR     look for the traced binaries under DIR
stdout|   -h, --help            show this help
exit 0
