#!/usr/bin/env python3
"""nosco end-to-end test runner.

    python3 tests/e2e/run.py [--build DIR] [-k PATTERN]... [-j N] [--timeout S]
                             [--update] [--native | --self-test | --list] [-v]

A normal run does three things and counts each test as passed or failed:
1. the self-test: the runner checks on a fake nosco that it reports
   failures (wrong output, wrong exit code, changed stdout, missing
   expected file, a hung case) and passes what matches;
2. the native tests: every fixture in tests/e2e/fixtures/ is built in each
   of its variants and run without nosco for each of its `e2e-native:`
   lines; its exit code and stdout must be the ones written there;
3. the cases of tests/e2e/cases.txt (format at the top of that file): the
   program runs under `nosco run`, must exit and print as it does natively,
   and each `nosco dump` view, normalised (normalize.py), must equal
   tests/e2e/expected/CASE.VIEW.
It ends with the line "e2e: N passed, N failed" and exits 1 if any failed.

Fixtures are built into BUILD/tests/e2e/fixtures/VARIANT/NAME, again only
when the source or the build command changed. Each case works in
BUILD/tests/e2e/out/CASE/ (the trace, nosco's stdout/stderr, the normalised
outputs as VIEW.actual), which is kept for inspection.

Options:
  --build DIR    the build directory holding nosco (default: build)
  -k PATTERN     run only the tests whose name contains PATTERN, or matches it
                 as a glob if it has * ? or [; may be repeated
  -j N           run N tests at a time (default 2)
  --timeout S    seconds a case may take (default 120; a case's timeout=
                 option overrides); a case still running then is killed,
                 with nosco's whole process group and session, and fails
  --timeout-factor F  multiply all timeouts by F (slow builds: ASAN=1)
  --update       write the actual normalised outputs into tests/e2e/expected/
                 (only for cases whose program ran as it does natively); for
                 a person to review with git diff, never for CI (refused when
                 CI is set in the environment)
  --env NAME=VALUE  add a variable to the programs' environment, to check
                 that no expected output depends on it (see README.md,
                 "Keeping expected files machine-independent"); may be
                 repeated, not with --update
  --native       only build the fixtures and run the native tests
  --self-test    only run the self-test
  --list         list the tests that would run
  -v             print the commands run
"""

import argparse
import codecs
import concurrent.futures
import dataclasses
import difflib
import fnmatch
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

E2E = Path(__file__).resolve().parent
REPO = E2E.parent.parent
sys.path.insert(0, str(E2E))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import export_check  # noqa: E402
import attach  # noqa: E402
import normalize  # noqa: E402
import outputs  # noqa: E402
import progress  # noqa: E402
import stops  # noqa: E402

FIXTURE_DIR = E2E / "fixtures"
CASES_FILE = E2E / "cases.txt"
EXPECTED_DIR = E2E / "expected"
DEFAULT_TIMEOUT = 120.0
NATIVE_TIMEOUT = 30.0
MAX_DIFF_LINES = 60
MAX_TAIL_LINES = 12
# Views whose output is KDL: each output is read back by nosco's KDL reader
# (BUILD/tests/unit/test-view-kdl FILE, built by make check / check-unit).
KDL_VIEWS = {"thread-info", "call-info", "call-trace", "binary-info"}

# ---------------------------------------------------------------------------
# Fixtures

# Link variants: compiler flags, link flags. A fixture lists the ones it is
# built in (e2e-variants:); the first is its default.
VARIANTS = {
    "nopie": (["-fno-pie"], ["-no-pie"]),
    "pie": (["-fpie"], ["-pie"]),
    "static": (["-fno-pie"], ["-no-pie", "-static"]),
    "static-pie": (["-fpie"], ["-static-pie"]),
    "now": (["-fpie"], ["-pie", "-Wl,-z,now"]),  # PIE bound at start (BIND_NOW), not lazily
    "stripped": (["-fpie"], ["-pie", "-s"]),
    "stripped-static": (["-fno-pie"], ["-no-pie", "-static", "-s"]),
}

# For C and C++: keep the call structure of the source (no inlining, no
# clones, no sibling calls) and leave out what differs between distributions'
# compiler defaults (stack protector, CET, fortify).
C_COMMON = ["-g", "-O1", "-fno-inline", "-fno-ipa-cp", "-fno-ipa-sra", "-fno-ipa-icf",
            "-fno-optimize-sibling-calls", "-fno-stack-protector", "-fcf-protection=none",
            "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=0", "-Wall"]
LANGS = {".c": "c", ".cpp": "c++", ".asm": "nasm", ".s": "gas"}


@dataclasses.dataclass
class Native:
    args: list
    exit: int
    stdout: bytes


@dataclasses.dataclass
class Fixture:
    name: str
    source: Path
    lang: str
    variants: list
    cflags: list
    ldflags: list
    natives: list


class SetupError(Exception):
    pass


