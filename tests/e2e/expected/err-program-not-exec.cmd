$ nosco run -c '' -o {out} -- {tmp}/notatrace.txt
stderr| nosco: error: <TMP>/notatrace.txt: permission denied (not executable)
exit 126
