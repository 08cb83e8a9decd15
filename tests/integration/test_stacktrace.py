# SPDX-License-Identifier: MIT
"""faultd-core-handler --stacktrace on real kernel cores of tests/crash/crasher, checked with gdb.

Each core (segv twice, abort once) is unwound by the real handler as the kernel wrote it and once
trimmed (--output --compression none, as tests/integration/test_coredump.py trims): the
linux-stacktrace document must have memfaultd's shape, the crashing thread's pcs must be gdb's
(physical frames, inline ones folded, read with gdb's Python API; gdb without separate debug files,
as on a device), every thread gdb sees must be
there with gdb's pcs, the build-ids must be readelf's, and the signature must be the same for two
runs of one crash (other load addresses) and differ between segv and abort. Bad input (not ELF,
empty, cut short) must fail with a clear message and a non-zero status; a child past its time
limit must be killed, and a child unwinding 1000 threads must stop in time with what it has.

Environment (set by meson): CORE_HANDLER, CRASHER, THREADS.
"""
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
import test_coredump as tc  # noqa: E402

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
CRASHER = os.environ.get("CRASHER", "")
THREADS = os.environ.get("THREADS", "")
HEX_RE = re.compile(r"^0x[0-9a-f]+$")

# Physical frames of every thread as gdb sees them: an inline frame shares its pc with the frame
# it was inlined into, so only the others are kept.
GDB_PCS = r"""
python
import gdb, json
out = {}
for t in gdb.selected_inferior().threads():
    t.switch()
    f = gdb.newest_frame()
    pcs = []
    while f is not None and len(pcs) < 64:
        if f.type() != gdb.INLINE_FRAME:
            pcs.append(f.pc())
        f = f.older()
    out[t.ptid[1]] = pcs
print("PCS " + json.dumps(out))
end
"""


def gdb_pcs(program, core):
    """{lwp: [pc, ...]} of gdb's physical frames (at most 64) of each thread."""
    with tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False) as f:
        f.write(GDB_PCS)
        script = f.name
    try:
        env = dict(os.environ)
        env.pop("DEBUGINFOD_URLS", None)
        # Without separate debug files: the device has none, and libc's debug file has CFI
        # its .eh_frame lacks (glibc 2.36: __pthread_kill_implementation's caller), so gdb with
        # it finds a frame that neither gdb without it nor libdw can.
        r = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
                            "-iex", "set debug-file-directory /nonexistent",
                            "-x", script, program, core], capture_output=True, text=True,
                           timeout=120, env=env, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(script)
    for line in r.stdout.splitlines():
        if line.startswith("PCS "):
            return {int(k): v for k, v in json.loads(line[4:]).items()}
    raise AssertionError(f"gdb gave no pcs:\n{r.stdout}{r.stderr}")


def build_id(path):
    r = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True)
    m = re.search(r"Build ID: ([0-9a-f]+)", r.stdout)
    return m.group(1) if m else ""


