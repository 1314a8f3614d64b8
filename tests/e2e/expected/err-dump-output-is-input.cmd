$ nosco run -c 'call-depth 0' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 0 calls, 0 instructions; the program exited with code 0
exit 0
$ nosco dump -i {out} -o {out} events
stderr| nosco dump: -o <TMP>/out.trace would overwrite the trace being read
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump -i {out} -o {tmp}/threads.txt thread-info
exit 0
$ nosco dump -i {out} -o {tmp}/threads.txt call-info 99
stderr| nosco: error: <TMP>/out.trace has no call 99 (it has no calls)
exit 1
$ nosco dump -i {tmp}/threads.txt events
stderr| nosco: error: <TMP>/threads.txt is not a nosco trace (not an SQLite database)
exit 1
