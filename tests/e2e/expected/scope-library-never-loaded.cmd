$ nosco run -c 'trace "ilogb" binary="libm.so.6"' -o {out} -- {fx:hello} 2>&1
output| Hello, world!
output| nosco: warning: <inline>:1:1: scope "ilogb" binary="libm.so.6": no binary of that name was loaded (did you mean "libc.so.6"?); nothing was traced for it
output| nosco: <TMP>/out.trace: 1 thread, 0 calls, 0 instructions; the program exited with code 0
exit 0
