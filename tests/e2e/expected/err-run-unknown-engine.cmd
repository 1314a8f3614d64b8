$ nosco run -e frobnicate -c '' -o {out} -- {fx:hello}
stderr| nosco run: unknown engine 'frobnicate' (known: step, dbt)
stderr| Try 'nosco run --help' for more information.
exit 2
