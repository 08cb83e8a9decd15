# SPDX-License-Identifier: MIT
"""faultd-core-handler on crashes of unusual shapes, checked with gdb.

Real programs crash and the kernel writes their cores (core_pattern "core" in a work directory,
RLIMIT_CORE unlimited; skipped when the machine sends cores elsewhere); /proc/<pid> is copied
into a fake sysroot first, and each core goes through the real handler in trim-only mode
(--output), given as a saved file. gdb's backtrace of the crashing thread from the trimmed core
must equal the full core's, frame by frame, or be a correct prefix of it where the stack really
exceeds its window:

- alternate signal stack (tests/crash/altstack, Python's faulthandler): the handler's frames and,
  past "<signal handler called>", the frames of the stack the signal interrupted;
- a thread's stack overflow (tests/crash/overflow): the stack pointer in the guard page;
- C++ (tests/crash/templates): a std::thread through templated frames, a null write and an
  uncaught exception;
- a core cut in the middle of the crashing thread's stack: no frame read from zeros, the outcome
  note says truncated and how many bytes are missing;
- a pid that now belongs to another process: refused for /proc, memory from the core alone.

Every shape's trimmed core is also unwound on the device's terms (faultd-core-handler --stacktrace,
libdw, the program's files below the sysroot): the linux-stacktrace document's active thread must
have the pcs gdb finds for the crashing thread in the full core, gdb without separate debug files
(the device has none; with libc6-dbg gdb makes up frames for tail calls), without the tail-call
frames it still makes up from a library's own DWARF (libpython's), and past main (libdw does not
stop there). A trace holds at most TRACE_FRAMES frames: a longer stack (the big overflow) gives
gdb's first TRACE_FRAMES, marked truncated.

Environment (set by meson): CORE_HANDLER, ALTSTACK, OVERFLOW, TEMPLATES (empty without C++).
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coredump_util as cu  # noqa: E402
import harness  # noqa: E402

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
PROGRAMS = {name: os.environ.get(name.upper(), "")
            for name in ("altstack", "overflow", "templates")}
PYTHON = os.path.realpath(sys.executable)

STACK_KIB = 32
CRASHING_STACK_KIB = 256
HANDLER_TIMEOUT = 20
TRACE_FRAMES = 64  # UNWIND_MAX_FRAMES (plugins/coredump/unwind.h)
SIGNAL_FRAME = "<signal handler called>"

# Python crashes in C code under faulthandler, which runs on its own alternate stack.
PY_CRASH = """
import ctypes, json, os, sys, threading
print(json.dumps({"pid": os.getpid(), "tid": threading.get_native_id()}), flush=True)
sys.stdin.read(1)
def dive(n):
    return ctypes.string_at(0) if n == 0 else dive(n - 1)
