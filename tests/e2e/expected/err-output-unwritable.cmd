$ nosco run -c 'call-depth 0' -o /proc/nosco-e2e.trace -- {fx:hello}
stderr| nosco: error: cannot create /proc/nosco-e2e.trace: No such file or directory
exit 125
