$ nosco run -c {src}/configs/no-such-file.kdl -o {out} -- {fx:hello}
stderr| nosco: error: config file '<REPO>/tests/e2e/configs/no-such-file.kdl' not found
exit 125
