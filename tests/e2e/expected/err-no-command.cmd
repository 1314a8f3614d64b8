$ nosco 
stderr| Usage: nosco [--help] [--version] COMMAND [ARGS...]
stderr| 
stderr| nosco traces how a program runs: its threads, the binaries it loads, the
stderr| calls it makes and the instructions it executes, into a trace file.
stderr| 
stderr| Commands:
stderr|   run    trace a program into a trace file
stderr|   dump   show a trace file (threads, calls, instructions, binaries)
stderr|   export write a trace for other tools (Perfetto, flame graphs, drcov, ...)
stderr|   view   serve a trace file to a web browser
stderr| 
stderr| Run 'nosco COMMAND --help' for the options of a command.
exit 2