def stacktrace(core, config, timeout=60):
    """Runs faultd-core-handler --stacktrace; returns (returncode, document or None, stderr)."""
    r = subprocess.run([CORE_HANDLER, "-c", config, "--stacktrace", core], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    doc = json.loads(r.stdout) if r.returncode == 0 else None
    return r.returncode, doc, r.stderr


def signature(stderr):
    m = re.search(r"^signature: ([0-9a-f]{16})$", stderr, re.M)
    return m.group(1) if m else None


class StacktraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [n for n, v in (("CORE_HANDLER", CORE_HANDLER), ("CRASHER", CRASHER)) if not v]
        missing += [t for t in ("gdb", "readelf") if not shutil.which(t)]
        if missing:
            raise unittest.SkipTest(f"missing: {', '.join(missing)}")
        r = subprocess.run([CORE_HANDLER, "--help"], capture_output=True, text=True)
        if "--stacktrace" not in r.stdout:
            raise unittest.SkipTest("faultd-core-handler without --stacktrace")
        cls.dir = tempfile.mkdtemp(prefix="faultd-stacktrace-")
        cls.config = os.path.join(cls.dir, "faultd.conf")
        with open(cls.config, "w") as f:
            json.dump({"log_target": "stderr"}, f)
        cls.cases = {}
        for name, mode in (("segv", "segv"), ("segv2", "segv"), ("abort", "abort")):
            work = os.path.join(cls.dir, name)
            os.makedirs(work)
            root = tc.make_root(os.path.join(work, "root"))
            info, core, sig = cu.kernel_core(CRASHER, mode, work, root)
            if core is None:
                shutil.rmtree(cls.dir)
                raise unittest.SkipTest("the kernel wrote no core here (core_pattern)")
            cls.cases[name] = {"info": info, "core": core, "signal": sig, "root": root,
                               "dir": work}
        probe = subprocess.run([CORE_HANDLER, "-c", cls.config, "--stacktrace",
                                cls.cases["segv"]["core"]], capture_output=True, text=True)
        if "built without stack traces" in probe.stderr:
            shutil.rmtree(cls.dir)
            raise unittest.SkipTest("faultd-core-handler built without libdw")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def trimmed(self, case):
        """The case's core trimmed by the handler, uncompressed."""
        out = os.path.join(case["dir"], "trimmed.core")
        if not os.path.exists(out):
            config = tc.write_config(os.path.join(case["dir"], "trim.conf"),
                                     os.path.join(case["dir"], "state"), sysroot=case["root"])
            info = case["info"]
            with open(case["core"], "rb") as f:
                r = subprocess.run([CORE_HANDLER, "-c", config, "--output", out,
                                    "--compression", "none", str(info["pid"]),
                                    str(info["crasher"]), str(case["signal"]), "0", "0", "0"],
                                   stdin=f, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def check_document(self, doc, case):
        self.assertEqual(set(doc), {"version", "signal", "cmdline", "symbols", "threads"})
        self.assertEqual(doc["version"], "1")
        self.assertEqual(doc["signal"], {11: "SIGSEGV", 6: "SIGABRT"}[case["signal"]])
        self.assertIn("crasher", doc["cmdline"])
        for s in doc["symbols"]:
            self.assertEqual(set(s), {"pc_range", "build_id", "compiled_offset",
                                      "runtime_offset", "path"})
            for v in (s["pc_range"]["start"], s["pc_range"]["end"], s["compiled_offset"],
                      s["runtime_offset"]):
                self.assertRegex(v, HEX_RE)
            self.assertEqual(s["runtime_offset"], s["pc_range"]["start"])
        for t in doc["threads"]:
            self.assertEqual(set(t), {"active", "pcs"})
            for pc in t["pcs"]:
                self.assertRegex(pc, HEX_RE)
        self.assertEqual(sum(t["active"] for t in doc["threads"]), 1)

    def check_against_gdb(self, doc, case, core):
        gdb = gdb_pcs(CRASHER, core)
        info = case["info"]
        self.assertEqual(len(doc["threads"]), len(gdb), "every thread gdb sees")
        active = [t for t in doc["threads"] if t["active"]][0]
        ours = [int(pc, 16) for pc in active["pcs"]]
        self.assertEqual([hex(p) for p in ours], [hex(p) for p in gdb[info["crasher"]]],
                         "the crashing thread's pcs")
        # Every other thread is there with gdb's frames (a prefix when either stops early).
        others = [[int(pc, 16) for pc in t["pcs"]] for t in doc["threads"] if not t["active"]]
        for lwp, pcs in gdb.items():
            if lwp == info["crasher"]:
                continue
            match = [o for o in others
                     if len(o) >= min(3, len(pcs)) and o[:min(len(o), len(pcs))] ==
                     pcs[:min(len(o), len(pcs))]]
            self.assertTrue(match, f"thread {lwp}: gdb {list(map(hex, pcs))} not among ours")
        # Each symbol file's build-id is the binary's.
        for s in doc["symbols"]:
            self.assertTrue(os.path.isabs(s["path"]), s["path"])
            self.assertEqual(s["build_id"], build_id(s["path"]), s["path"])
        paths = {os.path.basename(s["path"]) for s in doc["symbols"]}
        self.assertIn("crasher", paths)

    def test_full_and_trimmed(self):
        for name in ("segv", "abort"):
            case = self.cases[name]
            with self.subTest(name):
                code, full, err = stacktrace(case["core"], self.config)
                self.assertEqual(code, 0, err)
                self.check_document(full, case)
                self.check_against_gdb(full, case, case["core"])
                trimmed = self.trimmed(case)
                code, small, err2 = stacktrace(trimmed, self.config)
                self.assertEqual(code, 0, err2)
                self.check_document(small, case)
                self.check_against_gdb(small, case, case["core"])
                self.assertEqual(signature(err), signature(err2))
                self.assertEqual([t["pcs"] for t in full["threads"] if t["active"]],
                                 [t["pcs"] for t in small["threads"] if t["active"]])

    def test_signature(self):
        sigs = {}
        for name, case in self.cases.items():
            code, doc, err = stacktrace(case["core"], self.config)
            self.assertEqual(code, 0, err)
            sigs[name] = signature(err)
            self.assertIsNotNone(sigs[name], err)
            self.assertIn("crasher!crash_now+0x", err)
        self.assertEqual(sigs["segv"], sigs["segv2"], "two runs of one crash")
        self.assertNotEqual(sigs["segv"], sigs["abort"])
        # The abort's top frames are libc's machinery; the signature starts below them.
        code, doc, err = stacktrace(self.cases["abort"]["core"], self.config)
        self.assertRegex(err, r"#\d+ +libc\.so!abort\+0x")

    def test_bad_input(self):
        good = self.cases["segv"]["core"]
        with open(good, "rb") as f:
            head = f.read(64 * 1024)
        cases = {
            "not-elf": b"#!/bin/sh\necho this is no core\n" * 10,
            "empty": b"",
            "truncated": head,
            "header-only": head[:64],
        }
        for name, data in cases.items():
            with self.subTest(name):
                path = os.path.join(self.dir, name + ".core")
                with open(path, "wb") as f:
                    f.write(data)
                t0 = time.monotonic()
                code, doc, err = stacktrace(path, self.config)
                self.assertLess(time.monotonic() - t0, 10)
                self.assertNotEqual(code, 0, f"{name}: accepted:\n{err}")
                self.assertNotIn("AddressSanitizer", err)
                self.assertNotIn("runtime error", err)
                self.assertRegex(err, r"error: .*(ELF|core|unwind|thread)", f"{name}:\n{err}")
        code, doc, err = stacktrace(os.path.join(self.dir, "absent.core"), self.config)
        self.assertNotEqual(code, 0)
        self.assertIn("No such file", err)

    def test_descriptor_0(self):
        """Started without standard input, the core opens as descriptor 0: the child keeps it."""
        core = self.cases["segv"]["core"]
        r = subprocess.run([CORE_HANDLER, "-c", self.config, "--stacktrace", core],
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=lambda: os.close(0))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(signature(r.stderr), signature(stacktrace(core, self.config)[2]))

    def test_killed_at_time_limit(self):
        """A core of 65,000 empty segments (the kernel's notes of a real one, each segment a page
        of zeros): libdwfl looks for a module in every one before any thread is unwound, for
        longer than the smallest limit, so the parent kills the child."""
        with open(self.cases["segv"]["core"], "rb") as f:
            data = f.read()
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phnum, = struct.unpack_from("<H", data, 0x38)
        notes = None
        for i in range(phnum):
            p_type, _, p_offset, _, _, p_filesz, _, _ = struct.unpack_from(
                "<IIQQQQQQ", data, phoff + 56 * i)
            if p_type == 4:  # PT_NOTE
                notes = data[p_offset:p_offset + p_filesz]
        self.assertIsNotNone(notes)
        n = 65000
        note_off = 64 + 56 * (n + 1)
        page_off = (note_off + len(notes) + 4095) & ~4095
        out = bytearray(data[:64])
        struct.pack_into("<Q", out, 0x20, 64)
        struct.pack_into("<H", out, 0x38, n + 1)
        out += struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(notes), 0, 1)
        for i in range(n):
            out += struct.pack("<IIQQQQQQ", 1, 5, page_off + 4096 * (i % 64),
                               0x10000000 + i * 0x2000, 0, 4096, 4096, 4096)
        out += notes
        out += b"\0" * (page_off - len(out) + 4096 * 64)
        path = os.path.join(self.dir, "segments.core")
        with open(path, "wb") as f:
            f.write(out)
        config = os.path.join(self.dir, "short.conf")
        with open(config, "w") as f:
            json.dump({"log_target": "stderr", "coredump": {"stacktrace_time_limit_ms": 100}}, f)
        t0 = time.monotonic()
        code, doc, err = stacktrace(path, config)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 1, err)
        self.assertIn("ran past its time limit of 100 ms; killed", err)
        self.assertNotIn("AddressSanitizer", err)
        self.assertLess(elapsed, 2)

    def test_time_limit(self):
        """A core of 1000 threads with the smallest limit: the child hands in what it unwound in
        time (the crashing thread first), marked truncated, never more than the limit."""
        if not THREADS:
            self.skipTest("THREADS not set")
        work = os.path.join(self.dir, "threads")
        os.makedirs(work)
        root = tc.make_root(os.path.join(work, "root"))
        info, core, sig = cu.kernel_core(THREADS, "1000", work, root, timeout=60)
        self.assertIsNotNone(core)
        config = os.path.join(work, "short.conf")
        with open(config, "w") as f:
            json.dump({"log_target": "stderr", "coredump": {"stacktrace_time_limit_ms": 100}}, f)
        t0 = time.monotonic()
        code, doc, err = stacktrace(core, config)
        elapsed = time.monotonic() - t0
        if code == 0:
            self.assertIn("truncated by the limits", err)
            self.assertLess(len(doc["threads"]), 1001)
            self.assertTrue(doc["threads"][0]["active"])
            m = re.search(r"child (\d+) us", err)
            self.assertLess(int(m.group(1)), 150000, err)
        else:
            self.assertIn("time limit of 100 ms; killed", err)
        self.assertLess(elapsed, 10)
        os.unlink(core)


if __name__ == "__main__":
    unittest.main(verbosity=2)
