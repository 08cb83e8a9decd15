# SPDX-License-Identifier: MIT
"""Crashes as stories, through the real faultd-core-handler and faultd, to the development
receiver: every crash arrives with a linux-stacktrace entry whose crashing thread has gdb's pcs;
the same bug crashing 20 times gives coredump.cores_per_signature cores and a count of 20 in the
heartbeat; a crash loop is one event, not a core per crash. The cores are the kernel's own, of
tests/crash/crasher (see test_coredump.py)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coredump_util as cu  # noqa: E402
from harness import (SANITIZER_MARKERS, DaemonTestCase, Receiver, check_valgrind,  # noqa: E402
                     scaled, valgrind_command, wait_for)

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
CRASHER = os.environ.get("CRASHER", "")
HAVE_STACKTRACE = os.environ.get("HAVE_STACKTRACE", "1") == "1"


def skip_reason():
    if not HAVE_STACKTRACE:
        return "built without the unwinder (libdw)"
    missing = [n for n, p in (("CORE_HANDLER", CORE_HANDLER), ("CRASHER", CRASHER))
               if not p or not os.access(p, os.X_OK)]
    missing += [t for t in ("gdb",) if not shutil.which(t)]
    if missing:
        return f"needs {', '.join(missing)}"
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|"):
        return f"kernel cores go to a program here (core_pattern \"{pattern}\")"
    return None


def build_ids(path):
    """The GNU build-id of an ELF file, from readelf -n."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def device_gdb(program, core, work):
    """gdb's backtraces of core as the device's own files give them: without detached debug
    information (this machine may have libc6-dbg), from which gdb makes up frames for tail
    calls that no return address on the stack stands for (pthread_kill jumps to
    __pthread_kill_implementation)."""
    empty = os.path.join(work, "no-debug-files")
    os.makedirs(empty, exist_ok=True)
    cmd = ["gdb", "-batch", "-nx", "-iex", cu.GDB_COMMANDS[0],
           "-iex", f"set debug-file-directory {empty}"]
    for c in cu.GDB_COMMANDS[1:]:
        cmd += ["-ex", c]
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)
    r = subprocess.run(cmd + [program, core], capture_output=True, text=True, timeout=120,
                       env=env, stdin=subprocess.DEVNULL)
    return r.stdout + r.stderr


class CrashStoryTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        why = skip_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.work = tempfile.mkdtemp(prefix="faultd-crash-stories-")
        cls.cases = {}
        for mode in ("segv", "abort"):
            work = os.path.join(cls.work, mode)
            root = os.path.join(work, "root")
            os.makedirs(os.path.join(work, "cwd"))
            os.makedirs(root)
            info, core, sig = cu.kernel_core(CRASHER, mode, os.path.join(work, "cwd"), root)
            if core is None:
                raise unittest.SkipTest("the kernel wrote no core file into the working "
                                        "directory")
            threads = cu.parse_backtraces(device_gdb(CRASHER, core, cls.work))
            with open(core, "rb") as f:
                data = f.read()
            cls.cases[mode] = {"info": info, "core": data, "signal": sig, "root": root,
                               "gdb": threads[info["crasher"]]["frames"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, **coredump):
        """faultd (its coredump plugin off: the handler is run by hand) and the configuration
        file of its handler: the same with coredump on."""
        d = self.daemon(config=self.rx.daemon_config(heartbeat_interval_seconds=3600,
                                                     coredump={"enabled": False}))
        for case in self.cases.values():
            pid = str(case["info"]["pid"])
            proc = os.path.join(d.sysroot, "proc", pid)
            shutil.copytree(os.path.join(case["root"], "proc", pid), proc, symlinks=True)
            # The device's files below its sysroot, where the unwinder reads their CFI and
            # symbols: the program and its libraries, as links to this machine's.
            with open(os.path.join(proc, "maps")) as f:
                for line in f:
                    fields = line.split(None, 5)
                    path = fields[5].strip() if len(fields) == 6 else ""
                    link = os.path.join(d.sysroot, path.lstrip("/"))
                    if path.startswith("/") and os.path.isfile(path) and \
                            not os.path.lexists(link):
                        os.makedirs(os.path.dirname(link), exist_ok=True)
                        os.symlink(path, link)
        handler = dict(d.config, coredump=dict({"enabled": True, "compression": "gzip",
                                                "rate_limit_count": 10000}, **coredump))
        path = os.path.join(d.dir, "core-handler.conf")
        with open(path, "w") as f:
            json.dump(handler, f, indent=2)
        return d, path

    def crash(self, d, config, mode):
        case = self.cases[mode]
        info = case["info"]
        cmd = valgrind_command([CORE_HANDLER, "-c", config, str(info["pid"]), str(info["crasher"]),
                                str(case["signal"]), str(int(time.time())), "0", "0"],
                               d.valgrind_dir, "faultd-core-handler")
        r = subprocess.run(cmd, input=case["core"], capture_output=True, timeout=scaled(60))
        r.stderr = r.stderr.decode(errors="replace")
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        check_valgrind(d.valgrind_dir, "faultd-core-handler", "faultd-core-handler")
        return r

    def wait_reports(self, d, n):
        wait_for(lambda: len(self.reports(d)) == n, timeout=30, what=f"{n} crashes counted")

    def reports(self, d):
        """The crashes faultd counted, from its history (`faultctl crashes`), oldest first."""
        r = d.ctl("crashes", "--json", "--limit", "256")
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(json.loads(r.stdout)["data"]["events"], key=lambda e: e["time_ms"])

    def uploaded(self, d, kind):
        self.assertTrue(d.ctl("sync").returncode == 0)
        return [e for e in self.rx.entries() if e["type"] == kind]

    def trace_of(self, entry):
        name = entry["manifest"]["metadata"]["stacktrace_file_name"]
        with open(os.path.join(self.rx.dir, "entries", entry["uuid"], name)) as f:
            return json.load(f)

    def heartbeat(self, d):
        self.assertEqual(d.ctl("request-metrics").returncode, 0)
        self.assertEqual(d.ctl("sync").returncode, 0)
        beats = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
                 if e["type"] == "linux-metric-report"]
        self.assertEqual(len(beats), 1, beats)
        return beats[0]

    def test_each_crash_arrives_with_a_trace_matching_gdb(self):
        d, config = self.device()
        d.start()
        signatures = {}
        for mode in ("segv", "abort"):
            r = self.crash(d, config, mode)
            m = re.search(r"signature ([0-9a-f]{16})", r.stderr)
            self.assertIsNotNone(m, r.stderr)
            signatures[mode] = m.group(1)
        self.wait_reports(d, 2)
        traces = self.uploaded(d, "linux-stacktrace")
        self.assertEqual(len(traces), 2, [e["type"] for e in self.rx.entries()])
        self.assertEqual(len([e for e in self.rx.entries() if e["type"] == "elf-coredump"]), 2)
        crasher_id = build_ids(CRASHER)
        by_signal = {self.trace_of(e)["signal"]: self.trace_of(e) for e in traces}
        self.assertEqual(sorted(by_signal), ["SIGABRT", "SIGSEGV"])
        for mode, name in (("segv", "SIGSEGV"), ("abort", "SIGABRT")):
            trace = by_signal[name]
            active = [t for t in trace["threads"] if t["active"]]
            self.assertEqual(len(active), 1)
            pcs = [int(pc, 16) for pc in active[0]["pcs"]]
            gdb = self.cases[mode]["gdb"]
            with self.subTest(mode=mode):
                # gdb omits frame 0's pc at the start of a line; every other pc is compared.
                self.assertEqual(len(pcs), len(gdb), f"{pcs}\n{gdb}")
                for i, frame in enumerate(gdb):
                    if frame.pc is not None:
                        self.assertEqual(pcs[i], int(frame.pc, 16), f"frame {i}: {frame}")
                # Six threads (main and five), every pc inside a module the trace names.
                self.assertEqual(len(trace["threads"]), 6)
                ranges = [(int(s["pc_range"]["start"], 16), int(s["pc_range"]["end"], 16))
                          for s in trace["symbols"]]
                for t in trace["threads"]:
                    for pc in t["pcs"]:
                        self.assertTrue(any(a <= int(pc, 16) < b for a, b in ranges), pc)
                self.assertIn(crasher_id, [s["build_id"] for s in trace["symbols"]])
                self.assertIn("crasher", trace["cmdline"])
        self.assertNotEqual(signatures["segv"], signatures["abort"])

    def test_the_same_bug_twenty_times_gives_three_cores_and_a_count_of_twenty(self):
        d, config = self.device(cores_per_signature=3, loop_count=60)
        d.start()
        signatures = set()
        for i in range(20):
            r = self.crash(d, config, "segv")
            signatures.update(re.findall(r"signature ([0-9a-f]{16})", r.stderr))
        self.assertEqual(len(signatures), 1, signatures)
        sig = signatures.pop()
        self.wait_reports(d, 20)
        words = [e["core"] for e in self.reports(d)]
        self.assertEqual(sorted(words), ["duplicate"] * 17 + ["stored"] * 3)
        self.assertEqual({e["signature"] for e in self.reports(d)}, {sig})
        self.assertEqual(len(self.uploaded(d, "elf-coredump")), 3)
        self.assertEqual(len(self.uploaded(d, "linux-stacktrace")), 20)
        m = self.heartbeat(d)
        self.assertEqual(m[f"crash_signature/{sig}"], 20)
        self.assertNotIn("crash_loops", m)

    def test_a_crash_loop_is_one_event(self):
        d, config = self.device(cores_per_signature=0, loop_count=5, loop_minutes=10)
        d.start()
        runs = [self.crash(d, config, "abort") for _ in range(8)]
        self.assertIn("crashed 5 times within 10 minutes: a crash loop", runs[4].stderr)
        self.assertNotIn("a crash loop.", runs[3].stderr + runs[5].stderr)
        self.wait_reports(d, 8)
        reports = self.reports(d)
        self.assertEqual(sorted(e["core"] for e in reports), ["crash-loop"] * 4 + ["stored"] * 4)
        r = d.ctl("timeline", "--json", "--limit", "256")
        self.assertEqual(r.returncode, 0, r.stderr)
        loops = [e for e in json.loads(r.stdout)["data"]["events"] if e["kind"] == "crash-loop"]
        self.assertEqual([(e["process"], e["crashes"]) for e in loops], [("crasher", 5)])
        self.assertEqual(len(self.uploaded(d, "elf-coredump")), 4)
        # The loop's first crash carries its trace; the crashes inside it do not.
        self.assertEqual(len(self.uploaded(d, "linux-stacktrace")), 5)
        m = self.heartbeat(d)
        self.assertEqual(m["crash_loops"], 1)
        # The crashes inside the loop are neither trimmed nor unwound: no signature for them.
        self.assertEqual(sum(v for k, v in m.items() if k.startswith("crash_signature/")), 5)

    def test_filters_decide_instead_of_the_rate_limit_and_keep_the_trace(self):
        d, config = self.device(cores_per_signature=0, rate_limit_count=1, loop_count=60,
                                filters=["signal:SIGABRT"])
        d.start()
        for mode in ("abort", "abort", "segv", "segv", "segv"):
            self.crash(d, config, mode)
        self.wait_reports(d, 5)
        # The filtered aborts spend nothing of the rate limit: the first segv core is a new
        # signature's (its own allowance), the second takes the one rate-limit slot.
        self.assertEqual([e["core"] for e in self.reports(d)],
                         ["filtered", "filtered", "stored", "stored", "rate-limited"])
        self.assertEqual(len(self.uploaded(d, "elf-coredump")), 2)
        self.assertEqual(len(self.uploaded(d, "linux-stacktrace")), 5)

    def test_simultaneous_crashes_store_exactly_the_signatures_cores(self):
        d, config = self.device(cores_per_signature=2, loop_count=60)
        d.start()
        info = self.cases["segv"]["info"]
        procs = []
        for _ in range(6):
            cmd = valgrind_command([CORE_HANDLER, "-c", config, str(info["pid"]),
                                    str(info["crasher"]), str(self.cases["segv"]["signal"]),
                                    str(int(time.time())), "0", "0"],
                                   d.valgrind_dir, "faultd-core-handler")
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
        # All six read their cores at once, then meet at the crash record's lock.
        for p in procs:
            p.stdin.write(self.cases["segv"]["core"])
            p.stdin.close()
        errors = [p.stderr.read().decode(errors="replace") for p in procs]
        self.assertEqual([p.wait(timeout=scaled(60)) for p in procs], [0] * 6, errors)
        for e in errors:
            for marker in SANITIZER_MARKERS:
                self.assertNotIn(marker, e)
        self.wait_reports(d, 6)
        self.assertEqual(sorted(e["core"] for e in self.reports(d)),
                         ["duplicate"] * 4 + ["stored"] * 2)
        self.assertEqual(len(self.uploaded(d, "elf-coredump")), 2)
        self.assertEqual(len(self.uploaded(d, "linux-stacktrace")), 6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
