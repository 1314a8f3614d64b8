$ nosco dump -i {tmp}/notatrace.txt
stderr| nosco dump: missing VIEW (one of thread-info, call-info, call-trace, exec-trace, binary-info, calls, report, graph, events)
stderr| Try 'nosco dump --help' for more information.
exit 2
