$ nosco run -c 'call-depth 0' -o {tmp}/notatrace.txt -- {fx:hello}
stderr| nosco: error: <TMP>/notatrace.txt exists and is not a nosco trace (use --force to replace it)
exit 125