def parse_fixture(path):
    """Read the e2e-* lines in the first comment of a fixture source."""
    fx = Fixture(path.stem, path, LANGS[path.suffix], [], [], [], [])
    for n, line in enumerate(path.read_text().splitlines()[:80], 1):
        m = re.search(r"\be2e-([a-z]+):\s*(.*?)\s*(\*/)?$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        where = "%s:%d" % (path.relative_to(REPO), n)
        try:
            words = shlex.split(value)
        except ValueError as e:
            raise SetupError("%s: %s" % (where, e))
        if key == "variants":
            bad = [v for v in words if v not in VARIANTS]
            if bad:
                raise SetupError("%s: unknown variant %s" % (where, ", ".join(bad)))
            fx.variants = words
        elif key == "cflags":
            fx.cflags = words
        elif key == "ldflags":
            fx.ldflags = words
        elif key == "native":
            fx.natives.append(parse_native(words, where))
        else:
            raise SetupError("%s: unknown key e2e-%s" % (where, key))
    if not fx.variants:
        raise SetupError("%s: no e2e-variants: line" % path.relative_to(REPO))
    if not fx.natives:
        raise SetupError("%s: no e2e-native: line" % path.relative_to(REPO))
    return fx


def parse_native(words, where):
    nat = Native([], 0, b"")
    for w in words:
        key, eq, value = w.partition("=")
        if not eq:
            raise SetupError("%s: expected key=value, got %r" % (where, w))
        if key == "args":
            nat.args = shlex.split(value)
        elif key == "exit":
            nat.exit = int(value)
        elif key == "stdout":
            nat.stdout = codecs.decode(value, "unicode_escape").encode("latin-1")
        else:
            raise SetupError("%s: unknown key %r" % (where, key))
    return nat


def discover_fixtures():
    fixtures = {}
    for path in sorted(FIXTURE_DIR.iterdir()):
        if path.suffix in LANGS:
            fx = parse_fixture(path)
            if fx.name in fixtures:
                raise SetupError("two fixtures named %s" % fx.name)
            fixtures[fx.name] = fx
    return fixtures


def build_commands(fx, variant, out):
    cflags, ldflags = VARIANTS[variant]
    obj = out.with_name(out.name + ".o")
    src = str(fx.source)
    if fx.lang == "nasm":
        # The objcopy drops nasm's local labels (foo.loop) from the symbol
        # table, so that addresses resolve to the function (foo+0x10).
        return [["nasm", "-g", "-F", "dwarf", "-f", "elf64", "-o", str(obj), src],
                ["objcopy", "--wildcard", "--strip-symbol=?*.?*", str(obj)],
                ["gcc"] + ldflags + [str(obj)] + fx.ldflags + ["-o", str(out)]]
    if fx.lang == "gas":
        return [["gcc", "-g", "-c", "-o", str(obj), src],
                ["gcc"] + ldflags + [str(obj)] + fx.ldflags + ["-o", str(out)]]
    cc, std = ("g++", "-std=gnu++17") if fx.lang == "c++" else ("gcc", "-std=gnu17")
    return [[cc, std] + C_COMMON + cflags + fx.cflags + [src] + ldflags + fx.ldflags
            + ["-o", str(out)]]


class Builder:
    """Builds fixture variants once per run, only when out of date."""

    def __init__(self, build_dir, verbose=False):
        self.root = build_dir / "tests" / "e2e" / "fixtures"
        self.verbose = verbose
        self.results = {}
        self.lock = threading.Lock()
        self.locks = {}

    def path(self, name, variant):
        return self.root / variant / name

    def build(self, fx, variant):
        """Return (path, None) or (None, error text)."""
        key = (fx.name, variant)
        with self.lock:
            lock = self.locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self.results:
                self.results[key] = self._build(fx, variant)
            return self.results[key]

    def _build(self, fx, variant):
        out = self.path(fx.name, variant)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        cmds = build_commands(fx, variant, tmp)
        stamp = out.with_name(out.name + ".stamp")
        stamp_text = json.dumps(cmds, indent=1) + "\n"
        if (out.exists() and stamp.exists() and stamp.read_text() == stamp_text
                and out.stat().st_mtime >= fx.source.stat().st_mtime):
            return out, None
        for cmd in cmds:
            if self.verbose:
                print("  build: " + shlex.join(cmd), flush=True)
            try:
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                return None, "%s: %s" % (shlex.join(cmd), e)
            if p.returncode != 0:
                return None, "%s\n%s" % (shlex.join(cmd), p.stdout.decode(errors="replace"))
        os.replace(tmp, out)
        tmp.with_name(tmp.name + ".o").unlink(missing_ok=True)
        stamp.write_text(stamp_text)
        return out, None


# ---------------------------------------------------------------------------
# Running programs


def exit_code(returncode):
    """A wait status as a shell shows it: 128 + N for a death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kill_session(sid):
    """SIGKILL every process of session sid (nosco, the program, its children)."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            pass


def process_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclasses.dataclass
class Result:
    exit: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    seconds: float = 0.0


def run_program(argv, timeout, cwd, stdin=None, env=None, merge=False):
    """Run argv in a session of its own; on timeout kill the whole session.
    merge: its stderr goes to its stdout (one stream, in the order written)."""
    start = time.monotonic()
    stdin_f = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        p = subprocess.Popen(argv, stdin=stdin_f, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                             cwd=cwd, env=env, start_new_session=True, preexec_fn=_no_core)
    except OSError as e:
        return Result(127, b"", ("cannot run %s: %s\n" % (argv[0], e)).encode())
    finally:
        if stdin:
            stdin_f.close()
    try:
        out, err = p.communicate(timeout=max(timeout, 0.1))
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_session(p.pid)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = b"", b"(output lost: pipes still open after the kill)\n"
        timed_out = True
    kill_session(p.pid)  # whatever it left behind
    return Result(exit_code(p.returncode if p.returncode is not None else -9), out, err or b"",
                  timed_out, time.monotonic() - start)


def test_env(bind_now=True):
    """The same environment on every machine: the C library's start-up code
    walks it, so its size and contents show in traces of that code.

    LD_BIND_NOW=1 (unless bind_now is false): ld.so binds every PLT slot of
    every object at start-up, so that no traced call goes through its
    lazy-binding trampoline, whose code ld.so picks by CPU
    (_dl_runtime_resolve_xsavec, _xsave or _fxsave)."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/nonexistent",
        "LC_ALL": "C",
        "LANG": "C",
    }
    if bind_now:
        env["LD_BIND_NOW"] = "1"
    return env


# ---------------------------------------------------------------------------
# Cases

CASE_OPTIONS = ("exit", "stdout", "stdin", "timeout", "norm", "run-opts", "calls")
# A line of the calls view: its symbol column.
CALLS_LINE = re.compile(r"^\s*\d+\s+tid=\S+\s+depth=\d+\s+insns=\S+\s+calls=\S+\s+(\S+)")
CALLS_SPEC = re.compile(r"^(.+?)(>=|=)(\d+)$")
PLACEHOLDER = re.compile(r"\{(out|tmp|src|build|fx:[\w.+-]+(?::[\w-]+)?)\}")


@dataclasses.dataclass
class Case:
    name: str
    where: str
    kind: str                     # "trace" or "cmd"
    target: str = ""              # fixture name, or an absolute program path
    variant: str = None
    config: str = ""
    views: list = dataclasses.field(default_factory=list)   # lists of words
    args: list = dataclasses.field(default_factory=list)
    exit: int = None
    output_only: bool = False
    export_check: bool = False    # check every export format of the trace (export_check.py)
    stdout_file: Path = None
    stdin_file: Path = None
    timeout: float = None
    norm: list = dataclasses.field(default_factory=list)
    run_opts: list = dataclasses.field(default_factory=list)
    calls: list = dataclasses.field(default_factory=list)  # (glob, ">=" or "=", count)
    commands: list = dataclasses.field(default_factory=list)  # cmd: lists of words

    def expected_files(self):
        if self.kind == "cmd":
            return [self.name + ".cmd"]
        return [self.name + "." + view_file(v) for v in self.views]


def view_file(words):
    return "_".join(words).replace("/", "%")


def logical_lines(path):
    """(line number, text) with comments kept out and backslash continuations joined."""
    pending, start = "", 0
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not pending:
            start = n
            if raw.lstrip().startswith("#") or not raw.strip():
                continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        yield start, pending + raw
        pending = ""
    if pending:
        yield start, pending


def parse_cases(path, fixtures):
    """Return (cases, errors)."""
    cases, errors, names = [], [], set()
    for n, line in logical_lines(path):
        where = "%s:%d" % (path.name, n)
        try:
            for case in parse_case_line(line, where, fixtures):
                if case.name in names:
                    raise SetupError("%s: a second case named %s" % (where, case.name))
                names.add(case.name)
                cases.append(case)
        except (SetupError, ValueError) as e:
            errors.append(str(e) if str(e).startswith(where) else "%s: %s" % (where, e))
    return cases, errors


def parse_case_line(line, where, fixtures):
    words = shlex.split(line, comments=True)
    if not words:
        return []
    if len(words) < 2:
        raise SetupError("%s: a case needs at least a name and a target" % where)
    name = words[0]
    if not re.fullmatch(r"[\w.+-]+", name):
        raise SetupError("%s: bad case name %r (letters, digits, . + - _)" % (where, name))
    if words[1] == "nosco":
        cmds, cur = [], []
        for w in words[2:]:
            if w == ";;":
                cmds.append(cur)
                cur = []
            else:
                cur.append(w)
        cmds.append(cur)
        if any(not c for c in cmds) and words[2:]:
            raise SetupError("%s: empty command around ';;'" % where)
        return [Case(name, where, "cmd", commands=cmds)]
    if len(words) < 4:
        raise SetupError("%s: expected NAME TARGET CONFIG VIEWS [OPTIONS] [--] [ARGS]" % where)
    case = Case(name, where, "trace", config=words[2])
    target = words[1]
    if words[3] != "-":
        case.views = [v.split() for v in words[3].split(",") if v.strip()]
    rest = words[4:]
    while rest:
        w = rest[0]
        key, eq, value = w.partition("=")
        if w == "--":
            rest = rest[1:]
            break
        if w == "output-only":
            case.output_only = True
        elif w == "export-check":
            case.export_check = True
        elif eq and key in CASE_OPTIONS:
            set_case_option(case, key, value, where)
        else:
            break
        rest = rest[1:]
    case.args = rest
    return expand_variants(case, target, where, fixtures)


def set_case_option(case, key, value, where):
    if key == "exit":
        case.exit = int(value)
    elif key == "stdout":
        case.stdout_file = E2E / value
    elif key == "stdin":
        case.stdin_file = E2E / value
    elif key == "timeout":
        case.timeout = float(value)
    elif key == "norm":
        case.norm = value.split(",")
        bad = [r for r in case.norm if r not in normalize.RULES]
        if bad:
            raise SetupError("%s: unknown norm rule %s" % (where, ", ".join(bad)))
    elif key == "run-opts":
        case.run_opts = shlex.split(value)
    elif key == "calls":
        for spec in value.split(","):
            m = CALLS_SPEC.match(spec)
            if not m:
                raise SetupError("%s: calls= takes GLOB=N or GLOB>=N, comma-separated, not %r"
                                 % (where, spec))
            case.calls.append((m.group(1), m.group(2), int(m.group(3))))


def expand_variants(case, target, where, fixtures):
    if target.startswith("/"):
        case.target = target
        return [case]
    name, _, variants = target.partition(":")
    if name not in fixtures:
        raise SetupError("%s: no fixture named %r" % (where, name))
    fx = fixtures[name]
    if not variants:
        case.target, case.variant = name, fx.variants[0]
        return [case]
    wanted = fx.variants if variants == "*" else variants.split(",")
    bad = [v for v in wanted if v not in fx.variants]
    if bad:
        raise SetupError("%s: fixture %s has no variant %s" % (where, name, ", ".join(bad)))
    if len(wanted) == 1 and variants != "*":
        case.target, case.variant = name, wanted[0]
        return [case]
    out = []
    for v in wanted:
        c = dataclasses.replace(case, name="%s@%s" % (case.name, v), target=name, variant=v)
        out.append(c)
    return out


# ---------------------------------------------------------------------------
# The engine


@dataclasses.dataclass
class Outcome:
    name: str
    ok: bool
    details: list = dataclasses.field(default_factory=list)


class Engine:
    def __init__(self, build_dir, nosco, expected_dir, fixtures, builder, update=False,
                 timeout=DEFAULT_TIMEOUT, verbose=False, out_root=None, factor=1.0,
                 check_outputs=True, env=None):
        self.check_outputs = check_outputs  # KDL and GNU as checks (off for the fake nosco)
        self.build_dir = build_dir
        self.nosco = nosco
        self.expected_dir = expected_dir
        self.fixtures = fixtures
        self.builder = builder
        self.update = update
        self.timeout = timeout
        self.factor = factor
        self.verbose = verbose
        self.out_root = out_root or build_dir / "tests" / "e2e" / "out"
        self.env = env or test_env()
        self.native_results = {}
        self.native_locks = {}
        self.native_lock = threading.Lock()

    # -- helpers

    def fixture_path(self, name, variant=None):
        fx = self.fixtures.get(name)
        if fx is None:
            raise SetupError("no fixture named %r" % name)
        variant = variant or fx.variants[0]
        if variant not in fx.variants:
            raise SetupError("fixture %s has no variant %s" % (name, variant))
        path, err = self.builder.build(fx, variant)
        if err:
            raise SetupError("fixture %s:%s does not build:\n%s" % (name, variant, err))
        return path

    def subst(self, text, tmp):
        def one(m):
            key = m.group(1)
            if key == "out":
                return str(tmp / "out.trace")
            if key == "tmp":
                return str(tmp)
            if key == "src":
                return str(E2E)
            if key == "build":
                return str(self.build_dir)
            _, name, *variant = key.split(":")
            return str(self.fixture_path(name, variant[0] if variant else None))
        return PLACEHOLDER.sub(one, text)

    def normalizer(self, tmp):
        return normalize.Normalizer({"TMP": tmp, "BUILD": self.build_dir, "REPO": REPO})

    def scratch(self, name):
        tmp = self.out_root / name
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "notatrace.txt").write_text("this file is not a nosco trace\n")
        return tmp

    def run(self, argv, timeout, cwd, stdin=None):
        if self.verbose:
            print("  run: " + shlex.join(str(a) for a in argv), flush=True)
        return run_program([str(a) for a in argv], timeout, cwd, stdin, self.env)

    def native(self, prog, args, stdin):
        """The program's own behaviour, run once per (program, args, stdin)."""
        key = (str(prog), tuple(args), str(stdin))
        with self.native_lock:
            lock = self.native_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self.native_results:
                self.native_results[key] = self.run([prog] + args, NATIVE_TIMEOUT,
                                                    self.out_root, stdin)
            return self.native_results[key]

    def compare(self, actual, rel, tmp, details):
        """Compare a normalised output with expected/rel; True when equal (or updated)."""
        (tmp / (rel + ".actual")).write_text(actual)
        exp_path = self.expected_dir / rel
        if self.update:
            if not exp_path.exists() or exp_path.read_text() != actual:
                exp_path.parent.mkdir(parents=True, exist_ok=True)
                exp_path.write_text(actual)
                details.append("updated %s" % display(exp_path))
            return True
        if not exp_path.exists():
            details.append("no expected file %s (run with --update to create it, "
                           "then review it)" % display(exp_path))
            return False
        expected = exp_path.read_text()
        if expected == actual:
            return True
        diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                         display(exp_path), "actual", lineterm=""))
        details.append("%s differs:" % display(exp_path))
        details.extend(diff[:MAX_DIFF_LINES])
        if len(diff) > MAX_DIFF_LINES:
            details.append("... %d more diff lines; actual output in %s"
                           % (len(diff) - MAX_DIFF_LINES, display(tmp / (rel + ".actual"))))
        return False

    # -- native tests

    def native_test(self, fx, variant, index):
        nat = fx.natives[index]
        name = native_name(fx, variant, index)
        try:
            prog = self.fixture_path(fx.name, variant)
        except SetupError as e:
            return Outcome(name, False, str(e).splitlines())
        r = self.run([prog] + nat.args, NATIVE_TIMEOUT, self.out_root)
        details = []
        if r.timed_out:
            details.append("timed out after %g s" % NATIVE_TIMEOUT)
        if r.exit != nat.exit:
            details.append("exit code %d, expected %d" % (r.exit, nat.exit))
        if r.stdout != nat.stdout:
            details.append("stdout %r, expected %r" % (r.stdout, nat.stdout))
        if details and r.stderr:
            details.append("stderr:")
            details.extend(tail(r.stderr))
        return Outcome(name, not details, details)

    # -- cases

    def run_case(self, case):
        try:
            if case.kind == "cmd":
                return self.run_cmd_case(case)
            return self.run_trace_case(case)
        except SetupError as e:
            return Outcome(case.name, False, str(e).splitlines())

    def run_trace_case(self, case):
        details = []
        timeout = (case.timeout or self.timeout) * self.factor
        deadline = time.monotonic() + timeout
        tmp = self.scratch(case.name)
        if case.variant:
            prog = self.fixture_path(case.target, case.variant)
        else:
            prog = Path(case.target)
            if not os.access(prog, os.X_OK):
                return Outcome(case.name, False, ["%s is not there or not executable" % prog])
        args = [self.subst(a, tmp) for a in case.args]
        config = self.subst(case.config, tmp)
        stdin = case.stdin_file
        if not self.nosco.exists():
            return Outcome(case.name, False, ["no nosco at %s (run make first)"
                                              % display(self.nosco)])
        native = self.native(prog, args, stdin)
        want_exit = case.exit if case.exit is not None else native.exit
        want_stdout = case.stdout_file.read_bytes() if case.stdout_file else native.stdout
        if native.timed_out:
            details.append("the program alone timed out after %g s" % NATIVE_TIMEOUT)

        argv = ([self.nosco, "run"] + [self.subst(o, tmp) for o in case.run_opts]
                + ["-c", config, "-o", tmp / "out.trace", "--", prog] + args)
        r = self.run(argv, deadline - time.monotonic(), tmp, stdin)
        (tmp / "run.stdout").write_bytes(r.stdout)
        (tmp / "run.stderr").write_bytes(r.stderr)
        if r.timed_out:
            details.append("timed out after %g s: killed nosco's process group" % timeout)
        elif r.exit != want_exit:
            details.append("nosco run exited %d, expected %d (the program's exit code)"
                           % (r.exit, want_exit))
        if not r.timed_out and r.stdout != want_stdout:
            details.append("the program's stdout under nosco differs from %s:"
                           % ("%s" % display(case.stdout_file) if case.stdout_file
                              else "its stdout without nosco"))
            details.extend(difflib.unified_diff(
                want_stdout.decode(errors="replace").splitlines(),
                r.stdout.decode(errors="replace").splitlines(),
                "expected", "under nosco", lineterm=""))
        if details:
            if r.stderr:
                details.append("nosco's stderr:")
                details.extend(tail(r.stderr))
            return Outcome(case.name, False, details)

        ok = True
        if case.calls:
            details += self.check_calls(case, tmp, deadline)
            ok = not details
        if case.export_check:
            problems = export_check.check(self.nosco, tmp / "out.trace", tmp, self.env)
            details += problems
            ok = ok and not problems
        norm = self.normalizer(tmp)
        for view in case.views:
            words = [self.subst(w, tmp) for w in view]
            # "export -f FORMAT ..." is nosco export's output, the rest dump views
            cmd = words[0] if words[0] == "export" else "dump"
            d = self.run([self.nosco, cmd, "-i", tmp / "out.trace"]
                         + (words[1:] if cmd == "export" else words),
                         deadline - time.monotonic(), tmp)
            rel = case.name + "." + view_file(view)
            if d.timed_out or d.exit != 0:
                ok = False
                details.append("nosco %s %s %s" % (cmd, " ".join(view[cmd == "export":]),
                                                   "timed out" if d.timed_out
                                                   else "exited %d" % d.exit))
                details.extend(tail(d.stderr))
                continue
            bad_kdl = self.check_kdl(view, d.stdout, tmp / (rel + ".kdl"))
            if bad_kdl:
                ok = False
                details.append("nosco dump %s is not valid KDL:" % " ".join(view))
                details.extend(bad_kdl)
            bad_asm = self.check_asm(view, d.stdout, tmp / (rel + ".s"))
            if bad_asm:
                ok = False
                details.append("nosco dump %s does not assemble with as:" % " ".join(view))
                details.extend(bad_asm)
            actual = norm.normalize(d.stdout.decode(errors="replace"),
                                    normalize.view_of(view), case.norm)
            if case.output_only:
                (tmp / (rel + ".actual")).write_text(actual)
                continue
            ok = self.compare(actual, rel, tmp, details) and ok
        return Outcome(case.name, ok, details)

    def check_calls(self, case, tmp, deadline):
        """The calls= counts: calls whose symbol matches each glob ([]: all as said)."""
        d = self.run([self.nosco, "dump", "-i", tmp / "out.trace", "calls"],
                     deadline - time.monotonic(), tmp)
        if d.timed_out or d.exit != 0:
            return ["nosco dump calls %s" % ("timed out" if d.timed_out
                                             else "exited %d" % d.exit)] + tail(d.stderr)
        (tmp / "calls.out").write_bytes(d.stdout)
        syms = [m.group(1) for m in map(CALLS_LINE.match,
                                        d.stdout.decode(errors="replace").splitlines()) if m]
        bad = []
        for glob, op, want in case.calls:
            n = sum(1 for sym in syms if fnmatch.fnmatchcase(sym, glob))
            if n < want if op == ">=" else n != want:
                bad.append("calls=%s%s%d: %d calls match (the calls view is in %s)"
                           % (glob, op, want, n, display(tmp / "calls.out")))
        return bad

    def check_kdl(self, view, output, path):
        """What our KDL reader finds wrong in a KDL view's output ([]: nothing)."""
        checker = self.build_dir / "tests" / "unit" / "test-view-kdl"
        if normalize.view_of(view) not in KDL_VIEWS or not self.check_outputs:
            return []
        if not checker.exists():
            return ["no KDL checker at %s (make check builds it)" % display(checker)]
        path.write_bytes(output)
        r = self.run([checker, path], NATIVE_TIMEOUT, self.out_root)
        return [] if r.exit == 0 else tail(r.stderr) or ["exit %d" % r.exit]

    def check_asm(self, view, output, path):
        """What GNU as says of an exec-trace listing ([]: it assembles)."""
        if normalize.view_of(view) != "exec-trace" or not self.check_outputs:
            return []
        path.write_bytes(output)
        r = self.run(["as", "-o", os.devnull, path], NATIVE_TIMEOUT, self.out_root)
        return [] if r.exit == 0 else tail(r.stderr) or ["exit %d" % r.exit]

    def run_cmd_case(self, case):
        tmp = self.scratch(case.name)
        timeout = (case.timeout or self.timeout) * self.factor
        deadline = time.monotonic() + timeout
        if not self.nosco.exists():
            return Outcome(case.name, False, ["no nosco at %s (run make first)"
                                              % display(self.nosco)])
        lines = []
        for words in case.commands:
            merge = words[-1:] == ["2>&1"]
            if merge:
                words = words[:-1]
            argv = [self.nosco] + [self.subst(w, tmp) for w in words]
            if self.verbose:
                print("  run: " + shlex.join(str(a) for a in argv), flush=True)
            r = run_program([str(a) for a in argv], deadline - time.monotonic(), tmp,
                            env=self.env, merge=merge)
            lines.append("$ nosco " + cmdline(words) + (" 2>&1" if merge else ""))
            lines += [("output| " if merge else "stdout| ") + s
                      for s in r.stdout.decode(errors="replace").splitlines()]
            lines += ["stderr| " + s for s in r.stderr.decode(errors="replace").splitlines()]
            lines.append("exit %d" % r.exit)
            if r.timed_out:
                return Outcome(case.name, False, ["timed out after %g s: %s"
                                                  % (timeout, shlex.join(words))])
        actual = self.normalizer(tmp).normalize("\n".join(lines) + "\n", "cmd", case.norm)
        details = []
        ok = self.compare(actual, case.name + ".cmd", tmp, details)
        return Outcome(case.name, ok, details)


