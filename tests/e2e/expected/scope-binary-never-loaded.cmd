$ nosco run -c 'trace "main" binary="no-such-binary"' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: error: <inline>:1:1: scope "main": no binary named "no-such-binary" was loaded (loaded: hello, ld-linux-x86-64.so.2, linux-vdso.so.1, libc.so.6)
exit 125
