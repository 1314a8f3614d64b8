#!/usr/bin/env python3
"""Differential test of nosco's engines: dbt against step.

    python3 tests/e2e/engines.py [--build DIR] [-k PATTERN]... [-j N]
                                 [--deep] [--list] [-v] [--engine NAME]
                                 [--ring-pages N]

Every trace case of tests/e2e/cases.txt, and a set of programs of the
system at several depths and scopes, is traced twice, with the reference
engine (step) and with the engine under test (dbt), both with address
space randomisation off (setarch -R) so that the two runs see the same
addresses. The program must print the same and exit the same, and the
raw dump of the two traces (`nosco dump -i FILE events`: metadata, binaries,
threads, events, calls and every executed instruction of every thread)
must be identical once what differs from run to run by nature is taken
out: times, thread ids, process ids of forked children, and the metadata
that names the engine and its counters.

The programs run with the e2e tests' fixed environment but with lazy
binding (no LD_BIND_NOW): what differs from machine to machine (ld.so's
trampoline, glibc's code chosen by CPU, the vdso, the vector code of the
branches fixture) is kept out of the e2e expected files and compared here,
between the engines, on the machine itself.

Both runs get NOSCO_DBT_RING_PAGES (--ring-pages, 1 unless told): rings
of that many pages fill every few thousand blocks, so that every trace
goes through full rings, their replay on the worker thread and its hand
back to the tracer many times (the default rings fill only on long
runs). They also get NOSCO_DBT_TRUNCS=1: a call site past the depth limit
runs its callees unrecorded in the cache from its second time on (4 by
default), so that every fixture with a depth limit goes through both ways,
NOSCO_DBT_HOT=1: a thread leaves its scopes without a stop from its
second time on (16 by default), natively, and enters them again by the
doors written over their entries, and NOSCO_DBT_ROWS_AFTER=1: a binary's
frame rows are written from the first stop that learns frames in it (the
second by default), so that more scope entries find their frames there.
The step engine ignores all four; the program sees the same environment.

The kept- cases trace a program three times with a cache directory of
their own: the first run keeps the frame rows it wrote (rows-cache.c),
the second reads them, the third finds them damaged (a rule changed in
the file) and writes them again; all three must record the step engine's
trace. kept-at-end- runs them with NOSCO_DBT_ROWS_AT_END=1: rows begun
are written only once the program ended, as where it ends first.

It ends with "engines: N passed, N failed" and exits 1 if any failed.
--deep adds deeper traces of the programs of the system (make
check-engine; minutes, not part of make check).
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E2E = Path(__file__).resolve().parent
REPO = E2E.parent.parent
sys.path.insert(0, str(E2E))
sys.dont_write_bytecode = True
import run as e2e  # noqa: E402

# Programs of the system, traced in full and in scoped mode. The depths
# keep the step engine to seconds per run; --deep adds the slow ones.
THREADS = "{fx:threads}"
SYSTEM = [
    ("true-full2", "/bin/true", "call-depth 2", []),
    ("true-full4", "/bin/true", "call-depth 4", []),
    ("echo-full1", "/bin/echo", "call-depth 1", ["hi"]),
    ("echo-full3", "/bin/echo", "call-depth 3", ["hello", "world"]),
    ("echo-main2", "/bin/echo", 'trace "main" binary="echo" call-depth=2', ["hi"]),
    ("ls-full1", "/bin/ls", "call-depth 1", ["-la", "/"]),
    ("ls-full2", "/bin/ls", "call-depth 2", ["-la", "/"]),
    ("ls-main2", "/bin/ls", 'trace "main" binary="ls" call-depth=2', ["-la", "/"]),
    ("python-full1", "/usr/bin/python3", "call-depth 1", ["-c", "pass"]),
    ("python-full2", "/usr/bin/python3", "call-depth 2", ["-c", "pass"]),
    ("python-main1", "/usr/bin/python3", 'trace "main" binary="python3.11" call-depth=1',
     ["-c", "pass"]),
    # A hot scope entered from all over Python's start-up, with backtraces:
    # the dbt engine walks the stack through frames it learned or guessed.
    ("python-dict", "/usr/bin/python3", 'trace "PyDict_New" binary="python3.11" call-depth=2',
     ["-c", "pass"]),
    # glibc's memchr, hot: for AVX-512 it starts with a branch and has no
    # padding after it, so its door's jump goes in the padding before it.
    ("sed-memchr", "/bin/sed", 'trace "memchr" binary="libc.so.6" call-depth=1',
     ["-n", "5p", "/etc/services"]),
    ("threads-full3", THREADS, "call-depth 3", []),
    ("threads-work2", THREADS, 'trace "work" binary="threads" call-depth=2', []),
    # The vector code of branches that this CPU runs (VEX, EVEX or none),
    # which the e2e cases leave past the depth limit.
    ("branches-vectors", "{fx:branches}", 'trace "riprel" binary="branches" call-depth=2', []),
    ("branches-vectors-pie", "{fx:branches:pie}",
     'trace "riprel" binary="branches" call-depth=2', []),
    # Rings filled many times: by one thread recording everything, by two
    # threads recording inside a scope and running on unrecorded after it.
    ("rings-full", "{fx:rings}", "", []),
    ("rings-main-pie", "{fx:rings:pie}", 'trace "main" binary="rings" call-depth=4', []),
    ("rings-work", "{fx:rings}", 'trace "work" binary="rings" call-depth=3', ["2"]),
]
# Traced twice with a cache directory: the second run reads the frame rows
# the first one kept instead of writing them (src/trace/dbt/rows-cache.c).
KEPT_ROWS = {"sys-python-dict", "e2e-hotscope-threads@pie", "e2e-hotscope-hot@nopie"}
DEEP = [
    ("true-full", "/bin/true", "", []),
    ("echo-full", "/bin/echo", "", ["hi"]),
    ("ls-full6", "/bin/ls", "call-depth 6", ["-la", "/"]),
    ("ls-full", "/bin/ls", "", ["-la", "/"]),
    ("python-full3", "/usr/bin/python3", "call-depth 3", ["-c", "pass"]),
    ("python-full5", "/usr/bin/python3", "call-depth 5", ["-c", "pass"]),
    # Threads in full mode are not compared: pthread_create and pthread_join
    # take other paths depending on which threads have ended (stack reuse,
    # waiting or not), whatever the engine. Each worker's own trace is.
    ("threads2-worker", "{fx:threads2}", 'trace "worker" binary="threads2" call-depth=8', []),
]

# What differs between two runs whatever the engine.
KEEP_META = {"exit_kind", "exit_code", "exit_signal", "program", "config", "arch"}
SUBS = [
    (re.compile(r"\b(time|time_start|time_end)=\d+"), r"\1=T"),
    (re.compile(r"\btid=\d+"), "tid=T"),
]
FORK = re.compile(r"^(event .*kind=fork .*subject=)\d+")


def renumber(lines):
    """Calls and events named per thread: their global ids depend on how
    the threads interleaved, which no two runs share."""
    names, seen = {}, {}
    for kind in ("call", "event"):
        for line in lines:
            if not line.startswith(kind + " "):
                continue
            f = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
            th = f.get("thread", "-")
            k = seen[(kind, th)] = seen.get((kind, th), -1) + 1
            names[(kind, f["id"])] = "%s%s.%d" % (kind[0], th, k)

    def ref(kind, value):
        return names.get((kind, value), value)

    refs = {"call": (("id", "call"), ("parent", "call")),
            "event": (("id", "event"), ("call", "call")),
            "thread": (("create_event", "event"), ("exit_event", "event")),
            "binary": (("load_event", "event"), ("unload_event", "event"))}
    out = []
    for line in lines:
        head, _, rest = line.partition(" ")
        if head in refs and rest:
            words = rest.split(" ")
            for i, w in enumerate(words):
                key, eq, value = w.partition("=")
                for field, kind in refs[head]:
                    if eq and key == field:
                        words[i] = "%s=%s" % (key, ref(kind, value))
            line = head + " " + " ".join(words)
        out.append(line)

    def order(line):
        head = line.partition(" ")[0]
        if head in ("call", "event"):
            name = line.split()[1].partition("=")[2]
            th, _, k = name[1:].partition(".")
            return (head, th, int(k))
        return ("",)
    # Sort each run of call or event lines; everything else keeps its place.
    result, run = [], []
    for line in out + [None]:
        head = line.partition(" ")[0] if line else None
        if run and head != run[0].partition(" ")[0]:
            result += sorted(run, key=order)
            run = []
        if head in ("call", "event"):
            run.append(line)
        elif line is not None:
            result.append(line)
    return result


def normalize(text):
    out = []
    for line in text.splitlines():
        if line.startswith("meta "):
            key = line[5:].partition("=")[0]
            if key not in KEEP_META:
                continue
        for rx, rep in SUBS:
            line = rx.sub(rep, line)
        line = FORK.sub(r"\1PID", line)
        out.append(line)
    return renumber(out)


class Case:
    def __init__(self, name, prog, config, args, stdin=None, run_opts=(), timeout=120.0,
                 checker=None, env=None, kept_rows=False):
        self.name, self.prog, self.config, self.args = name, prog, config, args
        self.stdin, self.run_opts, self.timeout = stdin, list(run_opts), timeout
        self.checker, self.env = checker, env or {}
        self.kept_rows = kept_rows


class Runner:
    def __init__(self, build, engine, verbose, ring_pages):
        self.build = build.resolve()
        self.nosco = self.build / "nosco"
        self.engine = engine
        self.ring_pages = ring_pages
        self.verbose = verbose
        self.fixtures = e2e.discover_fixtures()
        self.builder = e2e.Builder(self.build, verbose)
        self.out = self.build / "tests" / "e2e" / "engines"

    def fixture(self, name, variant=None):
        fx = self.fixtures[name]
        path, error = self.builder.build(fx, variant or fx.variants[0])
        if error:
            raise RuntimeError(error)
        return str(path)

    def subst(self, text, tmp):
        def one(m):
            key = m.group(1)
            if key == "tmp":
                return str(tmp)
            if key == "out":
                return str(tmp / "out.trace")
            if key == "src":
                return str(E2E)
            if key == "build":
                return str(self.build)
            parts = key.split(":")
            return self.fixture(parts[1], parts[2] if len(parts) > 2 else None)
        return e2e.PLACEHOLDER.sub(one, text)

    def trace(self, case, engine, tmp, deadline, opts=()):
        trace = tmp / ("%s.trace" % engine)
        argv = (["setarch", "x86_64", "-R", str(self.nosco), "run", "-e", engine]
                + case.run_opts + list(opts) + ["-c", case.config, "-o", str(trace), "--", case.prog]
                + case.args)
        if self.verbose:
            print("  run: " + shlex.join(argv), flush=True)
        # Lazy binding, as programs run by default: the two engines go
        # through ld.so's trampoline (the one this CPU gets) and must agree.
        env = e2e.test_env(bind_now=False)
        if self.ring_pages:
            env["NOSCO_DBT_RING_PAGES"] = str(self.ring_pages)
        # Every call site over the depth limit unrecorded in the cache from
        # its second time on; the first still stops.
        env["NOSCO_DBT_TRUNCS"] = "1"
        # Every thread leaves its scopes without a stop after its first
        # return out of them: natively, entering them again by their doors.
        env["NOSCO_DBT_HOT"] = "1"
        # A binary's frame rows from the first stop that learns frames in it.
        env["NOSCO_DBT_ROWS_AFTER"] = "1"
        env.update(case.env)
        r = e2e.run_program(argv, max(1.0, deadline - time.monotonic()), tmp,
                            stdin=case.stdin, env=env)
        (tmp / ("%s.stderr" % engine)).write_bytes(r.stderr)
        if r.timed_out:
            return r, None
        d = e2e.run_program([str(self.nosco), "dump", "-i", str(trace), "events"],
                            max(1.0, deadline - time.monotonic()), tmp)
        if d.timed_out or d.exit != 0:
            return r, None
        (tmp / ("%s.events" % engine)).write_bytes(d.stdout)
        if case.checker:
            return r, []
        return r, normalize(d.stdout.decode(errors="replace"))

    def check(self, case):
        tmp = self.out / case.name
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        start = time.monotonic()
        deadline = start + case.timeout
        try:
            case.prog = self.subst(case.prog, tmp)
            case.config = self.subst(case.config, tmp)
            case.args = [self.subst(a, tmp) for a in case.args]
        except RuntimeError as e:
            return False, ["cannot build a fixture: %s" % e], 0.0
        if case.kept_rows:
            # Both engines see it (the program's environment is theirs).
            (tmp / "cache").mkdir()
            case.env = dict(case.env, XDG_CACHE_HOME=str(tmp / "cache"))
        if case.checker:
            new, new_ev = self.trace(case, self.engine, tmp, deadline)
            if new.timed_out or new_ev is None:
                return False, ["%s: no trace" % self.engine], time.monotonic() - start
            details = case.checker(new.stdout.decode(errors="replace"),
                                   (tmp / ("%s.events" % self.engine)).read_text())
            return not details, details, time.monotonic() - start
        for attempt in range(3):
            ref, ref_ev = self.trace(case, "step", tmp, deadline)
            new, new_ev = self.trace(case, self.engine, tmp, deadline)
            # A program whose output depends on the moment (ls -la / shows
            # /tmp changing) runs again; the engines must agree on one run.
            if ref.stdout == new.stdout or ref.timed_out or new.timed_out:
                break
        took = time.monotonic() - start
        details = []
        for name, r, ev in (("step", ref, ref_ev), (self.engine, new, new_ev)):
            if r.timed_out:
                details.append("%s timed out" % name)
            elif ev is None:
                details.append("%s: no trace could be dumped" % name)
        if details:
            details += e2e.tail((tmp / ("%s.stderr" % self.engine)).read_bytes())
            return False, details, took
        if case.name in RACY:
            ref_ev = new_ev = []
        if ref.exit != new.exit:
            details.append("exit %d with step, %d with %s" % (ref.exit, new.exit, self.engine))
        if ref.stdout != new.stdout and ref_ev != new_ev:
            # Output that differs with the same instructions run is data
            # of the moment (ls shows the number of processes in /proc).
            details.append("the program's stdout differs between the engines")
        if ref_ev != new_ev:
            details.append("the traces differ (%s/*.events):" % e2e.display(tmp))
            diff = list(difflib.unified_diff(ref_ev, new_ev, "step", self.engine,
                                             lineterm="", n=2))
            details += diff[:e2e.MAX_DIFF_LINES]
            if len(diff) > e2e.MAX_DIFF_LINES:
                details.append("... (%d more lines)" % (len(diff) - e2e.MAX_DIFF_LINES))
        if not details and case.kept_rows:
            details = self.check_kept_rows(case, tmp, deadline, ref_ev)
            took = time.monotonic() - start
        if details:
            details += e2e.tail((tmp / ("%s.stderr" % self.engine)).read_bytes())
        return not details, details, took

    def check_kept_rows(self, case, tmp, deadline, ref_ev):
        """The frame rows the first run kept (rows-cache.c), read by a second run: the same
        trace as with the rows written, and as the step engine's; and with a rule changed in
        the file, found when copied and the rows written again."""
        kept = list((tmp / "cache").glob("nosco/frame-rows/*.rows"))
        if not kept:
            return ["the first run kept no frame rows in %s" % e2e.display(tmp / "cache")]
        details = self.traced_again(case, tmp, deadline, ref_ev, b"kept from a run before",
                                    "rows kept")
        if details:
            return details
        with open(kept[0], "r+b") as f:
            f.seek(-3, os.SEEK_END)
            b = f.read(1)
            f.seek(-3, os.SEEK_END)
            f.write(bytes([b[0] ^ 0x40]))
        return self.traced_again(case, tmp, deadline, ref_ev, b"are damaged", "rows damaged")

    def traced_again(self, case, tmp, deadline, ref_ev, says, what):
        """Another run, whose debug log (-vv: the program sees the same) must say says, and whose
        trace must be the step engine's. The rows are read between stops while the replay
        worker is idle: a short program that keeps it busy (hotscope hot) may end first, and
        then runs again, up to KEPT_TRIES times."""
        for _ in range(KEPT_TRIES):
            r, ev = self.trace(case, self.engine, tmp, deadline, ["-vv"])
            if r.timed_out or ev is None:
                return ["%s, %s: no trace" % (self.engine, what)]
            if ev != ref_ev:
                diff = list(difflib.unified_diff(ref_ev, ev, "step", "%s, %s" % (self.engine, what),
                                                 lineterm="", n=2))
                return ["the traces differ:"] + diff[:e2e.MAX_DIFF_LINES]
            if says in r.stderr:
                return []
        return ["%s, %s: the log does not say '%s' in %d runs"
                % (self.engine, what, says.decode(), KEPT_TRIES)]


def check_async(stdout, events):
    """async: each signal event cuts spin's stream where the handler saw rip and rcx."""
    rounds = [tuple(map(int, m.groups())) for m in
              re.finditer(r"round \d+: at \+(\d+) \(rcx (\d+)\)", stdout)]
    # Instructions run in spin before rip reached OFF with rcx == N: xor, then
    # (inc, cmp, je) per iteration; rip is at inc (+2), cmp (+5) or je (+12), or
    # at spin itself (+0) when the timer fired as it was entered.
    ran = {0: lambda n: 0, 2: lambda n: 1 + 3 * n, 5: lambda n: 3 * n - 1, 12: lambda n: 3 * n}
    lines = [ln for ln in events.splitlines() if ln.startswith(("call ", "event "))]
    calls = {}
    for line in lines:
        f = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
        if line.startswith("call ") and f.get("kind") == "scope":
            calls[f["id"]] = (int(f["addr"], 16), int(f["pos_start"]))
    sigs = []
    for line in lines:
        f = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
        if line.startswith("event ") and f.get("kind") == "signal" and f.get("call") in calls:
            entry, start = calls[f["call"]]
            sigs.append((int(f["addr"], 16) - entry, int(f["pos"]) - start))
    if len(rounds) != 5 or len(sigs) != 5:
        return ["expected 5 rounds and 5 signals in spin, got %d and %d"
                % (len(rounds), len(sigs))]
    bad = []
    for i, ((off, n), (ev_off, ev_pos)) in enumerate(zip(rounds, sigs)):
        if off not in ran or ev_off != off or ev_pos != ran[off](n):
            bad.append("round %d: the program saw +%d with rcx %d, the trace has the signal "
                       "at +%d after %d instructions of spin" % (i, off, n, ev_off, ev_pos))
    return bad


