$ nosco run -o {out} -- {fx:hello}
stderr| nosco run: missing -c CONFIG
stderr| Try 'nosco run --help' for more information.
exit 2
