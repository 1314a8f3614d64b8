#!/usr/bin/env python3
"""Tests of `nosco view`'s HTTP server and JSON API (docs/view.md).

Runs a viewer on a traced fixture (common.py) and checks every route, the
token, bad parameters, traversal attempts, other methods, concurrent
clients and the command line. Prints one line per failure and ends with
"web-api: N passed, M failed".

Usage: tests/web/api.py --build BUILD_DIR [-k PATTERN]
"""
import argparse
import concurrent.futures
import http.client
import json
import shutil
import sqlite3
import subprocess
import sys
import traceback

from common import Viewer, make_trace

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Client:
    def __init__(self, v):
        self.v = v

    def raw(self, path, method="GET", token=True, body=None):
        """(status, headers, body text) of one request; path is sent as is."""
        if token is True:
            token = self.v.token
        if token:
            path += ("&" if "?" in path else "?") + "token=" + token
        c = http.client.HTTPConnection("127.0.0.1", self.v.port, timeout=30)
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode("utf-8")
        finally:
            c.close()

    def api(self, path, status=200, **kw):
        st, headers, body = self.raw(path, **kw)
        assert st == status, "%s: status %d, not %d: %s" % (path, st, status, body[:300])
        assert headers.get("Content-Type") == "application/json", headers
        return json.loads(body)


def check(cond, what):
    assert cond, what


@test
def no_token_is_403_without_data(c):
    for path in ["/", "/app.js", "/api/overview", "/api/call?id=0", "/api/insns?call=0",
                 "/no/such/page", "/../../etc/passwd"]:
        for token in [None, "0" * 32, c.v.token[:-1], c.v.token + "0", c.v.token.upper()]:
            st, _, body = c.raw(path, token=token)
            check(st == 403, "%s with token %r: %d" % (path, token, st))
            check("main" not in body and "calls.c" not in body, "data in a 403: " + body)


@test
def page_and_its_files(c):
    st, h, body = c.raw("/")
    check(st == 200 and h["Content-Type"].startswith("text/html"), (st, h))
    check("app.js?token=" + c.v.token in body and "{{TOKEN}}" not in body, body[:500])
    for path, kind in [("/app.js", "text/javascript"), ("/style.css", "text/css")]:
        st, h, body = c.raw(path)
        check(st == 200 and h["Content-Type"].startswith(kind) and len(body) > 100,
              (path, st, h))
    check("default-src 'none'" in h["Content-Security-Policy"], h)
    check(h["Referrer-Policy"] == "no-referrer", h)


@test
def overview(c):
    o = c.api("/api/overview")
    check(o["meta"]["program"].endswith("/calls"), o["meta"])
    check(o["meta"]["exit_kind"] == "exited" and o["meta"]["exit_code"] == 0, o["meta"])
    check(o["argv"][0].endswith("calls"), o["argv"])
    n = c.api("/api/counts")
    check(n["calls"] == 20 and n["threads"] == 1 and n["binaries"] == len(o["binaries"]), n)
    check(any(b["path"].endswith("/calls") for b in o["binaries"]), o["binaries"])
    check(o["end"] == "written" and o["damage"] is None, o)


@test
def threads_and_roots(c):
    t = c.api("/api/threads")["threads"]
    check(len(t) == 1 and t[0]["exited"] and t[0]["code"] == 0 and t[0]["insns"] > 100, t)
    check(t[0]["calls"] == 20 and t[0]["roots"] == 1, t)
    r = c.api("/api/roots?thread=0")
    check(r["total"] == 1 and r["calls"][0]["name"] == "main" and r["calls"][0]["id"] == 0, r)
    check(c.api("/api/roots?thread=7")["total"] == 0, "roots of a thread that is not there")


@test
def call_and_callees(c):
    m = c.api("/api/call?id=0")
    check(m["name"] == "main" and m["parent"] is None and m["callees"] == 2, m)
    check(m["backtrace"] and "__libc_start" in m["backtrace"][0]["name"], m["backtrace"])
    k = c.api("/api/calls?parent=0&self=1")
    names = [x["name"] for x in k["calls"]]
    check(names == ["a", "report"] and k["total"] == 2, names)
    check(m["self"] + sum(x["insns"] for x in k["calls"]) == m["insns"], (m, k))
    a = k["calls"][0]
    check(a["callees"] == 2 and a["self"] < a["insns"], a)
    b = c.api("/api/call?id=2")
    check(b["name"] == "b" and [f.get("call") for f in b["backtrace"][:2]] == [1, 0], b)
    page = c.api("/api/calls?parent=1&offset=1&limit=1")
    check([x["name"] for x in page["calls"]] == ["c"] and page["total"] == 2, page)
    check("self" not in page["calls"][0], "self without self=1")
    check(c.api("/api/calls?parent=4")["total"] == 0, "a leaf has callees")