def cmdline(words):
    """Words as a shell would need them, leaving {placeholders} unquoted."""
    return " ".join(w if re.fullmatch(r"[\w@%+=:,./{}-]+", w) else shlex.quote(w)
                    for w in words)


def native_name(fx, variant, index):
    return "native/%s:%s%s" % (fx.name, variant,
                               "/%d" % (index + 1) if len(fx.natives) > 1 else "")


def display(path):
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def tail(data, n=MAX_TAIL_LINES):
    lines = data.decode(errors="replace").splitlines() if isinstance(data, bytes) else data
    if len(lines) > n:
        return ["| (%d lines before)" % (len(lines) - n)] + ["| " + s for s in lines[-n:]]
    return ["| " + s for s in lines]


# ---------------------------------------------------------------------------
# Self-test: the runner must be able to fail.

FAKE_NOSCO = r'''#!%(python)s
# A stand-in for nosco used by run.py --self-test. "run" runs the program
# (forwarding its stdout and exit code) and writes a fake trace; the config
# text steers it: "exit=N" changes the exit code, "mute" drops the
# program's output, "hang" sleeps. "dump" prints the trace file.
import os, subprocess, sys, time
a = sys.argv[1:]
if a[:1] == ["run"]:
    cfg, out = a[a.index("-c") + 1], a[a.index("-o") + 1]
    prog = a[a.index("--") + 1:]
    if "hang" in cfg:  # like a stuck tracer with its stopped tracee
        child = subprocess.Popen(["sleep", "600"])
        with open(out + ".pid", "w") as f:
            f.write(str(child.pid))
        time.sleep(600)
    p = subprocess.run(prog, stdout=subprocess.PIPE)
    if "mute" not in cfg:
        sys.stdout.buffer.write(p.stdout)
    with open(out, "w") as f:
        f.write("meta pid=%%d\n0x7ffe1234a000..0x7ffe1234b000 tid=%%d time_ns=%%d\n"
                "call main addr=0x7ffe1234a000\n" %% (os.getpid(), os.getpid(), time.time_ns()))
    code = p.returncode
    for w in cfg.split():
        if w.startswith("exit="):
            code = int(w[5:])
    sys.exit(code)
if a[:1] == ["dump"]:
    if "broken" in a:
        sys.exit("nosco dump: broken view")
    if a[-1:] == ["calls"]:
        sys.stdout.write("0  tid=42  depth=1  insns=3  calls=1  main\n"
                         "1  tid=42  depth=2  insns=9  calls=0    puts end=exit\n")
        sys.exit(0)
    try:
        sys.stdout.write(open(a[a.index("-i") + 1]).read())
    except OSError as e:
        sys.exit("nosco dump: %%s" %% e.strerror)
    sys.exit(0)
sys.exit("fake nosco: bad command line")
'''

