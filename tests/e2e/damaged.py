#!/usr/bin/env python3
"""Damaged traces: nosco dump never hangs, crashes or lies (part of make check).

    python3 tests/e2e/damaged.py [--build DIR] [--big] [-j N] [-k PATTERN] [--keep] [-v]

A few small real traces are recorded from the e2e fixtures (both engines,
one schema), then copied and damaged in a fixed, seeded way:

- truncations at page boundaries and inside pages, and before the end of
  the SQLite header;
- zeroed b-tree pages (every table and index), bit flips anywhere;
- edits with SQL and with the call-chunk codec of docs/trace-format.md: a
  parent that points at a descendant or at the call itself, a parent delta
  of 2^63, rows deleted from the middle of a table, bad enumerations, a
  FIFO, a directory or a device in binaries.path, a newer schema, ...

Every dump view (and nosco export, in one format per copy) runs on every
copy, with a timeout, and fails the copy on:
a timeout (a hang); a death by a signal or a sanitizer report; an exit
status other than 0 or 1 (docs/cli.md); stderr lines other than nosco's
one-line messages, or an exit 1 without exactly one error line; exit 0
with an output other than the intact trace's, where the damage is in what
the view reads (SQLite-level damage always is; an edit lists the views
that must fail and those whose output may change, with the warning they
must give). Then `-i` naming a FIFO must fail at once, and call-trace,
calls and exec-trace of a 20,000-deep recursion must stay linear in
output size (and small in memory).

--big (or NOSCO_DAMAGED_BIG=1, make check-damaged) makes ten times more
random damage. Failing copies are kept in BUILD/tests/damaged/ with a
"why" file. The last line is "damaged: N passed, N failed".
"""

import argparse
import concurrent.futures
import ctypes
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

E2E = Path(__file__).resolve().parent
sys.path.insert(0, str(E2E))
sys.dont_write_bytecode = True
import run  # noqa: E402  (fixtures, test_env, kill_session)

U64 = (1 << 64) - 1
TIMEOUT = 20.0
OUTPUT_LIMIT = 64 << 20  # RLIMIT_FSIZE of a dump: a runaway output dies by SIGXFSZ

# name: fixture, engine, configuration, arguments
TRACES = {
    "calls-dbt": ("calls", "dbt", 'trace "main" binary="calls" call-depth=4', []),
    "calls-step": ("calls", "step", 'trace "main" binary="calls" call-depth=4', []),
    "threads": ("threads", "dbt", 'trace "main" binary="threads" call-depth=2', []),
    "recurse": ("recurse", "dbt", 'trace "main" binary="recurse" call-depth=40', ["25"]),
    # 4,001 calls of the step engine, over several commits: several call chunks
    "hotscope-step": ("hotscope", "step", 'trace "outer" binary="hotscope" call-depth=2',
                      ["limit"]),
}

# Every view, with {root} (the call trees start there) and {focus} (the
# call whose backtrace is shown) filled in per damaged copy.
VIEWS = [
    ["thread-info", "--backtrace"],
    ["calls"],
    ["report"],
    ["call-trace", "--backtrace", "{root}"],
    ["call-info", "--backtrace", "{focus}"],
    ["exec-trace", "--depth", "3", "{root}"],
    ["binary-info", "--backtrace"],
    ["events"],
    # Filters that skip the index rows whose call summary holds no match
    ["calls", "--symbol", "*", "--min-insns", "1"],
]


def view_name(words):
    return "calls-filtered" if "--symbol" in words else words[0]


ALL = {view_name(v) for v in VIEWS}
# The views that read calls: binary-info reads the calls that loaded binaries, if any
# (calls are read where they are needed, and checked there).
READ_CALLS = ALL - {"binary-info"}


def read_records(info):
    """The views that read call records (call chunks): thread-info reads only the roots,
    which are rows when they ran across a commit (the step engine's, as a rule)."""
    return READ_CALLS - ({"thread-info"} if info.roots_are_rows else set())
# nosco export runs on every copy too, one format per copy in turn (all of
# them would double the time of the tier): the universal checks, and a
# chrome file left behind must be whole JSON.
EXPORTS = ["chrome", "folded", "drcov", "callgrind", "uftrace", "perfetto"]
STDERR_LINE = re.compile(r"^nosco: (error|warning): \S")
SANITIZER = re.compile(rb"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       rb"runtime error:|MemorySanitizer")

# ---------------------------------------------------------------------------
# The call records (docs/trace-format.md, "call_chunks")

_zstd = None


def zstd():
    global _zstd
    if _zstd is None:
        z = ctypes.CDLL("libzstd.so.1")
        z.ZSTD_decompress.restype = ctypes.c_size_t
        z.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                      ctypes.c_size_t]
        z.ZSTD_compress.restype = ctypes.c_size_t
        z.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.c_size_t, ctypes.c_int]
        z.ZSTD_compressBound.restype = ctypes.c_size_t
        z.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
        z.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
        z.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        z.ZSTD_isError.argtypes = [ctypes.c_size_t]
        _zstd = z
    return _zstd


