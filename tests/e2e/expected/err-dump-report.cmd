$ nosco run -c 'trace "main" binary="calls" call-depth=2' -o {out} -- {fx:calls}
stdout| a(2) = 12
stderr| nosco: <TMP>/out.trace: 1 thread, 6 calls, 24 instructions; the program exited with code 0
exit 0
$ nosco dump -i {out} report --sort name
stderr| nosco dump report: --sort needs calls, self, total or wall, not 'name'
stderr| Try 'nosco dump report --help' for more information.
exit 2
$ nosco dump -i {out} graph
stderr| nosco dump graph: missing FUNCTION (the report view lists them)
stderr| Try 'nosco dump graph --help' for more information.
exit 2
$ nosco dump -i {out} graph mian
stderr| nosco: error: <TMP>/out.trace has no call to a function 'mian', did you mean 'main'?
exit 1
$ nosco dump -i {out} graph zzzzzzzzzzzzzzzz
stderr| nosco: error: <TMP>/out.trace has no call to a function 'zzzzzzzzzzzzzzzz' (the report view lists them)
exit 1
$ nosco dump -i {out} report --thread <T1>
stderr| nosco: error: <TMP>/out.trace has no thread with Linux thread id 1
exit 1
$ nosco dump -i {out} graph --thread <T1> main
stderr| nosco: error: <TMP>/out.trace has no thread with Linux thread id 1
exit 1
$ nosco dump -i {out} graph main extra
stderr| nosco dump graph: unexpected argument 'extra'
stderr| Try 'nosco dump graph --help' for more information.
exit 2
