$ nosco run -c {src}/configs/bad-syntax.kdl -o {out} -- {fx:hello}
stderr| nosco: error: <REPO>/tests/e2e/configs/bad-syntax.kdl:3:21: expected whitespace between node entries, found 'h'
stderr| trace "main binary="hello"
stderr|                     ^
exit 125
