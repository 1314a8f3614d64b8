$ nosco run -c 'trace "main" binary="hello" depth=1' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:29: unknown property 'depth' on 'trace', did you mean 'call-depth'? (valid properties: binary, call-depth)
stderr| trace "main" binary="hello" depth=1
stderr|                             ^
exit 125
