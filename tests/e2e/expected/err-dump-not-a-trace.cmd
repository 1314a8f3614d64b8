$ nosco dump -i {tmp}/notatrace.txt events
stderr| nosco: error: <TMP>/notatrace.txt is not a nosco trace (not an SQLite database)
exit 1
