$ nosco run -c 'trace main binary=hello' -o {out} -- {fx:hello}
stdout| Hello, world!
stderr| nosco: <TMP>/out.trace: 1 thread, 43 calls, 2653 instructions; the program exited with code 0
exit 0
