$ nosco dump --help
stdout| Usage: nosco dump -i FILE [-o OUT] [-n] [--sysroot DIR] VIEW [VIEW-OPTIONS]
stdout| 
stdout| Show what a trace file holds.
stdout| 
stdout| Views:
stdout|   thread-info [TID]         the threads, their root calls and how they ended
stdout|   call-info CALL_ID         one call and the state changes inside it
stdout|   call-trace CALL_ID        the tree of calls below a call
stdout|   exec-trace CALL_ID        the instructions a call executed, as assembly
stdout|   binary-info [SUFFIX]      the binaries that were loaded
stdout|   calls                     one line per call, to find call ids
stdout|   report                    one line per function: calls, instructions, time
stdout|   graph FUNCTION            a function's callers and callees
stdout|   events                    every record of the file, in order
stdout| 
stdout| Options:
stdout|   -i, --input FILE      the trace file to read
stdout|   -o, --output OUT      write to OUT instead of standard output
stdout|   -n, --no-symbols      show raw addresses, do not read the traced binaries
stdout|       --sysroot DIR     look for the traced binaries under DIR
stdout|       --lines           add source file:line from DWARF where there is one
stdout|   -h, --help            show this help
stdout| 
stdout| Run 'nosco dump VIEW --help' for the options of a view.
exit 0
$ nosco dump events --help
stdout| Usage: nosco dump -i FILE events
stdout| 
stdout| Print every record of the trace file, one per line: metadata, argv,
stdout| binaries, scopes, threads, events, calls, then each thread's instructions.
exit 0
$ nosco dump thread-info --help
stdout| Usage: nosco dump -i FILE thread-info [--addresses] [--backtrace] [--stats]
stdout|                                       [TID]
stdout| 
stdout| The threads (or the threads whose Linux thread id is TID): who created
stdout| each one, its root calls, what happened in it outside traced calls and
stdout| how it ended. KDL output, described in docs/views.md.
stdout| 
stdout| Options:
stdout|       --addresses    add the address of every call and frame
stdout|       --backtrace    add where each root call and event was reached from
stdout|       --stats        add each thread's calls, root calls and instructions
stdout|   -h, --help         show this help
exit 0
$ nosco dump call-info --help
stdout| Usage: nosco dump -i FILE call-info [--addresses] [--backtrace] CALL_ID
stdout| 
stdout| One call: its thread, and the state changes (binaries, threads, signals)
stdout| made inside it but not in the calls it made. KDL output.
stdout| 
stdout| Options:
stdout|       --addresses    add the address of the call and of its frames
stdout|       --backtrace    add the chain of calls that led to it
stdout|   -h, --help         show this help
exit 0
$ nosco dump call-trace --help
stdout| Usage: nosco dump -i FILE call-trace [--depth N] [--addresses] [--backtrace] CALL_ID
stdout| 
stdout| The tree of calls made below CALL_ID, in the order they ran, with the
stdout| state changes of each call. KDL output.
stdout| 
stdout| Options:
stdout|       --depth N      show calls down to N levels below CALL_ID (0: only
stdout|                      CALL_ID and its own state changes)
stdout|       --addresses    add the entry address of every call
stdout|       --backtrace    add the chain of calls that led to CALL_ID
stdout|   -h, --help         show this help
exit 0
$ nosco dump exec-trace --help
stdout| Usage: nosco dump -i FILE exec-trace [--addresses] [--depth N] [--range FROM..TO]
stdout|                                      CALL_ID
stdout| 
stdout| The instructions CALL_ID executed, as a GNU as source file in Intel
stdout| syntax; the calls it made and its state changes are comments.
stdout| 
stdout| Options:
stdout|       --addresses    start each line with the instruction's address
stdout|       --depth N      also show the instructions of the calls made down to
stdout|                      N levels below CALL_ID, indented, in the order they ran
stdout|       --range FROM..TO  only instructions FROM to TO - 1 of the call (0 is
stdout|                      its first; those of the calls it made count); FROM..
stdout|                      to its end
stdout|   -h, --help         show this help
exit 0
$ nosco dump binary-info --help
stdout| Usage: nosco dump -i FILE binary-info [--addresses] [--backtrace] [SUFFIX]
stdout| 
stdout| The binaries that were mapped (those whose path ends with the path
stdout| components SUFFIX, e.g. libc.so.6), and the calls that loaded and
stdout| unloaded them. KDL output.
stdout| 
stdout| Options:
stdout|       --addresses    add where in the calls the loads and unloads happened
stdout|       --backtrace    add where those calls were reached from
stdout|   -h, --help         show this help
exit 0
$ nosco dump calls --help
stdout| Usage: nosco dump -i FILE calls [--thread TID] [--symbol GLOB] [--min-insns N]
stdout|                                 [--limit N]
stdout| 
stdout| One line per call, in the order the calls began: its id, Linux thread
stdout| id, depth, number of instructions of its own ('-' when it was past the
stdout| depth limit), number of calls it made, and its symbol, indented by
stdout| depth.
stdout| 
stdout| Options:
stdout|       --thread TID   only the calls of the thread(s) with this Linux tid
stdout|       --symbol GLOB  only the calls whose symbol matches GLOB (fnmatch(3),
stdout|                      e.g. 'str*' or '*@plt')
stdout|       --min-insns N  only the calls with N instructions of their own or more
stdout|       --limit N      stop after N lines
stdout|   -h, --help         show this help
exit 0
$ nosco dump report --help
stdout| Usage: nosco dump -i FILE report [--sort calls|self|total|wall] [--thread TID]
stdout| 
stdout| One line per function (symbol), like uftrace report: the number of calls
stdout| to it, the instructions of its calls with those of their callees (total),
stdout| its own instructions (self) and the wall time of its calls. Calls of a
stdout| function made inside another call of it count once in total and wall.
stdout| 
stdout| Options:
stdout|       --sort KEY     sort by calls, self, total (the default) or wall,
stdout|                      largest first
stdout|       --thread TID   only the calls of the thread(s) with this Linux tid
stdout|   -h, --help         show this help
exit 0
$ nosco dump graph --help
stdout| Usage: nosco dump -i FILE graph [--thread TID] FUNCTION
stdout| 
stdout| FUNCTION (a symbol as the views print it: main, puts@plt, libc.so.6+<A1>)
stdout| with the functions that called it and those it called, each with the
stdout| number of calls and their instructions, like uftrace graph.
stdout| 
stdout| Options:
stdout|       --thread TID   only the calls of the thread(s) with this Linux tid
stdout|   -h, --help         show this help
exit 0
