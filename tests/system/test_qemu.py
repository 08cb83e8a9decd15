#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""faultd's promises on a real Linux kernel: a BusyBox-init guest under QEMU (guest.py).

  1. core: faultd's coredump plugin (sysroot "/") sets the guest kernel's core_pattern; the
     multi-threaded crasher dies of SIGSEGV; the kernel pipes the core into faultd-core-handler;
     the elf-coredump entry reaches the receiver on the host, and gdb on the host gives every
     thread's backtrace from it. Then tests/crash/altstack (guest.ALTSTACK_MODE: "thread")
     dies on an alternate signal stack through the same pipe, the handler reading the stack the
     signal interrupted from /proc/<pid>/mem: gdb shows the handler's frames, "<signal handler
     called>" and at least 32 frames of the interrupted stack. Then `faultctl trigger-coredump`.
     Each of the three crashes also arrives as a linux-stacktrace entry, unwound in the guest;
     the crasher's and altstack's crashing threads have the pcs gdb finds in the uploaded cores
     (gdb without separate debug files, as the device has none).
  2. panic: version 1.0 runs until the hours ledger has checkpointed, then `echo c >
     /proc/sysrq-trigger`; the kernel writes its log to pstore (ramoops on RAM reserved with
     memmap=) and reboots inside the same QEMU process, whose RAM keeps the record; the next boot
     runs 2.0: faultd reads the real record, sends KernelPanic as 1.0's, and the heartbeat that
     closes 1.0's interval carries the crash.
  3. power: while faultd records write-attributes in a loop, statsd datagrams and a core every
     tenth round into a 64 KiB spool that must evict, and uploads every 2 s, QEMU is SIGKILLed at
     a random moment (0.3 to 4 s after faultd is ready), and the same disk image booted again,
     SYSTEM_CUTS times (default 30). A last boot uploads what is left: every attribute faultd
     acknowledged before a cut is at the receiver or counted as dropped, every core arrived whole,
     the receiver rejected nothing, each cut is an unexpected reboot, faultd started cleanly at
     every boot.
  4. watchdog: QEMU's i6300esb with the generic kernel's driver (the cloud kernel has none):
     /dev/watchdog is opened and never petted again; the board resets; the driver reads the
     timeout bit into its boot status and faultd reports HardwareWatchdog.
  5. reboots: `reboot` through BusyBox init and the init script is a UserReset (expected); a
     cut is unexpected. A reboot loop (SYSTEM_LOOP_BOOTS boots of SYSTEM_LOOP_SECONDS, default
     2 of 180 s, each ended by a cut) keeps at least 90 % of the time faultd ran in the ledger
     and counts each cut.
  6. SYSTEM_ARCH=aarch64 runs scenario 1 with Debian's arm64 kernel and BusyBox under
     qemu-system-aarch64 on a cross build (tests/cross does, for build/cross-aarch64), the core
     read by gdb-multiarch; 2 and 4 are x86 only.

Environment: FAULTD, FAULTCTL (faultd-core-handler next to them), CRASHER, ALTSTACK (scenario 1
without it: no alternate-stack crash), INIT_SCRIPT, RECEIVER (from meson); SYSTEM_CUTS,
SYSTEM_SEED, SYSTEM_LOOP_BOOTS, SYSTEM_LOOP_SECONDS, SYSTEM_ARCH; SYSTEM_WORKDIR keeps the run's
files (default: a temporary directory removed on success); KERNEL_CACHE (default
BUILD_ROOT/system-kernel). Figures go to standard error. Runs by default only in a build without
systemd (the BusyBox target; in CI build/nosystemd, which has no sanitizers);
FAULTD_SYSTEM_TESTS=1 runs it anyway.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import guest as G  # noqa: E402

os.environ.setdefault("RECEIVER", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                               "receiver", "faultd-receiver"))
from harness import Receiver  # noqa: E402
import coredump_util as cu  # noqa: E402

