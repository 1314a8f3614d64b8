$ nosco frobnicate
stderr| nosco: unknown command 'frobnicate'
stderr| Try 'nosco --help' for the list of commands.
exit 2
