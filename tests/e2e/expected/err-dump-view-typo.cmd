$ nosco dump -i {tmp}/notatrace.txt calltrace
stderr| nosco dump: unknown view 'calltrace', did you mean 'call-trace'? (views: thread-info, call-info, call-trace, exec-trace, binary-info, calls, report, graph, events)
stderr| Try 'nosco dump --help' for more information.
exit 2
$ nosco dump -i {tmp}/notatrace.txt Calls
stderr| nosco dump: unknown view 'Calls', did you mean 'calls'? (views: thread-info, call-info, call-trace, exec-trace, binary-info, calls, report, graph, events)
stderr| Try 'nosco dump --help' for more information.
exit 2
