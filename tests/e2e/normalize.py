#!/usr/bin/env python3
"""Normalisation of nosco's output for the end-to-end tests.

Expected outputs are compared after this normalisation, which is applied
to the actual output only (expected files hold normalised text, written by
`run.py --update`). It replaces whatever changes from one run or one
machine to the next by stable tokens, in this order:

1. paths: the case's scratch directory -> <TMP>, the build directory ->
   <BUILD>, the repository -> <REPO> (longest first, so a scratch directory
   inside the build directory becomes <TMP>, not <BUILD>/...);
2. build-ids (`build-id=HEX`, `build_id="HEX"`, or a bare 40-digit hex
   word) -> <BUILDID>;
3. timestamps: the value of `time=`, `timestamp=`, `duration=`, `*_ns=`,
   `*_time=`, `time_*=`, ISO 8601 date-times, the wall times of the
   report and graph views -> <TIME>; nosco's version
   -> <VERSION>; the size of the vdso's image -> <SIZE>; the dbt engine's
   counters (`meta dbt_*`) -> <N>;
4. thread ids and process ids -> <T1>, <T2>, ... in order of first
   appearance, the same number always the same token (tids and pids share
   one numbering: the main thread's tid is the pid). Where they appear is
   listed per view in ID_PATTERNS below;
5. addresses: every 0x-hex number of 5 or more digits -> <A1>, <A2>, ... in
   order of first appearance, the same address always the same token, so
   the structure (which call returns where, which range holds what) stays
   checked. A range 0xSTART..0xEND becomes <A1>..<A2>. Shorter hex numbers
   (offsets such as main+0x1a, small immediates) are kept;
6. optional rules a case asks for with norm=RULE (see RULES): `offsets`
   (symbol offsets, for code in system libraries), `bytes` (instruction
   bytes), `sort` (sort the lines), `call-ids` (call ids -> <C1>, <C2>, ...,
   for traces whose number of calls depends on the CPU).

Each output (one view of one case) is numbered on its own: <T1> is the first
thread id that appears in that output.

Command line: normalize.py [--view VIEW] [--rule RULE]... [--path TOKEN=DIR]...
reads stdin and writes the normalised text to stdout.
"""

import argparse
import os
import re
import sys

# Where Linux thread ids and process ids appear, per view ("*": in every
# view; "cmd" is the transcript of a command case). Each pattern has one
# group, the number. Add a view's own forms here and nowhere else.
# In the events view (docs/trace-format.md, "Raw dump") `thread=N` and
# `subject=N` are nosco's own dense thread ids, stable from run to run, so
# they are kept; `tid=`, `pid=` and the subject of a fork event are Linux's.
_KDL_IDS = [
    r"\bthread[= ](\d+)\b",
    r"\b(?:create_thread|exit_thread|created_thread|exited_thread)[= ](\d+)\b",
]
ID_PATTERNS = {
    "*": [r"\b(?:tid|pid|ppid|child_pid)[= ](\d+)\b"],
    "events": [r"\bkind=fork\b.*?\bsubject=(\d+)"],
    "thread-info": _KDL_IDS,
    "call-info": _KDL_IDS,
    "call-trace": _KDL_IDS,
    "exec-trace": _KDL_IDS,
    "binary-info": _KDL_IDS,
    "calls": _KDL_IDS,
    "cmd": [r"\b(?:thread|process|pid) (\d+)\b"],
    # nosco export (view_of() gives "export"): chrome's JSON, callgrind's header
    "export": [r"\"(?:pid|tid)\":(\d+)", r"\"thread (\d+)\"", r"^(?:pid|thread): (\d+)",
               r"\bthread (\d+)\b"],
}

# Values that are times: the group is replaced by <TIME>.
TIME_PATTERNS = [
    r"\b(?:time|timestamp|duration|elapsed|\w+_ns|\w+_time|time_\w+)=\"?([0-9][0-9.:TZ+-]*)",
    r"\b(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\b",
]

# Other values that change with nosco's version or the machine, not with
# what was traced: (pattern, token for group 1).
OTHER_PATTERNS = [
    (r"\bnosco_version=\"?([^\s\"]+)", "<VERSION>"),
    (r"\bnosco (\d+\.\d+\.\d+\S*)", "<VERSION>"),
    (r"^binary .*\bimage=(\d+)", "<SIZE>"),   # the vdso's size depends on the kernel
    (r"^meta dbt_\w+=(\d+)", "<N>"),   # the dbt engine's counters depend on timing
    (r"^ *\d+ +\d+ +\d+  ( *[0-9.]+ (?:ns|us|ms|s)) ", "<TIME>"),   # report's wall time
    (r"\bwall=([0-9.]+ (?:ns|us|ms|s))\b", "<TIME>"),   # graph's
]

BUILDID_PATTERNS = [
    r"\bbuild[-_]?id[= ]\"?([0-9a-fA-F]{8,})",
    r"(?<![0-9a-fA-F])([0-9a-f]{40})(?![0-9a-fA-F])",
]

ADDRESS = re.compile(r"0x[0-9a-fA-F]{5,}")


def _rule_offsets(text):
    """Symbol offsets (puts+0x1a -> puts+<OFF>), for code in system libraries."""
    return re.sub(r"(?<=[\w>])\+0x[0-9a-fA-F]+", "+<OFF>", text)


