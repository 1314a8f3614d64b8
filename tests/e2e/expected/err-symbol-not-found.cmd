$ nosco run -c 'trace "no_such_function" binary="hello"' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:1: scope "no_such_function" binary="hello": no function "no_such_function" in <BUILD>/tests/e2e/fixtures/nopie/hello
exit 125
