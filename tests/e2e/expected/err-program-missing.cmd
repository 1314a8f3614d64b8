$ nosco run -c '' -o {out} -- {tmp}/no-such-program
stderr| nosco: error: <TMP>/no-such-program: No such file or directory
exit 127
