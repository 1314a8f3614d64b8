$ nosco run -c 'call-depth 0' -o {tmp} -- {fx:hello}
stderr| nosco: error: <TMP> is a directory
exit 125
