# SPDX-License-Identifier: MIT
"""faultd-core-handler on real cores of tests/crash/crasher, checked with gdb.

The crasher parks five threads at known depths (one through a shared library, one 300 frames of
1 KiB deep) and crashes a sixth. Its cores come from the kernel (RLIMIT_CORE unlimited, the
default core file name in a temporary directory; skipped when the machine's core_pattern sends
cores elsewhere) and from gcore of a live, parked crasher. Each core is trimmed by the real
handler in trim-only mode (--output) and gdb must give the same backtrace for every thread from
the trimmed core as from the full one, frame by frame (function, arguments, file:line, pc), and a
prefix of at least MIN_PREFIX frames for the deep thread whose stack exceeds its window (its last
frame may lack the argument values beyond the window, gdb saying so). Then hostile inputs go
through the same binary, in trim-only and in commit mode: each must be refused promptly with a
clear message naming the problem (a core cut short in its memory is stored, marked truncated),
the crash still reported, without a crash or a sanitizer report, leaving no files behind.

Environment (set by meson): CORE_HANDLER, CRASHER.
"""
import gzip
import json
import os
import random
import resource
import shutil
import signal
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
CRASHER = os.environ.get("CRASHER", "")

STACK_KIB = 32           # the window of each thread
CRASHING_STACK_KIB = 256  # the crashing thread's
MIN_PREFIX = 10           # frames the deep thread keeps at least
HANDLER_TIMEOUT = 10      # seconds any handler run may take
SIGSEGV = int(signal.SIGSEGV)

# The functions each of the crasher's threads must show in the full core's backtrace.
ROLE_FUNCTIONS = {
    "main": ["main"],
    "alpha": ["park", "alpha_recurse", "alpha_thread"],
    "beta": ["park", "beta_leaf", "crashlib_descend", "beta_thread"],
    "gamma": ["park", "gamma_three", "gamma_two", "gamma_one", "gamma_thread"],
    "deep": ["park", "deep_recurse"],
    "crasher": ["crash_now", "crash_path", "crasher_thread"],
}
ROLES = list(ROLE_FUNCTIONS)

FAKE_OS_RELEASE = 'ID=testos\nVERSION_ID="1.2.3"\n'
FAKE_MACHINE_ID = "0123456789abcdef0123456789abcdef\n"
FAKE_BOOT_ID = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f\n"

# Shared by the test classes: the cores are made once (setUpModule).
fixture = {}
started = time.monotonic()


def missing_tools():
    missing = [name for name, path in (("CORE_HANDLER", CORE_HANDLER), ("CRASHER", CRASHER))
               if not path or not os.access(path, os.X_OK)]
    missing += [t for t in ("gdb", "gcore") if not shutil.which(t)]
    return missing


def make_root(path):
    """A fake system tree for the handler's sysroot, with the identity files; cu.kernel_core()
    adds proc/<pid> of the crasher to it."""
    os.makedirs(os.path.join(path, "etc"), exist_ok=True)
    with open(os.path.join(path, "etc", "os-release"), "w") as f:
        f.write(FAKE_OS_RELEASE)
    with open(os.path.join(path, "etc", "machine-id"), "w") as f:
        f.write(FAKE_MACHINE_ID)
    rnd = os.path.join(path, "proc", "sys", "kernel", "random")
    os.makedirs(rnd, exist_ok=True)
    with open(os.path.join(rnd, "boot_id"), "w") as f:
        f.write(FAKE_BOOT_ID)
    return path


