$ nosco run -c 'call-depth 1000000000' -o {out} -- {fx:hello}
stderr| nosco: error: <inline>:1:12: call-depth 1000000000 is too large (the maximum is 100000)
stderr| call-depth 1000000000
stderr|            ^
exit 125
