"""Tests of nosco run --pid (docs/cli.md), run by run.py, under both engines.

The fixture attachee (tests/e2e/fixtures/attachee.c) says "ready", works
in threads until a byte arrives on its stdin (a pipe from here), then says
whether anything showed of nosco having been attached: results, sleeps
and its read cut short, signals, forked children. Each test starts it,
attaches, detaches, and checks that:

- nosco exits 0 and says it detached; no task of the program is traced
  any more (TracerPid 0), nothing of nosco's is mapped in it (the dbt
  engine's code cache, contexts and rings);
- the program then finishes with its usual output and exit code 0;
- the trace opens, says it was attached (meta, one attach event and one
  thread per thread of the program) and holds calls of the scope.

attach-ENGINE runs these cases, four at a time: threads (a scope,
--duration), full (full mode: the calls open at the attach return),
in-scope (a scope the threads are in at the attach is recorded), signals (signals sent while attached are
all delivered), fork (children forked
while attached), twice (attach, detach, attach again), ctrl-c (SIGINT
ends it, no --duration), exit (the program ends while attached: nosco
exits with its status), stopped (a process stopped by SIGSTOP stays
stopped). attach-compare: the two engines attached in turn to one
process record the same calls of work() (each n, whole). attach-errors:
no such process, a zombie, already traced, --duration without --pid, --pid with a
program.

Timing: only the lengths of the windows depend on the machine, never the
expected text; the waits are generous for a loaded 2-core machine.
"""
import concurrent.futures
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from stops import wait_for

SCOPE = 'trace "work" binary="attachee"'


def tracers(pid):
    """The TracerPid of each task of pid."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out  # gone
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("TracerPid:"):
                        out.append(int(line.split()[1]))
        except OSError:
            pass
    return out


class Attachee:
    """The fixture running with its stdin on a pipe."""

    def __init__(self, prog, mode):
        self.p = subprocess.Popen([str(prog), mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.ready = self.p.stdout.readline() == b"ready\n"

    def finish(self, problems, expected):
        """Send the byte, check the output and the exit code."""
        try:
            out, err = self.p.communicate(b"x", timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            problems.append("the program did not end after its byte")
        if out.decode(errors="replace") != expected or self.p.returncode != 0:
            problems.append("the program printed %r (stderr %r) and exited %s; expected %r "
                            "and 0" % (out, err, self.p.returncode, expected))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def nosco_run(nosco, env, engine, config, trace, pid, *more):
    return subprocess.Popen([str(nosco), "run", "-e", engine, "-c", config, "-o", str(trace),
                             "--pid", str(pid)] + list(more),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def leftovers(pid):
    """Mappings of nosco's left in the process (the dbt engine's memfd)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return [line.strip() for line in f if "nosco" in line]
    except OSError:
        return []


def check_released(pid, problems):
    """After the detach: no task traced, nothing of nosco's mapped."""
    if any(tracers(pid)):
        problems.append("still traced after nosco ended: TracerPid %s" % tracers(pid))
    if leftovers(pid):
        problems.append("nosco's mappings left in the process: %s" % leftovers(pid))


def attached(pid):
    return any(tracers(pid))


def wait_nosco(n, problems, code=0, said="detached from process"):
    try:
        out, err = n.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        n.kill()
        out, err = n.communicate()
        problems.append("nosco did not end within 90 s")
    err = err.decode(errors="replace")
    if n.returncode != code or said not in err:
        problems.append("nosco exited %s saying %r; expected %d and %r"
                        % (n.returncode, err, code, said))


def dump(nosco, env, trace, view):
    d = subprocess.run([str(nosco), "dump", "-i", str(trace)] + view.split(),
                       capture_output=True, env=env, timeout=60)
    return d.returncode, d.stdout.decode(errors="replace"), d.stderr.decode(errors="replace")