def _rule_bytes(text):
    """Instruction bytes: `bytes=...`/`opcodes=...` values and runs of hex byte pairs."""
    text = re.sub(r"\b(bytes|opcodes)=(\"?)[0-9a-fA-F ]+\2", r"\1=\2<BYTES>\2", text)
    return re.sub(r"\b[0-9a-f]{2}(?: [0-9a-f]{2}){2,}\b", "<BYTES>", text)


CALLS_ROW = re.compile(r"^ *(\d+)  tid=(\S+) +depth=(\d+) +insns=(\S+) +calls=(\S+) +(.*)$", re.M)


def _rule_call_ids(text):
    """Call ids -> <C1>, <C2>, ... in order of first appearance: `call_id=N`
    (KDL views, exec-trace comments) and the id column of the calls view,
    whose rows are also rewritten with the padding of their columns taken
    out (it follows the widest id and counts of the whole trace) and the
    symbol still indented by depth. For views of traces that go through
    code whose path depends on the machine (static glibc's start-up in full
    mode: its CPU feature detection, cache-size probes and ifunc resolvers
    make a different number of calls on each CPU): the calls shown keep
    their order, identity and counts, not their absolute numbers."""
    token = _numbering("C")

    def row(m):
        cid, tid, depth, insns, calls, rest = m.groups()
        return "%s  tid=%s  depth=%s  insns=%s  calls=%s  %s%s" % (
            token(cid), tid, depth, insns, calls, "  " * (int(depth) - 1), rest)

    def ids(line):
        if CALLS_ROW.match(line):
            return CALLS_ROW.sub(row, line)
        return re.sub(r"\b(call_id=\"?)(\d+)", lambda m: m.group(1) + token(m.group(2)), line)
    return "".join(ids(line) for line in text.splitlines(keepends=True))


def _rule_sort(text):
    """Sort the lines (for outputs whose order is not deterministic)."""
    lines = text.splitlines()
    return "\n".join(sorted(lines)) + ("\n" if text.endswith("\n") else "")


RULES = {"offsets": _rule_offsets, "bytes": _rule_bytes, "sort": _rule_sort,
         "call-ids": _rule_call_ids}


def _replace_groups(text, pattern, repl, flags=0):
    """Replace the (first matching) group of every match of pattern by repl(value)."""
    def sub(m):
        g = next(i for i in range(1, len(m.groups()) + 1) if m.group(i) is not None)
        whole, base = m.group(0), m.start()
        return whole[: m.start(g) - base] + repl(m.group(g)) + whole[m.end(g) - base:]
    return re.sub(pattern, sub, text, flags=flags)


def _numbering(prefix):
    seen = {}

    def token(value):
        if value not in seen:
            seen[value] = "<%s%d>" % (prefix, len(seen) + 1)
        return seen[value]
    return token


class Normalizer:
    """Normalises outputs; paths maps a token (without <>) to a directory."""

    def __init__(self, paths=None):
        pairs = []
        for token, path in (paths or {}).items():
            if not path:
                continue
            for p in {str(path), os.path.realpath(str(path))}:
                pairs.append((p.rstrip("/"), "<%s>" % token))
        # Longest first: a scratch dir inside the build dir is <TMP>.
        self.paths = sorted(pairs, key=lambda pr: -len(pr[0]))

    def normalize(self, text, view="*", rules=()):
        for path, token in self.paths:
            if path and path != "/":
                text = text.replace(path, token)
        for pat in BUILDID_PATTERNS:
            text = _replace_groups(text, pat, lambda v: "<BUILDID>")
        for pat in TIME_PATTERNS:
            text = _replace_groups(text, pat, lambda v: "<TIME>")
        for pat, token in OTHER_PATTERNS:
            text = _replace_groups(text, pat, lambda v, t=token: t, flags=re.M)
        # One pass over all the id patterns, so numbers are in text order.
        tid = _numbering("T")
        pats = ID_PATTERNS["*"] + ID_PATTERNS.get(view, [])
        text = _replace_groups(text, "|".join("(?:%s)" % p for p in pats), tid, flags=re.M)
        # The calls view pads its tid column to the widest tid: threads whose tids
        # straddle a power of ten (pid_max is 32768 here) pad the others more.
        text = re.sub(r"(\btid=<T\d+>)  +", r"\1  ", text)
        addr = _numbering("A")
        text = ADDRESS.sub(lambda m: addr(m.group(0).lower()), text)
        for rule in rules:
            if rule not in RULES:
                raise ValueError("unknown normalisation rule %r (known: %s)"
                                 % (rule, ", ".join(sorted(RULES))))
            text = RULES[rule](text)
        return text


def view_of(tokens):
    """The view name in a dump command's arguments (the first non-option word)."""
    for t in tokens:
        if not t.startswith("-"):
            return t
    return "*"


def main():
    ap = argparse.ArgumentParser(description="Normalise nosco output (stdin to stdout).")
    ap.add_argument("--view", default="*", help="the view the text comes from")
    ap.add_argument("--rule", action="append", default=[], help="an optional rule: "
                    + ", ".join(sorted(RULES)))
    ap.add_argument("--path", action="append", default=[], metavar="TOKEN=DIR",
                    help="replace DIR by <TOKEN>, e.g. BUILD=build")
    a = ap.parse_args()
    paths = {}
    for p in a.path:
        token, _, d = p.partition("=")
        paths[token] = os.path.abspath(d)
    sys.stdout.write(Normalizer(paths).normalize(sys.stdin.read(), a.view, a.rule))


if __name__ == "__main__":
    main()
