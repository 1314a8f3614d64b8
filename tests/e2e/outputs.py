"""Tests of what -o does to what is already there, run by run.py.

Whatever OUT is, nosco never changes what it is (docs/cli.md):

- dump -o: a regular file is replaced when the dump is complete and keeps
  its mode; a symbolic link's target is written and the link stays; a FIFO
  and a character device are written into; /dev/fd/1 is the descriptor
  nosco has (a file opened for appending stays so); a file with other hard
  links is refused (exit 2) and left as it was.
- run -o: a trace behind a symbolic link is replaced, the link stays; a
  replaced trace keeps its mode; a FIFO, a character device or a file with
  other hard links is refused (exit 125), even with --force.

The character devices are nodes made in a temporary directory (as root),
never the system's: when nosco cannot make one, /dev/null is only written
into by dump and offered to run (which must refuse it; without root it
could not be replaced anyway).
"""
import os
import stat
import subprocess
import tempfile
from pathlib import Path

TRUE = "/bin/true"


def nosco_cmd(nosco, env, *args):
    return subprocess.run([str(nosco)] + [str(a) for a in args], capture_output=True, env=env,
                          timeout=60)


def record(nosco, env, trace):
    return nosco_cmd(nosco, env, "run", "-c", "call-depth 1", "-o", trace, "--", TRUE)


def char_device(d, name, minor):
    """A node like /dev/null (minor 3) or /dev/full (7) in d, or None without the right."""
    path = d / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except OSError:
        return None
    return path


def kind(path):
    return stat.S_IFMT(os.lstat(path).st_mode)


def expect(problems, cond, what):
    if not cond:
        problems.append(what)


def expect_exit(problems, p, code, what):
    if p.returncode != code:
        problems.append("%s: exit %d, expected %d; stderr: %s"
                        % (what, p.returncode, code, p.stderr.decode(errors="replace").strip()))


