$ nosco dump thread-info -i {tmp}/notatrace.txt
stderr| nosco dump: '-i' is an option of dump: it comes before the view (nosco dump -i FILE thread-info ...)
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump -i {tmp}/notatrace.txt calls --no-symbols
stderr| nosco dump: '--no-symbols' is an option of dump: it comes before the view (nosco dump -n calls ...)
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump -i {tmp}/notatrace.txt call-info --output={tmp}/x.txt 3
stderr| nosco dump: '--output' is an option of dump: it comes before the view (nosco dump -o OUT call-info ...)
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump call-trace -i{tmp}/notatrace.txt 0
stderr| nosco dump: '-i' is an option of dump: it comes before the view (nosco dump -i FILE call-trace ...)
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump -i {tmp}/notatrace.txt calls --frobnicate
stderr| nosco dump calls: unknown option '--frobnicate'
stderr| Try 'nosco dump calls --help' for more information.
exit 2