SELF_TEST_CASES = r"""
# name          target      config   views   options -- args
st-pass         /bin/echo   'ok'     events  -- hi
st-diff         /bin/echo   'ok'     events  -- hi
st-exit         /bin/echo   'exit=3' events  -- hi
st-stdout       /bin/echo   'mute'   events  -- hi
st-missing      /bin/echo   'ok'     calls   -- hi
st-view-args    /bin/echo   'ok'     'thread-info 1'  -- hi
st-dump-fails   /bin/echo   'ok'     events,broken    -- hi
st-hang         /bin/echo   'hang'   events  timeout=2 -- hi
st-output-only  /bin/echo   'ok'     calls   output-only -- hi
st-exit-expected /bin/echo  'exit=3' events  exit=3 -- hi
st-calls-pass   /bin/echo   'ok'     -       calls='main=1,p*>=1,*=2,printf=0' -- hi
st-calls-fail   /bin/echo   'ok'     -       calls='main>=2' -- hi
st-calls-none   /bin/echo   'ok'     -       calls='puts=0' -- hi
st-cmd-pass     nosco dump -i {tmp}/nothing.trace events
st-cmd-diff     nosco dump -i {tmp}/nothing.trace events
st-cmd-merged   nosco dump -i {tmp}/nothing.trace events 2>&1
st-cmd-apart    nosco dump -i {tmp}/nothing.trace events
"""

