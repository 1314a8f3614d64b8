"""What bench/phases, bench/timeline and bench/costs share: their command
line (-n RUNS, -c CONFIG_TEXT, BUILD, CMD ARGS...) and the set-up of the
traced runs they record (a configuration file, a cache directory of their
own whose frame rows a first run keeps for the others)."""
import argparse
import contextlib
import os
import subprocess
import sys
import tempfile

PYTHON = os.path.basename(os.path.realpath("/usr/bin/python3"))


def arguments(description, runs, runs_help):
    """The parser of the options every such bench takes; a bench adds its own."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("-n", type=int, default=runs, help=runs_help)
    ap.add_argument("-c", default=f'trace "PyDict_New" binary="{PYTHON}" call-depth=2',
                    help="the configuration's text")
    return ap


def parse(name, ap):
    """The arguments, with nosco (BUILD's), cmd (CMD, by default python3 -c pass) and prog
    (the command name the kernel gives it); exits if BUILD has no nosco."""
    ap.add_argument("build")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    a.nosco = os.path.join(os.path.abspath(a.build), "nosco")
    a.cmd = a.cmd or ["/usr/bin/python3", "-c", "pass"]
    a.prog = os.path.basename(a.cmd[0])[:15]
    if not os.access(a.nosco, os.X_OK):
        sys.exit(f"bench/{name}: no {a.nosco} (make first)")
    return a


@contextlib.contextmanager
def traced_runs(a):
    """(the traced command, a scratch directory) for a's runs, once a first run kept its rows."""
    with tempfile.TemporaryDirectory() as work:
        os.environ["XDG_CACHE_HOME"] = work  # frame rows kept by the first run, read after
        conf, out = os.path.join(work, "c.kdl"), os.path.join(work, "t.trace")
        with open(conf, "w") as f:
            f.write(a.c + "\n")
        traced = [a.nosco, "run", "-f", "-c", conf, "-o", out, "--"] + a.cmd
        subprocess.run(traced, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        yield traced, work
