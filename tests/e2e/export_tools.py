"""The uftrace and perfetto exports read back by real tools, for the cases
marked export-check (export_check.py calls check()):

- uftrace: `uftrace dump` reads the directory: one entry and one exit per
  call, properly nested per thread, each call's entry and exit at its
  instruction range (--clock insns); `uftrace report` counts the calls of
  each function as `nosco dump report` does; `uftrace replay` runs. An
  export replaces an earlier one; a directory holding other files, or a
  file, is refused (exit 2) and left as it was; a failed export leaves an
  earlier one as it was; nothing is left next to OUT.
- perfetto: `protoc --decode` with src/export/perfetto.proto reads the
  file: a process track and a track per thread; one SLICE_BEGIN per call
  (its call_id annotation) at its range's start, each matched by a
  SLICE_END at its end on the same track, properly nested; every name
  iid (functions, annotations) defined on its packet sequence, after the
  sequence's state was cleared, before it is used.
"""
import re
import subprocess
from pathlib import Path

import export_check

PROTO_DIR = Path(__file__).resolve().parent.parent.parent / "src"
DUMP_RECORD = re.compile(r"^(\d+)\.(\d+)\s+(\d+): \[(entry|exit )\] .*\(([0-9a-f]+)\) depth: (\d+)")


def problem(ctx, msg):
    ctx["problems"].append(msg)


def nosco_report_calls(ctx):
    """{function: calls} from `nosco dump report`."""
    p = export_check.nosco(ctx["nosco"], ctx["env"], "dump", "-i", ctx["trace"], "report")
    calls = {}
    for line in p.stdout.decode(errors="replace").splitlines()[1:]:
        m = re.match(r"^\s*(\d+)\s+\d+\s+\d+\s+\S+ \S+\s+(.*)$", line)
        if m:
            calls[m.group(2)] = int(m.group(1))
    return calls


def uftrace(*args):
    return subprocess.run(["uftrace"] + [str(a) for a in args], capture_output=True, timeout=120)


def session_base(d):
    m = re.search(r"^SESS timestamp=(\d+)\.(\d+)", (d / "task.txt").read_text(), re.M)
    return int(m.group(1)) * 10**9 + int(m.group(2))


def check_uftrace_records(ctx, trace, d):
    p = uftrace("dump", "-d", d)
    if p.returncode != 0:
        return problem(ctx, "uftrace dump: exit %d: %s" % (p.returncode, p.stderr.decode()))
    base, stacks, ranges = session_base(d), {}, []
    for line in p.stdout.decode(errors="replace").splitlines():
        m = DUMP_RECORD.match(line)
        if not m:
            continue
        ts = int(m.group(1)) * 10**9 + int(m.group(2)) - base
        tid, kind, addr, depth = int(m.group(3)), m.group(4), m.group(5), int(m.group(6))
        stack = stacks.setdefault(tid, [])
        if kind == "entry":
            if depth != len(stack):
                return problem(ctx, "uftrace: entry at depth %d under %d open calls"
                               % (depth, len(stack)))
            stack.append((addr, ts))
        elif not stack or stack[-1][0] != addr:
            return problem(ctx, "uftrace: exit of %s does not close the innermost call" % addr)
        else:
            ranges.append((stack.pop()[1], ts))
    if any(stacks.values()):
        problem(ctx, "uftrace: calls left open at the end")
    want = sorted((start, end) for _, start, end in trace.calls.values())
    if sorted(ranges) != want:
        problem(ctx, "uftrace: %d calls with their ranges, the trace has %d"
                % (len(ranges), len(want)))


def check_uftrace_report(ctx, d):
    p = uftrace("report", "-d", d, "-f", "call")
    got = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        m = re.match(r"^\s*(\d+)  (\S.*)$", line)
        if m:
            got[m.group(2)] = int(m.group(1))
    want = nosco_report_calls(ctx)
    if p.returncode != 0 or got != want:
        diff = sorted(set(got.items()) ^ set(want.items()))[:6]
        problem(ctx, "uftrace report: calls per function differ from nosco's report: %s" % diff)
    if uftrace("replay", "-d", d).returncode != 0:
        problem(ctx, "uftrace replay failed")


def check_uftrace_outputs(ctx, trace, d):
    """What -o does to what is there: only a uftrace data directory is replaced."""
    tmp = ctx["tmp"]
    other, afile = tmp / "other.dir", tmp / "a.file"
    other.mkdir(exist_ok=True)
    (other / "notes.txt").write_text("keep\n")
    (other / "keep").write_text("keep\n")
    afile.write_text("keep\n")
    for out in (other, afile):
        p = export_check.nosco(ctx["nosco"], ctx["env"], "export", "-i", ctx["trace"], "-f",
                               "uftrace", "-o", out)
        if p.returncode != 2:
            problem(ctx, "uftrace -o %s: exit %d, expected 2" % (out.name, p.returncode))
    if sorted(f.name for f in other.iterdir()) != ["keep", "notes.txt"] or \
            afile.read_text() != "keep\n":
        problem(ctx, "uftrace: a refused OUT was changed")
    before = {f.name: f.read_bytes() for f in d.iterdir()}
    p = export_check.nosco(ctx["nosco"], ctx["env"], "export", "-i", ctx["trace"], "-f",
                           "uftrace", "-o", d, str(max(trace.calls, default=0) + 1))
    if p.returncode != 1 or {f.name: f.read_bytes() for f in d.iterdir()} != before:
        problem(ctx, "uftrace: a failed export (exit %d) changed the earlier one" % p.returncode)
    left = [f.name for f in tmp.iterdir() if ".nosco-" in f.name]
    if left:
        problem(ctx, "uftrace: left next to OUT: %s" % left)


