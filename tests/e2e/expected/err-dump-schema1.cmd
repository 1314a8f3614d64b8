$ nosco dump -i {src}/inputs/schema1.nosco calls
stderr| nosco: error: <REPO>/tests/e2e/inputs/schema1.nosco is a schema 1 trace of an older nosco; record it again
exit 1
$ nosco dump -i {src}/inputs/schema1.nosco events
stderr| nosco: error: <REPO>/tests/e2e/inputs/schema1.nosco is a schema 1 trace of an older nosco; record it again
exit 1