def unzstd(data):
    z = zstd()
    out = ctypes.create_string_buffer(z.ZSTD_getFrameContentSize(data, len(data)) or 1)
    n = z.ZSTD_decompress(out, len(out), data, len(data))
    if z.ZSTD_isError(n):
        raise ValueError("bad zstd frame")
    return out.raw[:n]


def enzstd(raw):
    z = zstd()
    out = ctypes.create_string_buffer(z.ZSTD_compressBound(len(raw)))
    n = z.ZSTD_compress(out, len(out), raw, len(raw), 1)
    if z.ZSTD_isError(n):
        raise ValueError("zstd cannot compress")
    return out.raw[:n]


def zz(d):
    d &= U64
    return ((d << 1) ^ (U64 if d >> 63 else 0)) & U64


def unzz(z):
    return (z >> 1) ^ -(z & 1)


def put_varint(out, v):
    v &= U64
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)


def get_varint(raw, at):
    v, shift = 0, 0
    while True:
        b = raw[at]
        at += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, at


def decode_calls(raw, count):
    """The records of a call chunk as dicts of absolute values."""
    recs, at = [], 0
    prev = dict(id=0, addr=0, site=0, pos=0, time=0)
    for _ in range(count):
        def take():
            nonlocal at
            v, at = get_varint(raw, at)
            return v
        c = dict(id=(prev["id"] + unzz(take())) & U64)
        c["flags"] = take()
        c["thread"] = take()
        c["parent_delta"] = take() if c["flags"] & 8 else None
        c["depth"] = take()
        c["addr"] = (prev["addr"] + unzz(take())) & U64
        c["site"] = (prev["site"] + unzz(take())) & U64
        c["ret"] = (c["site"] + unzz(take())) & U64
        c["pos_start"] = (prev["pos"] + unzz(take())) & U64
        c["pos_len"] = take()
        c["time_start"] = (prev["time"] + unzz(take())) & U64
        c["time_len"] = take()
        c["kids"] = take()
        c["inner"] = take()
        c["ids_span"] = take()
        c["signal"] = take() if c["flags"] & 2 else None
        # flag bit 12 (schema 5): the backtrace the chunk's last listed, not listed again
        c["bt"] = [take() for _ in range(take())] if c["flags"] & 4 else None
        prev = dict(id=c["id"], addr=c["addr"], site=c["site"], pos=c["pos_start"],
                    time=c["time_start"])
        recs.append(c)
    if at != len(raw):
        raise ValueError("call chunk has trailing bytes")
    return recs


def encode_calls(recs):
    out = bytearray()
    prev = dict(id=0, addr=0, site=0, pos=0, time=0)
    for c in recs:
        put_varint(out, c.get("raw_id_delta", zz(c["id"] - prev["id"])))
        put_varint(out, c["flags"])
        put_varint(out, c["thread"])
        if c["flags"] & 8:
            put_varint(out, c["parent_delta"])
        put_varint(out, c["depth"])
        put_varint(out, zz(c["addr"] - prev["addr"]))
        put_varint(out, zz(c["site"] - prev["site"]))
        put_varint(out, zz(c["ret"] - c["site"]))
        put_varint(out, zz(c["pos_start"] - prev["pos"]))
        put_varint(out, c["pos_len"])
        put_varint(out, zz(c["time_start"] - prev["time"]))
        put_varint(out, c["time_len"])
        put_varint(out, c["kids"])
        put_varint(out, c["inner"])
        put_varint(out, c["ids_span"])
        if c["flags"] & 2:
            put_varint(out, c["signal"])
        if c["flags"] & 4:
            put_varint(out, len(c["bt"]))
            for a in c["bt"]:
                put_varint(out, a)
        prev = dict(id=c["id"], addr=c["addr"], site=c["site"], pos=c["pos_start"],
                    time=c["time_start"])
    return bytes(out)


