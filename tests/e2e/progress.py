"""Tests of the progress line of nosco run (docs/cli.md), run by run.py.

nosco runs under a pseudo-terminal, as in a shell, and what it writes
there is replayed on a small model of a screen:

- progress-tty: a run that sleeps draws the line after a second, with
  every field on a wide terminal, fitted to the new width when the
  terminal narrows; a warning at the end and the summary each erase it
  first, and the screen keeps only them.
- progress-live: a busy run (a shell loop, fully traced by the dbt
  engine, whose replay worker counts) shows the counts grow.
- progress-ctrl-c: Ctrl-C erases the line (and the terminal's "^C" echo
  on it) before the summary.
- progress-off: nothing but the summary when the run is short, with
  --no-progress, with TERM=dumb, as a background job, and when stderr is a
  pipe while stdout is the terminal.
"""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import tempfile
import termios
import time
from pathlib import Path

SLEEP = "/bin/sleep"
SH = "/bin/sh"
# A progress line, drawn over the previous one and erased to its end.
DRAW = re.compile(rb"\r(nosco: [^\r\n\x1b]*)\x1b\[K")
ERASE = b"\r\x1b[K"
FIELDS = re.compile(r"^nosco: (\d+)s, ([\d.]+[kMGTPE]?) instructions?, ([\d.]+[kMGTPE]?) calls?, "
                    r"(\d+) threads?, [\d.]+ [kMGTPE]?B written$")
PREFIX = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def set_width(fd, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))


