$ nosco run -c 'trace "main' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:7: unterminated string (missing '"')
stderr| trace "main
stderr|       ^
exit 125
