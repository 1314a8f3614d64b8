"""Checks of nosco export's formats on a real trace, run by run.py for the
cases marked export-check (docs/export.md).

What the trace holds comes from `nosco dump events` (every call, every
instruction with its address and bytes, each thread's instruction count),
never from an export, and each format is read by its consumer where Debian
has one, else by a reader written from the format's specification:

- chrome: valid JSON; process and thread names; one X slice per call, with
  the call's instruction range on the insns clock; per thread, the slices
  nest properly (on both clocks);
- folded: every line is "frame;frame WEIGHT"; the weights add up to the
  trace's instructions, with --depth 1 too, and to a subtree's for CALL_ID;
- drcov: the text header, the module table and a BB table of exactly the
  announced size to the end of the file; every block lies in its module;
  every executed instruction lies in a block, and with --hits the blocks'
  hits times their instructions add up to the trace's instructions;
- callgrind: callgrind_annotate (valgrind) reads it and its program total
  is the trace's instruction count;
- a failed export (no such call) leaves an existing OUT, and OUT.hits, as
  they were;
- uftrace and perfetto: export_tools.py.

check() returns the problems found, [] when there are none.
"""
import json
import re
import subprocess

import export_tools

CALL = re.compile(r"^call id=(\d+) thread=(\d+) parent=(\S+) .*\bpos_start=(\d+) pos_end=(\d+)")
INSN = re.compile(r"^insn thread=(\d+) pos=(\d+) addr=0x([0-9a-f]+) bytes=([0-9a-f]+)")
THREAD = re.compile(r"^thread id=(\d+) tid=(\d+) .*\binsns=(\d+)")


