$ nosco run -c 'trace "mian" binary="hello"' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:1: scope "mian" binary="hello": no function "mian" in <BUILD>/tests/e2e/fixtures/nopie/hello (did you mean "main"?)
exit 125
$ nosco dump -i {out} events
stderr| nosco: error: cannot open <TMP>/out.trace: No such file or directory
exit 1
