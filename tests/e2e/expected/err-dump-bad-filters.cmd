$ nosco dump -i {tmp}/no-such.trace calls --limit x
stderr| nosco dump calls: --limit needs a number of lines, not 'x'
stderr| Try 'nosco dump calls --help' for more information.
exit 2
$ nosco dump -i {tmp}/no-such.trace calls --min-insns -5
stderr| nosco dump calls: --min-insns needs a number of instructions, not '-5'
stderr| Try 'nosco dump calls --help' for more information.
exit 2
$ nosco dump -i {tmp}/no-such.trace exec-trace --range 5..2 0
stderr| nosco dump exec-trace: --range needs FROM..TO or FROM.. (instruction numbers, FROM <= TO), not '5..2'
stderr| Try 'nosco dump exec-trace --help' for more information.
exit 2
$ nosco dump -i {tmp}/no-such.trace exec-trace --range 5 0
stderr| nosco dump exec-trace: --range needs FROM..TO or FROM.. (instruction numbers, FROM <= TO), not '5'
stderr| Try 'nosco dump exec-trace --help' for more information.
exit 2
