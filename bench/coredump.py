#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: faultd-core-handler against systemd-coredump on the same cores, in one run.

    python3 bench/coredump.py [--sizes 50,500,2000] [--repeat 5] [--build DIR]
                              [--systemd-coredump-deb FILE] [--keep]

It builds faultd-core-handler without sanitizers (meson buildtype=release in build-bench-coredump
unless --build is given). For each core size (MiB of core, default about 50 MiB, 500 MiB and
2 GiB, kept under 2 GiB: systemd-coredump cuts larger cores by default) it starts
bench/core-fill (compiled here with cc), which fills its heap with realistic varied data (text
records, linked structs with pointers and counters, sample tables, random blobs, cleared
buffers), starts threads with stacks of different depths and parks. It takes the core with
gcore(1) while the process stays alive (so /proc/PID is real for every contender), rewrites it
into the kernel's layout (gdb writes the notes after the memory, the kernel before it; only the
offsets change) and feeds that core through a pipe (`cat core |`, as the kernel pipes it) to
each of:

- faultd-core-handler in commit mode (a temporary state_dir, consent on, the rate limit raised
  so every run stores its core, everything else default: gzip), and again with zstd;
- the anchor, systemd-coredump from Debian, unpacked from its package (`apt-get download`,
  `dpkg-deb -x`: never installed, so the machine's core_pattern is never touched) and run as the
  kernel and systemd run it: the kernel-mode process reads /proc/PID and hands the pipe over
  /run/systemd/coredump to a second instance started as systemd-coredump@.service would be
  (the connection on fd 3, LISTEN_FDS=1, LISTEN_PID), which stores the core with its defaults
  (zstd) and makes a backtrace. That runs in a private mount namespace where /run/systemd,
  /var/lib/systemd/coredump and /etc/systemd are temporary directories of this script (a
  stand-in journald socket inside keeps its messages) and /dev/kmsg is /dev/null, so it writes
  nothing outside the script's directories and uses its package's default settings only;
- zstd -3 of the whole core (stdin from the pipe, to a file), for reference;
- two floors, bench/pipe-drain: splice(2) of the pipe into /dev/null (what a reader pays that
  never looks at the bytes, as the handler skips what it does not keep) and read(2) of every
  byte into a 128 KiB buffer (as cat does).

Each round runs every contender pinned, with the `cat` feeding it, to one CPU (--cpu, default 0),
then the handler, the anchor and the splice floor again where the scheduler puts them: on a
virtual machine a pipe between two vCPUs can move bytes several times slower than within one
(each wake-up of the other side is an interrupt through the hypervisor), which makes the
unpinned figures of anything bound by the pipe vary from run to run.

Every contender runs under bench/rusage-run (static, so the copy of it a child is before exec
adds little to ru_maxrss): wall time from fork to exit, CPU (user + sys from wait4(2), the
children it waited for included) and peak RSS (ru_maxrss); for systemd-coredump wall time runs
from the kernel-mode process's start to the service's exit, CPU is the sum of both and peak RSS
the larger. Bytes stored: the file each one wrote. The `cat` feeding the pipe plays the kernel
and is counted for nobody. The medians over --repeat runs are printed as markdown tables, with
a check by gdb that the trimmed core gives the full core's backtraces. The cores are written
under the system temporary directory (/var/tmp when that is a tmpfs) and deleted at the end.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024
RLIMIT_UNLIMITED = "9223372036854775808"  # what Debian's 50-coredump.conf passes for %c
CRASH_SIGNAL = 11

# Core MiB per MiB of core-fill heap (malloc's chunk headers) and beside it (stacks, libraries),
# measured: gives the heap argument for a core of a given size.
CORE_PER_HEAP_MIB = 1.09
CORE_FIXED_MIB = 2.5


def die(msg):
    raise SystemExit(f"bench: {msg}")


def fs_type(path):
    """Filesystem type of the mount holding path."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, typ
    return kind


def work_base():
    base = tempfile.gettempdir()
    if fs_type(base) in ("tmpfs", "ramfs"):
        base = "/var/tmp"
    return base


RUSAGE_RUN = None  # bench/rusage-run, compiled statically in the work directory


def pinned(cpu, then=None):
    """A preexec_fn: on CPU cpu only (None: anywhere), then the function then."""
    def pre():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if then:
            then()
    return pre


def feed(core, cpu):
    """`cat core` into a pipe, playing the kernel: returns the Popen."""
    return subprocess.Popen(["cat", core], stdout=subprocess.PIPE, preexec_fn=pinned(cpu))


def launch(argv, result, listen_pid=False, cpu=None, then=None, **kw):
    """Starts argv under rusage-run, which writes its costs to result; on CPU cpu only when it
    is not None (its children too)."""
    pre = [RUSAGE_RUN] + (["-l"] if listen_pid else []) + [result]
    return subprocess.Popen(pre + argv, preexec_fn=pinned(cpu, then), **kw)


def collect(proc, result):
    """Waits for a launch() and reads what rusage-run measured."""
    proc.wait()
    if proc.returncode != 0 or not os.path.exists(result):
        die(f"rusage-run failed (exit {proc.returncode}) for {proc.args}")
    with open(result) as f:
        t0, t1, user, sys_, rss, rc = (int(v) for v in f.read().split())
    os.unlink(result)
    return {"start": t0 / 1e9, "end": t1 / 1e9, "wall": (t1 - t0) / 1e9, "user": user / 1e6,
            "sys": sys_ / 1e6, "cpu": (user + sys_) / 1e6, "rss_kib": rss, "rc": rc}


def measured(argv, core, work, cpu, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """`cat core | argv`: wall, CPU and peak RSS of argv (not of the cat feeding it)."""
    res = os.path.join(work, "rusage")
    feeder = feed(core, cpu)
    p = launch(argv, res, cpu=cpu, stdin=feeder.stdout, stdout=stdout, stderr=stderr)
    feeder.stdout.close()
    r = collect(p, res)
    feeder.wait()
    return r


def settle(core):
    """Before each measured run: the previous run's writes on disk (none is left to flush in the
    background meanwhile) and the core read once, so that every contender gets it from the page
    cache (a virtual machine may reclaim page cache that was not used for a few seconds)."""
    os.sync()
    subprocess.run(["cat", core], stdout=subprocess.DEVNULL, check=True)


def median_run(runs):
    """One dict of medians over runs (bytes, logs and checks from the first run)."""
    out = dict(runs[0])
    for k in ("wall", "user", "sys", "cpu", "rss_kib"):
        out[k] = statistics.median(r[k] for r in runs)
    out["rss_max_kib"] = max(r["rss_kib"] for r in runs)
    out["wall_min"] = min(r["wall"] for r in runs)
    out["wall_max"] = max(r["wall"] for r in runs)
    out["runs"] = len(runs)
    return out


# --- the anchor: systemd-coredump in a private mount namespace ----------------------------

def journal_fields(data):
    """The fields of one entry in journald's native protocol: KEY=value lines, or KEY, a
    newline, a 64-bit little-endian length, the value and a newline."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            break
        line = data[i:nl]
        if b"=" in line:
            k, _, v = line.partition(b"=")
            fields[k.decode(errors="replace")] = v
            i = nl + 1
        else:
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            fields[line.decode(errors="replace")] = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
    return fields


