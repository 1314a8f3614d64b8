"""What the viewer's tests share: a traced fixture and a running `nosco view`.

The fixture is tests/e2e/fixtures/calls.c (main -> a -> b -> c, then
report -> printf), built with DWARF and traced from main, four calls deep.
"""
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

SRC = Path(__file__).resolve().parent
FIXTURE = SRC.parent / "e2e" / "fixtures" / "calls.c"
CFLAGS = ["-std=gnu17", "-g", "-O0", "-no-pie", "-fno-inline", "-fcf-protection=none",
          "-fno-stack-protector"]
URL_LINE = re.compile(r"^nosco: viewing (.*) at (http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{32}))$")


def make_trace(build):
    """Build the fixture and trace it, once per build directory; return the trace."""
    out = Path(build) / "tests" / "web"
    out.mkdir(parents=True, exist_ok=True)
    prog, trace = out / "calls", out / "calls.trace"
    if not prog.exists() or prog.stat().st_mtime < FIXTURE.stat().st_mtime:
        subprocess.run(["gcc"] + CFLAGS + [str(FIXTURE), "-o", str(prog)], check=True)
    nosco = Path(build) / "nosco"
    if not trace.exists() or trace.stat().st_mtime < max(prog.stat().st_mtime,
                                                         nosco.stat().st_mtime):
        subprocess.run([str(nosco), "run", "-c", 'trace "main" binary="calls" call-depth=4',
                        "-o", str(trace), "-f", "--", str(prog)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return trace


class Viewer:
    """`nosco view --no-open TRACE` in the background, and its URL."""

    def __init__(self, build, trace, *args):
        self.build, self.trace = build, Path(trace)
        env = dict(os.environ)
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        self.proc = subprocess.Popen([str(Path(build) / "nosco"), "view", "--no-open", *args,
                                      str(trace)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        line = self._line(10)
        m = URL_LINE.match(line or "")
        if not m:
            self.stop()
            raise RuntimeError("nosco view printed %r, not its URL" % (line,))
        self.url, self.port, self.token = m.group(2), int(m.group(3)), m.group(4)
        self.base = "http://127.0.0.1:%d" % self.port

    def _line(self, timeout):
        """The URL line (or an error): a viewer that says nothing is killed."""
        watchdog = threading.Timer(timeout, self.proc.kill)
        watchdog.start()
        try:
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("nosco: viewing") or "error" in line:
                    return line.rstrip("\n")
            return None
        finally:
            watchdog.cancel()

    def stop(self, sig=signal.SIGINT):
        """Stop it as Ctrl-C does; return its exit status (None if it hung)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=10)
            self.lines += err.splitlines()
            return self.proc.returncode
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return None
