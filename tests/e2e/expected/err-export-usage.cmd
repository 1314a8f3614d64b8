$ nosco export -i {tmp}/no-such.trace
stderr| nosco export: missing -f FORMAT (one of chrome, folded, drcov, callgrind, uftrace, perfetto)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f nope
stderr| nosco export: unknown format 'nope' (formats: chrome, folded, drcov, callgrind, uftrace, perfetto)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrom
stderr| nosco export: unknown format 'chrom', did you mean 'chrome'? (formats: chrome, folded, drcov, callgrind, uftrace, perfetto)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -f chrome
stderr| nosco export: missing -i FILE
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome --clock cpu
stderr| nosco export: invalid clock 'cpu' (insns or wall)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome --hits -o {tmp}/x
stderr| nosco export: --hits applies to drcov only
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f folded --clock wall
stderr| nosco export: --clock does not apply to folded (it has no time axis)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f drcov --hits
stderr| nosco export: --hits needs -o OUT (the counts go to OUT.hits)
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome --depth -1
stderr| nosco export: invalid depth '-1'
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome abc
stderr| nosco export: invalid call id 'abc'
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome 1 2
stderr| nosco export: unexpected argument '2'
stderr| Try 'nosco export --help' for more information.
exit 2
$ nosco export -i {tmp}/no-such.trace -f chrome
stderr| nosco: error: cannot open <TMP>/no-such.trace: No such file or directory
exit 1
