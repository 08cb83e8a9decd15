# SPDX-License-Identifier: MIT
"""Helpers for test_coredump.py: real cores of tests/crash/crasher, gdb backtraces parsed per
thread, a fake /proc for a process that is gone, and an ELF core reader independent of the code
under test (so a trimmed core is checked against the ELF format, not against faultd's own parser).
"""
import json
import os
import re
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import time

from harness import SANITIZER_MARKERS  # noqa: F401 (re-exported for test_coredump.py)

# ---- ELF cores, read with struct -----------------------------------------------------------

PT_LOAD = 1
PT_NOTE = 4
ET_CORE = 4
EM_ARM = 40


class ElfCore:
    """The ELF header, program headers and notes of a 64-bit little-endian core file."""

    def __init__(self, path):
        self.path = path
        self.size = os.path.getsize(path)
        with open(path, "rb") as f:
            ident = f.read(64)
            if len(ident) < 64 or ident[:4] != b"\x7fELF":
                raise ValueError(f"{path}: not an ELF file")
            if ident[4] != 2 or ident[5] != 1:
                raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
            (self.type, self.machine, _version, _entry, self.phoff, _shoff, _flags, ehsize,
             phentsize, self.phnum) = struct.unpack_from("<HHIQQQIHHH", ident, 16)
            if self.type != ET_CORE:
                raise ValueError(f"{path}: e_type {self.type}, not ET_CORE")
            if ehsize != 64 or phentsize != 56:
                raise ValueError(f"{path}: header sizes {ehsize}/{phentsize}, not 64/56")
            if self.phoff + self.phnum * 56 > self.size:
                raise ValueError(f"{path}: program headers run past the end of the file")
            f.seek(self.phoff)
            table = f.read(self.phnum * 56)
            self.phdrs = []
            for i in range(self.phnum):
                (p_type, p_flags, offset, vaddr, _paddr, filesz, memsz,
                 _align) = struct.unpack_from("<IIQQQQQQ", table, i * 56)
                if offset + filesz > self.size:
                    raise ValueError(f"{path}: program header {i} (offset {offset}, {filesz} "
                                     f"bytes) runs past the end of the file ({self.size} bytes)")
                self.phdrs.append({"type": p_type, "flags": p_flags, "offset": offset,
                                   "vaddr": vaddr, "filesz": filesz, "memsz": memsz})
            self.notes = []
            for p in self.phdrs:
                if p["type"] == PT_NOTE:
                    f.seek(p["offset"])
                    self.notes += parse_notes(f.read(p["filesz"]), path)

    def loads(self):
        return [p for p in self.phdrs if p["type"] == PT_LOAD]

    def read(self, offset, size):
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read(size)


def parse_notes(data, where):
    """[(name, type, desc)] of a PT_NOTE segment's bytes; ValueError on a malformed note."""
    notes = []
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        pos += 12
        name_end = pos + namesz
        desc_pos = pos + ((namesz + 3) & ~3)
        desc_end = desc_pos + descsz
        if desc_end > len(data):
            raise ValueError(f"{where}: note at {pos - 12} runs past its segment")
        name = data[pos:name_end].rstrip(b"\0").decode("ascii", "replace")
        notes.append((name, ntype, data[desc_pos:desc_end]))
        pos = desc_pos + ((descsz + 3) & ~3)
    return notes


def memory_mismatches(trimmed, full, limit=10):
    """Ranges where a PT_LOAD of trimmed holds bytes different from the same addresses in full
    (only where full has file bytes for them): trimmed must hold the process's memory, not
    something else. Returns a list of descriptions, at most limit."""
    problems = []
    full_loads = [p for p in full.loads() if p["filesz"] > 0]
    with open(trimmed.path, "rb") as ft, open(full.path, "rb") as ff:
        for t in trimmed.loads():
            t_start, t_end = t["vaddr"], t["vaddr"] + t["filesz"]
            for p in full_loads:
                start = max(t_start, p["vaddr"])
                end = min(t_end, p["vaddr"] + p["filesz"])
                if start >= end:
                    continue
                ft.seek(t["offset"] + start - t_start)
                ff.seek(p["offset"] + start - p["vaddr"])
                a, b = ft.read(end - start), ff.read(end - start)
                if a != b:
                    first = next(i for i in range(len(a)) if a[i] != b[i])
                    problems.append(f"bytes at {start + first:#x} (in kept range "
                                    f"{t_start:#x}-{t_end:#x}) differ from the full core's")
                    if len(problems) >= limit:
                        return problems
    return problems


