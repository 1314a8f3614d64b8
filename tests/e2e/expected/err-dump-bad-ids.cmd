$ nosco run -c 'trace "main" binary="hello" call-depth=0' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 1 call, 0 instructions; the program exited with code 0
exit 0
$ nosco dump -i {out} call-info 999
stderr| nosco: error: <TMP>/out.trace has no call 999 (its only call is 0)
exit 1
$ nosco dump -i {out} call-trace 999
stderr| nosco: error: <TMP>/out.trace has no call 999 (its only call is 0)
exit 1
$ nosco dump -i {out} exec-trace abc
stderr| nosco dump exec-trace: invalid call id 'abc' (call ids are numbers from 0)
stderr| Try 'nosco dump exec-trace --help' for more information.
exit 2
$ nosco dump -i {out} call-info -1
stderr| nosco dump call-info: invalid call id '-1'
stderr| Try 'nosco dump call-info --help' for more information.
exit 2
$ nosco dump -i {out} thread-info 999999999
stderr| nosco: error: <TMP>/out.trace has no thread with Linux thread id 999999999
exit 1
$ nosco dump -i {out} binary-info no-such-lib.so
stderr| nosco: error: <TMP>/out.trace has no binary whose path ends with 'no-such-lib.so'
exit 1