SELF_TEST_EXPECTED = {
    "st-pass.events": "meta pid=<T1>\n<A1>..<A2> tid=<T1> time_ns=<TIME>\ncall main addr=<A1>\n",
    "st-diff.events": "meta pid=<T1>\n<A1>..<A2> tid=<T1> time_ns=<TIME>\ncall main addr=<A2>\n",
    "st-exit.events": "meta pid=<T1>\n<A1>..<A2> tid=<T1> time_ns=<TIME>\ncall main addr=<A1>\n",
    "st-stdout.events": "meta pid=<T1>\n<A1>..<A2> tid=<T1> time_ns=<TIME>\ncall main addr=<A1>\n",
    "st-exit-expected.events":
        "meta pid=<T1>\n<A1>..<A2> tid=<T1> time_ns=<TIME>\ncall main addr=<A1>\n",
    "st-cmd-pass.cmd": "$ nosco dump -i {tmp}/nothing.trace events\n"
                       "stderr| nosco dump: No such file or directory\nexit 1\n",
    "st-cmd-diff.cmd": "$ nosco dump -i {tmp}/nothing.trace events\n"
                       "stderr| nosco dump: no such file\nexit 1\n",
    # One stream: what went to stderr shows as output.
    "st-cmd-merged.cmd": "$ nosco dump -i {tmp}/nothing.trace events 2>&1\n"
                         "output| nosco dump: No such file or directory\nexit 1\n",
    "st-cmd-apart.cmd": "$ nosco dump -i {tmp}/nothing.trace events\n"
                        "output| nosco dump: No such file or directory\nexit 1\n",
}

