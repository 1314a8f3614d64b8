$ nosco run -c '' -o {out}
stderr| nosco run: missing PROGRAM to run (or --pid PID to attach to)
stderr| Try 'nosco run --help' for more information.
exit 2