@test
def instructions(c):
    m = c.api("/api/call?id=0")
    p = c.api("/api/insns?call=0&limit=50")
    ins = p["insns"]
    check(len(ins) == 50 and ins[0]["pos"] == m["start"] and ins[0]["sym"] == "main", ins[:2])
    check(all(i["asm"] for i in ins), "an instruction without text")
    check(any("fixtures/calls.c:" in i.get("line", "") for i in ins), "no source lines")
    check(p["callees"] and p["callees"][0]["name"] == "a", p["callees"])
    a = p["callees"][0]
    inside = [i for i in ins if a["start"] <= i["pos"] < a["end"]]
    check(inside and inside[0]["sym"] == "a", inside[:1])
    q = c.api("/api/insns?call=0&from=%d&limit=3" % (m["start"] + 5))
    check([i["pos"] for i in q["insns"]] == [m["start"] + 5 + k for k in range(3)], q)
    check([i["addr"] for i in q["insns"]] == [i["addr"] for i in ins[5:8]], "pages differ")
    tail = c.api("/api/insns?call=0&from=%d" % m["end"])
    check(tail["insns"] == [], tail)
    check("line" not in c.api("/api/insns?call=0&limit=5&lines=0")["insns"][0], "lines=0")


@test
def search(c):
    s = c.api("/api/search?q=REPORT")
    f = [x for x in s["functions"] if x["name"] == "report"]
    check(f and f[0]["calls"] == 1 and f[0]["first"] == [7], s)
    check(c.api("/api/search?q=zzzznothing")["matches"] == 0, "a match for nothing")
    s = c.api("/api/search?q=c&limit=1")
    check(len(s["functions"]) == 1 and s["matches"] > 1, s)


@test
def search_same_without_summaries(c):
    """Schema 5 answers from its call summaries; a schema 3 copy (without
    them) reads every call: both must give the same answer."""
    old = c.v.trace.with_name("calls-schema3.trace")
    shutil.copyfile(c.v.trace, old)
    db = sqlite3.connect(str(old))
    check(db.execute("PRAGMA user_version").fetchone()[0] == 5, "not a schema 5 trace")
    db.executescript("DROP TABLE call_summary; PRAGMA user_version = 3;")
    db.close()
    v3 = Viewer(c.v.build, old)
    try:
        c3 = Client(v3)
        for q in ("a", "c", "e", "_", "main"):
            path = "/api/search?q=%s&limit=1000" % q
            new, was = c.api(path), c3.api(path)
            check(new == was, "%s: %s != %s" % (q, new, was))
    finally:
        v3.stop()


@test
def flame_graph(c):
    f = c.api("/api/flame?id=0")["root"]
    check(f["name"] == "main" and [k["name"] for k in f["kids"]][:2] == ["report", "a"]
          or [k["name"] for k in f["kids"]][:2] == ["a", "report"], f)
    a = [k for k in f["kids"] if k["name"] == "a"][0]
    c_ = [k for k in a["kids"] if k["name"] == "c"][0]
    check(c_["calls"] == 1, "the c called by a")
    shallow = c.api("/api/flame?id=0&depth=1")["root"]
    check(all(not k["kids"] for k in shallow["kids"]), shallow)


@test
def timeline(c):
    t = c.api("/api/threads")["threads"][0]
    tl = c.api("/api/timeline?thread=0&from=0&to=%d&px=2000" % t["insns"])
    rows = {(s[0], tl["names"][s[4]]) for s in tl["slices"] if s[3] >= 0}
    check((0, "main") in rows and (1, "a") in rows and (2, "b") in rows, rows)
    narrow = c.api("/api/timeline?thread=0&from=0&to=%d&px=2" % t["insns"])
    check(any(s[3] == -1 and s[4] >= 1 for s in narrow["slices"]),
          "no aggregate at 2 pixels: %s" % narrow["slices"])
    check(c.api("/api/timeline?thread=0&from=%d&to=%d" % (t["insns"] + 5, t["insns"] + 9))
          ["slices"] == [], "calls past the end")


@test
def bad_parameters_are_400(c):
    for path, words in [("/api/call", "'id' is required"),
                        ("/api/call?id=abc", "'id' must be an integer"),
                        ("/api/call?id=-1", "must be in 0.."),
                        ("/api/call?id=1e3", "must be an integer"),
                        ("/api/call?id=99999999999999999999999", "must be an integer"),
                        ("/api/calls?parent=0&limit=0", "'limit' must be in"),
                        ("/api/calls?parent=0&self=2", "'self' must be in 0..1"),
                        ("/api/insns?call=0&limit=100000", "'limit' must be in"),
                        ("/api/insns?call=1&from=0", "'from' must be in the call"),
                        ("/api/timeline?thread=0&from=5&to=5", "'to' must be above"),
                        ("/api/search", "'q' is required"),
                        ("/api/flame?id=0&depth=99", "'depth' must be in")]:
        e = c.api(path, status=400)
        check(words in e["error"], (path, e))