class Journal(threading.Thread):
    """A stand-in for journald's native socket: keeps the MESSAGE= of each datagram."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def run(self):
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(64))
            except OSError:
                return
            for level, kind, fds in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    # a payload too big for a datagram comes as a memfd: read its messages
                    for i in range(0, len(fds) - len(fds) % 4, 4):
                        fd = int.from_bytes(fds[i:i + 4], sys.byteorder)
                        try:
                            data += os.pread(fd, 1 << 20, 0)
                        finally:
                            os.close(fd)
            fields = journal_fields(data)
            if "MESSAGE" in fields:
                self.messages.append(fields["MESSAGE"].decode(errors="replace"))


def anchor_inside(spec_path):
    """Runs in `unshare --mount`: one capture by systemd-coredump, printed as JSON."""
    with open(spec_path) as f:
        spec = json.load(f)
    ns = spec["ns"]
    # Every path systemd-coredump uses is replaced by one of ours, in this namespace only.
    binds = [(os.path.join(ns, "run"), "/run/systemd"),
             (os.path.join(ns, "store"), "/var/lib/systemd/coredump"),
             (os.path.join(ns, "etc"), "/etc/systemd"),
             ("/dev/null", "/dev/kmsg")]
    for src, dst in binds:
        if not os.path.exists(dst):
            die(f"{dst} does not exist here, nothing to mount {src} on")
        subprocess.run(["mount", "--bind", src, dst], check=True)
    journal = Journal("/run/systemd/journal/socket")
    journal.start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind("/run/systemd/coredump")
    listener.listen(16)
    listener.settimeout(120)

    env = dict(os.environ)
    if spec.get("ld_library_path"):
        env["LD_LIBRARY_PATH"] = spec["ld_library_path"]
    argv = [spec["binary"], str(spec["pid"]), "0", "0", str(CRASH_SIGNAL), str(spec["time"]),
            RLIMIT_UNLIMITED, socket.gethostname()]

    global RUSAGE_RUN
    RUSAGE_RUN = spec["rusage_run"]
    kres, sres = os.path.join(ns, "rusage.kernel"), os.path.join(ns, "rusage.service")
    cpu = spec["cpu"]
    feeder = feed(spec["core"], cpu)
    kernel = launch(argv, kres, cpu=cpu, stdin=feeder.stdout, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=env)
    feeder.stdout.close()
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        kernel.kill()
        kernel.wait()
        print(json.dumps({"error": "the kernel-mode systemd-coredump never connected to "
                          "/run/systemd/coredump", "journal": journal.messages}))
        return
    # As systemd-coredump.socket (Accept=yes) starts systemd-coredump@.service: the connection
    # on fd 3, LISTEN_FDS=1, LISTEN_PID its own pid (set by rusage-run -l).
    fd = conn.fileno()
    service = launch([spec["binary"]], sres, listen_pid=True, cpu=cpu,
                     then=lambda: os.dup2(fd, 3), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     env=dict(env, LISTEN_FDS="1"), pass_fds=(3,))
    conn.close()
    k = collect(kernel, kres)
    sv = collect(service, sres)
    feeder.wait()
    time.sleep(0.05)  # the service's last journal datagram
    store = os.path.join(ns, "store")
    files = {n: os.path.getsize(os.path.join(store, n)) for n in os.listdir(store)}
    print(json.dumps({
        "kernel": k,
        "service": sv,
        "files": files,
        "journal": journal.messages,
    }))


class Anchor:
    """systemd-coredump unpacked from its Debian package."""

    def __init__(self, work, deb=None):
        self.root = os.path.join(work, "systemd-coredump")
        os.makedirs(self.root)
        if not deb:
            subprocess.run(["apt-get", "download", "systemd-coredump"], cwd=self.root,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deb = [os.path.join(self.root, n) for n in os.listdir(self.root)
                   if n.endswith(".deb")][0]
        self.deb = os.path.basename(deb)
        self.version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True,
                                      text=True, check=True).stdout.strip()
        tree = os.path.join(self.root, "tree")
        subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
        self.binary = os.path.join(tree, "lib", "systemd", "systemd-coredump")
        if not os.path.exists(self.binary):
            self.binary = os.path.join(tree, "usr", "lib", "systemd", "systemd-coredump")
        self.etc = os.path.join(tree, "etc", "systemd")  # coredump.conf: every default
        # Its private libsystemd-shared comes with the systemd package; when the machine's is
        # missing or another version, take the matching one from its own package.
        self.ld_library_path = None
        ldd = subprocess.run(["ldd", self.binary], capture_output=True, text=True).stdout
        if "not found" in ldd:
            subprocess.run(["apt-get", "download", f"libsystemd-shared={self.version}"],
                           cwd=self.root, check=True, stdout=subprocess.DEVNULL)
            for n in os.listdir(self.root):
                if n.startswith("libsystemd-shared") and n.endswith(".deb"):
                    subprocess.run(["dpkg-deb", "-x", os.path.join(self.root, n), tree],
                                   check=True)
            libs = [os.path.dirname(os.path.join(d, f)) for d, _, fs in os.walk(tree)
                    for f in fs if f.startswith("libsystemd-shared")]
            self.ld_library_path = libs[0]
        self.work = work

    def run(self, core, pid, when, cpu, verify=False):
        ns = tempfile.mkdtemp(prefix="anchor-", dir=self.work)
        for d in ("run/journal", "store", "etc"):
            os.makedirs(os.path.join(ns, d))
        shutil.copytree(self.etc, os.path.join(ns, "etc"), dirs_exist_ok=True)
        spec = os.path.join(ns, "spec.json")
        with open(spec, "w") as f:
            json.dump({"ns": ns, "core": core, "pid": pid, "time": when, "binary": self.binary,
                       "ld_library_path": self.ld_library_path, "rusage_run": RUSAGE_RUN,
                       "cpu": cpu}, f)
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__), "--anchor-inside", spec],
                           capture_output=True, text=True)
        if r.returncode != 0 or not r.stdout.strip():
            die(f"the anchor run failed (exit {r.returncode}): {r.stderr.strip()}")
        res = json.loads(r.stdout)
        if "error" in res:
            die(f"systemd-coredump: {res['error']}; its log: {res['journal']}")
        k, s = res["kernel"], res["service"]
        stored = [n for n in res["files"] if n.startswith("core.")]
        if s["rc"] != 0 or len(stored) != 1:
            die(f"systemd-coredump stored {sorted(res['files'])} (exit {k['rc']}, {s['rc']}); "
                f"its log: {res['journal']}")
        whole = None
        if verify:
            # It cuts cores above ExternalSizeMax (2 GiB by default): check it stored them whole.
            out = os.path.join(ns, "count")
            with open(out, "w") as f:
                z = subprocess.Popen(["zstd", "-dcq", os.path.join(ns, "store", stored[0])],
                                     stdout=subprocess.PIPE)
                subprocess.run(["wc", "-c"], stdin=z.stdout, stdout=f, check=True)
                z.stdout.close()
                z.wait()
            with open(out) as f:
                whole = int(f.read()) == os.path.getsize(core)
        shutil.rmtree(ns)
        return {"wall": s["end"] - k["start"], "user": k["user"] + s["user"],
                "sys": k["sys"] + s["sys"], "cpu": k["cpu"] + s["cpu"],
                "rss_kib": max(k["rss_kib"], s["rss_kib"]), "kernel_wall": k["wall"],
                "kernel_rss_kib": k["rss_kib"], "service_rss_kib": s["rss_kib"], "rc": s["rc"],
                "bytes": res["files"][stored[0]], "file": stored[0], "journal": res["journal"],
                "whole": whole}


# --- faultd-core-handler -----------------------------------------------------------------

class Handler:
    def __init__(self, build, work):
        self.binary = os.path.join(build, "daemon", "faultd-core-handler")
        if not os.access(self.binary, os.X_OK):
            die(f"{self.binary} was not built (is the coredump feature disabled in {build}?)")
        self.work = work

    def run(self, core, pid, when, compression, cpu):
        d = tempfile.mkdtemp(prefix="handler-", dir=self.work)
        conf = os.path.join(d, "faultd.conf")
        state = os.path.join(d, "state")
        with open(conf, "w") as f:
            json.dump({
                "state_dir": state,
                "control_socket": os.path.join(d, "faultd.sock"),
                "log_target": "stderr",
                "enable_data_collection": True,
                "coredump": {"compression": compression, "rate_limit_count": 10000},
            }, f)
        log = os.path.join(d, "stderr.log")
        with open(log, "wb") as err:
            r = measured([self.binary, "-c", conf, str(pid), str(pid), str(CRASH_SIGNAL),
                          str(when), "0", "0"], core, d, cpu, stderr=err)
        with open(log, errors="replace") as f:
            r["log"] = f.read().strip()
        cores, entry_bytes = [], 0
        for dirpath, _, names in os.walk(state):
            for n in names:
                p = os.path.join(dirpath, n)
                if re.match(r"core-.*\.elf", n):
                    cores.append(p)
        if r["rc"] != 0 or len(cores) != 1:
            die(f"faultd-core-handler ({compression}) exited {r['rc']} and stored "
                f"{len(cores)} core(s); its log:\n{r['log']}")
        entry = os.path.dirname(cores[0])
        entry_bytes = sum(os.path.getsize(os.path.join(entry, n)) for n in os.listdir(entry))
        r["bytes"] = os.path.getsize(cores[0])
        r["entry_bytes"] = entry_bytes
        r["stored_path"] = cores[0]
        r["dir"] = d
        return r


# --- cores -------------------------------------------------------------------------------

PT_LOAD, PT_NOTE = 1, 4
PAGE = 4096


def kernel_layout(src, dst):
    """Rewrites gdb's core src into the kernel's layout at dst: gcore writes the PT_NOTE segment
    after all the memory, the kernel writes the ELF header, the program headers (PT_NOTE first),
    the notes, then the memory from the next page boundary on. Only the offsets change. Returns
    the number of segments."""
    with open(src, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
            die(f"{src}: not a 64-bit little-endian ELF file")
        phoff = int.from_bytes(eh[32:40], "little")
        phentsize = int.from_bytes(eh[54:56], "little")
        phnum = int.from_bytes(eh[56:58], "little")
        f.seek(phoff)
        raw = f.read(phentsize * phnum)
    phdrs = [bytearray(raw[i * phentsize:(i + 1) * phentsize]) for i in range(phnum)]
    ptype = [int.from_bytes(p[0:4], "little") for p in phdrs]
    notes = [p for p, t in zip(phdrs, ptype) if t == PT_NOTE]
    rest = [p for p, t in zip(phdrs, ptype) if t != PT_NOTE]
    order = notes + rest
    off = 64 + phentsize * phnum
    plan = []  # (old offset, new offset, size)
    for i, p in enumerate(order):
        if i == len(notes):
            off = (off + PAGE - 1) // PAGE * PAGE
        old = int.from_bytes(p[8:16], "little")
        filesz = int.from_bytes(p[32:40], "little")
        p[8:16] = off.to_bytes(8, "little")
        plan.append((old, off, filesz))
        off += filesz
    neh = bytearray(eh)
    neh[32:40] = (64).to_bytes(8, "little")
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        fo.write(neh)
        fo.write(b"".join(order))
        for old, new, n in plan:
            fo.seek(new)
            done = 0
            while done < n:
                k = os.copy_file_range(fi.fileno(), fo.fileno(), n - done, old + done,
                                       new + done)
                if k <= 0:
                    die(f"{src}: short copy at {old + done}")
                done += k
        fo.truncate(off)
    return phnum


class Target:
    """A running core-fill and its core."""

    def __init__(self, fill, work, core_mib, threads):
        heap = max(1, round((core_mib - CORE_FIXED_MIB) / CORE_PER_HEAP_MIB))
        t0 = time.monotonic()
        self.proc = subprocess.Popen([fill, str(heap), str(threads)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        mix = self.proc.stdout.readline().split()
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready" or not mix or mix[0] != "mix":
            die(f"core-fill {heap} did not start: {line}")
        self.fill_seconds = time.monotonic() - t0
        self.pid = int(line[1])
        self.mix = {k: int(v) for k, v in (m.split("=") for m in mix[1:])}
        self.heap_mib = heap
        self.threads = threads
        prefix = os.path.join(work, "gcore")
        env = dict(os.environ)
        env.pop("DEBUGINFOD_URLS", None)  # gdb must not go looking for debug info
        t0 = time.monotonic()
        r = subprocess.run(["gcore", "-o", prefix, str(self.pid)], capture_output=True,
                           text=True, env=env)
        gdb_core = f"{prefix}.{self.pid}"
        if r.returncode != 0 or not os.path.exists(gdb_core):
            die(f"gcore failed: {r.stdout}{r.stderr}")
        self.gcore_seconds = time.monotonic() - t0
        # faultd-core-handler reads a core in one pass and needs the notes (the threads' stack
        # pointers) first, where the kernel puts them; gdb puts them last.
        self.core = os.path.join(work, f"core.{self.pid}")
        self.segments = kernel_layout(gdb_core, self.core)
        os.unlink(gdb_core)
        self.when = int(time.time())
        self.size = os.path.getsize(self.core)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # core-fill exits when its stdin closes
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.core):
            os.unlink(self.core)


def backtraces(binary, core):
    """{thread LWP: [frames]} from gdb, arguments left out (the heap is not in a trimmed core)."""
    r = subprocess.run(["gdb", "-batch", "-nx", "-ex", "set print frame-arguments none",
                        "-ex", "set print frame-info short-location",
                        "-ex", "thread apply all bt", binary, core],
                       capture_output=True, text=True, env=dict(os.environ, DEBUGINFOD_URLS=""))
    threads, cur = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"Thread \d+ \(.*LWP (\d+)", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"#\d+\s+(.*)", line)
        if m and cur is not None:
            cur.append(re.sub(r"\s+\(.*$", "", m.group(1)))
    return threads


def compare_backtraces(binary, full, trimmed_gz, work):
    """(identical, prefix, differing) thread counts: gdb on the trimmed core against the full."""
    plain = os.path.join(work, "trimmed.core")
    with gzip.open(trimmed_gz) as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    a, b = backtraces(binary, full), backtraces(binary, plain)
    os.unlink(plain)
    same = prefix = differ = 0
    detail = []
    for lwp, frames in sorted(a.items()):
        t = b.get(lwp, [])
        # where a window ends, gdb stops ("Cannot access memory"); the last frame it printed
        # may already be made of bytes it could not read
        good = t if frames[:len(t)] == t else t[:-1]
        if t == frames:
            same += 1
        elif good and frames[:len(good)] == good:
            prefix += 1
            detail.append(f"LWP {lwp}: the first {len(good)} of {len(frames)} frames")
        else:
            differ += 1
            detail.append(f"LWP {lwp}: differs ({len(t)} frames against {len(frames)})")
    return {"threads": len(a), "same": same, "prefix": prefix, "differ": differ,
            "detail": detail}


# --- reporting ---------------------------------------------------------------------------

def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def size(n):
    if n >= 10 * MIB:
        return f"{n / MIB:,.1f} MiB"
    if n >= 10 * 1024:
        return f"{n / 1024:,.1f} KiB"
    return f"{n:,} B"


def journal_summary(message):
    """A journal message's first line, and how many stack traces follow it."""
    first = message.split("\n", 1)[0]
    traces = message.count("Stack trace of thread")
    return f"\"{first}\"" + (f" with the stack traces of {traces} threads" if traces else "")