def relayout_core(src, dest):
    """Rewrites the core src in the layout the kernel writes (header, program headers, notes,
    then memory in address order, page-aligned) into dest, without section headers. gcore puts
    its notes after the memory, which a reader of the kernel's pipe cannot follow in one pass."""
    core = ElfCore(src)
    notes = [p for p in core.phdrs if p["type"] == PT_NOTE]
    loads = sorted(core.loads(), key=lambda p: p["vaddr"])
    phdrs = notes + loads
    with open(src, "rb") as f:
        ehdr = bytearray(f.read(64))
    struct.pack_into("<Q", ehdr, 40, 0)  # e_shoff
    # e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    struct.pack_into("<HHHHHH", ehdr, 52, 64, 56, len(phdrs), 0, 0, 0)
    off = 64 + 56 * len(phdrs)
    placed = []
    for p in notes:
        placed.append((p, off))
        off += p["filesz"]
    off = (off + 4095) & ~4095
    for p in loads:
        placed.append((p, off))
        off += p["filesz"]
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        fout.write(ehdr)
        for p, o in placed:
            fout.write(struct.pack("<IIQQQQQQ", p["type"], p["flags"], o, p["vaddr"], 0,
                                   p["filesz"], p["memsz"], 4096 if p["type"] == PT_LOAD else 4))
        for p, o in placed:
            fout.seek(o)
            fin.seek(p["offset"])
            left = p["filesz"]
            while left:
                chunk = fin.read(min(left, 1 << 20))
                if not chunk:
                    raise ValueError(f"{src}: segment at {p['offset']} is cut short")
                fout.write(chunk)
                left -= len(chunk)
        fout.truncate(off)


def readelf_check(path):
    """Runs readelf -h -l when binutils is installed: returns None when it is not, else
    (ok, output); ok is False when readelf failed or warned."""
    readelf = shutil.which("readelf")
    if not readelf:
        return None
    r = subprocess.run([readelf, "-h", "-l", "-W", path], capture_output=True, text=True,
                       timeout=30)
    out = r.stdout + r.stderr
    ok = (r.returncode == 0 and "Type:                              CORE" in r.stdout
          and "readelf: Error" not in out and "readelf: Warning" not in out)
    return ok, out


# ---- gdb backtraces ------------------------------------------------------------------------

GDB_COMMANDS = ["set debuginfod enabled off", "set pagination off", "set width 0",
                "set print frame-arguments all", "thread apply all bt"]

THREAD_RE = re.compile(r"^Thread \d+ \(.*\bLWP (\d+)\)")
FRAME_RE = re.compile(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(.*)$")


class Frame:
    """One frame of gdb's bt: pc (None when gdb omits it for frame 0 at a line's start), the
    function's name and the whole text (function, arguments, file:line or library)."""

    def __init__(self, num, pc, text):
        self.num = num
        self.pc = pc
        self.text = text
        self.function = text.split(" (", 1)[0]

    def key(self):
        return (self.pc, self.text)

    def __eq__(self, other):
        return self.key() == other.key()

    def __repr__(self):
        return f"#{self.num} {self.pc + ' in ' if self.pc else ''}{self.text}"


def run_gdb(program, core, timeout=120, gdb="gdb"):
    """gdb -batch's `thread apply all bt` of program with core (gdb: the debugger to run, say
    gdb-multiarch for another architecture's core). Returns the output."""
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)
    cmd = [gdb, "-batch", "-nx"]
    cmd += ["-iex", GDB_COMMANDS[0]]
    for c in GDB_COMMANDS[1:]:
        cmd += ["-ex", c]
    cmd += [program, core]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


# The physical frames of one thread, by gdb's Python API: an inline frame shares its caller's pc;
# a tail-call frame is gdb's guess from DWARF call-site information (libpython carries its own),
# for a function that jumped rather than called: no return address stands for it.
GDB_PCS = r"""
python
import gdb, json
pcs = []
for t in gdb.selected_inferior().threads():
    if t.ptid[1] == %d:
        t.switch()
        f = gdb.newest_frame()
        while f is not None and len(pcs) < %d:
            if f.type() not in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME):
                pcs.append(f.pc())
            f = f.older()
print("PCS " + json.dumps(pcs))
end
"""


