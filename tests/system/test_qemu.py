#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""faultd's promises on a real Linux kernel: a BusyBox-init guest under QEMU (tests/system/guest.py).

  1. core: faultd's coredump plugin (sysroot "/") sets the guest kernel's core_pattern; the
     multi-threaded crasher dies of SIGSEGV; the kernel pipes the core into faultd-core-handler;
     the elf-coredump entry reaches the receiver on the host, and gdb on the host gives every
     thread's backtrace from it. Then `faultctl trigger-coredump` through the same chain.
  3. power: while faultd records write-attributes in a loop and statsd datagrams and uploads
     every 2 s, QEMU is SIGKILLed at a random moment (0.3 to 4 s after faultd is ready), and the
     same disk image booted again, SYSTEM_CUTS times (default 30). A last boot uploads what is
     left: every entry faultd acknowledged before a cut is at the receiver or counted as evicted,
     the receiver rejected nothing, faultd started cleanly at every boot.
  5. reboots: `reboot` through BusyBox init and the init script is a UserReset (expected); a
     cut is unexpected.

Environment: FAULTD, FAULTCTL (faultd-core-handler next to them), CRASHER, INIT_SCRIPT, RECEIVER
(from meson); SYSTEM_CUTS, SYSTEM_SEED; SYSTEM_WORKDIR keeps the run's files (default: a
temporary directory removed on success); KERNEL_CACHE (default BUILD_ROOT/system-kernel).
Figures go to standard error. Runs by default only in a build without systemd (the BusyBox
target; in CI build/nosystemd, which has no sanitizers); FAULTD_SYSTEM_TESTS=1 runs it anyway.
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
BOOT_TIMEOUT = 90  # s from QEMU's start to faultd ready, TCG on a loaded 2-core machine


def log(msg):
    print(f"system: {msg}", file=sys.stderr, flush=True)