def check_trace(nosco, env, trace, pid, problems, kind="detached", threads=4, scope=True):
    rc, events, err = dump(nosco, env, trace, "events")
    if rc:
        problems.append("dump events exited %d: %s" % (rc, err))
        return events
    for want in ["meta attached_pid=%d" % pid, "meta exit_kind=%s" % kind]:
        if want not in events.splitlines():
            problems.append("the trace has no line %r" % want)
    n = sum(" kind=attach " in line for line in events.splitlines())
    if n != threads:
        problems.append("the trace has %d attach events, expected %d" % (n, threads))
    rc, info, err = dump(nosco, env, trace, "thread-info --backtrace")
    shown = sum(line.lstrip().startswith("attached ") for line in info.splitlines())
    if rc or shown != threads:
        problems.append("thread-info exited %d, shows %d attached threads: %s%s"
                        % (rc, shown, info[:2000], err))
    rc, calls, err = dump(nosco, env, trace, "calls")
    if rc or (scope and " work" not in calls):
        problems.append("calls exited %d, without work: %s%s" % (rc, calls[:2000], err))
    return events


def run_one(nosco, env, prog, engine, mode, config, problems, duration="1", signals=0,
            expected=None, kind="detached"):
    """Attach to a fresh attachee for duration seconds; the checks above."""
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        trace = Path(d) / "t.trace"
        a = Attachee(prog, mode)
        try:
            if not a.ready:
                problems.append("the program did not say ready")
                return ""
            n = nosco_run(nosco, env, engine, config, trace, a.p.pid, "--duration", duration)
            if signals:
                if not wait_for(lambda: attached(a.p.pid), 30):
                    problems.append("nosco did not attach within 30 s")
                for _ in range(signals):
                    os.kill(a.p.pid, signal.SIGRTMIN)
                    time.sleep(0.05)
            wait_nosco(n, problems)
            check_released(a.p.pid, problems)
            a.finish(problems, expected or "%s: results right, read 1 bytes\n" % mode)
            return check_trace(nosco, env, trace, a.p.pid, problems, kind,
                               threads=5 if mode == "fork" else 4,
                               scope=config == SCOPE)
        finally:
            a.kill()


def t_threads(nosco, env, prog, engine):
    problems = []
    run_one(nosco, env, prog, engine, "threads", SCOPE, problems)
    return problems


def t_full(nosco, env, prog, engine):
    problems = []
    events = run_one(nosco, env, prog, engine, "threads", "call-depth 3", problems)
    if events and "kind=attached" not in events:
        problems.append("full mode: no root call of kind attached")
    if events and "end=detached" not in events:
        problems.append("full mode: no call left open at the detach (end=detached)")
    if events and not any(" kind=attached " in line and " end=return " in line
                          for line in events.splitlines()):
        problems.append("full mode: no call open at the attach returned (nap, nanosleep)")
    return problems


