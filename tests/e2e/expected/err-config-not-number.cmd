$ nosco run -c 'call-depth "three"' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:12: call-depth must be a non-negative integer, found a string ("three")
stderr| call-depth "three"
stderr|            ^
exit 125
