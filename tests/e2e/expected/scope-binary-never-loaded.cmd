$ nosco run -c 'trace "main" binary="no-such-binary"' -o {out} -- {fx:hello} 2>&1
output| nosco: warning: <inline>:1:1: scope "main" binary="no-such-binary": no binary of that name is loaded, nor a library of that name where the dynamic linker looks (loaded: hello, ld-linux-x86-64.so.2, linux-vdso.so.1, libc.so.6); the scope applies only if the program loads such a binary by its path or executes one
output| Hello, world!
output| nosco: <TMP>/out.trace: 1 thread, 0 calls, 0 instructions; the program exited with code 0
exit 0
$ nosco dump -i {out} calls
exit 0