def t_in_scope(nosco, env, prog, engine):
    """Threads sleeping in a scope (nap) when nosco attaches record the rest of it."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        trace = Path(d) / "t.trace"
        a = Attachee(prog, "threads")
        try:
            n = nosco_run(nosco, env, engine, 'trace "nap" binary="attachee" call-depth=2',
                          trace, a.p.pid, "--duration", "1")
            wait_nosco(n, problems)
            check_released(a.p.pid, problems)
            a.finish(problems, "threads: results right, read 1 bytes\n")
        finally:
            a.kill()
        rc, info, err = dump(nosco, env, trace, "thread-info")
        # Workers spend nearly all their time in nap: some are in it at the attach.
        if rc or not re.search(r'traced nap\+0x[0-9a-f]+ call_id="\d+" kind=attached\n', info):
            problems.append("no call of nap open at the attach recorded, ended by its return "
                            "(exit %d): %s%s" % (rc, info[:2000], err))
    return problems


def t_signals(nosco, env, prog, engine):
    problems = []
    run_one(nosco, env, prog, engine, "signals", SCOPE, problems, duration="1", signals=5,
            expected="signals: results right, read 1 bytes\nsignals: 5 received\n")
    return problems


def t_fork(nosco, env, prog, engine):
    problems = []
    events = run_one(nosco, env, prog, engine, "fork", "call-depth 2", problems,
                     expected="fork: results right, read 1 bytes\nfork: children exited 7\n")
    if events and " kind=fork " not in events:
        problems.append("no fork recorded while attached")
    return problems


def t_twice(nosco, env, prog, engine):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        a = Attachee(prog, "threads")
        try:
            for i in range(2):
                trace = Path(d) / ("t%d.trace" % i)
                n = nosco_run(nosco, env, engine, SCOPE, trace, a.p.pid, "--duration", "0.5")
                wait_nosco(n, problems)
                check_released(a.p.pid, problems)
                check_trace(nosco, env, trace, a.p.pid, problems)
            a.finish(problems, "threads: results right, read 1 bytes\n")
        finally:
            a.kill()
    return problems


def attached_until(nosco, env, prog, engine, end, problems):
    """Attach with no --duration; end(attachee, nosco) ends it: the checks above."""
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        trace = Path(d) / "t.trace"
        a = Attachee(prog, "threads")
        try:
            n = nosco_run(nosco, env, engine, SCOPE, trace, a.p.pid)
            # Until a call of the scope is in the file (committed a few times a second).
            if not wait_for(lambda: " work" in dump(nosco, env, trace, "calls")[1], 60):
                problems.append("no call of work in the trace within 60 s")
            kind = end(a, n)
            check_released(a.p.pid, problems)
            check_trace(nosco, env, trace, a.p.pid, problems, kind)
        finally:
            a.kill()
    return problems


def t_ctrl_c(nosco, env, prog, engine):
    """SIGINT ends the trace: nosco detaches and exits 0."""
    problems = []

    def end(a, n):
        n.send_signal(signal.SIGINT)
        wait_nosco(n, problems)
        a.finish(problems, "threads: results right, read 1 bytes\n")
        return "detached"
    return attached_until(nosco, env, prog, engine, end, problems)


def t_exit(nosco, env, prog, engine):
    """The program ends while attached: nosco ends with its exit status."""
    problems = []

    def end(a, n):
        a.finish(problems, "threads: results right, read 1 bytes\n")
        wait_nosco(n, problems, 0, "the program exited with code 0")
        return "exited"
    return attached_until(nosco, env, prog, engine, end, problems)


def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def thread_states(pid):
    """The state letter of each thread of pid (one that exits meanwhile left out)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            out.append(state(int(tid)))
        except OSError:
            pass
    return out


def all_stopped(pid):
    return set(thread_states(pid)) == {"T"}