def move_in_index(db, call, parent):
    """Make the call index say that @call's parent is @parent, in a
    well-formed entry: only the record, the caller's count or the walk can tell."""
    first, count, data = db.execute("SELECT first, count, data FROM call_index "
                                    "WHERE first <= ? ORDER BY first DESC LIMIT 1",
                                    (call,)).fetchone()
    raw, at, out = unzstd(data), 0, bytearray()
    for k in range(count):
        v, at = get_varint(raw, at)
        put_varint(out, v)
        if v:
            v, at = get_varint(raw, at)
            put_varint(out, v)
        v, at = get_varint(raw, at)
        put_varint(out, v)
        v, at = get_varint(raw, at)
        put_varint(out, first + k - parent if first + k == call else v)
    db.execute("UPDATE call_index SET data = ? WHERE first = ?", (enzstd(bytes(out)), first))


class Calls:
    """The calls of a trace, rows and call-chunk records alike, to edit either."""

    def __init__(self, db):
        self.db = db
        self.rows = {i: p for i, p in db.execute("SELECT id, parent FROM calls")}
        self.chunks = {}
        for seq, count, data in db.execute("SELECT seq, count, data FROM call_chunks"):
            self.chunks[seq] = decode_calls(unzstd(data), count)
        self.parent = dict(self.rows)
        for recs in self.chunks.values():
            for c in recs:
                d = c["parent_delta"]
                self.parent[c["id"]] = None if d is None else c["id"] - d

    def children(self, call):
        return sorted(i for i, p in self.parent.items() if p == call)

    def with_grandchild(self):
        """A call with a grandchild, the deepest such: (call, grandchild)."""
        best = None
        for c in sorted(self.parent):
            for k in self.children(c):
                for g in self.children(k):
                    best = (c, g)
        return best

    def find(self, call):
        for seq, recs in self.chunks.items():
            for k, c in enumerate(recs):
                if c["id"] == call:
                    return seq, k
        return None

    def _write(self, seq):
        recs = self.chunks[seq]
        self.db.execute("UPDATE call_chunks SET count = ?, data = ? WHERE seq = ?",
                        (len(recs), enzstd(encode_calls(recs)), seq))

    def set(self, call, **fields):
        """Change a call: the columns of its row, or the fields of its record."""
        if call in self.rows:
            pos_start = self.db.execute("SELECT pos_start FROM calls WHERE id = ?",
                                        (call,)).fetchone()[0]
            cols = {"parent_delta": ("parent", lambda v: call - v),
                    "pos_len": ("pos_end", lambda v: pos_start + v),
                    "kind": ("kind", None), "end_kind": ("end_kind", None),
                    "thread": ("thread", None)}
            for f, v in fields.items():
                col, fn = cols[f]
                v = (fn(v) if fn else v) & U64
                self.db.execute("UPDATE calls SET %s = ? WHERE id = ?" % col,
                                (v - (1 << 64) if v >> 63 else v, call))
            return
        seq, k = self.find(call)
        c = self.chunks[seq][k]
        for f, v in fields.items():
            if f == "kind":
                c["flags"] = c["flags"] & ~0xF0 | (v & 15) << 4
            elif f == "end_kind":
                c["flags"] = c["flags"] & ~0xF00 | (v & 15) << 8
            elif f == "parent_delta":
                c["flags"] |= 8
                c["parent_delta"] = v & U64
            else:
                c[f] = v
        self._write(seq)

    def delete(self, call):
        if call in self.rows:
            self.db.execute("DELETE FROM calls WHERE id = ?", (call,))
            return
        seq, k = self.find(call)
        del self.chunks[seq][k]
        self._write(seq)


# ---------------------------------------------------------------------------
# Damage


class Damage:
    """One damaged copy: how to make it and what the views must do on it.

    oracle "sqlite": exit 0 only with the intact output; "any": only the
    checks every run gets (bit flips can change a value undetectably);
    "edit": must_fail views exit 1, may_change views may print something
    else with exit 0 (and then warn when warn is set), the others print
    the intact output when they exit 0. must_work: nothing is damaged
    that a view needs, every view must exit 0."""

    def __init__(self, name, make, oracle="sqlite", must_fail=(), may_change=(), warn=None,
                 root=0, focus=None, symbols=False, must_work=False):
        self.name = name
        self.must_work = must_work
        self.symbols = symbols  # else dump -n: the traced binaries are not read (faster)
        self.make = make  # make(path, info): damage the copy at path
        self.oracle = oracle
        self.must_fail = set(must_fail)
        self.may_change = set(may_change)
        self.warn = warn  # (regex, views) a warning that must be on stderr
        self.root = root
        self.focus = focus


def truncate_at(n):
    def make(path, info):
        os.truncate(path, n)
    return make


def write_at(off, data):
    def make(path, info):
        with open(path, "r+b") as f:
            f.seek(off)
            f.write(data)
    return make


