$ nosco dump events
stderr| nosco dump: missing -i FILE
stderr| Try 'nosco dump --help' for more information.
exit 2