# runs of a kept- case's program until one reads the rows (traced_again)
KEPT_TRIES = 5

# e2e cases whose trace depends on timing whatever the engine: the engines
# must agree on the program's output and exit code only.
RACY = {
    "e2e-exec-thread",  # main may or may not be in pthread_join when the other thread execs
    "e2e-async-spin",   # a timer signal
    # where the shell takes its children's SIGCHLD: before or after it reached wait4, as the
    # untraced children, on the same CPU or not, get to run and end
    "e2e-cpus-default",
    "e2e-cpus-same-children",
}

# The step engine trusting the single-step trap after instructions a
# hypervisor may emulate (NOSCO_STEP_TRUST_TRAPS): where the machine loses
# it (cpuid on some), the recovery of a lost trap must record what the
# breakpoint step records; elsewhere the two are plain steps.
TRUSTED_TRAPS = [
    ("cpuid-straight", "{fx:cpuid}", 'trace "straight" binary="cpuid" call-depth=1', []),
]

# Cases the engine under test runs alone, checked against what the program
# itself says (the moment a timer fires differs from run to run).
SELF_CHECKED = [
    ("async-nopie", "{fx:async:nopie}", 'trace "spin" binary="async" call-depth=2', ["-v"],
     check_async),
    ("async-pie", "{fx:async:pie}", 'trace "spin" binary="async" call-depth=2', ["-v"],
     check_async),
]


