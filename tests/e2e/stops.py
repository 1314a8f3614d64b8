"""Tests of how a run ends when nosco itself is stopped, run by run.py.

- Ctrl-C: SIGINT to the process group (as a terminal sends it) while the
  program sleeps: nosco must exit 130, leave no process behind, and the
  trace must be complete and say it was interrupted.
- SIGKILL of nosco alone: the program must die with it (PTRACE_O_EXITKILL)
  and the trace must still be readable up to its last commit.

Every view warns once that a trace is still being written (before the
SIGKILL) or unfinished (after it), and says nothing of a finished one.
"""
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SLEEP = "/bin/sleep"


def session_alive(sid):
    """The pids of session sid still alive (not zombies)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def start(nosco, trace, env):
    return subprocess.Popen([str(nosco), "run", "-c", "call-depth 2", "-o", str(trace), "--",
                             SLEEP, "30"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)


def started(trace):
    """The run has begun writing (so the program is running)."""
    return trace.exists() and trace.stat().st_size > 0


def start_running(nosco, trace, env, problems):
    """start(), then wait until the program runs; a run that does not start is a problem."""
    p = start(nosco, trace, env)
    if not wait_for(lambda: started(trace), 10):
        problems.append("the run did not start")
    return p


VIEWS = ["thread-info", "calls", "call-trace 0", "call-info 0", "exec-trace 0", "binary-info",
         "events"]


def dump(nosco, trace, env, view):
    return subprocess.run([str(nosco), "dump", "-i", str(trace)] + view.split(),
                          capture_output=True, env=env, timeout=60)


def check_warnings(nosco, trace, env, what, problems):
    """Every view succeeds and warns exactly once, with a line containing what (None: never)."""
    for view in VIEWS:
        d = dump(nosco, trace, env, view)
        err = d.stderr.decode(errors="replace")
        warnings = [line for line in err.splitlines() if "warning" in line]
        if d.returncode != 0:
            problems.append("dump %s exited %d: %s" % (view, d.returncode, err))
        elif what is None and warnings:
            problems.append("dump %s warns of a finished trace: %s" % (view, warnings))
        elif what is not None and (len(warnings) != 1 or what not in warnings[0]):
            problems.append("dump %s should warn once that the trace %s, said: %r"
                            % (view, what, err))


def finish(p, problems):
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        problems.append("nosco did not end within 20 s")
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if not wait_for(lambda: not session_alive(p.pid), 5):
        problems.append("processes left behind: %s" % session_alive(p.pid))
        os.killpg(p.pid, signal.SIGKILL)


def stop_sigint(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-stop-") as d:
        trace = Path(d) / "t.trace"
        p = start_running(nosco, trace, env, problems)
        time.sleep(0.5)
        os.killpg(p.pid, signal.SIGINT)
        finish(p, problems)
        if p.returncode != 130:
            problems.append("nosco exited %s, expected 130 (128 + SIGINT)" % p.returncode)
        ev = dump(nosco, trace, env, "events")
        if ev.returncode != 0:
            problems.append("dump events exited %d: %s" % (ev.returncode, ev.stderr.decode()))
        out = ev.stdout.decode(errors="replace")
        if "meta exit_kind=interrupted" not in out:
            problems.append("the trace does not say it was interrupted")
        if "end=killed" not in out:
            problems.append("the open calls were not closed as killed")
        check_warnings(nosco, trace, env, None, problems)
    return problems


def stop_sigkill(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-stop-") as d:
        trace = Path(d) / "t.trace"
        p = start_running(nosco, trace, env, problems)
        time.sleep(1.0)  # past the first commit of the run
        check_warnings(nosco, trace, env, "is still being written", problems)
        os.kill(p.pid, signal.SIGKILL)
        finish(p, problems)
        if p.returncode != -signal.SIGKILL:
            problems.append("nosco ended with %s, expected SIGKILL" % p.returncode)
        # the first dump rolls the journal back: it warns once too
        check_warnings(nosco, trace, env, "is unfinished", problems)
        ti = dump(nosco, trace, env, "thread-info")
        if ti.returncode != 0:
            problems.append("dump thread-info exited %d: %s"
                            % (ti.returncode, ti.stderr.decode(errors="replace")))
        elif b"traced" not in ti.stdout:
            problems.append("the killed run's trace holds no root call:\n"
                            + ti.stdout.decode(errors="replace"))
    return problems


TESTS = {"stop-sigint": stop_sigint, "stop-sigkill": stop_sigkill}