def spawn(argv, env, cols, background=False):
    """argv on a new pseudo-terminal, its controlling one, in its foreground
    (or, background=True, in a process group of its own, as a shell puts a
    background job). Returns (pid, the terminal's master side)."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            if not background:
                os.execve(argv[0], argv, env)
            job = os.fork()
            if job == 0:
                os.setpgid(0, 0)
                os.execve(argv[0], argv, env)
            _, status = os.waitpid(job, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xff)
        finally:
            os._exit(127)
    set_width(master, cols)
    return pid, master


class Terminal:
    """A run on a pseudo-terminal: what it wrote, with the time each part came."""

    def __init__(self, argv, env, cols=200, background=False):
        self.start = time.monotonic()
        self.pid, self.master = spawn(argv, env, cols, background)
        self.out = b""
        self.arrivals = []  # (seconds since the start, length of out then)
        self.code = None

    def read(self, seconds):
        """Read for up to seconds; False once the terminal is closed."""
        r, _, _ = select.select([self.master], [], [], seconds)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            data = b""
        if not data:
            return False
        self.out += data
        self.arrivals.append((time.monotonic() - self.start, len(self.out)))
        return True

    def draws(self):
        return [m.group(1).decode() for m in DRAW.finditer(self.out)]

    def finish(self, seconds=60):
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.read(end - time.monotonic()):
            pass
        if time.monotonic() >= end:
            os.kill(self.pid, 9)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.master)
        self.code = os.waitstatus_to_exitcode(status)
        return self


def finish_all(terms, seconds=60):
    """Terminal.finish() of runs that go on at the same time."""
    end = time.monotonic() + seconds
    live = list(terms)
    while live and time.monotonic() < end:
        ready, _, _ = select.select([t.master for t in live], [], [], end - time.monotonic())
        live = [t for t in live if t.master not in ready or t.read(0)]
    return [t.finish(1) for t in terms]


def screen(out):
    """The rows a terminal shows after out (no wrapping, no scrolling)."""
    rows, row, col = [""], 0, 0
    i = 0
    text = out.decode(errors="replace")
    while i < len(text):
        if text.startswith("\x1b[K", i):
            rows[row] = rows[row][:col]
            i += 3
            continue
        ch = text[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            if row == len(rows):
                rows.append("")
        else:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + ch + line[col + 1:]
            col += 1
    return [r for r in rows if r]


def count(text):
    """A number as the line writes it ("12.3k") back to an int."""
    return float(text[:-1]) * PREFIX[text[-1]] if text[-1] in PREFIX else float(text)


def tty_env(env, term="xterm"):
    return dict(env, TERM=term)


def check_erased(problems, t, echo=b""):
    """The line was drawn and erased after its last draw, before anything else
    (but the terminal's echo of what was typed)."""
    last = list(DRAW.finditer(t.out))
    if not last:
        problems.append("no progress line was drawn: %r" % t.out)
        return
    after = last[-1].end()
    if echo and t.out.startswith(echo, after):
        after += len(echo)
    if not t.out.startswith(ERASE, after):
        problems.append("the last progress line is not erased before what follows: %r"
                        % t.out[last[-1].start():])
    left = [r for r in screen(t.out) if r.startswith("nosco: ") and FIELDS.match(r)]
    if left:
        problems.append("a progress line is left on the screen: %r" % left)


def progress_tty(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-progress-") as d:
        trace = Path(d) / "t.trace"
        # libm is never loaded by sleep: the scope is a warning at the end of the run.
        t = Terminal([str(nosco), "run", "-c", 'trace "cos" binary="libm.so.6"', "-o",
                      str(trace), "--", SLEEP, "2.5"], tty_env(env))
        while not t.draws() and t.read(10):
            pass
        first_at = next((s for s, n in t.arrivals if DRAW.search(t.out[:n])), None)
        set_width(t.master, 36)
        t.finish()
        draws = t.draws()
        if t.code != 0:
            problems.append("nosco exited %s: %r" % (t.code, t.out))
        if len(draws) < 2:
            problems.append("expected a line before and after the resize, got %r" % draws)
            return problems
        if first_at is not None and first_at < 0.9:
            problems.append("the first line came %.2f s after the start, before a second"
                            % first_at)
        if not FIELDS.match(draws[0]):
            problems.append("the first line does not say all it should: %r" % draws[0])
        elif int(FIELDS.match(draws[0]).group(4)) != 1:
            problems.append("sleep has one thread: %r" % draws[0])
        for text in draws[1:]:
            if len(text) > 35 or not re.match(r"^nosco: \ds(, [^,]+)*$", text):
                problems.append("not fitted to 36 columns (35 at most, whole fields): %r"
                                % text)
        check_erased(problems, t)
        rows = screen(t.out)
        if len(rows) != 2 or "warning: " not in rows[0] or "exited with code 0" not in rows[1]:
            problems.append("the screen should hold the warning and the summary: %r" % rows)
    return problems


def progress_live(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-progress-") as d:
        trace, stop = Path(d) / "t.trace", Path(d) / "stop"
        # Busy until told to stop: its end does not depend on the machine's speed.
        t = Terminal([str(nosco), "run", "-c", "", "-o", str(trace), "--", SH, "-c",
                      'i=0; while [ ! -e "$1" ]; do i=$((i+1)); done', "sh", str(stop)],
                     tty_env(env))
        end = time.monotonic() + 30
        seen = set()
        while time.monotonic() < end and t.read(1):
            seen = {FIELDS.match(x).group(2) for x in t.draws() if FIELDS.match(x)}
            if len(seen) >= 3:
                break
        stop.touch()
        t.finish()
        if t.code != 0:
            problems.append("nosco exited %s: %r" % (t.code, t.out[-300:]))
        counts = [count(FIELDS.match(x).group(2)) for x in t.draws() if FIELDS.match(x)]
        if len(seen) < 3 or counts != sorted(counts):
            problems.append("the instruction count did not grow from line to line: %r"
                            % t.draws())
        check_erased(problems, t)
        rows = screen(t.out)
        if len(rows) != 1 or "exited with code 0" not in rows[0]:
            problems.append("the screen should hold the summary alone: %r" % rows)
    return problems


def progress_ctrl_c(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-progress-") as d:
        trace = Path(d) / "t.trace"
        t = Terminal([str(nosco), "run", "-c", "call-depth 2", "-o", str(trace), "--", SLEEP,
                      "30"], tty_env(env))
        while not t.draws() and t.read(10):
            pass
        os.write(t.master, b"\x03")
        t.finish()
        if t.code != 130:
            problems.append("nosco exited %s after Ctrl-C, expected 130: %r" % (t.code, t.out))
        check_erased(problems, t, echo=b"^C")
        rows = screen(t.out)
        if len(rows) != 1 or "stopped by SIGINT" not in rows[0]:
            problems.append("the screen should hold the summary alone: %r" % rows)
    return problems


def progress_off(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-progress-") as d:
        trace = str(Path(d) / "t.trace")
        sleep = [str(nosco), "run", "-c", "call-depth 2", "-o", trace, "--", SLEEP, "1.5"]
        runs = {
            "a short run": ([str(nosco), "run", "-c", "call-depth 1", "-o", trace, "--",
                             "/bin/true"], tty_env(env), False),
            "--no-progress": (sleep[:2] + ["--no-progress"] + sleep[2:], tty_env(env), False),
            "TERM=dumb": (sleep, tty_env(env, "dumb"), False),
            "no TERM": (sleep, env, False),
            "a background job": (sleep, tty_env(env), True),
        }
        # All at once, each with a trace of its own.
        terms = []
        for i, (argv, run_env, background) in enumerate(runs.values()):
            argv = [w if w != trace else trace + str(i) for w in argv]
            terms.append(Terminal(argv, run_env, background=background))
        # stderr a pipe, stdout (and stdin) the terminal: still nothing but the summary.
        master, slave = os.openpty()
        try:
            p = subprocess.Popen(sleep, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                 env=tty_env(env))
            finish_all(terms)
            _, err = p.communicate(timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        if p.returncode != 0 or not re.fullmatch(rb"nosco: [^\r\n\x1b]*\n", err):
            problems.append("stderr a pipe: exit %s, expected the summary alone: %r"
                            % (p.returncode, err))
        for what, t in zip(runs, terms):
            if t.code != 0 or b"\x1b" in t.out or t.out.count(b"\r") != t.out.count(b"\r\n") \
                    or len(screen(t.out)) != 1:
                problems.append("%s: exit %s, expected the summary alone: %r"
                                % (what, t.code, t.out))
    return problems


TESTS = {"progress-tty": progress_tty, "progress-live": progress_live,
         "progress-ctrl-c": progress_ctrl_c, "progress-off": progress_off}