def skip_reason():
    if os.environ.get("FAULTD_SYSTEM_TESTS") != "1" and os.environ.get("HAVE_SYSTEMD") == "1":
        return ("runs in the build without systemd (the BusyBox target); "
                "FAULTD_SYSTEM_TESTS=1 runs it here")
    for tool in ("qemu-system-x86_64", "cpio", "mkfs.ext4", "dpkg-deb", "apt-get", "busybox",
                 "gdb", "zstd"):
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
        cache = os.environ.get("KERNEL_CACHE") or os.path.join(
            os.environ.get("BUILD_ROOT", cls.work), "system-kernel")
        t = time.monotonic()
        cls.vmlinuz, cls.moddir = G.fetch_kernel(cache)
        log(f"kernel {os.path.basename(cls.vmlinuz)} ({time.monotonic() - t:.1f} s)")
        os.makedirs(os.path.join(cls.work, "receiver"), exist_ok=True)
        cls.rx = Receiver(os.path.join(cls.work, "receiver"), args=["--san", G.GUEST_HOST])
        cls.rx.start()
        t = time.monotonic()
        cls.initramfs = G.build_initramfs(cls.work, cls.moddir, os.environ, cls.rx.port,
                                          cls.rx.ca_bundle)
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
        if any(e for _, e in (self._outcome.errors if hasattr(self._outcome, "errors") else [])):
            type(self).failed = True

    def boot(self, disk, scenario, n, name):
        g = G.Guest(self.vmlinuz, self.initramfs, disk, self.rx.port,
                    os.path.join(self.work, f"{name}-{n}.console"), scenario, n)
        self.guests.append(g)
        line = g.wait_for("@@FAULTD_START", BOOT_TIMEOUT)
        self.assertEqual(line.split()[1], "rc=0", g.tail())
        g.wait_for("@@READY", 60)
        return g

    def entries(self):
        return self.rx.entries()

    # --- 1. the core pipe ------------------------------------------------------------------
    def test_1_core_pipe(self):
        disk = os.path.join(self.work, "core.img")
        G.make_disk(disk)
        t0 = time.monotonic()
        before = {e["uuid"] for e in self.entries()}
        g = self.boot(disk, "core", 1, "core")
        t_ready = time.monotonic() - t0
        pattern = g.wait_for("@@CORE_PATTERN", 30)
        self.assertIn("/usr/libexec/faultd-core-handler", pattern)
        crashed = g.wait_for("@@CRASHED", 60)
        g.wait_for("@@TRIGGERED", 60)
        synced = g.wait_for("@@SYNCED", 120)
        g.wait_for("@@DONE", 30)
        self.assertIn("rc=0", synced, g.tail())
        g.cut()
        info = json.loads(crashed.split(" ", 2)[2])
        cores = [e for e in self.entries()
                 if e["uuid"] not in before and e["type"] == "elf-coredump"]
        log(f"core: ready in {t_ready:.1f} s, {len(cores)} elf-coredump entries, "
            f"whole boot {time.monotonic() - t0:.1f} s")
        self.assertEqual(len(cores), 2, [e["manifest"] for e in cores])
        # The crasher died first; trigger-coredump's child second.
        cores.sort(key=lambda e: e["manifest"]["collection_time"]["timestamp"])
        crasher_core = cores[0]
        md = crasher_core["manifest"]["metadata"]
        name = md["coredump_file_name"]
        path = os.path.join(self.rx.dir, "entries", crasher_core["uuid"], name)
        core = os.path.join(self.work, "crasher.core")
        comp = md.get("compression")
        if comp == "zstd":
            subprocess.run(["zstd", "-q", "-d", "-f", path, "-o", core], check=True)
        elif comp == "gzip":
            subprocess.run(f"gzip -dc < {path} > {core}", shell=True, check=True)
        else:
            shutil.copy(path, core)
        text = cu.run_gdb(os.environ["CRASHER"], core)
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

    # --- 3. power cuts ---------------------------------------------------------------------
    def test_3_power_cuts(self):
        rng = random.Random(SEED)
        disk = os.path.join(self.work, "power.img")
        G.make_disk(disk)
        acked = []
        boots = []
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
        evicted = 0
        try:
            d = json.loads(drops.split(" ", 1)[1]) if len(drops.split(" ", 1)) > 1 else {}
            evicted = sum(v for c in d.values() if isinstance(c, dict)
                          for v in c.values() if isinstance(v, int))
        except ValueError:
            d = drops
        st = self.rx.stats()
        stats = {k: st.get(k) for k in ("batches", "entries", "duplicates", "rejected",
                                        "tls_failures")}
        wall = time.monotonic() - t_all
        log(f"power: seed {SEED}, {CUTS} cuts + 1 final boot in {wall:.0f} s "
            f"({wall / (CUTS + 1):.1f} s a boot; ready after "
            f"{min(b[0] for b in boots):.1f}-{max(b[0] for b in boots):.1f} s); "
            f"{len(acked)} entries acknowledged, {len(acked) - len(missing)} at the receiver, "
            f"{len(missing)} missing, evictions counted {evicted}; receiver stats {stats}")
        self.assertLessEqual(len(missing), evicted, f"acknowledged, not received: {missing[:20]}")
        self.assertGreater(len(acked), 0)
        self.assertEqual(stats["rejected"], 0, stats)

    # --- 5. clean and unclean stops ----------------------------------------------------------
    def test_5_reboots(self):
        disk = os.path.join(self.work, "reboot.img")
        G.make_disk(disk)
        t0 = time.monotonic()
        g = self.boot(disk, "reboot", 1, "reboot")
        g.wait_for("@@REBOOTING", 30)
        g.wait_for("@@SHUTDOWN", 60)
        rc = g.wait_exit(60)  # -no-reboot: the guest's reboot ends QEMU
        t_clean = time.monotonic() - t0
        reasons = []
        for n, cut in ((2, True), (3, False)):
            g = self.boot(disk, "final", n, "reboot")
            st = json.loads(g.wait_for("@@STATUS", 120).split(" ", 1)[1])
            reboot = [p for p in st["data"]["plugins"] if p["name"] == "reboot"][0]["status"]
            reasons.append(reboot)
            g.wait_for("@@DONE", 30)
            g.cut()  # boot 2 ends in a cut; boot 3's end does not matter
        log(f"reboots: clean reboot in {t_clean:.1f} s (QEMU exit {rc}); after it: "
            f"{json.dumps(reasons[0])}; after a cut: {json.dumps(reasons[1])}")
        self.assertIn("UserReset", json.dumps(reasons[0]))
        self.assertNotIn("UserReset", json.dumps(reasons[1]))
        rx = [e["manifest"] for e in self.entries() if e["type"] == "linux-reboot"]
        log(f"reboots at the receiver: {json.dumps(rx)[:1500]}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
