$ nosco run -c 'trace "main" binary="hello" call-depth=0' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 1 call, 0 instructions; the program exited with code 0
exit 0
$ nosco export -i {out} -f chrome 999
stderr| nosco: error: <TMP>/out.trace has no call 999 (the calls view lists them)
exit 1
$ nosco export -i {out} -f chrome --thread <T1>
stderr| nosco: error: <TMP>/out.trace has no thread with Linux thread id 999999999
exit 1
$ nosco export -i {tmp}/notatrace.txt -f chrome
stderr| nosco: error: <TMP>/notatrace.txt is not a nosco trace (not an SQLite database)
exit 1
$ nosco export -i {out} -f chrome -o {out}
stderr| nosco export: -o <TMP>/out.trace would overwrite the trace being read
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f chrome -o {tmp}
stderr| nosco export: <TMP> is a directory: the output can be a regular file, a FIFO or a character device
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {out} -f chrome -o /proc/nosco-e2e.json
stderr| nosco: error: cannot write /proc/nosco-e2e.json: No such file or directory
exit 1
$ nosco export -i {out} -f drcov --hits -o /dev/null
stderr| nosco export: --hits needs -o OUT to be a file, not /dev/null
stderr| Try 'nosco export --help' for more information.
exit 2
