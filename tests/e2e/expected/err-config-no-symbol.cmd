$ nosco run -c 'trace binary="hello"' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:1: 'trace' needs the symbol to trace as its argument (write: trace "main" binary="prog")
stderr| trace binary="hello"
stderr| ^
exit 125