def flip_bits(bits):
    def make(path, info):
        with open(path, "r+b") as f:
            for off, bit in bits:
                f.seek(off)
                b = f.read(1)
                f.seek(off)
                f.write(bytes([b[0] ^ (1 << bit)]))
    return make


def sql(*stmts):
    def make(path, info):
        db = sqlite3.connect(path)
        for s in stmts:
            db.execute(s)
        db.commit()
        db.close()
    return make


def with_calls(fn):
    """fn(calls, info) edits the calls of the copy, rows or records."""
    def make(path, info):
        db = sqlite3.connect(path)
        fn(Calls(db), info)
        db.commit()
        db.close()
    return make


class TraceInfo:
    """What the damage is made from: the intact trace's layout."""

    def __init__(self, name, path, tmp):
        self.name = name
        self.path = path
        self.tmp = tmp
        self.size = path.stat().st_size
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        self.page = db.execute("PRAGMA page_size").fetchone()[0]
        self.nblocks = db.execute("SELECT count(*) FROM blocks").fetchone()[0]
        self.pages = db.execute("SELECT name, pageno FROM dbstat WHERE pagetype IN "
                                "('internal', 'leaf') ORDER BY pageno").fetchall()
        calls = Calls(db)
        self.ncalls = len(calls.parent)
        self.grand = calls.with_grandchild()
        self.leaf = max(c for c in calls.parent if not calls.children(c))
        self.roots_are_rows = all(c in calls.rows for c, p in calls.parent.items() if p is None)
        self.nevents = db.execute("SELECT count(*) FROM events").fetchone()[0]
        self.exe_binary = db.execute("SELECT min(id) FROM binaries WHERE CAST(path AS TEXT) "
                                     "LIKE '/%' AND image IS NULL").fetchone()[0]
        db.close()


def random_damage(info, rng, scale):
    out = []
    page, size = info.page, info.size
    npages = size // page
    cuts = {0, 60, 100, page, size - 1}
    cuts |= {page * rng.randrange(1, npages) for _ in range(3 * scale)}
    cuts |= {rng.randrange(page, size) for _ in range(3 * scale)}
    for n in sorted(cuts):
        out.append(Damage("truncate-%d" % n, truncate_at(n)))
    pages = info.pages if scale > 1 else rng.sample(info.pages, min(len(info.pages), 8))
    for name, no in pages:
        out.append(Damage("zero-page-%d-%s" % (no, name), write_at((no - 1) * page,
                                                                      bytes(page))))
    for k in range(6 * scale):
        n = rng.randrange(1, 4)
        bits = [(rng.randrange(size) if k % 3 else rng.randrange(16, 100), rng.randrange(8))
                for _ in range(n)]
        out.append(Damage("flip-%s" % "-".join("%d.%d" % b for b in bits), flip_bits(bits),
                          oracle="any"))
    return out


def call_edits(info):
    """Damage to one call: each view that reads it must fail."""
    out = []
    reads = {"calls", "report", "events", "call-trace", "call-info", "exec-trace"}
    if info.grand:
        call, grand = info.grand
        out.append(Damage("parent-descendant", with_calls(
            lambda c, i: c.set(call, parent_delta=(call - grand) & U64)),
            oracle="edit", must_fail={"calls", "report", "events", "call-info", "call-trace"},
            may_change={"thread-info", "binary-info", "exec-trace"}, root=call, focus=call))
    x = info.leaf
    edits = [
        ("parent-self", dict(parent_delta=0)),
        ("parent-delta-2^63", dict(parent_delta=1 << 63)),
        ("parent-delta-2^64-1", dict(parent_delta=U64)),
        ("parent-negative", dict(parent_delta=x + 5)),
        ("call-kind-9", dict(kind=9)),
        ("call-end-9", dict(end_kind=9)),
        ("call-thread-99", dict(thread=99)),
        ("call-pos-len-2^64-1", dict(pos_len=U64)),
    ]
    for name, fields in edits:
        out.append(Damage(name, with_calls(lambda c, i, f=fields: c.set(x, **f)), oracle="edit",
                          must_fail={"calls", "report", "events", "call-info"},
                          may_change=ALL - {"calls", "report", "events", "call-info"}, focus=x))
    mid = info.ncalls // 2
    out.append(Damage("call-deleted", with_calls(lambda c, i: c.delete(mid)), oracle="edit",
                      must_fail={"calls", "report", "events", "call-info", "call-trace", "exec-trace"},
                      may_change=ALL - reads, root=mid, focus=mid))
    if info.grand:
        # The index moves a grandchild under the root: the walks that skip the subtree
        # holding it must still notice that its parent lacks a call.
        call, grand = info.grand
        out.append(Damage("index-parent-moved", with_calls(
            lambda c, i: move_in_index(c.db, grand, 0) if grand != 0 else None),
            oracle="edit", must_fail={"calls", "events", "call-info", "call-trace"},
            may_change={"thread-info", "binary-info", "exec-trace"}, focus=grand))
    out.append(Damage("call-id-delta-2^64-1", with_calls(
        lambda c, i: c.set(x, raw_id_delta=U64)), oracle="edit", must_fail=read_records(info)))
    return out