SELF_TEST_WANT = {"st-pass": True, "st-diff": False, "st-exit": False, "st-stdout": False,
                  "st-missing": False, "st-view-args": True, "st-dump-fails": False, "st-hang": False,
                  "st-output-only": True, "st-exit-expected": True, "st-cmd-pass": True,
                  "st-cmd-diff": False, "st-calls-pass": True, "st-calls-fail": False,
                  "st-calls-none": False, "st-cmd-merged": True, "st-cmd-apart": False}


def self_test_normalizer(problems):
    n = normalize.Normalizer({"BUILD": "/b/build", "REPO": "/b", "TMP": "/b/build/t"})
    got = n.normalize("thread 42 {\n x 0x7f0000001000..0x7f0000002000 tid=43 pid=42\n"
                      " y \"/b/build/t/x\" \"/b/build/n\" \"/b/src\" time=1700000000123\n"
                      " z main+0x1a 0x7f0000002000 0x1234\n", "thread-info")
    want = ("thread <T1> {\n x <A1>..<A2> tid=<T2> pid=<T1>\n"
            " y \"<TMP>/x\" \"<BUILD>/n\" \"<REPO>/src\" time=<TIME>\n"
            " z main+0x1a <A2> 0x1234\n")
    if got != want:
        problems.append("normalize: got %r, want %r" % (got, want))
    got = n.normalize(" 12  tid=42  depth=2    insns=7     calls=1     main\n"
                      "210  tid=42  depth=3    insns=-     calls=0       _exit end=exit\n",
                      "calls", ["call-ids"])
    want = ("<C1>  tid=<T1>  depth=2  insns=7  calls=1    main\n"
            "<C2>  tid=<T1>  depth=3  insns=-  calls=0      _exit end=exit\n")
    got += n.normalize("traced _start call_id=\"0\"\nexited _exit call_id=\"210\"\n",
                       "thread-info", ["call-ids"])
    want += "traced _start call_id=\"<C1>\"\nexited _exit call_id=\"<C2>\"\n"
    if got != want:
        problems.append("normalize call-ids: got %r, want %r" % (got, want))
    got = n.normalize("0  tid=9998   depth=1  work\n2  tid=10001  depth=1  work\n", "calls")
    want = "0  tid=<T1>  depth=1  work\n2  tid=<T2>  depth=1  work\n"
    if got != want:
        problems.append("normalize tid padding: got %r, want %r" % (got, want))


