$ nosco run -c 'trace "main" binary="hello" call-depth=0' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 1 call, 0 instructions; the program exited with code 0
exit 0
$ nosco export -i {out} -f uftrace
stderr| nosco export: uftrace needs -o OUT
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f perfetto
stderr| nosco export: perfetto needs -o OUT
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f uftrace -o {tmp}/notatrace.txt
stderr| nosco export: <TMP>/notatrace.txt exists and is not a directory
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f uftrace -o {tmp}
stderr| nosco export: <TMP> is a directory that holds other files than a uftrace data directory; not replacing it
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f uftrace --clock cpu -o {tmp}/u.data
stderr| nosco export: invalid clock 'cpu' (insns or wall)
stderr| Try 'nosco export --help' for more information.
exit 2