def e2e_cases(runner):
    cases, errors = e2e.parse_cases(e2e.CASES_FILE, runner.fixtures)
    if errors:
        raise SystemExit("\n".join(errors))
    out = []
    for c in cases:
        if c.kind != "trace":
            continue
        prog = "{fx:%s:%s}" % (c.target, c.variant) if c.variant else c.target
        stdin = str(c.stdin_file) if c.stdin_file else None
        out.append(Case("e2e-" + c.name, prog, c.config, list(c.args), stdin, c.run_opts,
                        c.timeout or 120.0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", type=Path)
    ap.add_argument("-k", action="append", default=[], dest="patterns")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--engine", default="dbt")
    ap.add_argument("--deep", action="store_true")
    ap.add_argument("--ring-pages", type=int, default=1,
                    help="NOSCO_DBT_RING_PAGES for the runs (0: the default rings)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-v", action="store_true", dest="verbose")
    a = ap.parse_args()
    if not shutil.which("setarch"):
        raise SystemExit("engines: setarch (util-linux) is needed")
    runner = Runner(a.build, a.engine, a.verbose, a.ring_pages)
    cases = e2e_cases(runner)
    cases += [Case("sys-" + n, p, c, list(args)) for n, p, c, args in SYSTEM]
    cases += [Case("trust-" + n, p, c, list(args), env={"NOSCO_STEP_TRUST_TRAPS": "1"})
              for n, p, c, args in TRUSTED_TRAPS]
    cases += [Case("self-" + n, p, c, list(args), checker=f)
              for n, p, c, args, f in SELF_CHECKED]
    cases += [Case("kept-" + c.name, c.prog, c.config, list(c.args), c.stdin, c.run_opts,
                   c.timeout, env=c.env, kept_rows=True) for c in cases if c.name in KEPT_ROWS]
    # Rows begun but written only at the end (as where the program ends first), then kept.
    cases += [Case("kept-at-end-" + c.name, c.prog, c.config, list(c.args), c.stdin,
                   c.run_opts, c.timeout, env=dict(c.env, NOSCO_DBT_ROWS_AT_END="1"),
                   kept_rows=True) for c in cases if c.name == "sys-python-dict"]
    if a.deep:
        cases += [Case("deep-" + n, p, c, list(args), timeout=3600.0)
                  for n, p, c, args in DEEP]
    cases = [c for c in cases if e2e.selected(c.name, a.patterns)]
    if a.list:
        for c in cases:
            print(c.name)
        return 0
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as pool:
        futures = [(c, pool.submit(runner.check, c)) for c in cases]
        for c, f in futures:
            ok, details, took = f.result()
            print("%-5s %s (%.1f s)" % ("ok" if ok else "FAIL", c.name, took), flush=True)
            for line in details:
                print("      " + line)
            passed += ok
            failed += not ok
    print("engines: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