def device_gdb_pcs(program, core, tid, work, limit=2000, gdb="gdb"):
    """gdb's (the debugger gdb names) pcs of thread tid's physical frames (at most limit), as the
    device's own files give them: no separate debug files (from which gdb makes up frames for tail
    calls), no tail-call frames, and past main as libdw goes (__libc_start_call_main,
    __libc_start_main, _start). Used to check the on-device stack trace."""
    empty = os.path.join(work, "no-debug-files")
    os.makedirs(empty, exist_ok=True)
    script = os.path.join(work, "pcs.gdb")
    with open(script, "w") as f:
        f.write(GDB_PCS % (tid, limit))
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)
    r = subprocess.run([gdb, "-batch", "-nx", "-iex", GDB_COMMANDS[0],
                        "-iex", f"set debug-file-directory {empty}",
                        "-iex", "set backtrace past-main on", "-x", script, program, core],
                       capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    for line in r.stdout.splitlines():
        if line.startswith("PCS "):
            return json.loads(line[4:])
    raise AssertionError(f"gdb gave no pcs:\n{r.stdout}{r.stderr}")


def parse_backtraces(text):
    """{lwp: {"frames": [Frame], "stopped": reason or None}} from `thread apply all bt`."""
    threads = {}
    current = None
    for line in text.splitlines():
        m = THREAD_RE.match(line)
        if m:
            current = {"frames": [], "stopped": None}
            threads[int(m.group(1))] = current
            continue
        if current is None:
            continue
        m = FRAME_RE.match(line)
        if m:
            current["frames"].append(Frame(int(m.group(1)), m.group(2), m.group(3).strip()))
        elif line.startswith("Backtrace stopped:"):
            current["stopped"] = line
        elif not line.strip():
            current = None
    return threads


UNREADABLE_RE = re.compile(r"<error reading variable: Cannot access memory at address 0x[0-9a-f]+>")


def matches_with_unreadable(full, trimmed):
    """True when trimmed is the frame full except for values gdb reports unreadable (the frame at
    the edge of a kept stack window, whose arguments lie beyond it): same pc, function, location,
    and every value it does show equal; never a wrong value."""
    if full.pc != trimmed.pc or not UNREADABLE_RE.search(trimmed.text):
        return False
    pattern = ".+?".join(re.escape(part) for part in UNREADABLE_RE.split(trimmed.text))
    return re.fullmatch(pattern, full.text) is not None


def frames_diff(full, trimmed):
    """A readable side-by-side listing of two frame lists, marking the first difference."""
    lines = []
    first = None
    for i in range(max(len(full), len(trimmed))):
        a = full[i] if i < len(full) else None
        b = trimmed[i] if i < len(trimmed) else None
        same = a is not None and b is not None and a == b
        if not same and first is None:
            first = i
        mark = "  " if same else "!!"
        lines.append(f"{mark} full:    {a!r}")
        if not same:
            lines.append(f"{mark} trimmed: {b!r}")
    head = f"first difference at frame {first}" if first is not None else "identical"
    return head + "\n" + "\n".join(lines)


# ---- running the crasher -------------------------------------------------------------------

def _unlimited_core():
    """ulimit -c unlimited, or as much as the hard limit allows (in the child, before exec)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def read_json_line(proc, timeout):
    """The first line the crasher prints (its pid and threads), as a dict."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            raise AssertionError(f"crasher printed nothing within {timeout}s")
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"crasher exited ({proc.wait()}) before printing its threads: "
                                 f"{proc.stderr.read().decode(errors='replace')}")
        buf += chunk
    sel.close()
    return json.loads(buf.split(b"\n", 1)[0])


def snapshot_proc(pid, dest_root):
    """Copies what faultd-core-handler reads of /proc/<pid> (comm, cmdline, maps, exe) into
    dest_root/proc/<pid>, for a process about to die."""
    src = f"/proc/{pid}"
    dest = os.path.join(dest_root, "proc", str(pid))
    os.makedirs(dest, exist_ok=True)
    for name in ("comm", "cmdline", "maps"):
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        with open(os.path.join(dest, name), "wb") as f:
            f.write(data)
    os.symlink(os.readlink(os.path.join(src, "exe")), os.path.join(dest, "exe"))
    return dest


def kernel_core(crasher, mode, workdir, fake_root, timeout=30):
    """Runs crasher in mode (segv, abort) in workdir with RLIMIT_CORE unlimited, copies its /proc
    into fake_root once its threads are parked, lets it crash and returns (info, core path or
    None when the kernel wrote no core there, the signal it died of)."""
    before = set(os.listdir(workdir))
    proc = subprocess.Popen([crasher, mode], cwd=workdir, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_unlimited_core)
    try:
        info = read_json_line(proc, timeout)
        snapshot_proc(info["pid"], fake_root)
        info["time"] = int(time.time())
        proc.stdin.write(b"g")
        proc.stdin.close()
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if code >= 0:
        raise AssertionError(f"crasher {mode} exited with {code} instead of dying of a signal")
    new = [n for n in os.listdir(workdir) if n not in before]
    core = None
    for name in new:
        path = os.path.join(workdir, name)
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    core = path
    return info, core, -code


class ParkedCrasher:
    """crasher park, alive until close(): gcore takes cores of it, the handler reads its /proc."""

    def __init__(self, crasher, timeout=30):
        self.proc = subprocess.Popen([crasher, "park"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.info = read_json_line(self.proc, timeout)
        except BaseException:
            self.close()
            raise

    def gcore(self, prefix, timeout=60):
        """A core of the live process by gcore (written to prefix.<pid>); returns its path."""
        pid = self.info["pid"]
        r = subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        path = f"{prefix}.{pid}"
        if r.returncode != 0 or not os.path.exists(path):
            raise AssertionError(f"gcore of {pid} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return path

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

