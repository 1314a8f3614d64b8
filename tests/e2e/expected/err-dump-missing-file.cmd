$ nosco dump -i {tmp}/no-such.trace events
stderr| nosco: error: cannot open <TMP>/no-such.trace: No such file or directory
exit 1
