$ nosco run -c 'trace main binary=hello call-depth=1' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 2 calls, 7 instructions; the program exited with code 0
exit 0
