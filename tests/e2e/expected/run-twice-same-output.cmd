$ nosco run -c 'trace "main" binary="hello" call-depth=0' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 1 call, 0 instructions; the program exited with code 0
exit 0
$ nosco run -c 'trace "main" binary="hello" call-depth=1' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 2 calls, 7 instructions; the program exited with code 0
exit 0
$ nosco dump -i {out} calls
stdout| 0  tid=<T1>  depth=1    insns=7  calls=1  main
stdout| 1  tid=<T1>  depth=2    insns=-  calls=0    puts@plt
exit 0
