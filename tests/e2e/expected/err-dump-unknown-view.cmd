$ nosco dump -i {tmp}/notatrace.txt frobnicate
stderr| nosco dump: unknown view 'frobnicate' (views: thread-info, call-info, call-trace, exec-trace, binary-info, calls, report, graph, events)
stderr| Try 'nosco dump --help' for more information.
exit 2
