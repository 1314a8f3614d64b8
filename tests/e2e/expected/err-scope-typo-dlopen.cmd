$ nosco run -c 'trace "ilogbx" binary="libm.so.6"' -o {out} -- {fx:dlopen} 2>&1
output| nosco: error: <inline>:1:1: scope "ilogbx" binary="libm.so.6": no function "ilogbx" in /usr/lib/x86_64-linux-gnu/libm.so.6 (did you mean "ilogb", "logb", "log", "ilogbf", "ilogbl"?)
exit 125
$ nosco dump -i {out} events
stderr| nosco: error: cannot open <TMP>/out.trace: No such file or directory
exit 1
