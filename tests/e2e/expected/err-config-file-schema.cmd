$ nosco run -c {src}/configs/bad-schema.kdl -o {out} -- {fx:hello}
stderr| nosco: error: <REPO>/tests/e2e/configs/bad-schema.kdl:2:12: call-depth must be a non-negative integer, found a string ("three")
stderr| call-depth "three"
stderr|            ^
exit 125