def table_edits(info):
    out = []
    fifo = info.tmp / "fifo"
    edits = [
        ("newer-schema", ["PRAGMA user_version = 99"], ALL, ()),
        # Older schemas are refused (docs/trace-format.md), not misread.
        ("schema-1", ["PRAGMA user_version = 1"], ALL, ()),
        ("schema-2", ["PRAGMA user_version = 2"], ALL, ()),
        ("not-nosco", ["PRAGMA application_id = 42"], ALL, ()),
        ("no-calls-table", ["DROP TABLE calls"], {"calls", "report", "events"}, ()),
        ("no-chunks-table", ["DROP TABLE chunks"], {"events", "exec-trace"}, ()),
        ("chunk-count-huge", ["UPDATE chunks SET count = 1 << 40"], {"events", "exec-trace"}, ()),
        ("chunk-count-max", ["UPDATE chunks SET count = 9223372036854775807"],
         {"events", "exec-trace"}, ()),
        ("chunk-garbage", ["UPDATE chunks SET data = randomblob(64)"], {"events", "exec-trace"},
         ()),
        ("chunks-deleted", ["DELETE FROM chunks"], {"events", "exec-trace"}, ()),
        ("event-kind-9", ["UPDATE events SET kind = 9"], {"events"}, ALL - {"events"}),
        # The events view prints a reference as it is; the views that follow it fail.
        ("event-call-missing", ["UPDATE events SET call = 1000000 WHERE call IS NOT NULL"],
         (), ALL),
        ("binary-deleted", ["DELETE FROM binaries WHERE id = 1"], ALL, ()),
        ("thread-id-gap", ["UPDATE threads SET id = id + 1 WHERE id = "
                           "(SELECT max(id) FROM threads)"], ALL, ()),
        # Metadata keys are optional (but for exit_kind): only events shows them.
        ("meta-deleted", ["DELETE FROM meta WHERE key <> 'exit_kind'"], (), {"events"}),
    ]
    if info.nevents > 2:
        edits.append(("event-deleted", ["DELETE FROM events WHERE id = 1"], {"events"},
                      ALL - {"events"}))
    edits += [
        ("insn-chunks-garbage", ["UPDATE insn_chunks SET data = randomblob(64)"],
         {"events", "exec-trace"}, ()),
        ("insn-chunks-deleted", ["DELETE FROM insn_chunks"], {"events", "exec-trace"}, ()),
        ("call-chunks-garbage", ["UPDATE call_chunks SET data = randomblob(64)"],
         read_records(info), ()),
        ("call-chunks-count", ["UPDATE call_chunks SET count = count + 1"], read_records(info),
         ()),
        # The call index: every view finds calls through it; one that lost
        # its end or begins elsewhere is seen when the file is opened.
        ("call-index-garbage", ["UPDATE call_index SET data = randomblob(64)"], READ_CALLS,
         ()),
        ("call-index-count", ["UPDATE call_index SET count = count - 1"], ALL, ()),
        ("call-index-deleted", ["DELETE FROM call_index"], ALL, ()),
        ("call-index-moved", ["UPDATE call_index SET first = first + 1"], ALL, ()),
        ("thread-stats-more", ["UPDATE thread_stats SET calls = calls + 1000"], ALL, ()),
        ("thread-stats-last", ["UPDATE thread_stats SET last_call = last_call + 1000"],
         ALL, ()),
        ("thread-stats-roots", ["UPDATE thread_stats SET roots = roots + 1"],
         {"thread-info"}, ()),
        # Summaries are optional (a trace cut short has none): nothing shows them.
        ("thread-stats-deleted", ["DELETE FROM thread_stats"], (), ()),
    ]
    # The call summaries: only filters read them.
    summary = {"calls-filtered"}
    edits += [
        ("call-summary-garbage", ["UPDATE call_summary SET data = randomblob(64)"],
         summary, ()),
        ("call-summary-cut", ["UPDATE call_summary SET data = "
                              "substr(data, 1, length(data) - 1)"], summary, ()),
        ("call-summary-deleted", ["DELETE FROM call_summary"], summary, ()),
        ("call-summary-moved", ["UPDATE call_summary SET first = first + 1"], summary, ()),
    ]
    if info.nblocks:
        # The step engine's traces have none: their instructions are single tokens.
        edits.append(("blocks-deleted", ["DELETE FROM blocks"], {"events", "exec-trace"}, ()))
    for name, stmts, must_fail, may_change in edits:
        out.append(Damage(name, sql(*stmts), oracle="edit", must_fail=must_fail,
                          may_change=may_change, symbols=True))
    # Schema 3 (no call summaries) is read without them, with the same output.
    out.append(Damage("schema-3", sql("DROP TABLE call_summary", "PRAGMA user_version = 3"),
                      oracle="edit", symbols=True, must_work=True))
    # Running: documented to warn, with exit 0.
    out.append(Damage("meta-running", sql("UPDATE meta SET value = 'running' "
                                          "WHERE key = 'exit_kind'"),
                      oracle="edit", may_change=ALL, warn=("is unfinished", ALL), symbols=True,
                      must_work=True))
    # Binaries that are no regular file: symbolication degrades, with one warning.
    for what, path in (("fifo", fifo), ("dir", info.tmp), ("chardev", "/dev/zero")):
        stmt = ("UPDATE binaries SET path = CAST('%s' AS BLOB) WHERE id = %d"
                % (path, info.exe_binary))
        out.append(Damage("binary-path-" + what, sql(stmt), oracle="edit", may_change=ALL,
                          warn=("%s.*not a regular file" % re.escape(str(path)),
                                ALL - {"events"}), symbols=True, must_work=True))
    return out


