$ nosco run -c '' -o {out} -- {tmp}
stderr| nosco: error: <TMP>: is a directory
exit 126
