$ nosco run -c 'trace "b" binary="calls" call-depth=0; trace "b" binary="calls" call-depth=2' -o {out} -- {fx:calls}
stderr| nosco: error: <inline>:1:40: duplicate trace of 'b' in 'calls' (the first one is on line 1)
stderr| trace "b" binary="calls" call-depth=0; trace "b" binary="calls" call-depth=2
stderr|                                        ^
exit 125
