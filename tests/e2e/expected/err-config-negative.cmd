$ nosco run -c 'call-depth -1' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:12: call-depth must not be negative, found -1
stderr| call-depth -1
stderr|            ^
exit 125