class Trace:
    """What the events view says the trace holds."""

    def __init__(self, text):
        self.calls = {}    # id -> (parent or None, pos_start, pos_end)
        self.insns = []    # (addr, length)
        self.tids = set()
        self.total = 0
        for line in text.splitlines():
            m = CALL.match(line)
            if m:
                parent = None if m.group(3) == "-" else int(m.group(3))
                self.calls[int(m.group(1))] = (parent, int(m.group(4)), int(m.group(5)))
            elif INSN.match(line):
                m = INSN.match(line)
                self.insns.append((int(m.group(3), 16), len(m.group(4)) // 2))
            elif THREAD.match(line):
                m = THREAD.match(line)
                self.tids.add(int(m.group(2)))
                self.total += int(m.group(3))


def nosco(nosco_path, env, *args):
    return subprocess.run([str(nosco_path)] + [str(a) for a in args], capture_output=True,
                          env=env, timeout=120)


def export(ctx, *args):
    """The export's stdout, or None with a problem recorded."""
    p = nosco(ctx["nosco"], ctx["env"], "export", "-i", ctx["trace"], *args)
    if p.returncode != 0:
        ctx["problems"].append("nosco export %s: exit %d: %s" % (
            " ".join(map(str, args)), p.returncode, p.stderr.decode(errors="replace").strip()))
        return None
    return p.stdout


def nested(slices):
    """The first slice (ts, end, id) that ends after the slice it starts in, or None."""
    stack = []
    for ts, end, cid in sorted(slices, key=lambda s: (s[0], -s[1], s[2])):
        while stack and stack[-1][1] <= ts:
            stack.pop()
        if stack and end > stack[-1][1]:
            return (ts, end, cid), stack[-1]
        stack.append((ts, end, cid))
    return None


def check_chrome(ctx, trace, clock):
    out = export(ctx, "-f", "chrome", "--clock", clock)
    if out is None:
        return
    problems = ctx["problems"]
    try:
        doc = json.loads(out)
    except ValueError as e:
        problems.append("chrome --clock %s: not valid JSON: %s" % (clock, e))
        return
    events = doc.get("traceEvents", [])
    names = {(e["name"], e["tid"]) for e in events if e.get("ph") == "M"}
    if not any(n == "process_name" for n, _ in names):
        problems.append("chrome: no process_name event")
    missing = trace.tids - {t for n, t in names if n == "thread_name"}
    if missing:
        problems.append("chrome: no thread_name for tids %s" % sorted(missing))
    slices = [e for e in events if e.get("ph") == "X"]
    ids = sorted(e["args"]["call_id"] for e in slices)
    if ids != sorted(trace.calls):
        problems.append("chrome --clock %s: %d slices for %d calls (ids differ)"
                        % (clock, len(ids), len(trace.calls)))
    by_tid = {}
    for e in slices:
        cid = e["args"]["call_id"]
        if clock == "insns" and cid in trace.calls:
            _, start, end = trace.calls[cid]
            if (e["ts"], e["dur"]) != (start, end - start):
                problems.append("chrome: call %d has ts=%s dur=%s, its range is %d..%d"
                                % (cid, e["ts"], e["dur"], start, end))
        # wall times have 3 decimals: compare in nanoseconds
        ts, dur = round(e["ts"] * 1000), round(e["dur"] * 1000)
        by_tid.setdefault(e["tid"], []).append((ts, ts + dur, cid))
    for tid, s in by_tid.items():
        bad = nested(s)
        if bad:
            problems.append("chrome --clock %s: thread %d: slice %s overlaps %s"
                            % (clock, tid, bad[0], bad[1]))


def folded_total(ctx, *args):
    out = export(ctx, "-f", "folded", *args)
    if out is None:
        return None
    total = 0
    for line in out.decode().splitlines():
        m = re.match(r"^(\S.*) (\d+)$", line)
        if not m or m.group(2) == "0" or "" in m.group(1).split(";"):
            ctx["problems"].append("folded: bad line %r" % line)
            return None
        total += int(m.group(2))
    return total


def check_folded(ctx, trace):
    for args in ([], ["--depth", "1"]):
        got = folded_total(ctx, *args)
        if got is not None and got != trace.total:
            ctx["problems"].append("folded %s: weights add up to %d, the trace has %d "
                                   "instructions" % (" ".join(args), got, trace.total))
    if 1 in trace.calls:
        _, start, end = trace.calls[1]
        got = folded_total(ctx, "1")
        if got is not None and got != end - start:
            ctx["problems"].append("folded 1: weights add up to %d, call 1 has %d instructions"
                                   % (got, end - start))


def parse_drcov(data):
    """(modules [(base, end)], blocks [(module, start, size)]) or a problem (str)."""
    lines, rest = [], data
    for _ in range(4):
        line, _, rest = rest.partition(b"\n")
        lines.append(line.decode())
    if lines[0] != "DRCOV VERSION: 2" or not lines[1].startswith("DRCOV FLAVOR: "):
        return "drcov: bad header %r" % lines[:2]
    m = re.match(r"^Module Table: version 2, count (\d+)$", lines[2])
    if not m or lines[3] != "Columns: id, base, end, entry, path":
        return "drcov: bad module table header %r" % lines[2:4]
    modules = []
    for i in range(int(m.group(1))):
        line, _, rest = rest.partition(b"\n")
        f = [x.strip() for x in line.decode().split(",", 4)]
        if len(f) != 5 or int(f[0]) != i:
            return "drcov: bad module line %r" % line
        modules.append((int(f[1], 16), int(f[2], 16)))
    line, _, rest = rest.partition(b"\n")
    m = re.match(r"^BB Table: (\d+) bbs$", line.decode())
    if not m or len(rest) != 8 * int(m.group(1)):
        return "drcov: bad BB table: %r and %d bytes" % (line, len(rest))
    blocks = []
    for i in range(0, len(rest), 8):
        start = int.from_bytes(rest[i:i + 4], "little")
        size = int.from_bytes(rest[i + 4:i + 6], "little")
        mod = int.from_bytes(rest[i + 6:i + 8], "little")
        if mod >= len(modules) or modules[mod][0] + start + size > modules[mod][1] or not size:
            return "drcov: block %d (module %d, 0x%x, %d bytes) is not in its module" % (
                i // 8, mod, start, size)
        blocks.append((mod, start, size))
    return modules, blocks


def check_drcov(ctx, trace):
    out = ctx["tmp"] / "export.drcov"
    if export(ctx, "-f", "drcov", "--hits", "-o", out) is None:
        return
    parsed = parse_drcov(out.read_bytes())
    if isinstance(parsed, str):
        ctx["problems"].append(parsed)
        return
    modules, blocks = parsed
    covered = set()
    for mod, start, size in blocks:
        base = modules[mod][0]
        covered.update(range(base + start, base + start + size))
    lost = [a for a, n in trace.insns if not all(b in covered for b in range(a, a + n))]
    if lost:
        ctx["problems"].append("drcov: %d executed instructions in no block (0x%x first)"
                               % (len(lost), lost[0]))
    lengths = dict(trace.insns)
    hits = [line.split() for line in (ctx["tmp"] / "export.drcov.hits").read_text().splitlines()
            if not line.startswith("#")]
    if len(hits) != len(blocks):
        ctx["problems"].append("drcov --hits: %d lines for %d blocks" % (len(hits), len(blocks)))
        return
    total = 0
    for (mod, start, size), h in zip(blocks, hits):
        if (int(h[0]), int(h[1], 16), int(h[2])) != (mod, start, size):
            ctx["problems"].append("drcov --hits: line %s is not block %s" % (h, (mod, start, size)))
            return
        addr, n = modules[mod][0] + start, 0
        while addr < modules[mod][0] + start + size and addr in lengths:
            addr, n = addr + lengths[addr], n + 1
        total += n * int(h[3])
    if total != trace.total:
        ctx["problems"].append("drcov --hits: blocks ran %d instructions, the trace has %d"
                               % (total, trace.total))


def check_callgrind(ctx, trace):
    out = ctx["tmp"] / "export.callgrind"
    if export(ctx, "-f", "callgrind", "-o", out) is None:
        return
    p = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, timeout=120)
    m = re.search(r"^\s*([\d,]+)\s.*PROGRAM TOTALS", p.stdout.decode(errors="replace"), re.M)
    if p.returncode != 0 or not m:
        ctx["problems"].append("callgrind_annotate: exit %d, no program total: %s"
                               % (p.returncode, p.stderr.decode(errors="replace").strip()))
    elif int(m.group(1).replace(",", "")) != trace.total:
        ctx["problems"].append("callgrind_annotate: program total %s, the trace has %d "
                               "instructions" % (m.group(1), trace.total))


def check_kept(ctx, trace):
    """A failed export replaces neither OUT nor OUT.hits."""
    out = ctx["tmp"] / "kept.drcov"
    for path in (out, ctx["tmp"] / "kept.drcov.hits"):
        path.write_text("keep me\n")
    p = nosco(ctx["nosco"], ctx["env"], "export", "-i", ctx["trace"], "-f", "drcov", "--hits",
              "-o", out, str(max(trace.calls, default=0) + 1))
    if p.returncode != 1:
        ctx["problems"].append("export of a call that is not there: exit %d" % p.returncode)
    for path in (out, ctx["tmp"] / "kept.drcov.hits"):
        if path.read_text() != "keep me\n":
            ctx["problems"].append("a failed export changed %s" % path.name)


def check(nosco_path, trace_path, tmp, env):
    ctx = {"nosco": nosco_path, "trace": trace_path, "tmp": tmp, "env": env, "problems": []}
    p = nosco(nosco_path, env, "dump", "-i", trace_path, "events")
    if p.returncode != 0:
        return ["nosco dump events: exit %d" % p.returncode]
    trace = Trace(p.stdout.decode(errors="replace"))
    check_chrome(ctx, trace, "insns")
    check_chrome(ctx, trace, "wall")
    check_folded(ctx, trace)
    check_drcov(ctx, trace)
    check_callgrind(ctx, trace)
    check_kept(ctx, trace)
    export_tools.check(ctx, trace)  # uftrace and perfetto, read by uftrace and protoc
    return ctx["problems"]
