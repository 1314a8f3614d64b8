$ nosco run -o {out} -c
stderr| nosco run: option '-c' needs an argument
stderr| Try 'nosco run --help' for more information.
exit 2
