$ nosco run --help
stdout| Usage: nosco run -c CONFIG -o FILE [OPTIONS] [--] PROGRAM [ARGS...]
stdout|        nosco run -c CONFIG -o FILE [OPTIONS] --pid PID [--duration SECONDS]
stdout| 
stdout| Run PROGRAM under the tracer and write what it did to the trace file FILE;
stdout| or attach to the running process PID, trace it until Ctrl-C, SECONDS or its
stdout| end, and detach, leaving it running as it was.
stdout| 
stdout| Options:
stdout|   -c, --config CONFIG   a configuration file, or the configuration itself as
stdout|                         KDL text (e.g. 'call-depth 3' or
stdout|                         'trace "main" binary="echo"'); see docs/config.md
stdout|   -o, --output FILE     the trace file to write; an existing file is replaced
stdout|                         only if it is a nosco trace
stdout|   -f, --force           replace FILE even if it is not a nosco trace
stdout|   -e, --engine ENGINE   how to trace: 'dbt' (a code cache, the default,
stdout|                         docs/engine.md) or 'step' (single-stepping, the
stdout|                         reference)
stdout|       --cpu WHERE       where nosco and the program run: wherever the OS
stdout|                         puts them ('any', the default: the program sees the
stdout|                         CPUs it would see without nosco), or pinned to one
stdout|                         CPU ('same', faster for --engine step, but the
stdout|                         program sees one CPU) or two ('split')
stdout|   -p, --pid PID         attach to the running process PID instead of
stdout|                         starting a program (docs/cli.md)
stdout|   -d, --duration SECONDS  with --pid: detach after SECONDS (a decimal
stdout|                         number); without it, at Ctrl-C or when PID ends
stdout|       --no-progress     no live progress line (shown on a terminal after a
stdout|                         second: elapsed time, instructions, calls, threads)
stdout|   -v, --verbose         say more about what happens (twice: debug output)
stdout|   -h, --help            show this help
stdout| 
stdout| nosco exits with the program's exit code, 128+N if it was killed by signal N,
stdout| 125 if nosco itself failed (a scope that cannot be resolved stops the program
stdout| and leaves no trace file), 126 if PROGRAM cannot be executed, 127 if it does
stdout| not exist, and 2 for a bad command line. With --pid: 0 once detached (the
stdout| process runs on), 127 if there is no process PID, 125 if nosco may not
stdout| trace it.
exit 0