def write_config(path, state_dir, sysroot=None, commit=False, **coredump):
    config = {
        "state_dir": state_dir,
        "log_target": "stderr",
        "coredump": dict({"compression": "gzip", "stack_kib": STACK_KIB,
                          "crashing_stack_kib": CRASHING_STACK_KIB}, **coredump),
    }
    if sysroot:
        config["sysroot"] = sysroot
    if commit:
        config["enable_data_collection"] = True
        config["coredump"]["rate_limit_count"] = 10000
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def run_handler(config, pid, tid, sig, when, stdin, output=None, timeout=HANDLER_TIMEOUT):
    """Runs faultd-core-handler; stdin is a path (given as a regular file, like a saved core) or
    bytes (given through a pipe, like the kernel does). Returns (CompletedProcess, seconds)."""
    cmd = [CORE_HANDLER, "-c", config]
    if output:
        cmd += ["--output", output]
    cmd += [str(pid), str(tid), str(sig), str(when), "0", "0"]
    valgrind_dir = os.path.join(os.path.dirname(config), "valgrind")
    cmd = harness.valgrind_command(cmd, valgrind_dir, "faultd-core-handler")
    timeout = harness.scaled(timeout)
    t0 = time.monotonic()
    try:
        if isinstance(stdin, (bytes, bytearray)):
            r = subprocess.run(cmd, input=bytes(stdin), capture_output=True, timeout=timeout)
        else:
            with open(stdin, "rb") as f:
                r = subprocess.run(cmd, stdin=f, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"faultd-core-handler took more than {timeout}s: {cmd}\n"
                             f"{(e.stderr or b'').decode(errors='replace')}")
    r.stderr = r.stderr.decode(errors="replace")
    r.stdout = r.stdout.decode(errors="replace")
    elapsed = time.monotonic() - t0
    for marker in cu.SANITIZER_MARKERS:
        if marker in r.stderr:
            raise AssertionError(f"sanitizer report from faultd-core-handler {cmd}:\n{r.stderr}")
    if r.returncode < 0:
        raise AssertionError(f"faultd-core-handler died of signal {-r.returncode}: {cmd}\n"
                             f"{r.stderr}")
    harness.keep_valgrind_logs(valgrind_dir, os.path.basename(os.path.dirname(config)))
    harness.check_valgrind(valgrind_dir, what=f"faultd-core-handler {cmd}")
    return r, elapsed


def setUpModule():
    missing = missing_tools()
    if missing:
        raise unittest.SkipTest("needs " + ", ".join(missing))
    d = fixture["dir"] = tempfile.mkdtemp(prefix="faultd-core-it-")
    fixture["kernel"] = {}
    fixture["kernel_skip"] = None
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|"):
        fixture["kernel_skip"] = (f"kernel cores go to a program here (core_pattern "
                                  f"\"{pattern}\"), not to a file this test can read")
    else:
        for mode in ("segv", "abort"):
            work = os.path.join(d, "kernel-" + mode)
            root = make_root(os.path.join(work, "root"))
            os.makedirs(os.path.join(work, "cwd"))
            info, core, sig = cu.kernel_core(CRASHER, mode, os.path.join(work, "cwd"), root)
            if core is None:
                hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
                fixture["kernel_skip"] = (
                    f"the kernel wrote no core file into the working directory (core_pattern "
                    f"\"{pattern}\", RLIMIT_CORE hard limit "
                    f"{'unlimited' if hard == resource.RLIM_INFINITY else hard})")
                break
            fixture["kernel"][mode] = {"info": info, "core": core, "signal": sig, "root": root,
                                       "dir": work}
    parked = fixture["parked"] = cu.ParkedCrasher(CRASHER)
    work = os.path.join(d, "gcore")
    os.makedirs(work)
    raw = parked.gcore(os.path.join(work, "gcore"))
    core = os.path.join(work, "core")
    cu.relayout_core(raw, core)
    fixture["gcore"] = {"info": parked.info, "core": core, "raw": raw, "signal": SIGSEGV,
                        "root": "/", "dir": work}
    fixture["gcore"]["info"]["time"] = int(time.time())


def tearDownModule():
    parked = fixture.get("parked")
    if parked:
        parked.close()
    if "dir" in fixture:
        shutil.rmtree(fixture["dir"], ignore_errors=True)
    print(f"\ntest_coredump: {time.monotonic() - started:.1f}s in all", file=sys.stderr)