def read_available(fd):
    """What a non-blocking descriptor holds, up to the end or what is not there yet."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def dump_outputs(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-out-") as tmp:
        d = Path(tmp)
        trace = d / "t.trace"
        r = record(nosco, env, trace)
        if r.returncode != 0:
            return ["nosco run failed: %s" % r.stderr.decode(errors="replace")]
        want = nosco_cmd(nosco, env, "dump", "-i", trace, "calls").stdout

        def dump(out, *view):
            return nosco_cmd(nosco, env, "dump", "-i", trace, "-o", out, *(view or ["calls"]))

        # A regular file: replaced, its mode kept; a failed dump leaves it.
        reg = d / "reg.txt"
        reg.write_text("old\n")
        reg.chmod(0o600)
        expect_exit(problems, dump(reg), 0, "dump -o a regular file")
        expect(problems, reg.read_bytes() == want, "the regular file does not hold the dump")
        expect(problems, stat.S_IMODE(reg.stat().st_mode) == 0o600,
               "the regular file's mode 600 became %o" % stat.S_IMODE(reg.stat().st_mode))
        expect_exit(problems, dump(reg, "call-info", "99"), 1, "dump -o of a call that is not there")
        expect(problems, reg.read_bytes() == want, "a failed dump changed the regular file")

        # A symbolic link: its target is written, the link stays.
        target, link = d / "target.txt", d / "link.txt"
        target.write_text("old\n")
        link.symlink_to(target.name)
        expect_exit(problems, dump(link), 0, "dump -o a symbolic link")
        expect(problems, kind(link) == stat.S_IFLNK, "the symbolic link was replaced")
        expect(problems, target.read_bytes() == want, "the link's target does not hold the dump")
        dangling, created = d / "dangling.txt", d / "created.txt"
        dangling.symlink_to(created.name)
        expect_exit(problems, dump(dangling), 0, "dump -o a dangling symbolic link")
        expect(problems, kind(dangling) == stat.S_IFLNK and created.read_bytes() == want,
               "a dangling link's target was not created with the dump, or the link was replaced")

        # A hard link: refused, both names left as they were.
        h1, h2 = d / "h1.txt", d / "h2.txt"
        h1.write_text("linked\n")
        h1.chmod(0o600)
        os.link(h1, h2)
        p = dump(h1)
        expect_exit(problems, p, 2, "dump -o a file with another hard link")
        expect(problems, b"hard link" in p.stderr, "no word of the hard link: %r" % p.stderr)
        expect(problems, h1.stat().st_nlink == 2 and h2.read_text() == "linked\n"
               and stat.S_IMODE(h1.stat().st_mode) == 0o600, "the hard-linked file changed")

        # A FIFO: its reader gets the dump; it stays a FIFO. Both ends are
        # open before nosco runs, so nothing blocks whatever nosco does (the
        # dump is far smaller than the pipe's buffer).
        fifo = d / "fifo"
        os.mkfifo(fifo)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        wfd = os.open(fifo, os.O_WRONLY)
        p = dump(fifo)
        os.close(wfd)
        got = read_available(rfd)
        os.close(rfd)
        expect_exit(problems, p, 0, "dump -o a FIFO")
        expect(problems, got == want, "the FIFO's reader got %r" % got[:80])
        expect(problems, kind(fifo) == stat.S_IFIFO, "the FIFO was replaced")

        # A character device: written into, still the same device.
        null = char_device(d, "null", 3) or Path("/dev/null")
        expect_exit(problems, dump(null), 0, "dump -o %s" % null)
        expect(problems, kind(null) == stat.S_IFCHR, "%s is no longer a device" % null)
        full = char_device(d, "full", 7)
        if full:
            p = dump(full)
            expect_exit(problems, p, 1, "dump -o a full device")
            expect(problems, b"No space left on device" in p.stderr,
                   "a full device's error does not say why: %r" % p.stderr)
            expect(problems, kind(full) == stat.S_IFCHR, "the full device was replaced")

        # /dev/fd/1 is the descriptor: a file opened for appending gets both dumps.
        # (Not /dev/stdout: a nosco that got it wrong would replace the system's
        # link; nothing can be created in /dev/fd, which is /proc/self/fd.)
        log = d / "log.txt"
        for _ in range(2):
            with open(log, "ab") as f:
                p = subprocess.run([str(nosco), "dump", "-i", str(trace), "-o", "/dev/fd/1",
                                    "calls"], stdout=f, stderr=subprocess.PIPE, env=env,
                                   timeout=60)
            expect_exit(problems, p, 0, "dump -o /dev/fd/1")
        expect(problems, log.read_bytes() == want * 2, "dump -o /dev/fd/1 did not append")

        # A pipe whose reader went away (| head): the view stops, exit 0, no message.
        rfd, wfd = os.pipe()
        os.close(rfd)
        p = subprocess.run([str(nosco), "dump", "-i", str(trace), "events"], stdout=wfd,
                           stderr=subprocess.PIPE, env=env, timeout=60)
        os.close(wfd)
        expect_exit(problems, p, 0, "dump into a closed pipe")
        expect(problems, not p.stderr, "dump into a closed pipe said %r" % p.stderr)
        expect(problems, not list(d.glob("*.nosco-*")), "temporary files left behind")
    return problems


def run_outputs(nosco, env):
    problems = []
    with tempfile.TemporaryDirectory(prefix="nosco-out-") as tmp:
        d = Path(tmp)

        # A trace replaced by a new one keeps its mode.
        trace = d / "t.trace"
        expect_exit(problems, record(nosco, env, trace), 0, "run -o a new file")
        trace.chmod(0o600)
        expect_exit(problems, record(nosco, env, trace), 0, "run -o an old trace")
        expect(problems, stat.S_IMODE(trace.stat().st_mode) == 0o600,
               "the trace's mode 600 became %o" % stat.S_IMODE(trace.stat().st_mode))

        # A symbolic link to a trace: the trace is replaced, the link stays.
        link = d / "link.trace"
        link.symlink_to(trace.name)
        p = nosco_cmd(nosco, env, "run", "-c", "call-depth 2", "-o", link, "--", TRUE)
        expect_exit(problems, p, 0, "run -o a symbolic link to a trace")
        expect(problems, kind(link) == stat.S_IFLNK, "the symbolic link was replaced")
        meta = nosco_cmd(nosco, env, "dump", "-i", trace, "events").stdout
        expect(problems, b'meta config="call-depth 2"' in meta,
               "the link's target was not replaced by the new trace")

        # A hard link: refused, even with --force; both names left.
        h2 = d / "h2.trace"
        os.link(trace, h2)
        for force in ([], ["-f"]):
            p = nosco_cmd(nosco, env, "run", *force, "-c", "call-depth 1", "-o", trace, "--",
                          TRUE)
            expect_exit(problems, p, 125, "run %s-o a trace with another hard link"
                        % ("-f " if force else ""))
        expect(problems, trace.stat().st_nlink == 2 and os.path.samefile(trace, h2),
               "the hard link was broken")
        expect(problems, stat.S_IMODE(h2.stat().st_mode) == 0o600, "the hard-linked mode changed")

        # A FIFO and a character device cannot hold a database: refused, even with --force.
        fifo = d / "fifo"
        os.mkfifo(fifo)
        null = char_device(d, "null", 3) or Path("/dev/null")
        for out in (fifo, null):
            for force in ([], ["-f"]):
                p = nosco_cmd(nosco, env, "run", *force, "-c", "call-depth 1", "-o", out, "--",
                              TRUE)
                expect_exit(problems, p, 125, "run %s-o %s" % ("-f " if force else "", out))
                expect(problems, b"needs a regular file" in p.stderr,
                       "run -o %s: the error does not say why: %r" % (out, p.stderr))
        expect(problems, kind(fifo) == stat.S_IFIFO, "the FIFO was replaced")
        expect(problems, kind(null) == stat.S_IFCHR, "%s is no longer a device" % null)
    return problems


TESTS = {"outputs-dump": dump_outputs, "outputs-run": run_outputs}