def damages(info, scale, seed):
    rng = random.Random("%s/%d" % (info.name, seed))
    out = random_damage(info, rng, scale) + call_edits(info) + table_edits(info)
    if scale > 1:
        for d in out:
            d.symbols = True
    return out


# ---------------------------------------------------------------------------
# Running views


def limit_children():
    """No core files, and a runaway output dies by SIGXFSZ: set here, inherited
    by every dump (a preexec_fn would make each start slower)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, hard))


def unlimited():
    """For nosco run, whose engine sizes files of its own."""
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))


class Dump:
    def __init__(self, exit, stdout, stderr, timed_out, seconds, maxrss=0):
        self.exit, self.stdout, self.stderr = exit, stdout, stderr
        self.timed_out, self.seconds, self.maxrss = timed_out, seconds, maxrss


def dump(nosco, trace, words, work, env, timeout=TIMEOUT, command="dump"):
    """nosco dump -i trace words... (or another command), its output in files under work."""
    out, err = work / "stdout", work / "stderr"
    start = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([str(nosco), command, "-i", str(trace)] + words,
                             stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env, cwd=work,
                             start_new_session=True)
        # A watchdog kills a hung dump; waiting for it gives its memory use.
        killed = threading.Event()

        def kill():
            killed.set()
            run.kill_session(p.pid)
        dog = threading.Timer(timeout, kill)
        dog.start()
        _, status, rusage = os.wait4(p.pid, 0)
        dog.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    code = 128 - p.returncode if p.returncode < 0 else p.returncode
    return Dump(code, out.read_bytes(), err.read_bytes(), killed.is_set(),
                time.monotonic() - start, rusage.ru_maxrss * 1024)


def fill(words, root, focus):
    return [w.replace("{root}", str(root)).replace("{focus}", str(focus)) for w in words]


def universal(d):
    """What is wrong with any run of a view on a damaged trace ([]: nothing)."""
    if d.timed_out:
        return ["hangs: killed after %.0f s" % d.seconds]
    bad = []
    if SANITIZER.search(d.stderr):
        bad.append("a sanitizer report")
    if d.exit >= 128:
        bad.append("killed by signal %d%s" % (d.exit - 128, " (a runaway output)"
                                              if d.exit - 128 == signal.SIGXFSZ else ""))
    elif d.exit not in (0, 1):
        bad.append("exit %d: not a status of dump (docs/cli.md)" % d.exit)
    lines = d.stderr.decode(errors="replace").splitlines()
    odd = [s for s in lines if not STDERR_LINE.match(s)]
    if odd:
        bad.append("stderr has more than nosco's messages: %r" % odd[0][:200])
    errors = [s for s in lines if s.startswith("nosco: error: ")]
    if d.exit == 1 and len(errors) != 1:
        bad.append("exit 1 with %d error lines" % len(errors))
    if d.exit == 0 and errors:
        bad.append("exit 0 with an error line")
    return bad


def judge(dmg, view, d, base):
    bad = universal(d)
    if not bad and d.exit == 1 and dmg.must_work:
        bad.append("exit 1, but it needs nothing that is damaged")
    if bad or d.exit == 1:
        return bad
    same = d.stdout == base.stdout
    if dmg.oracle == "sqlite" and not same:
        return ["exit 0 with an output other than the intact trace's (the damage is in the file)"]
    if dmg.oracle == "edit":
        if view in dmg.must_fail:
            return ["exit 0, but the damage is in what it reads"]
        if not same and view not in dmg.may_change:
            return ["exit 0 with an output other than the intact trace's"]
    if dmg.warn and view in dmg.warn[1] and not re.search(dmg.warn[0],
                                                          d.stderr.decode(errors="replace")):
        return ["no warning matching %r" % dmg.warn[0]]
    return []


# ---------------------------------------------------------------------------
# The tests


class Suite:
    def __init__(self, a, nosco, work):
        self.a = a
        self.nosco = nosco
        self.work = work
        self.env = run.test_env()
        self.lock = threading.Lock()
        self.baselines = {}
        self.passed = 0
        self.failed = []

    def report(self, name, problems):
        with self.lock:
            if problems:
                self.failed.append(name)
                print("FAIL  %s" % name, flush=True)
                for p in problems:
                    print("      " + p, flush=True)
            else:
                self.passed += 1
                if self.a.verbose:
                    print("ok    %s" % name, flush=True)

    def record(self, name, fixtures, builder):
        fixture, engine, config, args = TRACES[name]
        prog, err = builder.build(fixtures[fixture], fixtures[fixture].variants[0])
        if err:
            raise run.SetupError(err)
        trace = self.work / (name + ".trace")
        trace.unlink(missing_ok=True)
        p = subprocess.run([str(self.nosco), "run", "-e", engine, "-c", config, "-o", str(trace),
                            "--", str(prog)] + args, capture_output=True, env=self.env,
                           timeout=120, preexec_fn=unlimited)
        if p.returncode != 0:
            raise run.SetupError("nosco run for %s: exit %d: %s" % (name, p.returncode,
                                                                  p.stderr.decode()))
        return trace

    def baseline(self, info, words):
        key = (info.name, tuple(words))
        with self.lock:
            if key in self.baselines:
                return self.baselines[key]
        tmp = self.work / "base" / ("%s-%d" % (info.name, threading.get_ident()))
        tmp.mkdir(parents=True, exist_ok=True)
        d = dump(self.nosco, info.path, words, tmp, self.env)
        if d.exit or d.stderr:
            raise run.SetupError("%s on the intact %s: exit %d: %s" % (
                " ".join(words), info.name, d.exit, d.stderr.decode(errors="replace")))
        with self.lock:
            self.baselines[key] = d
        return d

    def run_damage(self, info, dmg):
        name = "%s/%s" % (info.name, dmg.name)
        tmp = self.work / "cases" / name.replace("/", "+")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        copy = tmp / "damaged.trace"
        shutil.copyfile(info.path, copy)
        problems = []
        try:
            dmg.make(copy, info)
        except Exception as e:  # a damage that cannot be made is a bug of this test
            self.report(name, ["cannot make the damage: %r" % e])
            return
        focus = dmg.focus if dmg.focus is not None else info.ncalls - 1
        for words in VIEWS:
            view = view_name(words)
            words = ([] if dmg.symbols else ["-n"]) + fill(words, dmg.root, focus)
            try:
                base = self.baseline(info, words)
            except run.SetupError as e:
                problems.append(str(e))
                continue
            d = dump(self.nosco, copy, words, tmp, self.env, self.a.timeout)
            for p in judge(dmg, view, d, base):
                problems.append("%s: %s" % (" ".join(words), p))
                tail = d.stderr.decode(errors="replace").splitlines()[-3:]
                problems += ["  | " + s[:300] for s in tail]
        problems += self.export(copy, tmp, name, dmg.symbols)
        if problems:
            (tmp / "why").write_text("\n".join(problems) + "\n")
        elif not self.a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        self.report(name, problems)

    def export(self, copy, tmp, name, symbols):
        """nosco export of a damaged copy in one of the formats, in turn: what is wrong."""
        fmt = EXPORTS[zlib.crc32(name.encode()) % len(EXPORTS)]
        out = tmp / ("export." + fmt)
        words = ([] if symbols else ["-n"]) + ["-f", fmt, "-o", str(out)]
        d = dump(self.nosco, copy, words, tmp, self.env, self.a.timeout, command="export")
        bad = ["export %s: %s" % (" ".join(words[:-2]), p) for p in universal(d)]
        if not bad and fmt == "chrome" and out.exists():
            try:
                json.loads(out.read_bytes())
            except ValueError as e:
                bad.append("export -f chrome: a file that is not JSON (%s)" % e)
        return bad

    def fifo_input(self):
        fifo = self.work / "input.fifo"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        d = dump(self.nosco, fifo, ["events"], self.work, self.env, timeout=10)
        bad = universal(d)
        if not bad and d.exit != 1:
            bad.append("exit %d, expected 1" % d.exit)
        if not bad and b"not a regular file" not in d.stderr:
            bad.append("the error does not say why: %r" % d.stderr)
        self.report("input-fifo", ["dump -i FIFO events: " + p for p in bad])

    def deep(self, fixtures, builder):
        """20,000-deep recursion: every line short, memory small, seconds not minutes."""
        fx = fixtures["recurse"]
        prog, err = builder.build(fx, fx.variants[0])
        if err:
            raise run.SetupError(err)
        trace = self.work / "deep.trace"
        trace.unlink(missing_ok=True)
        p = subprocess.run([str(self.nosco), "run", "-c",
                            'trace "main" binary="recurse" call-depth=30000', "-o", str(trace),
                            "--", str(prog), "20000"], capture_output=True, env=self.env,
                           timeout=120, preexec_fn=unlimited)
        problems = []
        if p.returncode:
            problems.append("nosco run: exit %d: %s" % (p.returncode, p.stderr.decode()))
        asan = b"__asan_init" in self.nosco.read_bytes()
        for words in (["call-trace", "0"], ["calls"], ["exec-trace", "--depth", "25000", "0"]):
            if problems:
                break
            d = dump(self.nosco, trace, words, self.work, self.env, timeout=60)
            lines = d.stdout.splitlines()
            longest = max((len(s) for s in lines), default=0)
            what = " ".join(words)
            if d.timed_out or d.exit:
                problems.append("%s: exit %d%s: %s" % (what, d.exit, " (timed out)" if
                                                        d.timed_out else "", d.stderr[-300:]))
            elif longest > 400:
                problems.append("%s: a line of %d bytes (indentation must be capped)"
                                % (what, longest))
            elif not asan and d.maxrss > 64 << 20:
                problems.append("%s: %d MB of memory (must not grow with the depth)"
                                % (what, d.maxrss >> 20))
            elif len(lines) < 20000:
                problems.append("%s: only %d lines" % (what, len(lines)))
        self.report("deep-recursion", problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the build directory (default: build)")
    ap.add_argument("--big", action="store_true", default=bool(os.environ.get(
        "NOSCO_DAMAGED_BIG")), help="ten times more random damage")
    ap.add_argument("--timeout", type=float, default=TIMEOUT,
                    help="seconds a view may take (default %g)" % TIMEOUT)
    ap.add_argument("--seed", type=int, default=1, help="the seed of the random damage")
    ap.add_argument("-j", dest="jobs", type=int, default=2, help="copies at a time (default 2)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only copies whose name contains PATTERN")
    ap.add_argument("--keep", action="store_true", help="keep every copy, not just failing ones")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the passing copies too")
    a = ap.parse_args()
    limit_children()
    build = Path(a.build).resolve()
    nosco = build / "nosco"
    work = build / "tests" / "damaged"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    suite = Suite(a, nosco, work)
    start = time.monotonic()
    try:
        fixtures = run.discover_fixtures()
        builder = run.Builder(build)
        infos = []
        for name in TRACES:
            tmp = work / ("tmp-" + name)
            tmp.mkdir()
            os.mkfifo(tmp / "fifo")
            infos.append(TraceInfo(name, suite.record(name, fixtures, builder), tmp))
        jobs = [(i, d) for i in infos for d in damages(i, 10 if a.big else 1, a.seed)]
        jobs = [j for j in jobs if not a.patterns or any(
            p in "%s/%s" % (j[0].name, j[1].name) for p in a.patterns)]
        with concurrent.futures.ThreadPoolExecutor(max(a.jobs, 1)) as pool:
            list(pool.map(lambda j: suite.run_damage(*j), jobs))
        if not a.patterns:
            suite.fifo_input()
            suite.deep(fixtures, builder)
    except (run.SetupError, OSError, subprocess.SubprocessError, sqlite3.Error) as e:
        suite.report("setup", str(e).splitlines())
    if suite.failed:
        more = len(suite.failed) - 20
        print("failed: " + " ".join(suite.failed[:20]) + (" ... and %d more" % more
                                                         if more > 0 else ""))
    print("damaged: %d passed, %d failed (%.0f s)" % (suite.passed, len(suite.failed),
                                                     time.monotonic() - start))
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
