$ nosco run -c 'trace "pritnf" binary="libc.so.6"' -o {out} -- {fx:hello} 2>&1
output| nosco: error: <inline>:1:1: scope "pritnf" binary="libc.so.6": no function "pritnf" in /usr/lib/x86_64-linux-gnu/libc.so.6 (did you mean "printf", "dprintf", "fprintf", "sprintf", "vprintf"?)
exit 125
$ nosco dump -i {out} events
stderr| nosco: error: cannot open <TMP>/out.trace: No such file or directory
exit 1