def check_uftrace(ctx, trace):
    d = ctx["tmp"] / "uftrace.data"
    for _ in range(2):  # the second export replaces the first
        if export_check.export(ctx, "-f", "uftrace", "-o", d) is None:
            return
    check_uftrace_records(ctx, trace, d)
    check_uftrace_report(ctx, d)
    check_uftrace_outputs(ctx, trace, d)


def parse_text_format(text):
    """protoc's text output as nested dicts of lists."""
    root, stack = {}, []
    node = root
    for line in text.splitlines():
        line = line.strip()
        if line.endswith("{"):
            child = {}
            node.setdefault(line[:-1].strip(), []).append(child)
            stack.append(node)
            node = child
        elif line == "}":
            node = stack.pop()
        elif ": " in line:
            key, value = line.split(": ", 1)
            node.setdefault(key, []).append(value.strip('"') if value.startswith('"')
                                            else value)
    return root


def one(node, key, default=None):
    return node.get(key, [default])[0]


def check_perfetto_slices(ctx, trace, packets):
    tracks, state, stacks, seen = set(), {}, {}, []
    for pk in packets:
        for td in pk.get("track_descriptor", []):
            tracks.add(one(td, "uuid"))
        seq = one(pk, "trusted_packet_sequence_id")
        if int(one(pk, "sequence_flags", 0)) & 1:  # SEQ_INCREMENTAL_STATE_CLEARED
            state[seq] = (set(), {})
        names, arg_names = state.get(seq, (set(), {}))
        for i in pk.get("interned_data", []):
            names.update(one(n, "iid") for n in i.get("event_names", []))
            arg_names.update((one(n, "iid"), one(n, "name"))
                             for n in i.get("debug_annotation_names", []))
        for ev in pk.get("track_event", []):
            ts, track = int(one(pk, "timestamp", -1)), one(ev, "track_uuid")
            if track not in tracks:
                return problem(ctx, "perfetto: an event on track %s, never described" % track)
            stack = stacks.setdefault(track, [])
            if one(ev, "type") == "TYPE_SLICE_BEGIN":
                if one(ev, "name_iid") not in names:
                    return problem(ctx, "perfetto: name iid %s used before its sequence "
                                   "defines it" % one(ev, "name_iid"))
                args = {arg_names.get(one(a, "name_iid")): one(a, "uint_value")
                        for a in ev["debug_annotations"]}
                if "call_id" not in args:
                    return problem(ctx, "perfetto: a slice without a call_id (names %s)"
                                   % arg_names)
                stack.append((int(args["call_id"]), ts))
            elif not stack:
                return problem(ctx, "perfetto: SLICE_END without a slice open")
            else:
                cid, start = stack.pop()
                seen.append((cid, start, ts))
    if any(stacks.values()):
        problem(ctx, "perfetto: slices left open")
    want = sorted((cid, start, end) for cid, (_, start, end) in trace.calls.items())
    if sorted(seen) != want:
        problem(ctx, "perfetto: %d slices, the trace has %d calls (or their ranges differ)"
                % (len(seen), len(want)))


def check_perfetto(ctx, trace):
    out = ctx["tmp"] / "export.pftrace"
    if export_check.export(ctx, "-f", "perfetto", "-o", out) is None:
        return
    with open(out, "rb") as f:
        p = subprocess.run(["protoc", "--proto_path=%s" % PROTO_DIR,
                            "--decode=perfetto.protos.Trace", "export/perfetto.proto"],
                           stdin=f, capture_output=True, timeout=120)
    if p.returncode != 0:
        return problem(ctx, "protoc --decode: exit %d: %s" % (p.returncode, p.stderr.decode()))
    packets = parse_text_format(p.stdout.decode(errors="replace")).get("packet", [])
    threads = [t for pk in packets for td in pk.get("track_descriptor", [])
               for t in td.get("thread", [])]
    if {int(one(t, "tid")) for t in threads} != trace.tids:
        problem(ctx, "perfetto: thread tracks %s, the trace's threads %s"
                % (sorted(int(one(t, "tid")) for t in threads), sorted(trace.tids)))
    check_perfetto_slices(ctx, trace, packets)


def check(ctx, trace):
    check_uftrace(ctx, trace)
    check_perfetto(ctx, trace)