COLUMNS = (("gzip", "faultd-core-handler, gzip (default)"),
           ("zstd", "faultd-core-handler, zstd"),
           ("anchor", "anchor: systemd-coredump"),
           ("zstd3", "zstd -3 of the core (reference)"),
           ("splice", "floor: splice(2) to /dev/null"),
           ("read", "floor: read(2), 128 KiB"))
UNPINNED_COLUMNS = (("u_gzip", "faultd-core-handler, gzip"),
                    ("u_anchor", "anchor: systemd-coredump"),
                    ("u_splice", "floor: splice(2) to /dev/null"))


def table(out, res, columns, anchor, floors):
    """One markdown table of res over columns, ratios against res[anchor]."""
    t, a = res["target"], res[anchor]
    out.append("| | " + " | ".join(title for _, title in columns) + " |")
    out.append("| --- " * (len(columns) + 1) + "|")

    def row(label, fn):
        out.append(f"| {label} | " + " | ".join(fn(k, res[k]) for k, _ in columns) + " |")

    row("wall time", lambda k, r: f"{r['wall']:.3f} s")
    row("wall time, fastest and slowest run", lambda k, r: f"{r['wall_min']:.3f} – "
        f"{r['wall_max']:.3f} s")
    row("CPU, user + sys", lambda k, r: f"{r['cpu']:.3f} s ({r['user']:.3f} + {r['sys']:.3f})")
    row("peak RSS (ru_maxrss, median; highest)", lambda k, r: mib(r["rss_kib"]) + (
        f" (kernel-mode {mib(r['kernel_rss_kib'])}, service {mib(r['service_rss_kib'])})"
        if k == anchor else "") + f"; {mib(r['rss_max_kib'])}")
    row("bytes stored", lambda k, r: f"{r['bytes']:,} ({r['bytes'] / t['size'] * 100:.3g} "
        "% of the core)" if "bytes" in r else "—")
    row("wall time / anchor's (target ≤ 0.25)", lambda k, r: f"{r['wall'] / a['wall']:.3f}")
    row("bytes stored / anchor's (target ≤ 0.05)",
        lambda k, r: f"{r['bytes'] / a['bytes']:.5f}" if "bytes" in r else "—")
    row("peak RSS / 8 MiB (target ≤ 1)", lambda k, r: f"{r['rss_kib'] / 8192:.2f}")
    for f, name in floors:
        row(f"floor ({name}) / wall time", lambda k, r, f=f:
            f"{res[f]['wall'] / r['wall'] * 100:.0f} %")


