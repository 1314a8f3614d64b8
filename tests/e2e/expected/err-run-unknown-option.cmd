$ nosco run --frobnicate -c '' -o {out} -- {fx:hello}
stderr| nosco run: unknown option '--frobnicate'
stderr| Try 'nosco run --help' for more information.
exit 2