dive(25)
"""

# name: (command, program for gdb, expected function names in the crashing thread)
CASES = {
    "altstack-main": ([PROGRAMS["altstack"], "main"], PROGRAMS["altstack"],
                      ["handler_leaf", "on_segv", SIGNAL_FRAME, "fault", "recurse", "main"]),
    "altstack-thread": ([PROGRAMS["altstack"], "thread"], PROGRAMS["altstack"],
                        ["handler_leaf", "on_segv", SIGNAL_FRAME, "fault", "recurse",
                         "crashing_thread"]),
    "overflow-small": ([PROGRAMS["overflow"], "small"], PROGRAMS["overflow"],
                       ["dive_a", "dive_b", "overflowing_thread"]),
    "overflow-big": ([PROGRAMS["overflow"], "big"], PROGRAMS["overflow"], ["dive_a", "dive_b"]),
    "cxx-segv": ([PROGRAMS["templates"], "segv"], PROGRAMS["templates"],
                 ["Descend<0>::go", "Descend<12>::go", "worker"]),
    "cxx-throw": ([PROGRAMS["templates"], "throw"], PROGRAMS["templates"],
                  ["std::terminate()", "Descend<0>::go", "Descend<12>::go", "worker"]),
    "python-faulthandler": ([PYTHON, "-X", "faulthandler", "-c", PY_CRASH], PYTHON,
                            [SIGNAL_FRAME]),
}

fixture = {}
started = time.monotonic()


def kernel_core(cmd, workdir, fake_root, timeout=30):
    """Runs cmd in workdir with RLIMIT_CORE unlimited; once it printed its JSON line copies its
    /proc into fake_root, lets it crash; returns (info, core path or None, signal)."""
    before = set(os.listdir(workdir))
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=cu._unlimited_core)
    try:
        info = cu.read_json_line(proc, timeout)
        cu.snapshot_proc(info["pid"], fake_root)
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
        raise AssertionError(f"{cmd} exited with {code} instead of dying of a signal")
    core = None
    for name in set(os.listdir(workdir)) - before:
        path = os.path.join(workdir, name)
        with open(path, "rb") as f:
            if f.read(4) == b"\x7fELF":
                core = path
    return info, core, -code


UNREADABLE_RE = re.compile(r"<error(?: reading variable)?: Cannot access memory at address "
                           r"0x[0-9a-f]+>")


def frame_matches(full, trimmed):
    """True when trimmed is the frame full, except for values gdb reports unreadable: the data
    behind pointers (heap, globals) and arguments in a guard page are not kept. Same pc, function
    and location, and every value it does show is the full core's: never a wrong one."""
    if full == trimmed:
        return True
    if full.pc != trimmed.pc or not UNREADABLE_RE.search(trimmed.text):
        return False
    pattern = ".+?".join(re.escape(part) for part in UNREADABLE_RE.split(trimmed.text))
    return re.fullmatch(pattern, full.text) is not None


def frames_match(full, trimmed):
    return len(full) == len(trimmed) and all(map(frame_matches, full, trimmed))


def readable_by_all(path):
    """Whether anyone may read path: the unwinder, started as root, reads as nobody."""
    path = os.path.realpath(path)
    if not os.stat(path).st_mode & 0o004:
        return False
    d = os.path.dirname(path)
    while d != "/":
        if not os.stat(d).st_mode & 0o001:
            return False
        d = os.path.dirname(d)
    return True


def device_files(pid, root):
    """The files the process mapped, below the fake sysroot root where the unwinder looks for
    their CFI and symbols: links to this machine's, or hard links or copies where nobody could
    not reach them (Python below /root, 0700); and the top-level links of a merged /usr
    (/lib -> usr/lib), as the dynamic linker's list names libc /lib/x86_64-linux-gnu/libc.so.6.
    The directories of root must let nobody in (setUpModule opens the one mkdtemp made)."""
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.islink("/" + top):
            os.symlink(os.readlink("/" + top), os.path.join(root, top))
    with open(os.path.join(root, "proc", str(pid), "maps")) as f:
        for line in f:
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) == 6 else ""
            if not path.startswith("/") or not os.path.isfile(path):
                continue
            dest = os.path.join(root, path.lstrip("/"))
            if os.path.lexists(dest):
                continue
            os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
            real = os.path.realpath(path)
            if readable_by_all(real):
                os.symlink(real, dest)
                continue
            copy = not os.stat(real).st_mode & 0o004
            if not copy:
                try:
                    os.link(real, dest)
                except OSError:
                    copy = True
            if copy:
                shutil.copy(real, dest)
                os.chmod(dest, os.stat(dest).st_mode | 0o444)
    for dirpath, dirnames, _ in os.walk(root):
        for n in dirnames:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o055)