def t_stopped(nosco, env, prog, engine):
    """A process stopped by SIGSTOP stays stopped after the detach, and goes on at SIGCONT.

    Each thread is checked, and given time: a thread detached from a ptrace
    stop is woken by the kernel and enters the group stop again on its way
    back to user space (R for a moment, T for good; no instruction of the
    program runs), and a program that still runs stays R."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        a = Attachee(prog, "threads")
        try:
            os.kill(a.p.pid, signal.SIGSTOP)
            if not wait_for(lambda: all_stopped(a.p.pid), 30):
                problems.append("the program did not stop at SIGSTOP")
            n = nosco_run(nosco, env, engine, "call-depth 2", Path(d) / "t.trace", a.p.pid,
                          "--duration", "0.5")
            wait_nosco(n, problems)
            check_released(a.p.pid, problems)
            if not wait_for(lambda: all_stopped(a.p.pid), 10):
                problems.append("the stopped program runs after the detach (states %s)"
                                % "".join(thread_states(a.p.pid)))
            os.kill(a.p.pid, signal.SIGCONT)
            a.finish(problems, "threads: results right, read 1 bytes\n")
        finally:
            a.kill()
    return problems


def work_shapes(calls_view):
    """The (instructions, calls) of the work calls that ran whole: those seen 3 times or more."""
    seen = {}
    for line in calls_view.splitlines():
        f = line.split()
        if f and f[-1] == "work" and "depth=1" in f:
            kv = dict(w.split("=", 1) for w in f if "=" in w)
            shape = (int(kv["insns"]), int(kv["calls"]))
            seen[shape] = seen.get(shape, 0) + 1
    return sorted(k for k, n in seen.items() if n >= 3)


def t_compare(nosco, env, prog):
    """Both engines attached in turn to one process record the same calls of work."""
    problems = []
    shapes = {}
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        a = Attachee(prog, "threads")
        try:
            for engine in ("step", "dbt"):
                trace = Path(d) / ("%s.trace" % engine)
                n = nosco_run(nosco, env, engine, SCOPE, trace, a.p.pid, "--duration", "0.5")
                wait_nosco(n, problems)
                rc, calls, err = dump(nosco, env, trace, "calls")
                shapes[engine] = work_shapes(calls)
            a.finish(problems, "threads: results right, read 1 bytes\n")
        finally:
            a.kill()
    if len(shapes.get("step", [])) != 3 or shapes.get("step") != shapes.get("dbt"):
        problems.append("work(4), work(5), work(6) as (instructions, calls): step %s, dbt %s"
                        % (shapes.get("step"), shapes.get("dbt")))
    return problems


def t_errors(nosco, env, prog):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-attach-") as d:
        trace = Path(d) / "t.trace"
        gone = subprocess.Popen(["/bin/true"])
        gone.wait()

        def expect(args, code, said):
            r = subprocess.run([str(nosco), "run", "-c", SCOPE, "-o", str(trace)] + args,
                               capture_output=True, env=env, timeout=60)
            err = r.stderr.decode(errors="replace")
            if r.returncode != code or said not in err or len(err.splitlines()) > 2:
                problems.append("%s: exited %d saying %r; expected %d and %r"
                                % (" ".join(args), r.returncode, err, code, said))
            if trace.exists():
                problems.append("%s left a trace file" % " ".join(args))

        expect(["--pid", str(gone.pid)], 127, "no process %d" % gone.pid)
        zombie = subprocess.Popen(["/bin/true"])  # not waited for yet
        if wait_for(lambda: state(zombie.pid) == "Z", 30):
            expect(["--pid", str(zombie.pid)], 127, "process %d has exited" % zombie.pid)
        zombie.wait()
        expect(["--duration", "1", "--", "/bin/true"], 2, "--duration needs --pid")
        expect(["--pid", "1", "/bin/true"], 2, "exclude each other")
        expect(["--pid", "x"], 2, "--pid takes a process id")
        a = Attachee(prog, "threads")
        try:
            first = nosco_run(nosco, env, "step", SCOPE, Path(d) / "first.trace", a.p.pid)
            if not wait_for(lambda: attached(a.p.pid), 30):
                problems.append("nosco did not attach within 30 s")
            expect(["--pid", str(a.p.pid)], 125, "is already traced by process %d" % first.pid)
            first.send_signal(signal.SIGINT)
            wait_nosco(first, problems)
            a.finish(problems, "threads: results right, read 1 bytes\n")
        finally:
            a.kill()
    return problems


CASES = {"threads": t_threads, "full": t_full, "in-scope": t_in_scope, "signals": t_signals, "fork": t_fork,
         "twice": t_twice, "ctrl-c": t_ctrl_c, "exit": t_exit, "stopped": t_stopped}


def engine_cases(nosco, env, prog, engine):
    """Every case of CASES under one engine, a few at a time (each mostly waits)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        runs = {name: pool.submit(fn, nosco, env, prog, engine) for name, fn in CASES.items()}
    return ["%s: %s" % (name, p) for name, run in runs.items() for p in run.result()]


def tests(build):
    """name -> test(nosco, env) for run.py; build(): the attachee fixture's (path, error)."""
    def with_prog(test):
        def run(nosco, env):
            prog, error = build()
            return [error] if error else test(nosco, env, prog)
        return run

    out = {}
    for engine in ("step", "dbt"):
        out["attach-%s" % engine] = \
            with_prog((lambda e: lambda nosco, env, prog: engine_cases(nosco, env, prog, e))(engine))
    out["attach-errors"] = with_prog(t_errors)
    out["attach-compare"] = with_prog(t_compare)
    return out
