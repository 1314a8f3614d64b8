$ nosco run -c '' -- {fx:hello}
stderr| nosco run: missing -o FILE
stderr| Try 'nosco run --help' for more information.
exit 2