def stacktrace(core, sysroot, work):
    """faultd-core-handler --stacktrace on core with sysroot: (document or None when the
    handler was built without libdw, stderr)."""
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "stacktrace.conf")
    with open(config, "w") as f:
        json.dump({"log_target": "stderr", "sysroot": sysroot}, f)
    r = subprocess.run([CORE_HANDLER, "-c", config, "--stacktrace", core], capture_output=True,
                       text=True, timeout=harness.scaled(60), stdin=subprocess.DEVNULL)
    for marker in cu.SANITIZER_MARKERS:
        if marker in r.stderr:
            raise AssertionError(f"sanitizer report from --stacktrace {core}:\n{r.stderr}")
    if "built without stack traces" in r.stderr:
        return None, r.stderr
    if r.returncode != 0:
        raise AssertionError(f"--stacktrace {core} failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout), r.stderr


def write_config(path, sysroot):
    with open(path, "w") as f:
        json.dump({"state_dir": os.path.join(os.path.dirname(path), "state"),
                   "log_target": "stderr", "sysroot": sysroot,
                   "coredump": {"compression": "gzip", "stack_kib": STACK_KIB,
                                "crashing_stack_kib": CRASHING_STACK_KIB}}, f)
    return path


def run_handler(core, pid, tid, sig, sysroot, work, handler=None):
    """The handler in trim-only mode on the saved core; returns (decompressed trimmed core's
    path, stderr)."""
    os.makedirs(work)
    config = write_config(os.path.join(work, "faultd.conf"), sysroot)
    out = os.path.join(work, "core.elf.gz")
    cmd = [handler or CORE_HANDLER, "-c", config, "--output", out, str(pid), str(tid), str(sig),
           "0", "0", "0"]
    valgrind_dir = os.path.join(work, "valgrind")
    if not handler:
        cmd = harness.valgrind_command(cmd, valgrind_dir, "faultd-core-handler")
    with open(core, "rb") as f:
        r = subprocess.run(cmd, stdin=f, capture_output=True, text=True,
                           timeout=harness.scaled(HANDLER_TIMEOUT))
    for marker in cu.SANITIZER_MARKERS:
        if marker in r.stderr:
            raise AssertionError(f"sanitizer report from {cmd}:\n{r.stderr}")
    if r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stderr}")
    if not handler:
        harness.check_valgrind(valgrind_dir, what=f"faultd-core-handler {cmd}")
    trimmed = os.path.join(work, "core.elf")
    with gzip.open(out, "rb") as fin, open(trimmed, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return trimmed, r.stderr


def faultd_notes(path):
    """(capture note, outcome note) of a trimmed core, as dicts."""
    core = cu.ElfCore(path)
    ours = {t: d for n, t, d in core.notes if n == "FAULTD"}
    capture = json.loads(ours[1].rstrip(b"\0")) if 1 in ours else None
    return capture, json.loads(ours[2].rstrip(b"\0 "))


def thread_sp(path, tid):
    """The stack pointer of thread tid in an x86_64 core's NT_PRSTATUS notes, or None."""
    for name, ntype, desc in cu.ElfCore(path).notes:
        if (name, ntype) == ("CORE", 1) and len(desc) == 336 and \
                struct.unpack_from("<I", desc, 32)[0] == tid:
            return struct.unpack_from("<Q", desc, 112 + 19 * 8)[0]
    return None


def setUpModule():
    missing = [n for n, p in [("CORE_HANDLER", CORE_HANDLER), ("ALTSTACK", PROGRAMS["altstack"]),
                              ("OVERFLOW", PROGRAMS["overflow"])] if not os.access(p, os.X_OK)]
    missing += [t for t in ("gdb",) if not shutil.which(t)]
    if missing:
        raise unittest.SkipTest("needs " + ", ".join(missing))
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|"):
        raise unittest.SkipTest(f"kernel cores go to a program here (core_pattern \"{pattern}\")")
    d = fixture["dir"] = tempfile.mkdtemp(prefix="faultd-shapes-")
    os.chmod(d, 0o755)  # the unwinder reads the sysroot as nobody
    fixture["cases"] = {}
    for name, (cmd, program, _) in CASES.items():
        if not cmd[0] or not os.access(cmd[0], os.X_OK):
            continue
        work = os.path.join(d, name)
        root = os.path.join(work, "root")
        os.makedirs(os.path.join(work, "cwd"))
        os.makedirs(root)
        info, core, sig = kernel_core(cmd, os.path.join(work, "cwd"), root)
        if core is None:
            raise unittest.SkipTest(f"the kernel wrote no core file for {name} (core_pattern "
                                    f"\"{pattern}\")")
        device_files(info["pid"], root)
        fixture["cases"][name] = {"info": info, "core": core, "signal": sig, "root": root,
                                  "dir": work, "program": program}


def tearDownModule():
    if "dir" in fixture:
        shutil.rmtree(fixture["dir"], ignore_errors=True)
    print(f"\ntest_crash_shapes: {time.monotonic() - started:.1f}s in all", file=sys.stderr)


class CrashShapeTest(unittest.TestCase):
    maxDiff = None
    full_cache = {}

    def case(self, name):
        if name not in fixture["cases"]:
            self.skipTest(f"{name}: its program was not built")
        return fixture["cases"][name]

    def backtrace(self, case, core):
        text = cu.run_gdb(case["program"], core)
        threads = cu.parse_backtraces(text)
        tid = case["info"]["tid"]
        self.assertIn(tid, threads, f"the crashing thread in gdb's output:\n{text}")
        return threads[tid]["frames"], text

    def full(self, case):
        if case["core"] not in self.full_cache:
            self.full_cache[case["core"]] = self.backtrace(case, case["core"])[0]
        return self.full_cache[case["core"]]

    def trim(self, case, label, core=None, pid=None, sysroot=None):
        info = case["info"]
        trimmed, err = run_handler(core or case["core"], pid or info["pid"], info["tid"],
                                   case["signal"], sysroot or case["root"],
                                   os.path.join(case["dir"], label))
        print(f"\n{label}: full {os.path.getsize(case['core'])} bytes, trimmed "
              f"{os.path.getsize(trimmed)}", file=sys.stderr)
        return trimmed, err

    def trace(self, case, trimmed, label):
        """The trimmed core's linux-stacktrace: (the active thread's pcs, stderr), after checking
        the document; None when the handler cannot unwind (built without libdw)."""
        doc, err = stacktrace(trimmed, case["root"], os.path.join(case["dir"], label))
        if doc is None:
            print(f"{label}: no stack trace (built without libdw)", file=sys.stderr)
            return None
        self.assertEqual(doc["signal"], {11: "SIGSEGV", 6: "SIGABRT"}[case["signal"]], doc)
        active = [t for t in doc["threads"] if t["active"]]
        self.assertEqual(len(active), 1, doc)
        pcs = [int(pc, 16) for pc in active[0]["pcs"]]
        # Every pc in a module the trace names (the pc of a call: the return address's byte
        # before it, or the interrupted pc itself), the program among them.
        ranges = [(int(m["pc_range"]["start"], 16), int(m["pc_range"]["end"], 16))
                  for m in doc["symbols"]]
        for pc in pcs:
            self.assertTrue(any(a <= pc - 1 < b or a <= pc < b for a, b in ranges),
                            f"{label}: pc {pc:#x} in no module of {doc['symbols']}")
        self.assertIn(os.path.basename(case["program"]),
                      [os.path.basename(m["path"]) for m in doc["symbols"]], label)
        self.assertRegex(err, r"(?m)^signature: [0-9a-f]{16}$")
        return pcs, err

    def check_trace(self, name, case, trimmed):
        """The on-device trace of the trimmed core: the crashing thread's pcs are gdb's of the
        full core, the first TRACE_FRAMES of them where there are more."""
        got = self.trace(case, trimmed, name + "-trace")
        if got is None:
            return
        pcs, err = got
        gdb = cu.device_gdb_pcs(case["program"], case["core"], case["info"]["tid"], case["dir"])
        self.assertEqual([hex(p) for p in pcs], [hex(p) for p in gdb[:TRACE_FRAMES]],
                         f"{name}: the trace's pcs against gdb's\n{err}")
        self.assertEqual("(truncated by the limits)" in err, len(gdb) > TRACE_FRAMES, err)
        print(f"{name}: trace {len(pcs)} frames, gdb {len(gdb)}", file=sys.stderr)

    def check_shape(self, name, min_frames, min_interrupted=0):
        """The trimmed core's backtrace of the crashing thread is the full core's."""
        case = self.case(name)
        full = self.full(case)
        functions = [f.function for f in full]
        for fn in CASES[name][2]:
            self.assertIn(fn, functions, f"{name}: the full core's backtrace {full}")
        self.assertGreaterEqual(len(full), min_frames, f"{name}: the full core's backtrace")
        trimmed, _ = self.trim(case, name)
        cut, text = self.backtrace(case, trimmed)
        if not frames_match(full, cut):
            self.fail(f"{name}: the trimmed core's backtrace differs\n"
                      + cu.frames_diff(full, cut) + "\n" + text)
        self.assertEqual(cu.memory_mismatches(cu.ElfCore(trimmed), cu.ElfCore(case["core"])), [])
        _, outcome = faultd_notes(trimmed)
        self.assertIsNone(outcome["truncated"], outcome)
        self.assertFalse(outcome["pid_mismatch"], outcome)
        if min_interrupted:
            after = [f.function for f in cut]
            interrupted = len(after) - after.index(SIGNAL_FRAME) - 1
            self.assertGreaterEqual(interrupted, min_interrupted,
                                    f"{name}: frames past the signal frame\n{text}")
            self.assertGreaterEqual(outcome["sigframes"], 1, outcome)
        print(f"{name}: {len(cut)} frames of {len(full)} kept", file=sys.stderr)
        self.check_trace(name, case, trimmed)
        return trimmed

    def test_altstack_main(self):
        # 30 frames of recursion on the interrupted stack, an mmap'ed alternate stack.
        self.check_shape("altstack-main", 35, min_interrupted=32)

    def test_altstack_thread(self):
        # A thread's malloc'ed alternate stack (faulthandler's kind), the signal raised again.
        self.check_shape("altstack-thread", 35, min_interrupted=32)

    def test_python_faulthandler(self):
        self.check_shape("python-faulthandler", 10, min_interrupted=8)

    def test_overflow_small_thread_stack(self):
        # 64 KiB of stack: all of it fits the crashing thread's window.
        case = self.case("overflow-small")
        self.check_shape("overflow-small", 50)
        sp = thread_sp(case["core"], case["info"]["tid"])
        if sp is not None:
            core = cu.ElfCore(case["core"])
            # In the guard page, unless the fault was the push of a call right at its edge.
            holder = [p for p in core.loads() if p["vaddr"] <= sp < p["vaddr"] + p["memsz"]]
            self.assertTrue(not holder or holder[0]["filesz"] == 0
                            or sp - holder[0]["vaddr"] < 16,
                            f"the overflow's stack pointer {sp:#x} lies in the guard page")

    def test_overflow_big_thread_stack(self):
        # 1 MiB of stack, more than the window: a correct prefix of 256 KiB of frames.
        case = self.case("overflow-big")
        full = self.full(case)
        trimmed, _ = self.trim(case, "overflow-big")
        cut, text = self.backtrace(case, trimmed)
        self.assertGreater(len(full), len(cut))
        self.assertGreater(len(cut), 200, f"frames kept\n{text}")
        self.assertTrue(frames_match(full[:len(cut)], cut), cu.frames_diff(full[:len(cut)], cut))
        print(f"overflow-big: {len(cut)} frames of {len(full)} kept", file=sys.stderr)
        # The trace: a correct prefix of gdb's frames of the full core, as long as gdb's of the
        # trimmed core or the TRACE_FRAMES a trace holds, whichever is fewer (here the latter).
        got = self.trace(case, trimmed, "overflow-big-trace")
        if got is None:
            return
        pcs, err = got
        tid = case["info"]["tid"]
        gdb = cu.device_gdb_pcs(case["program"], case["core"], tid, case["dir"])
        gdb_cut = cu.device_gdb_pcs(case["program"], trimmed, tid, case["dir"])
        self.assertGreater(len(gdb), len(gdb_cut))
        self.assertEqual([hex(p) for p in pcs], [hex(p) for p in gdb[:len(pcs)]], err)
        self.assertGreaterEqual(len(pcs), min(len(gdb_cut), TRACE_FRAMES), err)
        self.assertIn("(truncated by the limits)", err)
        print(f"overflow-big: trace {len(pcs)} frames, gdb {len(gdb)} (full core), "
              f"{len(gdb_cut)} (trimmed)", file=sys.stderr)

    def test_cxx_segv(self):
        self.check_shape("cxx-segv", 15)

    def test_cxx_uncaught_exception(self):
        self.check_shape("cxx-throw", 15)

    def test_truncated_core(self):
        # The thread overflow's core cut in the middle of its 64 KiB stack: the frames above the
        # cut are missing, not zeros; gdb shows a correct prefix and stops.
        case = self.case("overflow-small")
        full = self.full(case)
        core = cu.ElfCore(case["core"])
        sp = thread_sp(case["core"], case["info"]["tid"])
        if sp is None:
            self.skipTest("not an x86_64 core")
        stack = min((p for p in core.loads() if p["filesz"] > 0 and p["vaddr"] > sp),
                    key=lambda p: p["vaddr"])
        cut_vaddr = stack["vaddr"] + 32 * 1024 + 1234
        cut_at = stack["offset"] + cut_vaddr - stack["vaddr"]
        cut_path = os.path.join(case["dir"], "cut.core")
        with open(case["core"], "rb") as fin, open(cut_path, "wb") as fout:
            fout.write(fin.read(cut_at))
        trimmed, err = self.trim(case, "truncated", core=cut_path)
        self.assertIn("truncated: the core ends at byte", err)
        _, outcome = faultd_notes(trimmed)
        self.assertIn("the core ends at byte", outcome["truncated"] or "", outcome)
        self.assertGreater(outcome["missing_bytes"], 0, outcome)
        # No segment holds memory past the cut: those bytes are absent, not zeros.
        stack_end = stack["vaddr"] + stack["memsz"]
        for p in cu.ElfCore(trimmed).loads():
            if p["vaddr"] < stack_end and p["vaddr"] + p["memsz"] > cut_vaddr:
                self.fail(f"segment {p['vaddr']:#x}+{p['memsz']:#x} holds memory past the cut "
                          f"at {cut_vaddr:#x}")
        cut, text = self.backtrace(case, trimmed)
        self.assertLess(len(cut), len(full), text)
        self.assertGreater(len(cut), 3, text)
        for f in cut:
            self.assertNotEqual(f.pc, "0x0000000000000000", f"a frame read from zeros\n{text}")
        self.assertTrue(frames_match(full[:len(cut) - 1], cut[:-1]),
                        cu.frames_diff(full[:len(cut)], cut))
        print(f"truncated: {len(cut)} frames of {len(full)} kept, {outcome['missing_bytes']} "
              f"bytes missing", file=sys.stderr)

    def test_pid_reused(self):
        # The pid given by hand is now another process's (a live sleep): /proc/<pid> is not used,
        # the memory comes from the core itself and the backtrace is whole.
        case = self.case("altstack-main")
        full = self.full(case)
        other = subprocess.Popen(["sleep", "60"])
        try:
            trimmed, err = self.trim(case, "pid-reused", pid=other.pid, sysroot="/")
        finally:
            other.kill()
            other.wait()
        self.assertIn(f"The core's notes name pid {case['info']['pid']}, not {other.pid}", err)
        capture, outcome = faultd_notes(trimmed)
        self.assertTrue(outcome["pid_mismatch"], outcome)
        self.assertEqual(outcome["core_pid"], case["info"]["pid"], outcome)
        self.assertNotIn("exe", capture, capture)
        self.assertNotIn("maps", capture, capture)
        self.assertEqual(capture["process"], "", capture)
        self.assertGreaterEqual(outcome["link_maps"], 3, outcome)
        cut, text = self.backtrace(case, trimmed)
        self.assertTrue(frames_match(full, cut), cu.frames_diff(full, cut))


if __name__ == "__main__":
    unittest.main(verbosity=2)