def verdict(t, name, r, a):
    return (f"- {size(t['size'])} core, {name}: peak RSS at most 8 MiB: "
            f"{'met' if r['rss_kib'] <= 8192 else 'not met'} ({mib(r['rss_kib'])}); bytes "
            f"stored at most 1/20 of the anchor's: "
            f"{'met' if r['bytes'] * 20 <= a['bytes'] else 'not met'} ({r['bytes']:,} against "
            f"{a['bytes']:,}, {r['bytes'] / a['bytes']:.5f}); wall time at most 1/4: "
            f"{'met' if r['wall'] * 4 <= a['wall'] else 'not met'} ({r['wall']:.3f} s against "
            f"{a['wall']:.3f} s, {r['wall'] / a['wall']:.3f}).")


def report(results, meta):
    out = []
    out.append(f"{meta['cpus']} CPUs, {meta['kernel']}; anchor: {meta['anchor']}; median of "
               f"{meta['repeat']} run(s) each; bench wall time {meta['seconds']:.0f} s; load "
               f"average {meta['load0']:.2f} at the start, {meta['load1']:.2f} at the end.\n")
    verdicts = []
    for res in results:
        t, a, h = res["target"], res["anchor"], res["gzip"]
        total = sum(t["mix"].values())
        out.append(f"### Core of {size(t['size'])} ({t['threads'] + 1} threads, "
                   f"{t['heap_mib']} MiB of heap, {t['segments']} segments; gcore took "
                   f"{t['gcore_seconds']:.1f} s)\n")
        out.append("Heap, bytes asked of malloc: " + ", ".join(
            f"{k} {v / total * 100:.1f} %" for k, v in t["mix"].items()) + ".\n")
        out.append(f"Each contender and the `cat` feeding it on CPU {meta['cpu']}:\n")
        table(out, res, COLUMNS, "anchor", (("splice", "splice"), ("read", "read")))
        out.append("\nThe same, where the scheduler puts them:\n")
        table(out, res, UNPINNED_COLUMNS, "u_anchor", (("u_splice", "splice"),))
        bt = res.get("backtraces")
        if bt:
            out.append("")
            out.append(f"gdb on the stored gzip core against the full core: {bt['same']} of "
                       f"{bt['threads']} threads with identical backtraces, {bt['prefix']} a "
                       f"correct prefix, {bt['differ']} differing"
                       + (f" ({'; '.join(bt['detail'])})" if bt["detail"] else "") + ".")
        out.append(f"Stored by faultd: {h['entry_bytes']:,} bytes in the spool entry (gzip run), "
                   f"of which the core {h['bytes']:,}; its log: "
                   + " / ".join(f"\"{line}\"" for line in h["log"].splitlines()) + ".")
        out.append(f"systemd-coredump: the kernel-mode process {a['kernel_wall']:.3f} s (reads "
                   "/proc/PID, hands the pipe over), then the service (stores, then makes a "
                   "backtrace); it stored the core "
                   + ("whole (decompressed: as many bytes as the core)" if a["whole"] else
                      "CUT SHORT (decompressed: fewer bytes than the core)")
                   + "; to the journal: "
                   + "; ".join(journal_summary(m) for m in a["journal"]) + ".")
        out.append("")
        for name in ("gzip", "zstd"):
            verdicts.append(verdict(t, name, res[name], a))
        verdicts.append(verdict(t, "gzip, unpinned", res["u_gzip"], res["u_anchor"]))
    out.append("### Targets\n")
    out.extend(verdicts)
    print("\n".join(out))