def self_test(build_dir, verbose=False):
    """Run the engine on a fake nosco and check it fails what it must."""
    problems = []
    self_test_normalizer(problems)
    with tempfile.TemporaryDirectory(prefix="nosco-e2e-self-test-") as d:
        d = Path(d)
        fake = d / "nosco"
        fake.write_text(FAKE_NOSCO % {"python": sys.executable})
        fake.chmod(0o755)
        exp = d / "expected"
        exp.mkdir()
        cases_file = d / "cases.txt"
        cases_file.write_text(SELF_TEST_CASES)
        cases, errors = parse_cases(cases_file, {})
        problems += ["cases: " + e for e in errors]
        eng = Engine(d, fake, exp, {}, Builder(d), timeout=30, verbose=verbose,
                     out_root=d / "out", check_outputs=False)
        for name, text in SELF_TEST_EXPECTED.items():
            (exp / name).write_text(text)
        # The fake's dump prints the same for every view.
        (exp / "st-view-args.thread-info_1").write_text(SELF_TEST_EXPECTED["st-pass.events"])
        (exp / "st-dump-fails.events").write_text(SELF_TEST_EXPECTED["st-pass.events"])
        start = time.monotonic()
        got = {c.name: eng.run_case(c) for c in cases}
        for name, want in SELF_TEST_WANT.items():
            o = got.get(name)
            if o is None:
                problems.append("%s: not run" % name)
            elif o.ok != want:
                problems.append("%s: %s, should have %s" % (name, "passed" if o.ok else "failed",
                                                            "passed" if want else "failed"))
                problems += ["  " + s for s in o.details]
        if time.monotonic() - start > 25:
            problems.append("the hung case was not stopped by its 2 s timeout")
        pid_file = d / "out" / "st-hang" / "out.trace.pid"
        if not pid_file.exists():
            problems.append("st-hang: the fake nosco did not start its child")
        elif process_alive(int(pid_file.read_text())):
            problems.append("st-hang: the child of the hung fake nosco is still alive")
        # --update rewrites a differing expected file, then the case passes.
        eng.update = True
        diff_case = next(c for c in cases if c.name == "st-diff")
        eng.run_case(diff_case)
        eng.update = False
        if not eng.run_case(diff_case).ok:
            problems.append("st-diff still fails after --update")
    return Outcome("self-test", not problems, problems)


# ---------------------------------------------------------------------------
# Main


def selected(name, patterns):
    if not patterns:
        return True
    for p in patterns:
        if any(ch in p for ch in "*?[") and fnmatch.fnmatchcase(name, p):
            return True
        if p in name:
            return True
    return False


