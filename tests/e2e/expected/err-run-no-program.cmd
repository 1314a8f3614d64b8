$ nosco run -c '' -o {out}
stderr| nosco run: missing PROGRAM to run
stderr| Try 'nosco run --help' for more information.
exit 2
