$ nosco run -c 'frobnicate 1' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:1: unknown node 'frobnicate' (valid nodes: call-depth, backtrace-depth, engine, trace)
stderr| frobnicate 1
stderr| ^
exit 125