class Reporter:
    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes = []

    def report(self, o):
        with self.lock:
            self.outcomes.append(o)
            print("%-5s %s" % ("ok" if o.ok else "FAIL", o.name), flush=True)
            for line in o.details:
                print("      " + line, flush=True)


def not_failed(problems):
    """Outcome arguments (ok, details) from a list of problems."""
    return (not problems, problems)


def main():
    ap = argparse.ArgumentParser(description="nosco end-to-end tests",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("Options:")[0])
    ap.add_argument("--build", metavar="DIR", default="build", help="build directory (default: build)")
    ap.add_argument("-k", dest="patterns", metavar="PATTERN", action="append", default=[],
                    help="only tests whose name contains PATTERN (or matches the glob)")
    ap.add_argument("-j", dest="jobs", metavar="N", type=int, default=2, help="parallel tests (default 2)")
    ap.add_argument("--timeout", metavar="S", type=float, default=DEFAULT_TIMEOUT,
                    help="seconds per case (default %g)" % DEFAULT_TIMEOUT)
    ap.add_argument("--timeout-factor", metavar="F", type=float, default=1.0,
                    help="multiply every case's timeout (e.g. 3 for an ASAN build)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite the expected files from the actual outputs")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--native", action="store_true", help="only build and run the fixtures")
    mode.add_argument("--self-test", action="store_true", help="only run the self-test")
    mode.add_argument("--list", action="store_true", help="list the tests")
    ap.add_argument("--nosco", metavar="PATH", help="the nosco binary (default: BUILD/nosco)")
    ap.add_argument("--env", metavar="NAME=VALUE", action="append", default=[],
                    help="one more variable in the programs' environment (checks only)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the commands run")
    a = ap.parse_args()

    if a.update and os.environ.get("CI"):
        print("run.py: --update is for people, not for CI", file=sys.stderr)
        return 2
    env = test_env()
    for v in a.env:
        name, eq, value = v.partition("=")
        if not eq or not name:
            print("run.py: --env wants NAME=VALUE, not %r" % v, file=sys.stderr)
            return 2
        env[name] = value
    if a.env and a.update:
        print("run.py: --env is for checking the expected outputs, not for writing them",
              file=sys.stderr)
        return 2
    build_dir = Path(a.build).resolve()
    nosco = Path(a.nosco).resolve() if a.nosco else build_dir / "nosco"
    rep = Reporter()
    setup_errors = []

    try:
        fixtures = discover_fixtures()
    except SetupError as e:
        fixtures, setup_errors = {}, [str(e)]
    cases, errors = parse_cases(CASES_FILE, fixtures) if not (a.native or a.self_test) \
        else ([], [])
    setup_errors += errors

    natives = [(fx, v, i) for fx in fixtures.values() for v in fx.variants
               for i in range(len(fx.natives))]
    natives = [t for t in natives if selected(native_name(*t), a.patterns)]
    cases = [c for c in cases if selected(c.name, a.patterns)]
    run_self = not a.native and selected("self-test", a.patterns)
    if a.self_test:
        natives, cases, run_self = [], [], True

    if a.list:
        for t in natives:
            print(native_name(*t))
        for c in cases:
            print(c.name)
        return 0

    for e in setup_errors:
        rep.report(Outcome("setup", False, e.splitlines()))
    builder = Builder(build_dir, a.verbose)
    engine = Engine(build_dir, nosco, EXPECTED_DIR, fixtures, builder, a.update, a.timeout,
                    a.verbose, factor=a.timeout_factor, env=env)
    engine.out_root.mkdir(parents=True, exist_ok=True)
    if run_self:
        rep.report(self_test(build_dir, a.verbose))
    with concurrent.futures.ThreadPoolExecutor(max(a.jobs, 1)) as pool:
        # Build every variant first (in parallel), so that the tests' own
        # timeouts do not include compile time.
        builds = {(fx.name, v): fx for fx, v, _ in natives}
        for c in cases:
            if c.variant:
                builds[(c.target, c.variant)] = fixtures[c.target]
        for c in cases:
            for w in c.args + [c.config] + [w for cmd in c.commands for w in cmd]:
                for m in PLACEHOLDER.finditer(w):
                    if m.group(1).startswith("fx:"):
                        _, n, *v = m.group(1).split(":")
                        fx = fixtures.get(n)
                        if fx and (not v or v[0] in fx.variants):
                            builds[(n, v[0] if v else fx.variants[0])] = fx
        list(pool.map(lambda k: builder.build(builds[k], k[1]), builds))
        for o in pool.map(lambda t: engine.native_test(*t), natives):
            rep.report(o)
        for o in pool.map(engine.run_case, cases):
            rep.report(o)
    if not (a.native or a.self_test):
        attach_tests = attach.tests(lambda: builder.build(fixtures["attachee"], "pie"))
        for name, test in {**stops.TESTS, **outputs.TESTS, **progress.TESTS,
                           **attach_tests}.items():
            if selected(name, a.patterns):
                rep.report(Outcome(name, *not_failed(test(nosco, env))))

    if not a.patterns and not (a.native or a.self_test):
        claimed = {f for c in cases for f in c.expected_files()}
        stale = sorted(p.name for p in EXPECTED_DIR.glob("*") if p.name not in claimed) \
            if EXPECTED_DIR.exists() else []
        for s in stale:
            print("warning: %s belongs to no case" % display(EXPECTED_DIR / s))

    failed = [o.name for o in rep.outcomes if not o.ok]
    passed = len(rep.outcomes) - len(failed)
    if failed:
        more = len(failed) - 40
        print("failed: " + " ".join(failed[:40]) + (" ... and %d more" % more if more > 0 else ""))
    print("e2e: %d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