CUTS = int(os.environ.get("SYSTEM_CUTS", "30"))
SEED = int(os.environ.get("SYSTEM_SEED", str(int(time.time()))))
LOOP_BOOTS = int(os.environ.get("SYSTEM_LOOP_BOOTS", "2"))
LOOP_SECONDS = float(os.environ.get("SYSTEM_LOOP_SECONDS", "180"))
ARCH = G.ARCHES[os.environ.get("SYSTEM_ARCH") or os.uname().machine]
BOOT_TIMEOUT = 90 if ARCH.native else 240  # s from QEMU's start to faultd ready, TCG, 2 cores
TRACE_FRAMES = 64  # UNWIND_MAX_FRAMES (plugins/coredump/unwind.h)
SIGNAL_FRAME = "<signal handler called>"
# What gdb must show of the crashing thread of the altstack crash the guest runs (G.ALTSTACK_MODE),
# and how many frames at least past the signal frame (30 of recursion): test_crash_shapes.py's
# altstack-main and altstack-thread.
ALTSTACK_FUNCTIONS = {
    "main": ["handler_leaf", "on_segv", SIGNAL_FRAME, "fault", "recurse", "main"],
    "thread": ["handler_leaf", "on_segv", SIGNAL_FRAME, "fault", "recurse", "crashing_thread"],
}[G.ALTSTACK_MODE]
ALTSTACK_INTERRUPTED = 32


def log(msg):
    print(f"system: {msg}", file=sys.stderr, flush=True)


def skip_reason():
    if os.environ.get("FAULTD_SYSTEM_TESTS") != "1" and os.environ.get("HAVE_SYSTEMD") == "1":
        return ("runs in the build without systemd (the BusyBox target); "
                "FAULTD_SYSTEM_TESTS=1 runs it here")
    for tool in (ARCH.qemu, "cpio", "mkfs.ext4", "dpkg-deb", "apt-get", "busybox", ARCH.gdb,
                 "zstd", "readelf"):
        if not shutil.which(tool):
            return f"{tool} is missing (tests/dev installs it)"
    for var in ("FAULTD", "FAULTCTL", "CRASHER", "INIT_SCRIPT"):
        if not os.environ.get(var):
            return f"{var} is not set (run through meson test)"
    return None


class SystemTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        cls.keep = bool(os.environ.get("SYSTEM_WORKDIR"))
        cls.work = os.environ.get("SYSTEM_WORKDIR") or tempfile.mkdtemp(prefix="faultd-system-")
        os.makedirs(cls.work, exist_ok=True)
        cls.cache = os.environ.get("KERNEL_CACHE") or os.path.join(
            os.environ.get("BUILD_ROOT", cls.work), "system-kernel")
        t = time.monotonic()
        cls.vmlinuz, cls.moddir = G.fetch_kernel(cls.cache, ARCH.kernel)
        cls.busybox = G.busybox_for(ARCH, cls.cache)
        log(f"{ARCH.name}: kernel {os.path.basename(cls.vmlinuz)} ({time.monotonic() - t:.1f} s)")
        os.makedirs(os.path.join(cls.work, "receiver"), exist_ok=True)
        cls.rx = Receiver(os.path.join(cls.work, "receiver"), args=["--san", G.GUEST_HOST])
        cls.rx.start()
        t = time.monotonic()
        cls.initramfs = G.build_initramfs(cls.work, cls.moddir, os.environ, cls.rx.port,
                                          cls.rx.ca_bundle, arch=ARCH, busybox=cls.busybox)
        log(f"initramfs {os.path.getsize(cls.initramfs) >> 10} KiB ({time.monotonic() - t:.1f} s)")
        cls.failed = False

    @classmethod
    def tearDownClass(cls):
        cls.rx.stop()
        if not cls.keep and not cls.failed:
            shutil.rmtree(cls.work, ignore_errors=True)
        else:
            log(f"files kept in {cls.work}")

    def setUp(self):
        self.guests = []

    def tearDown(self):
        for g in self.guests:
            g.cut()  # on every path, QEMU is gone
        outcome = getattr(self, "_outcome", None)
        if hasattr(outcome, "errors"):  # Python < 3.11
            failed = any(e for _, e in outcome.errors)
        else:
            result = getattr(outcome, "result", None)
            failed = any(t is self for t, _ in getattr(result, "errors", []) +
                         getattr(result, "failures", []))
        if failed:
            type(self).failed = True

    def boot(self, disk, scenario, n, name, kernel=None, **kw):
        """Starts QEMU on disk (kernel: (vmlinuz, initramfs), by default the cloud kernel's) and
        waits until faultd is ready. kw: reboot, devices (see guest.Guest)."""
        vmlinuz, initramfs = kernel or (self.vmlinuz, self.initramfs)
        g = G.Guest(vmlinuz, initramfs, disk, self.rx.port,
                    os.path.join(self.work, f"{name}-{n}.console"), scenario, n, arch=ARCH, **kw)
        self.guests.append(g)
        self.wait_ready(g)
        return g

    def wait_ready(self, g, start=0):
        """Waits, from console line start on, until the init script started faultd (exit 0) and
        faultctl status answers; returns the @@BOOT line."""
        boot = g.wait_for("@@BOOT", BOOT_TIMEOUT, start)
        line = g.wait_for("@@FAULTD_START", BOOT_TIMEOUT, start)
        self.assertEqual(line.split()[1], "rc=0", g.tail())
        g.wait_for("@@READY", 60, start)
        return boot

    def generic_kernel(self):
        """(vmlinuz, initramfs) of Debian's generic kernel, fetched and built once."""
        cls = type(self)
        if not getattr(cls, "generic", None):
            t = time.monotonic()
            vmlinuz, moddir = G.fetch_kernel(cls.cache, ARCH.generic_kernel)
            initramfs = G.build_initramfs(cls.work, moddir, os.environ, cls.rx.port,
                                          cls.rx.ca_bundle, image="initramfs-generic",
                                          arch=ARCH, busybox=cls.busybox)
            log(f"generic kernel {os.path.basename(vmlinuz)}, initramfs "
                f"{os.path.getsize(initramfs) >> 10} KiB ({time.monotonic() - t:.1f} s)")
            cls.generic = (vmlinuz, initramfs)
        return cls.generic

    def heartbeats(self):
        """The heartbeats at the receiver that close an hours interval: [(version, operational
        s, crash s, crashes)] in arrival order."""
        out = []
        for e in self.entries():
            if e["type"] != "linux-metric-report":
                continue
            m = e["manifest"]["metadata"]["metrics"]
            if m["operational_hours"] == 0 and m["operational_crashes"] == 0:
                continue
            out.append((e["manifest"]["device"]["software_version"],
                        m["operational_hours"] * 3600,
                        (m["operational_hours"] - m["operational_crashfree_hours"]) * 3600,
                        m["operational_crashes"]))
        return out

    def reboots(self):
        """The linux-reboot entries at the receiver: [(version, reason)]."""
        return [(e["manifest"]["device"]["software_version"],
                 e["manifest"]["metadata"]["reason"])
                for e in self.entries() if e["type"] == "linux-reboot"]

    def entries(self):
        return self.rx.entries()

    # --- 1. the core pipe ------------------------------------------------------------------
    def received_core(self, entry):
        """An elf-coredump entry at the receiver: (its core decompressed into the work
        directory, the handler's capture note, its outcome note), the notes as dicts ({} when
        missing)."""
        md = entry["manifest"]["metadata"]
        path = os.path.join(self.rx.dir, "entries", entry["uuid"], md["coredump_file_name"])
        core = os.path.join(self.work, f"{entry['uuid']}.core")
        comp = md.get("compression")
        if comp == "zstd":
            subprocess.run(["zstd", "-q", "-d", "-f", path, "-o", core], check=True)
        elif comp == "gzip":
            subprocess.run(f"gzip -dc < {path} > {core}", shell=True, check=True)
        else:
            shutil.copy(path, core)
        ours = {t: d for n, t, d in cu.ElfCore(core).notes if n == "FAULTD"}
        notes = [json.loads(ours[t].rstrip(b"\0 ")) if t in ours else {} for t in (1, 2)]
        return core, notes[0], notes[1]

    def trace_of(self, entry):
        name = entry["manifest"]["metadata"]["stacktrace_file_name"]
        with open(os.path.join(self.rx.dir, "entries", entry["uuid"], name)) as f:
            return json.load(f)

    def check_trace(self, label, doc, program, core, tid, to_sigreturn=False):
        """The linux-stacktrace document doc of a crash of program: one active thread, whose pcs
        are gdb's for thread tid of core (the core the guest uploaded, which the handler unwound
        in the guest), gdb without separate debug files as the device has none. to_sigreturn:
        only up to the signal trampoline (the first pc in the vDSO). Returns (the number of pcs
        compared, the number of gdb's)."""
        active = [t for t in doc["threads"] if t["active"]]
        self.assertEqual(len(active), 1, f"{label}: {doc}")
        pcs = [int(pc, 16) for pc in active[0]["pcs"]]
        gdb = cu.device_gdb_pcs(program, core, tid, self.work, gdb=ARCH.gdb)[:TRACE_FRAMES]
        self.assertGreater(len(pcs), 0, f"{label}: {doc}")
        self.assertIn(os.path.basename(program),
                      [os.path.basename(m["path"]) for m in doc["symbols"]], label)
        if to_sigreturn:
            vdso = [(int(m["pc_range"]["start"], 16), int(m["pc_range"]["end"], 16))
                    for m in doc["symbols"] if "vdso" in m["path"]]
            self.assertTrue(vdso, f"{label}: no vDSO among {doc['symbols']}")
            tramp = [i for i, pc in enumerate(gdb) if any(a <= pc < b for a, b in vdso)]
            self.assertTrue(tramp, f"{label}: no pc of gdb's in the vDSO {vdso}: {gdb}")
            pcs = pcs[:tramp[0] + 1]
            gdb = gdb[:tramp[0] + 1]
        self.assertEqual([hex(p) for p in pcs], [hex(p) for p in gdb],
                         f"{label}: the trace's pcs against gdb's")
        return len(pcs), len(gdb)

    def test_1_core_pipe(self):
        altstack = os.environ.get("ALTSTACK")
        disk = os.path.join(self.work, "core.img")
        G.make_disk(disk)
        t0 = time.monotonic()
        before = {e["uuid"] for e in self.entries()}
        g = self.boot(disk, "core", 1, "core")
        t_ready = time.monotonic() - t0
        pattern = g.wait_for("@@CORE_PATTERN", 30)
        self.assertIn("/usr/libexec/faultd-core-handler", pattern)
        crashed = g.wait_for("@@CRASHED", 60)
        alt_line = g.wait_for("@@ALTSTACK", 60)
        g.wait_for("@@TRIGGERED", 60)
        synced = g.wait_for("@@SYNCED", 120)
        g.wait_for("@@DONE", 30)
        self.assertIn("rc=0", synced, g.tail())
        g.cut()
        info = json.loads(crashed.split(" ", 2)[2])
        new = [e for e in self.entries() if e["uuid"] not in before]
        cores = [e for e in new if e["type"] == "elf-coredump"]
        traces = [e for e in new if e["type"] == "linux-stacktrace"]
        log(f"core: ready in {t_ready:.1f} s, {len(cores)} elf-coredump entries, "
            f"{len(traces)} linux-stacktrace entries, whole boot {time.monotonic() - t0:.1f} s; "
            f"{alt_line}")
        # The crasher, the alternate-stack crash, trigger-coredump's child: a core and a trace
        # each.
        crashes = 3 if altstack else 2
        self.assertEqual(len(cores), crashes, [e["manifest"] for e in cores])
        self.assertEqual(len(traces), crashes, [e["manifest"] for e in new])
        received = {}
        for e in cores:
            core, capture, outcome = self.received_core(e)
            exe = os.path.basename(capture.get("exe", ""))
            received[exe] = (core, capture, outcome)
            md = e["manifest"]["metadata"]
            sent = os.path.getsize(os.path.join(self.rx.dir, "entries", e["uuid"],
                                                md["coredump_file_name"]))
            log(f"core: {capture.get('process')} (signal {capture.get('signal')}): "
                f"{os.path.getsize(core) >> 10} KiB trimmed from "
                f"{outcome.get('core_bytes', 0) >> 10} KiB, uploaded {md.get('compression')} "
                f"{sent >> 10} KiB; sigframes {outcome.get('sigframes')}")
        crasher = os.environ["CRASHER"]
        self.assertIn(os.path.basename(crasher), received, sorted(received))
        core, capture, _ = received[os.path.basename(crasher)]
        text = cu.run_gdb(crasher, core, gdb=ARCH.gdb)
        threads = cu.parse_backtraces(text)
        names = {}
        for lwp, th in threads.items():
            names[lwp] = [f.function for f in th["frames"]]
        log(f"core: gdb sees {len(threads)} threads: "
            + "; ".join(f"{lwp}: {' < '.join(fr[:4])}" for lwp, fr in sorted(names.items())))
        self.assertGreaterEqual(len(threads), 6, text)
        flat = " ".join(" ".join(v) for v in names.values())
        for fn in ("alpha", "beta", "gamma", "deep", "crash"):
            self.assertIn(fn, flat, text)
        if "pid" in info:  # the main thread's LWP is the crasher's pid in the guest
            self.assertIn(int(info["pid"]), threads, text)

        docs = [self.trace_of(e) for e in traces]

        def trace_for(program):
            found = [d for d in docs if os.path.basename(program) in d.get("cmdline", "")]
            self.assertEqual(len(found), 1, [d.get("cmdline") for d in docs])
            return found[0]

        self.assertIn(capture["tid"], threads, text)
        n, _ = self.check_trace("crasher", trace_for(crasher), crasher, core, capture["tid"])
        log(f"core: the crasher's trace: {n} pcs of thread {capture['tid']}, gdb's")
        if not altstack:
            log("core: ALTSTACK is not set: no crash on an alternate signal stack")
            return

        # The crash handled on an alternate stack: the handler's frames, the signal frame and,
        # past it, the whole stack the signal interrupted, which the handler read from
        # /proc/<pid>/mem while the kernel piped the core (test_crash_shapes.py's
        # altstack-thread, from saved cores).
        self.assertIn("rc=", alt_line)
        alt_info = json.loads(alt_line.split(" ", 2)[2])
        self.assertIn(os.path.basename(altstack), received, sorted(received))
        core, capture, outcome = received[os.path.basename(altstack)]
        self.assertEqual(capture["tid"], alt_info["tid"], capture)
        self.assertGreaterEqual(outcome.get("sigframes", 0), 1, outcome)
        self.assertFalse(outcome.get("truncated"), outcome)
        text = cu.run_gdb(altstack, core, gdb=ARCH.gdb)
        threads = cu.parse_backtraces(text)
        self.assertIn(alt_info["tid"], threads, text)
        functions = [f.function for f in threads[alt_info["tid"]]["frames"]]
        for fn in ALTSTACK_FUNCTIONS:
            self.assertIn(fn, functions, text)
        interrupted = len(functions) - functions.index(SIGNAL_FRAME) - 1
        log(f"core: altstack {G.ALTSTACK_MODE}: gdb shows {len(functions)} frames of thread "
            f"{alt_info['tid']}, {functions.index(SIGNAL_FRAME)} before "
            f"{SIGNAL_FRAME}, {interrupted} past it: " + " < ".join(functions))
        self.assertGreaterEqual(interrupted, ALTSTACK_INTERRUPTED, text)
        doc = trace_for(altstack)
        if ARCH.name == "aarch64":
            # arm64's signal trampoline (__kernel_rt_sigreturn in the vDSO) has no CFI (Linux
            # removed it in 5.10: unwinders are to recognise its instructions); gdb does and
            # reads the ucontext, libdw (elfutils 0.188) does not and falls back to the frame
            # pointer and the link register: past the trampoline its pcs are not the
            # interrupted ones. The core has the whole interrupted stack (gdb's frames above);
            # the trace is compared up to the trampoline only.
            n, _ = self.check_trace("altstack", doc, altstack, core, alt_info["tid"],
                                    to_sigreturn=True)
            got = len([t for t in doc["threads"] if t["active"]][0]["pcs"])
            log(f"core: the altstack trace: {n} pcs, gdb's, up to the signal trampoline; "
                f"past it not compared on aarch64 (libdw does not unwind arm64's signal "
                f"trampoline): the trace has {got} pcs in all")
        else:
            n, _ = self.check_trace("altstack", doc, altstack, core, alt_info["tid"])
            log(f"core: the altstack trace: {n} pcs, gdb's")

    # --- 2. a kernel panic ----------------------------------------------------------------
    @unittest.skipUnless(ARCH.ramoops, "pstore's RAM is reserved with memmap=, which only x86 has")
    def test_2_panic(self):
        disk = os.path.join(self.work, "panic.img")
        G.make_disk(disk)
        g = self.boot(disk, "panic", 1, "panic", reboot=True)
        st = json.loads(g.wait_for("@@STATUS", 60).split(" ", 1)[1])
        before = st["data"]["hours"]
        g.wait_for("@@PANICKING", 30)
        n = next(i for i, ln in enumerate(g.lines()) if ln.startswith("@@PANICKING"))
        t0 = time.monotonic()
        boot = self.wait_ready(g, n)  # the same QEMU process: the kernel rebooted itself
        t_reboot = time.monotonic() - t0
        panic = [ln.strip() for ln in g.lines()[n:] if "Kernel panic" in ln]
        pstore = g.wait_for("@@PSTORE", 5, n)
        synced = g.wait_for("@@SYNCED", 120, n)
        st = json.loads(g.wait_for("@@STATUS", 30, n).split(" ", 1)[1])
        g.wait_for("@@DONE", 30, n)
        g.cut()
        reboot = [p for p in st["data"]["plugins"] if p["name"] == "reboot"][0]["status"]
        beats, reboots = self.heartbeats(), self.reboots()
        log(f"panic: {panic[:1]}; guest back in {t_reboot:.1f} s ({boot}); {pstore}; "
            f"hours before the panic {json.dumps(before)}; reboot plugin {json.dumps(reboot)}; "
            f"linux-reboot entries {reboots}; heartbeats (version, op s, crash s, crashes) "
            f"{beats}")
        self.assertIn("disk=2", boot)
        self.assertIn("rc=0", synced, g.tail())
        self.assertIn("dmesg-ramoops-", pstore)
        self.assertIn("KernelPanic", json.dumps(reboot))
        self.assertIn("pstore", json.dumps(reboot))
        self.assertIn(("1.0", 0x8008), reboots)
        # The panic is charged to 1.0, the version that panicked, in the interval it ended: the
        # whole of it, since a crash costs its interval; 2.0 has no crash.
        old = [b for b in beats if b[0] == "1.0"]
        self.assertEqual(len(old), 1, beats)
        _, op_s, crash_s, crashes = old[0]
        self.assertEqual(crashes, 1, beats)
        # What ran until the status just before the panic, less at most one checkpoint delay:
        # 10 s this early in a boot (lc_hours_checkpoint_delay_ms).
        ran = before["operational_hours"] * 3600
        self.assertGreater(op_s, 0, beats)
        self.assertGreaterEqual(op_s, ran - 10.5, (ran, beats))
        self.assertLessEqual(op_s, ran + 5, (ran, beats))
        self.assertAlmostEqual(crash_s, op_s, delta=0.01, msg=beats)
        self.assertEqual(st["data"]["hours"]["operational_crashes"], 0, st["data"]["hours"])

    # --- 4. a hardware watchdog -------------------------------------------------------------
    @unittest.skipUnless(ARCH.name == "x86_64", "the i6300esb watchdog is a PC's")
    def test_4_watchdog(self):
        kernel = self.generic_kernel()
        disk = os.path.join(self.work, "watchdog.img")
        G.make_disk(disk)
        g = self.boot(disk, "watchdog", 1, "watchdog", kernel=kernel, reboot=True,
                      devices=["i6300esb"])
        first = [ln for ln in g.lines() if ln.startswith("@@WATCHDOG")]
        g.wait_for("@@ARMED", 30)
        t0 = time.monotonic()
        n = next(i for i, ln in enumerate(g.lines()) if ln.startswith("@@ARMED"))
        boot = self.wait_ready(g, n)
        t_reset = time.monotonic() - t0
        second = [ln for ln in g.lines()[n:] if ln.startswith("@@WATCHDOG")]
        synced = g.wait_for("@@SYNCED", 120, n)
        st = json.loads(g.wait_for("@@STATUS", 30, n).split(" ", 1)[1])
        g.wait_for("@@DONE", 30, n)
        g.cut()
        reboot = [p for p in st["data"]["plugins"] if p["name"] == "reboot"][0]["status"]
        log(f"watchdog: before {first}; reset and faultd ready again {t_reset:.1f} s after "
            f"the last pet ({boot}); after {second}; reboot plugin {json.dumps(reboot)}; "
            f"linux-reboot entries {self.reboots()}")
        self.assertTrue(first and "bootstatus=0" in first[0], first)
        self.assertIn("disk=2", boot)
        self.assertIn("rc=0", synced, g.tail())
        self.assertTrue(second and "bootstatus=32" in second[0], second)  # WDIOF_CARDRESET
        self.assertIn("HardwareWatchdog", json.dumps(reboot))
        self.assertIn(("1.0", 0x8005), self.reboots())

    # --- 3. power cuts ---------------------------------------------------------------------
    def test_3_power_cuts(self):
        rng = random.Random(SEED)
        disk = os.path.join(self.work, "power.img")
        G.make_disk(disk)
        acked = []
        boots = []
        before = {e["uuid"] for e in self.entries()}
        t_all = time.monotonic()
        for n in range(1, CUTS + 1):
            t0 = time.monotonic()
            g = self.boot(disk, "records", n, "power")
            t_ready = time.monotonic() - t0
            time.sleep(rng.uniform(0.3, 4.0))
            g.cut()
            self.guests.remove(g)
            got = [ln.split()[1] for ln in g.lines() if ln.startswith("@@ACK ")]
            acked += got
            boots.append((t_ready, time.monotonic() - t0, len(got)))
        g = self.boot(disk, "final", CUTS + 1, "power")
        synced = g.wait_for("@@SYNCED", 180)
        drops = g.wait_for("@@DROPS", 30)
        status = g.wait_for("@@STATUS", 30)
        g.wait_for("@@DONE", 30)
        g.cut()
        self.assertIn("rc=0", synced, g.tail())
        seen = set()
        for e in self.entries():
            if e["type"] == "device-attributes":
                for tok in re.findall(r"b\d+n\d+", json.dumps(e["manifest"])):
                    seen.add(tok)
        missing = [a for a in acked if a not in seen]
        drops_text = drops.split(" ", 1)[1].strip() if " " in drops else ""
        try:
            d = json.loads(drops_text) if drops_text else {}  # no drops.json: nothing dropped
        except ValueError:
            self.fail(f"drops.json is not JSON: {drops}")
        # Attributes are what the loop acknowledges: those missing must have been dropped, and
        # counted (evicted by the cores, which are worth more, when the 64 KiB spool is full).
        evicted = sum(v for v in d.get("attributes", {}).values() if isinstance(v, int))
        dropped = {c: {r: v for r, v in reasons.items() if v} for c, reasons in d.items()
                   if isinstance(reasons, dict) and any(reasons.values())}
        new = [e for e in self.entries() if e["uuid"] not in before]
        cores = [e for e in new if e["type"] == "elf-coredump"]
        bad = [e["uuid"] for e in cores if not self.core_intact(e)]
        reboots = [e["manifest"]["metadata"]["reason"] for e in new
                   if e["type"] == "linux-reboot"]
        hours = json.loads(status.split(" ", 1)[1])["data"]["hours"]
        st = self.rx.stats()
        stats = {k: st.get(k) for k in ("batches", "entries", "duplicates", "rejected",
                                        "tls_failures")}
        wall = time.monotonic() - t_all
        log(f"power: seed {SEED}, {CUTS} cuts + 1 final boot in {wall:.0f} s "
            f"({wall / (CUTS + 1):.1f} s a boot; ready after "
            f"{min(b[0] for b in boots):.1f}-{max(b[0] for b in boots):.1f} s); "
            f"{len(acked)} attributes acknowledged, {len(acked) - len(missing)} at the "
            f"receiver, {len(missing)} missing, {evicted} counted as dropped; {len(cores)} cores "
            f"at the receiver, {len(bad)} damaged; {len(reboots)} reboot events; "
            f"drops {json.dumps(dropped)}; hours "
            f"{json.dumps(hours)}; receiver stats {stats}")
        self.assertLessEqual(len(missing), evicted, f"acknowledged, not received: {missing[:20]}")
        self.assertGreater(len(acked), 0)
        self.assertGreater(len(cores), 0)
        self.assertEqual(bad, [])
        self.assertEqual(stats["rejected"], 0, stats)
        # Every cut ended a boot in which faultd had started and decided the reason of the boot
        # before: each is an unexpected reboot (a cut between recording the event and noting the
        # decision may record one twice, docs/reboots.md), and the ledger counts each, beside
        # the crashes of the crasher.
        self.assertGreaterEqual(len(reboots), CUTS, reboots)
        self.assertTrue(all(r == 0x8000 for r in reboots), reboots)
        self.assertGreaterEqual(hours["operational_crashes"], CUTS, hours)
        self.assertLessEqual(hours["operational_hours"] * 3600, wall, hours)

    def core_intact(self, entry):
        """Whether the core file of an elf-coredump entry at the receiver decompresses and is an
        ELF core file."""
        md = entry["manifest"]["metadata"]
        path = os.path.join(self.rx.dir, "entries", entry["uuid"], md["coredump_file_name"])
        tool = {"zstd": ["zstd", "-q", "-d", "-c"], "gzip": ["gzip", "-d", "-c"]}.get(
            md.get("compression"), ["cat"])
        r = subprocess.run(tool + [path], capture_output=True)
        data = r.stdout
        return (r.returncode == 0 and data[:4] == b"\x7fELF"
                and int.from_bytes(data[16:18], "little") == 4)  # e_type ET_CORE

    # --- 5. clean and unclean stops ----------------------------------------------------------
    def test_5_reboots(self):
        disk = os.path.join(self.work, "reboot.img")
        G.make_disk(disk)
        before = {e["uuid"] for e in self.entries()}
        reasons = []

        def reason(g):
            st = json.loads(g.wait_for("@@STATUS", 120).split(" ", 1)[1])
            reasons.append([p for p in st["data"]["plugins"]
                            if p["name"] == "reboot"][0]["status"])

        t0 = time.monotonic()
        g = self.boot(disk, "reboot", 1, "reboot")
        g.wait_for("@@REBOOTING", 30)
        g.wait_for("@@SHUTDOWN", 60)
        rc = g.wait_exit(60)  # -no-reboot: the guest's reboot ends QEMU
        t_clean = time.monotonic() - t0
        g = self.boot(disk, "poweroff", 2, "reboot")
        reason(g)  # of the reboot
        g.wait_for("@@SHUTDOWN", 60)
        rc_off = g.wait_exit(60)
        g = self.boot(disk, "final", 3, "reboot")
        reason(g)  # of the power off
        g.wait_for("@@DONE", 30)
        g.cut()
        g = self.boot(disk, "final", 4, "reboot")
        reason(g)  # of the cut
        g.wait_for("@@DONE", 30)
        g.cut()
        log(f"reboots: clean reboot in {t_clean:.1f} s (QEMU exit {rc}), power off (QEMU exit "
            f"{rc_off}); after the reboot: {json.dumps(reasons[0])}; after the power off: "
            f"{json.dumps(reasons[1])}; after a cut: {json.dumps(reasons[2])}")
        self.assertIn("UserReset", json.dumps(reasons[0]))
        self.assertFalse(reasons[0]["unexpected"], reasons[0])
        # BusyBox init cannot tell a power off from a reboot (docs/reboots.md): expected.
        self.assertEqual(reasons[1]["source"], "clean-shutdown", reasons[1])
        self.assertFalse(reasons[1]["unexpected"], reasons[1])
        self.assertTrue(reasons[2]["unexpected"], reasons[2])
        self.assertEqual(reasons[2]["source"], "no-evidence", reasons[2])
        rx = [e["manifest"]["metadata"]["reason"] for e in self.entries()
              if e["type"] == "linux-reboot" and e["uuid"] not in before]
        log(f"reboots at the receiver: {rx}")
        self.assertEqual(sorted(rx), [0x0002, 0x0002, 0x8000], rx)

    # --- 5. a reboot loop -------------------------------------------------------------------
    def test_5_reboot_loop(self):
        """Boots of LOOP_SECONDS from power on to the cut, LOOP_BOOTS times: the hours ledger
        keeps at least 90 % of the time faultd ran, and counts each cut as one crash."""
        disk = os.path.join(self.work, "loop.img")
        G.make_disk(disk)
        ran_min = ran_max = 0.0
        for n in range(1, LOOP_BOOTS + 1):
            t0 = time.monotonic()
            g = self.boot(disk, "idle", n, "loop")
            t_ready = time.monotonic()
            time.sleep(max(0.0, t0 + LOOP_SECONDS - time.monotonic()))
            g.cut()
            self.guests.remove(g)
            t_cut = time.monotonic()
            ran_min += t_cut - t_ready  # faultd answered from t_ready on
            ran_max += t_cut - t0  # and cannot have started before QEMU did
        t0 = time.monotonic()
        g = self.boot(disk, "final", LOOP_BOOTS + 1, "loop")
        st = json.loads(g.wait_for("@@STATUS", 120).split(" ", 1)[1])
        t_status = time.monotonic()
        g.wait_for("@@DONE", 30)
        g.cut()
        hours = st["data"]["hours"]
        kept = hours["operational_hours"] * 3600
        log(f"reboot loop: {LOOP_BOOTS} boots of {LOOP_SECONDS} s; faultd ran "
            f"{ran_min:.0f}-{ran_max:.0f} s; the ledger, at the next boot "
            f"({t_status - t0:.0f} s into it), holds {kept:.0f} s "
            f"({100 * kept / ran_min:.0f} % of the least), "
            f"{hours['operational_crashes']} crashes")
        self.assertGreaterEqual(kept, 0.9 * ran_min, hours)
        self.assertLessEqual(kept, ran_max + (t_status - t0), hours)
        self.assertEqual(hours["operational_crashes"], LOOP_BOOTS, hours)


if __name__ == "__main__":
    unittest.main(verbosity=2)