class TrimmedBacktraceTest(unittest.TestCase):
    """gdb's backtraces from the trimmed cores against those from the full ones."""

    maxDiff = None
    full_cache = {}

    def full_backtraces(self, case):
        core = case["core"]
        if core not in self.full_cache:
            text = cu.run_gdb(CRASHER, core)
            threads = cu.parse_backtraces(text)
            self.check_full(case, threads, text)
            self.full_cache[core] = threads
        return self.full_cache[core]

    def check_full(self, case, threads, text):
        """The full core itself shows every thread where the crasher parked it: otherwise the
        comparison below would prove nothing."""
        info = case["info"]
        self.assertEqual(sorted(threads), sorted(info[r] for r in ROLES),
                         f"threads of the full core:\n{text}")
        for role, functions in ROLE_FUNCTIONS.items():
            names = [f.function for f in threads[info[role]]["frames"]]
            for fn in functions:
                self.assertIn(fn, names, f"thread {role} in the full core:\n{text}")
        deep = [f for f in threads[info["deep"]]["frames"] if f.function == "deep_recurse"]
        self.assertEqual(len(deep), 300, "the deep thread's recursion in the full core")

    def trim(self, case, name, tid=None, core=None, pipe=False, **coredump):
        """Runs the handler in trim-only mode on case's core (or core), given as a file or through
        a pipe; returns the decompressed trimmed core's path and the handler's stderr."""
        work = tempfile.mkdtemp(prefix=name + "-", dir=case["dir"])
        state = os.path.join(work, "state")
        config = write_config(os.path.join(work, "faultd.conf"), state, sysroot=case["root"],
                              **coredump)
        out = os.path.join(work, "core.elf.gz")
        info = case["info"]
        stdin = core or case["core"]
        if pipe:
            with open(stdin, "rb") as f:
                stdin = f.read()
        r, elapsed = run_handler(config, info["pid"], tid or info["crasher"], case["signal"],
                                 info["time"], stdin, output=out)
        self.assertEqual(r.returncode, 0, f"faultd-core-handler on {name}:\n{r.stderr}")
        self.assertTrue(os.path.exists(out), f"no output from the handler:\n{r.stderr}")
        with open(out, "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b", "the output is not gzip")
        trimmed = os.path.join(work, "core.elf")
        with gzip.open(out, "rb") as fin, open(trimmed, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        print(f"\n{name}: full {os.path.getsize(core or case['core'])} bytes, trimmed "
              f"{os.path.getsize(trimmed)}, gzip {os.path.getsize(out)}, handler {elapsed:.2f}s",
              file=sys.stderr)
        return trimmed, r.stderr

    def check_elf(self, trimmed, full_path, case=None, tid=None, max_fraction=0.1):
        """The trimmed core is a valid ELF core of the same machine: the original notes verbatim
        in a first note segment with faultd's capture note, page-aligned memory segments holding
        the process's bytes, an outcome note at the end; and at most max_fraction of the full
        core's size."""
        try:
            core = cu.ElfCore(trimmed)
            full = cu.ElfCore(full_path)
        except ValueError as e:
            self.fail(f"the trimmed core is not a valid ELF core: {e}")
        self.assertEqual(core.machine, full.machine)
        self.assertEqual(core.phdrs[0]["type"], cu.PT_NOTE, "the notes come first")
        self.assertEqual(core.phdrs[-1]["type"], cu.PT_NOTE, "the outcome note comes last")
        loads = core.loads()
        self.assertTrue(loads, "memory segments")
        for p in loads:
            self.assertEqual(p["vaddr"] % 4096, 0, f"segment at {p['vaddr']:#x} page-aligned")
            self.assertEqual(p["filesz"] % 4096, 0, f"segment at {p['vaddr']:#x} whole pages")
        spans = sorted((p["vaddr"], p["vaddr"] + p["memsz"]) for p in loads)
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            self.assertLessEqual(a1, b0, f"segments {a0:#x}-{a1:#x} and {b0:#x} overlap")
        originals = [n for n in core.notes if n[0] != "FAULTD"]
        self.assertEqual(originals, full.notes, "the full core's notes, verbatim and in order")
        ours = [(t, d) for n, t, d in core.notes if n == "FAULTD"]
        self.assertEqual([t for t, _ in ours], [1, 2], "FAULTD capture and outcome notes")
        capture = json.loads(ours[0][1].rstrip(b"\0"))
        outcome = json.loads(ours[1][1].rstrip(b"\0 "))
        threads = len([n for n in full.notes if n[:2] == ("CORE", 1)])
        self.assertEqual(outcome["threads"], threads, f"outcome note: {outcome}")
        self.assertIsNone(outcome["truncated"], f"outcome note: {outcome}")
        self.assertEqual(outcome["strategy"], "stack", f"outcome note: {outcome}")
        # The executable, libcrashlib, libc, the dynamic linker (and the vDSO) in the list.
        self.assertGreaterEqual(outcome["link_maps"], 4, f"outcome note: {outcome}")
        if case:
            info = case["info"]
            self.assertEqual((capture["pid"], capture["tid"], capture["signal"],
                              capture["process"]),
                             (info["pid"], tid or info["crasher"], case["signal"], "crasher"),
                             f"capture note: {capture}")
        self.assertEqual(cu.memory_mismatches(core, full), [],
                         "kept memory equals the full core's")
        self.assertLess(core.size, full.size * max_fraction,
                        f"trimmed {core.size} bytes against {full.size}: more than "
                        f"{max_fraction:.0%}")
        check = cu.readelf_check(trimmed)
        if check is not None:
            ok, out = check
            self.assertTrue(ok, f"readelf -h -l on the trimmed core:\n{out}")
        return core

    def compare(self, case, trimmed, whole_roles, prefix_roles):
        full = self.full_backtraces(case)
        text = cu.run_gdb(CRASHER, trimmed)
        cut = cu.parse_backtraces(text)
        info = case["info"]
        self.assertEqual(sorted(cut), sorted(full), f"threads of the trimmed core:\n{text}")
        for role in whole_roles:
            a, b = full[info[role]]["frames"], cut[info[role]]["frames"]
            if a != b:
                self.fail(f"thread {role} (LWP {info[role]}): trimmed backtrace differs\n"
                          + cu.frames_diff(a, b))
        for role in prefix_roles:
            a, b = full[info[role]]["frames"], cut[info[role]]["frames"]
            self.assertLess(len(b), len(a), f"thread {role}: the whole stack was kept")
            self.assert_prefix(role, info[role], a, b, MIN_PREFIX)
        return cut

    def assert_prefix(self, role, lwp, a, b, min_frames):
        """b, the trimmed backtrace, is a prefix of a of at least min_frames frames; its last
        frame may lack the argument values that lie beyond the window, nothing else."""
        self.assertGreaterEqual(len(b), min_frames, f"thread {role}: only {len(b)} frames kept\n"
                                + cu.frames_diff(a, b))
        last = len(b) - 1
        if len(b) > len(a) or a[:last] != b[:last] or not (
                a[last] == b[last] or cu.matches_with_unreadable(a[last], b[last])):
            self.fail(f"thread {role} (LWP {lwp}): trimmed backtrace is not a prefix of the full "
                      "one\n" + cu.frames_diff(a[:len(b)], b))

    def check_case(self, case, name, core=None):
        trimmed, _ = self.trim(case, name, core=core)
        self.check_elf(trimmed, core or case["core"], case)
        self.compare(case, trimmed, [r for r in ROLES if r != "deep"], ["deep"])
        return trimmed

    def kernel_case(self, mode):
        if fixture["kernel_skip"]:
            self.skipTest(fixture["kernel_skip"])
        return fixture["kernel"][mode]

    def test_kernel_core_segv(self):
        case = self.kernel_case("segv")
        self.assertEqual(case["signal"], SIGSEGV)
        self.check_case(case, "kernel-segv")

    def test_kernel_core_abort(self):
        case = self.kernel_case("abort")
        self.assertEqual(case["signal"], int(signal.SIGABRT))
        self.check_case(case, "kernel-abort")

    def test_gcore_live_process(self):
        # gcore's core of a live process in the kernel's layout, through a pipe as the kernel
        # gives it: the dynamic linker's list is read from the live /proc/<pid>/mem.
        case = fixture["gcore"]
        trimmed, _ = self.trim(case, "gcore-pipe", pipe=True)
        self.check_elf(trimmed, case["core"], case)
        self.compare(case, trimmed, [r for r in ROLES if r != "deep"], ["deep"])

    def test_gcore_own_layout(self):
        # gcore's own layout (notes after the memory) from a file: gdb sees the same threads in
        # it as in the kernel's layout, and the handler reads a saved core in any order.
        case = fixture["gcore"]
        raw = cu.parse_backtraces(cu.run_gdb(CRASHER, case["raw"]))
        full = self.full_backtraces(case)
        self.assertEqual({k: v["frames"] for k, v in raw.items()},
                         {k: v["frames"] for k, v in full.items()})
        self.check_case(case, "gcore-raw", core=case["raw"])

    def test_crashing_thread_window(self):
        # Named as the crashing thread, the deep thread gets crashing_stack_kib: all of it fits.
        case = fixture["gcore"]
        deep = case["info"]["deep"]
        trimmed, _ = self.trim(case, "gcore-deep", tid=deep, crashing_stack_kib=1024)
        # 1 MiB for one thread: more than a tenth of this small core.
        self.check_elf(trimmed, case["core"], case, tid=deep, max_fraction=0.2)
        self.compare(case, trimmed, ROLES, [])

    def test_one_page_windows(self):
        # With 4 KiB windows every thread keeps a correct prefix, the deep one a short one.
        case = fixture["gcore"]
        trimmed, _ = self.trim(case, "gcore-4k", stack_kib=4, crashing_stack_kib=4)
        full = self.full_backtraces(case)
        cut = cu.parse_backtraces(cu.run_gdb(CRASHER, trimmed))
        deep = case["info"]["deep"]
        self.assertLess(len(cut[deep]["frames"]), 20, "the deep thread in a 4 KiB window")
        for role in ROLES:
            lwp = case["info"][role]
            self.assert_prefix(role, lwp, full[lwp]["frames"], cut[lwp]["frames"], 1)


REFUSED = "Refusing the core of"
TRUNCATED = "truncated: the core ends at byte"


def hostile_inputs():
    """[(name, bytes, expected phrase on stderr, stdin kinds)]: inputs no handler may choke on,
    several made from a real core. The phrase TRUNCATED marks the one documented acceptance: a
    core cut short in its memory is still stored, marked truncated."""
    case = fixture["kernel"].get("segv") or fixture["gcore"]
    core = cu.ElfCore(case["core"])
    with open(case["core"], "rb") as f:
        real = f.read()
    header = real[:64]
    table_end = 64 + 56 * core.phnum
    note = next(p for p in core.phdrs if p["type"] == cu.PT_NOTE)
    biggest = max(core.loads(), key=lambda p: p["filesz"])
    both = ("pipe", "file")
    inputs = [
        ("empty", b"", "the input is empty", both),
        ("text", b"this is not a core file\n" * 200, "not an ELF file", both),
        ("cut in the program headers", real[:64 + 56 * core.phnum // 2],
         "the core ends within its program headers", both),
        ("cut in the notes", real[:note["offset"] + note["filesz"] // 2],
         "the core ends within its notes", both),
        ("cut in the memory", real[:biggest["offset"] + biggest["filesz"] // 2], TRUNCATED,
         both),
    ]
    # gcore's layout, notes after the memory, cannot be read in one pass from a pipe (from a
    # file it can: see test_gcore_own_layout).
    with open(fixture["gcore"]["raw"], "rb") as f:
        inputs.append(("notes after the memory", f.read(),
                       "only cores in file order can be read in one pass", ("pipe",)))
    # A 32-bit ARM core header with one note segment.
    ident = b"\x7fELF\x01\x01\x01" + b"\0" * 9
    ehdr32 = ident + struct.pack("<HHIIIIIHHHHHH", 4, cu.EM_ARM, 1, 0, 52, 0, 0, 52, 32, 1, 0,
                                 0, 0)
    phdr32 = struct.pack("<IIIIIIII", cu.PT_NOTE, 84, 0, 0, 32, 0, 0, 4)
    inputs.append(("32-bit core", ehdr32 + phdr32 + b"\0" * 32,
                   "a 32-bit core on a 64-bit host", both))
    # 60000 program headers announced, none there.
    many = bytearray(header)
    struct.pack_into("<H", many, 56, 60000)
    inputs.append(("60000 program headers, no data", bytes(many),
                   "the core ends within its program headers (0 of 3360000 bytes)", both))
    # A note segment of 1 TiB.
    huge = bytearray(header)
    struct.pack_into("<H", huge, 56, 1)
    inputs.append(("a 1 TiB note segment", bytes(huge) + struct.pack(
        "<IIQQQQQQ", cu.PT_NOTE, 0, 120, 0, 0, 1 << 40, 0, 4), "the notes exceed max_notes_kib",
        both))
    # Offsets and sizes that overflow 64 bits.
    wrap = bytearray(header)
    struct.pack_into("<H", wrap, 56, 2)
    inputs.append(("a segment wrapping around 2^64", bytes(wrap) + struct.pack(
        "<IIQQQQQQ", cu.PT_NOTE, 0, 176, 0, 0, 16, 0, 4) + struct.pack(
        "<IIQQQQQQ", cu.PT_LOAD, 0, (1 << 64) - 4096, 0x1000, 0, 8192, 8192, 4096) + b"\0" * 16,
        "offset + filesz overflows", both))
    # A valid header, then random bytes (fixed seeds: reproducible).
    for seed in (1, 2, 3):
        rnd = random.Random(seed)
        inputs.append((f"random bytes after a valid header (seed {seed})",
                       header + rnd.randbytes(64 * 1024), "program header", both))
    # A real core's program headers, then random bytes in place of its notes and memory.
    rnd = random.Random(4)
    inputs.append(("random notes", real[:table_end] + rnd.randbytes(len(real) - table_end),
                   "notes: ", both))
    return inputs, case


def files_under(path):
    """Files and directories (with a trailing /) under path, relative to it."""
    found = []
    for dirpath, dirs, names in os.walk(path):
        for n in names:
            found.append(os.path.relpath(os.path.join(dirpath, n), path))
        for n in dirs:
            found.append(os.path.relpath(os.path.join(dirpath, n), path) + "/")
    return sorted(found)


class HostileInputTest(unittest.TestCase):
    """Bad cores through the real handler: a clear refusal, promptly, nothing left behind."""

    maxDiff = None

    def run_all(self, commit):
        inputs, case = hostile_inputs()
        info = case["info"]
        count = 0
        for name, data, phrase, vias in inputs:
            for via in vias:
                with self.subTest(input=name, stdin=via, mode="commit" if commit else "trim"):
                    work = tempfile.mkdtemp(prefix="hostile-", dir=fixture["dir"])
                    state = os.path.join(work, "state")
                    config = write_config(os.path.join(work, "faultd.conf"), state,
                                          sysroot=case["root"], commit=commit)
                    out = None if commit else os.path.join(work, "out", "core.elf.gz")
                    if out:
                        os.makedirs(os.path.dirname(out))
                    stdin = data
                    if via == "file":
                        stdin = os.path.join(work, "input")
                        with open(stdin, "wb") as f:
                            f.write(data)
                    r, elapsed = run_handler(config, info["pid"], info["crasher"], SIGSEGV,
                                             info["time"], stdin, output=out)
                    self.assertLess(elapsed, harness.scaled(HANDLER_TIMEOUT))
                    self.assertIn(phrase, r.stderr, f"{name}: stderr")
                    if phrase == TRUNCATED:
                        self.check_truncated(name, r, state, out, commit)
                    else:
                        self.check_refused(name, r, state, out, commit)
                    count += 1
        print(f"\n{count} hostile inputs {'committed' if commit else 'trimmed'}",
              file=sys.stderr)

    def crash_reports(self, state):
        d = os.path.join(state, "crashes")
        reports = []
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, n)) as f:
                reports.append(json.load(f))
        return reports

    def entries(self, state):
        spool = os.path.join(state, "spool")
        return sorted(n for n in os.listdir(spool) if "_elf-coredump_" in n) \
            if os.path.isdir(spool) else []

    def check_no_leftovers(self, name, state):
        left = [f for f in files_under(state)
                if "tmp" in f or any(part.startswith(".") for part in f.split("/"))]
        self.assertEqual(left, [], f"{name}: temporary files left in the state directory")

    def check_refused(self, name, r, state, out, commit):
        self.assertEqual(r.returncode, 1, f"{name}: exit status\n{r.stderr}")
        self.assertIn(REFUSED, r.stderr, f"{name}: stderr")
        self.check_no_leftovers(name, state)
        self.assertEqual(self.entries(state), [], f"{name}: an entry for a refused core")
        if commit:
            # The crash still counts, the core marked failed.
            reports = self.crash_reports(state)
            self.assertEqual([(x["process"], x["signal"], x["core"], x["entry"]) for x in reports],
                             [("crasher", SIGSEGV, "failed", "")], f"{name}: crash reports")
            # When it happened, for the hours ledger: the fake tree's boot, and the monotonic
            # time the handler started (CLOCK_MONOTONIC, Python's time.monotonic() here).
            self.assertEqual(reports[0]["boot_id"], FAKE_BOOT_ID.strip(), f"{name}: boot_id")
            self.assertLessEqual(reports[0]["monotonic_ms"], time.monotonic() * 1000)
            self.assertGreater(reports[0]["monotonic_ms"], (time.monotonic() - 60) * 1000)
        else:
            self.assertEqual(files_under(os.path.dirname(out)), [],
                             f"{name}: a refused core left files beside the output")

    def check_truncated(self, name, r, state, out, commit):
        self.assertEqual(r.returncode, 0, f"{name}: exit status\n{r.stderr}")
        self.check_no_leftovers(name, state)
        if commit:
            entries = self.entries(state)
            self.assertEqual(len(entries), 1, f"{name}: spool entries")
            reports = self.crash_reports(state)
            self.assertEqual([(x["core"], x["entry"]) for x in reports],
                             [("stored", entries[0].rsplit("_", 1)[1])],
                             f"{name}: crash reports")
            d = os.path.join(state, "spool", entries[0])
            out = os.path.join(d, next(n for n in os.listdir(d) if n.endswith(".elf.gz")))
        trimmed = os.path.join(os.path.dirname(state), "truncated.elf")
        with gzip.open(out, "rb") as fin, open(trimmed, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        core = cu.ElfCore(trimmed)
        outcome = json.loads([d for n, t, d in core.notes if (n, t) == ("FAULTD", 2)][0]
                             .rstrip(b"\0 "))
        self.assertIn("the core ends at byte", outcome["truncated"] or "", f"{name}: outcome")

    def test_trim_only(self):
        self.run_all(commit=False)

    def test_commit(self):
        self.run_all(commit=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
