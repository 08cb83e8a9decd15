# SPDX-License-Identifier: MIT
"""Stable hours that hold at updates, restarts and boots (docs/hours.md), through the real
faultd and the real receiver: a crash is charged to the interval and the software version it
happened in, one crash costs one interval wherever it falls, a reboot loop reports its time, and
nothing counts without consent. Times are scaled: heartbeat intervals of 2 s instead of an hour.
Reboots are simulated with a new boot id in the fake tree."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RECEIVER, DaemonTestCase, Receiver, skip_under_valgrind,  # noqa: E402
                     wait_for)

INTERVAL = 2  # seconds: one heartbeat interval
MS_PER_HOUR = 3600000.0


def heartbeats(rx, version=None):
    """The heartbeats at the receiver that end an hours interval (not those of request-metrics,
    whose hours are zero), in arrival order, as dicts of the version, operational and crash
    seconds, and crashes."""
    out = []
    for e in rx.entries():
        if e["type"] != "linux-metric-report":
            continue
        m = e["manifest"]["metadata"]["metrics"]
        if m["operational_hours"] == 0 and m["operational_crashes"] == 0:
            continue
        v = e["manifest"]["device"]["software_version"]
        if version is None or v == version:
            out.append({"version": v,
                        "op_s": m["operational_hours"] * 3600,
                        "crash_s": (m["operational_hours"] - m["operational_crashfree_hours"])
                        * 3600,
                        "crashes": m["operational_crashes"]})
    return out


def boot_id(d):
    with open(os.path.join(d.sysroot, "proc", "sys", "kernel", "random", "boot_id")) as f:
        return f.read().strip()


def write_report(d, process, signo, boot, mono_ms, version):
    """A crash report as faultd-core-handler leaves it in the crash log (libcollector/store/crashlog.c),
    with when it happened: the boot and the monotonic time in it."""
    time_ms = int(time.time() * 1000)
    directory = os.path.join(d.state_dir, "crashes")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    mono_ms = int(mono_ms)
    name = "%020d-%010d-%08x.json" % (time_ms, 4242, mono_ms & 0xffffffff)
    report = {"process": process, "pid": 4242, "signal": signo, "time_ms": time_ms,
              "boot_id": boot, "monotonic_ms": int(mono_ms), "software_version": version,
              "core": "stored", "entry": ""}
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.rename(tmp, os.path.join(directory, name))


class StableHoursTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, version="1.0", serial="gw-1", **config):
        base = {"heartbeat_interval_seconds": INTERVAL,
                "hours": {"checkpoint_interval_seconds": 1},
                "device": {"serial": serial, "software_version": version},
                "reboot_command": "true"}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def update(self, d, version):
        """The next start runs version, as after an update."""
        d.config["device"] = dict(d.config["device"], software_version=version)
        d.write_config()

    def wait_heartbeats(self, d, version, n):
        """Uploads until the receiver holds n heartbeats with hours of version."""
        def enough():
            self.ok(d, "sync")
            return len(heartbeats(self.rx, version)) >= n
        wait_for(enough, timeout=10 * INTERVAL * n, interval=0.3,
                 what=f"{n} heartbeats of {version}\n{d.log()}")
        return heartbeats(self.rx, version)

    def report(self):
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir, "--json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {row["software_version"]: row for row in json.loads(r.stdout)["versions"]}


@skip_under_valgrind("its intervals last seconds")
class UpdateTest(StableHoursTestCase):
    def test_an_update_charges_the_old_crash_to_the_old_version(self):
        # 1.0 crashes, is updated with a declared FirmwareUpdate, and 2.0 runs clean.
        d = self.device("1.0").start()
        time.sleep(0.3)
        self.ok(d, "report-crash", "gatewayd", "11")
        time.sleep(0.4)
        self.ok(d, "reboot", "--reason", "FirmwareUpdate")
        self.assertEqual(d.stop(), 0)
        self.update(d, "2.0")
        d.new_boot()
        d.start()
        self.assertIn("Software version changed from 1.0 to 2.0", d.log())
        v2 = self.wait_heartbeats(d, "2.0", 2)
        v1 = heartbeats(self.rx, "1.0")
        self.assertEqual(len(v1), 1, v1)
        self.assertEqual(v1[0]["crashes"], 1)
        self.assertAlmostEqual(v1[0]["crash_s"], v1[0]["op_s"], delta=0.001)
        for beat in v2:
            self.assertEqual(beat["crashes"], 0, v2)
            self.assertEqual(beat["crash_s"], 0, v2)
        rows = self.report()
        self.assertEqual(rows["2.0"]["stable_hours_percent"], 100.0, rows)
        self.assertLess(rows["1.0"]["stable_hours_percent"], 100.0, rows)
        # The reboot event is the boot that 1.0 ended.
        reboots = [e["manifest"] for e in self.rx.entries() if e["type"] == "linux-reboot"]
        self.assertEqual(len(reboots), 1, reboots)
        self.assertEqual(reboots[0]["device"]["software_version"], "1.0")

    def test_an_unexpected_reboot_during_an_update_is_the_old_versions(self):
        d = self.device("1.0").start()
        time.sleep(0.5)
        d.kill()  # the power goes while 1.0 runs
        self.update(d, "2.0")
        d.new_boot()
        d.start()
        v2 = self.wait_heartbeats(d, "2.0", 1)
        v1 = heartbeats(self.rx, "1.0")
        self.assertEqual([b["crashes"] for b in v1], [1], v1)
        self.assertEqual(v2[0]["crashes"], 0, v2)
        self.assertEqual(v2[0]["crash_s"], 0, v2)
        reboots = [e["manifest"] for e in self.rx.entries() if e["type"] == "linux-reboot"]
        self.assertEqual([r["device"]["software_version"] for r in reboots], ["1.0"])
        self.assertTrue(reboots[0]["metadata"]["reason"].get("unexpected")
                        if isinstance(reboots[0]["metadata"]["reason"], dict)
                        else reboots[0]["metadata"]["reason"] & 0x8000, reboots)

    def test_a_reload_with_a_new_version_ends_the_interval(self):
        d = self.device("1.0").start()
        time.sleep(0.3)
        self.ok(d, "report-crash", "gatewayd", "6")
        self.update(d, "2.0")
        d.signal(signal.SIGHUP)
        wait_for(lambda: "Software version changed from 1.0 to 2.0" in d.log(),
                 what="the reload")
        v2 = self.wait_heartbeats(d, "2.0", 2)
        v1 = heartbeats(self.rx, "1.0")
        self.assertEqual([b["crashes"] for b in v1], [1], v1)
        self.assertLess(v1[0]["op_s"], INTERVAL)
        self.assertEqual([(b["crashes"], b["crash_s"]) for b in v2], [(0, 0)] * len(v2), v2)


@skip_under_valgrind("its intervals last seconds")
class CrashLogTest(StableHoursTestCase):
    def test_a_crash_waiting_in_the_log_lands_in_its_boot_and_version(self):
        d = self.device("1.0").start()
        time.sleep(0.5)
        self.ok(d, "reboot", "--reason", "FirmwareUpdate")
        old_boot = boot_id(d)
        self.assertEqual(d.stop(), 0)
        # 1.0 crashed after faultd stopped; the report waits in the crash log.
        write_report(d, "gatewayd", 11, old_boot, time.monotonic() * 1000, "1.0")
        self.update(d, "2.0")
        d.new_boot()
        d.start()
        v2 = self.wait_heartbeats(d, "2.0", 2)
        v1 = heartbeats(self.rx, "1.0")
        self.assertEqual([b["crashes"] for b in v1], [1], v1)
        self.assertEqual([b["crashes"] for b in v2], [0] * len(v2), v2)
        self.assertEqual(self.report()["2.0"]["stable_hours_percent"], 100.0)

    def test_three_crashes_while_faultd_was_down_are_three_intervals(self):
        before = time.monotonic()
        d = self.device("1.0").start()
        after = time.monotonic()
        # The fake boot began when faultd read its uptime, between before and after.
        start = (before + after) / 2
        time.sleep(0.2)
        self.assertEqual(d.stop(), 0)
        for k in range(3):  # in the middle of [0, 2), [2, 4) and [4, 6) s
            write_report(d, "gatewayd", 11, boot_id(d), (start + 1 + INTERVAL * k) * 1000, "1.0")
        time.sleep(max(0.0, start + 3 * INTERVAL + 0.4 - time.monotonic()))
        d.start()
        beats = self.wait_heartbeats(d, "1.0", 3)
        self.assertEqual([b["crashes"] for b in beats[:3]], [1, 1, 1], beats)
        for b in beats[:3]:
            self.assertAlmostEqual(b["op_s"], INTERVAL, delta=0.001)
            self.assertAlmostEqual(b["crash_s"], INTERVAL, delta=0.001)


@skip_under_valgrind("its intervals last seconds")
class PhaseTest(StableHoursTestCase):
    def test_one_crash_costs_one_interval_wherever_it_falls(self):
        d = self.device("1.0").start()
        time.sleep(0.5)
        # A request for the metrics in between does not cut the interval short.
        self.ok(d, "write-metric", "jobs=1:counter")
        out = self.ok(d, "request-metrics")
        self.assertIn("The hours of this interval come with the heartbeat that ends it", out)
        time.sleep(0.9)
        self.ok(d, "report-crash", "gatewayd", "11")  # late in the first interval
        beats = self.wait_heartbeats(d, "1.0", 3)
        self.assertEqual(sum(b["crashes"] for b in beats), 1, beats)
        self.assertAlmostEqual(sum(b["crash_s"] for b in beats), INTERVAL, delta=0.001)
        for b in beats:
            self.assertAlmostEqual(b["op_s"], INTERVAL, delta=0.001)


class RebootLoopTest(StableHoursTestCase):
    @skip_under_valgrind("times a boot of 22 s")
    def test_a_short_boot_keeps_most_of_its_time(self):
        # The regular checkpoint period of 300 s, and a boot that ends after 22 s without a
        # clean stop: the early checkpoints (10 s, 20 s) keep 20 of its 22 s.
        d = self.device("1.0", heartbeat_interval_seconds=3600,
                        hours={"checkpoint_interval_seconds": 300})
        d.start()
        time.sleep(22)
        d.kill()
        d.new_boot()
        d.start()
        odometer = d.status()["hours"]["odometer_hours"] * 3600
        self.assertGreaterEqual(odometer, 19.9, d.log())
        self.assertLess(odometer, 23)


class ConsentTest(StableHoursTestCase):
    def test_no_source_counts_a_crash_without_consent(self):
        d = self.device("1.0", enable_data_collection=False).start()
        r = d.ctl("report-crash", "gatewayd", "11")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("data collection is disabled", r.stdout + r.stderr)
        # An unexpected end of a boot without consent is not counted either.
        d.kill()
        d.new_boot()
        d.start()
        self.assertIn("not counted: data collection is disabled", d.log())
        self.ok(d, "enable-data-collection")
        self.assertEqual(d.status()["hours"]["operational_crashes"], 0)

    def test_the_ledger_starts_when_consent_is_given(self):
        d = self.device("1.0", enable_data_collection=False).start()
        time.sleep(1.5)
        self.ok(d, "enable-data-collection")
        hours = d.status()["hours"]
        self.assertLess(hours["operational_hours"] * 3600, 0.5, hours)
        beats = self.wait_heartbeats(d, "1.0", 1)
        self.assertAlmostEqual(beats[0]["op_s"], INTERVAL, delta=0.001)


class BootIdTest(StableHoursTestCase):
    def boot_record(self, d):
        with open(os.path.join(d.state_dir, "boot.json")) as f:
            return json.load(f)

    def test_an_unreadable_boot_id_is_one_per_boot(self):
        d = self.device("1.0")
        os.unlink(os.path.join(d.sysroot, "proc", "sys", "kernel", "random", "boot_id"))
        d.start()
        first = self.boot_record(d)
        self.assertIn("kept in /run/faultd/boot_id for this boot", d.log())
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertEqual(self.boot_record(d), first)
        self.assertEqual(d.stop(), 0)
        # A new boot empties /run.
        os.unlink(os.path.join(d.sysroot, "run", "faultd", "boot_id"))
        d.start()
        second = self.boot_record(d)
        self.assertNotEqual(second["boot_id"], first["boot_id"])
        self.assertEqual(second["boot_count"], first["boot_count"] + 1)
        self.assertEqual(second["previous_boot_id"], first["boot_id"])


if __name__ == "__main__":
    unittest.main()
