$ nosco dump -i {tmp}/notatrace.txt frobnicate
stderr| nosco dump: unknown view 'frobnicate'
stderr| Try 'nosco dump --help' for more information.
exit 2