@test
def unknown_ids_are_404(c):
    for path in ["/api/call?id=20", "/api/calls?parent=99999", "/api/insns?call=123456789",
                 "/api/flame?id=20"]:
        e = c.api(path, status=404)
        check("no call" in e["error"] and "0 to 19" in e["error"], (path, e))


@test
def no_traversal(c):
    for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/../../etc/passwd",
                 "/app.js/../../../etc/passwd", "//etc/passwd", "/index.html", "/page/app.js",
                 "/src/web/page/app.js", "/api/", "/api", "/api/overview/", "/API/OVERVIEW", "/.git/config", "/" + "a" * 5000]:
        st, _, body = c.raw(path)
        check(st == 404, "%s: %d" % (path, st))
        check("root:" not in body and "[core]" not in body, path)


@test
def other_methods_are_405(c):
    for m in ["POST", "PUT", "DELETE", "PATCH"]:
        st, _, body = c.raw("/api/overview", method=m, body=b"x" * 100)
        check(st == 405, (m, st, body))
    st, _, _ = c.raw("/api/overview", method="POST", token=None, body=b"x")
    check(st == 403, ("POST without a token", st))
    st, _, body = c.raw("/api/overview", method="HEAD")
    check(st == 200 and body == "", ("HEAD", st))


@test
def concurrent_clients(c):
    paths = ["/api/overview", "/api/counts", "/api/call?id=%d", "/api/calls?parent=%d&self=1", "/api/insns?call=%d",
             "/api/flame?id=%d", "/api/search?q=c", "/api/timeline?thread=0&to=400&px=%d",
             "/api/call?id=99"]
    want = {}

    def one(i):
        p = paths[i % len(paths)]
        if "%d" in p:
            p = p % (i % 20 + 1)
        st, _, body = c.raw(p)
        return p, st, body

    # The answers alone first, then 400 requests from 32 clients at once: the same.
    for i in range(len(paths) * 20):
        p, st, body = one(i)
        want[p] = (st, body)
    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        got = list(ex.map(one, range(400)))
    for p, st, body in got:
        check((st, body) == want[p], "%s: %d %s" % (p, st, body[:200]))


def cli(build, trace):
    """The command line: (name, ok, detail) per check."""
    nosco = str(build) + "/nosco"
    out = []

    def run(*args):
        return subprocess.run([nosco, "view", "--no-open", *args], capture_output=True,
                              text=True, timeout=10)

    r = run()
    out.append(("no trace", r.returncode == 2 and "missing TRACE" in r.stderr, r.stderr))
    r = run("/nonexistent.trace")
    out.append(("missing trace", r.returncode == 1 and "/nonexistent.trace" in r.stderr
                and r.stderr.count("\n") == 1, r.stderr))
    r = run("--port", "99999", str(trace))
    out.append(("bad port", r.returncode == 2 and "99999" in r.stderr, r.stderr))
    r = run("--bind", "localhost.example", str(trace))
    out.append(("bad address", r.returncode == 2 and "not an IPv4" in r.stderr, r.stderr))
    r = run(str(trace), str(trace))
    out.append(("two traces", r.returncode == 2, r.stderr))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    trace = make_trace(args.build)
    passed = failed = 0

    def report(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL web-api %s: %s" % (name, detail))

    v = Viewer(args.build, trace)
    try:
        c = Client(v)
        for t in TESTS:
            if args.k not in t.__name__:
                continue
            try:
                t(c)
                report(t.__name__, True)
            except Exception as e:  # a failed check or a broken connection
                report(t.__name__, False, "%s\n%s" % (e, traceback.format_exc(limit=2)))
    finally:
        rc = v.stop()
    if not args.k or "stop" in args.k:
        report("ctrl_c_stops_cleanly", rc == 0 and len(v.lines) == 1,
               "exit %s, stderr %s" % (rc, v.lines))
    if not args.k or "cli" in args.k:
        for name, ok, detail in cli(args.build, trace):
            report("cli " + name, ok, detail)
        w = Viewer(args.build, trace, "--bind", "0.0.0.0")
        rc = w.stop()
        report("cli wide bind warns", rc == 0 and any("other machines" in l for l in w.lines),
               w.lines)
    print("web-api: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