# --- running -----------------------------------------------------------------------------

def build(args, work):
    if not os.path.exists(os.path.join(args.build, "build.ninja")):
        subprocess.run(["meson", "setup", args.build, "-Dbuildtype=release", "-Dtests=disabled"],
                       cwd=TOP, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", args.build], check=True, stdout=subprocess.DEVNULL)
    global RUSAGE_RUN
    fill = os.path.join(work, "core-fill")
    subprocess.run(["cc", "-O2", "-g", "-std=gnu11", "-pthread", "-o", fill,
                    os.path.join(TOP, "bench", "core-fill.c")], check=True)
    # static, so that the copy of it each child is before exec adds little to ru_maxrss
    RUSAGE_RUN = os.path.join(work, "rusage-run")
    subprocess.run(["cc", "-O2", "-static", "-std=gnu11", "-o", RUSAGE_RUN,
                    os.path.join(TOP, "bench", "rusage-run.c")], check=True)
    drain = os.path.join(work, "pipe-drain")
    subprocess.run(["cc", "-O2", "-std=gnu11", "-o", drain,
                    os.path.join(TOP, "bench", "pipe-drain.c")], check=True)
    return fill, drain


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--anchor-inside":
        anchor_inside(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="50,500,2000",
                    help="core sizes in MiB, comma-separated (2000: systemd-coredump stores "
                         "cores up to 2 GiB by default)")
    ap.add_argument("--threads", type=int, default=4, help="core-fill threads besides main")
    ap.add_argument("--cpu", type=int, default=0,
                    help="the CPU every contender and the cat feeding it run on (the second "
                         "set of runs is left to the scheduler)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each contender per core")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench-coredump"))
    ap.add_argument("--systemd-coredump-deb", help="use this package file, not apt-get download")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        die("needs root: a private mount namespace for systemd-coredump, /proc/PID/mem")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))

    t_start = time.monotonic()
    load0 = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix="faultd-bench-core-", dir=work_base())
    targets = []
    try:
        fill, drain = build(args, work)
        anchor = Anchor(work, args.systemd_coredump_deb)
        handler = Handler(args.build, work)
        results = []
        for core_mib in [int(s) for s in args.sizes.split(",")]:
            t = Target(fill, work, core_mib, args.threads)
            targets.append(t)
            print(f"bench: core of {size(t.size)} from core-fill pid {t.pid} (fill "
                  f"{t.fill_seconds:.1f} s, gcore {t.gcore_seconds:.1f} s)", file=sys.stderr)
            runs = {k: [] for k, _ in COLUMNS + UNPINNED_COLUMNS}
            keep = None
            for i in range(args.repeat):
                # pinned to one CPU, then the same three again where the scheduler puts them
                for key, what, cpu in ([(k, k, args.cpu) for k, _ in COLUMNS] +
                                       [(k, k[2:], None) for k, _ in UNPINNED_COLUMNS]):
                    settle(t.core)
                    if what in ("splice", "read"):
                        out = os.path.join(work, "drained")
                        with open(out, "w") as f:
                            r = measured([drain, what], t.core, work, cpu, stdout=f)
                        with open(out) as f:
                            if int(f.read()) != t.size:
                                die(f"pipe-drain {what} did not drain the whole core")
                    elif what == "anchor":
                        verify = i == 0 and cpu is not None  # once: it takes a while
                        r = anchor.run(t.core, t.pid, t.when, cpu, verify=verify)
                    elif what in ("gzip", "zstd"):
                        r = handler.run(t.core, t.pid, t.when, what, cpu)
                        if key == "gzip" and keep is None:
                            keep = r  # for the gdb comparison below
                        else:
                            shutil.rmtree(r["dir"])
                    else:
                        out = os.path.join(work, "core.zst")
                        with open(out, "wb") as f:
                            r = measured(["zstd", "-3", "-q", "-c"], t.core, work, cpu, stdout=f)
                        r["bytes"] = os.path.getsize(out)
                        os.unlink(out)
                    runs[key].append(r)
                print(f"bench:   run {i + 1}: handler gzip {runs['gzip'][-1]['wall']:.2f} s, "
                      f"anchor {runs['anchor'][-1]['wall']:.2f} s; unpinned "
                      f"{runs['u_gzip'][-1]['wall']:.2f} s, "
                      f"{runs['u_anchor'][-1]['wall']:.2f} s", file=sys.stderr)
            res = {k: median_run(v) for k, v in runs.items()}
            res["target"] = {"size": t.size, "threads": t.threads, "heap_mib": t.heap_mib,
                             "mix": t.mix,
                             "gcore_seconds": t.gcore_seconds, "segments": t.segments}
            res["backtraces"] = compare_backtraces(fill, t.core, keep["stored_path"], work)
            shutil.rmtree(keep["dir"])
            t.stop()
            results.append(res)
        meta = {"cpus": os.cpu_count(), "kernel": f"Linux {os.uname().release}",
                "anchor": f"systemd-coredump {anchor.version} ({anchor.deb})",
                "repeat": args.repeat, "seconds": time.monotonic() - t_start, "cpu": args.cpu,
                "load0": load0, "load1": os.getloadavg()[0]}
        report(results, meta)
    finally:
        for t in targets:
            t.stop()
        if args.keep:
            print(f"bench: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
