$ nosco run -c '' -o {out} -- no-such-program-in-path
stderr| nosco: error: no-such-program-in-path: command not found (searched PATH)
exit 127
