$ nosco run -c 'trace "main"' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:1: 'trace' needs a binary="NAME" property: the file name of the executable or library that defines 'main'
stderr| trace "main"
stderr| ^
exit 125
