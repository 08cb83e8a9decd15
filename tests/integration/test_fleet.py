# SPDX-License-Identifier: MIT
"""A small fleet of real faultd instances with two software versions: steady devices, a crash,
a device that keeps rebooting unexpectedly, a declared update reboot and a kernel panic. Reboots
are simulated by killing faultd and starting it with a new boot id in its fake tree. Everything
is uploaded to the real receiver, and `faultd-receiver report` must show the expected table.
Times are scaled: heartbeat intervals of 2 s instead of an hour."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (RECEIVER, DaemonTestCase, Receiver, skip_under_valgrind,  # noqa: E402
                     wait_for)

WINDOW = 2  # seconds: one heartbeat interval

PANIC_RECORD = ("Panic#1 Part1\n<0>[  123.456789] Kernel panic - not syncing: "
                "Fatal exception in interrupt\n")


class FleetTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, serial, version):
        config = self.rx.daemon_config(
            heartbeat_interval_seconds=WINDOW,
            hours={"checkpoint_interval_seconds": 1},
            device={"serial": serial, "software_version": version},
            reboot_command="true")
        return self.daemon(config=config)

    def finish(self, d):
        """Waits for the interval in progress to end (its hours come with the heartbeat that
        ends it) and uploads everything."""
        hours = d.status()["hours"]
        end_s = hours["odometer_hours"] * 3600 + hours["next_in_seconds"] + 1.05
        wait_for(lambda: d.status()["hours"]["odometer_hours"] * 3600 > end_s,
                 timeout=3 * WINDOW, interval=0.1, what="the interval in progress to end")
        self.ok(d, "sync")
        self.assertEqual(d.stop(), 0, d.log())

    def report(self):
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir, "--json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "", "the report skipped entries")
        table = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(table.returncode, 0, table.stderr)
        print("\n" + table.stdout, file=sys.stderr)
        return json.loads(r.stdout), table.stdout

    @skip_under_valgrind("its devices' hours and crash windows last seconds")
    def test_fleet_report(self):
        # 1.0: a steady device, and one whose process crashes once.
        steady = self.device("gw-steady", "1.0").start()
        crashy = self.device("gw-crashy", "1.0").start()
        time.sleep(1.0)
        self.ok(crashy, "report-crash", "gatewayd", "6")
        time.sleep(4 * WINDOW)
        self.finish(steady)
        self.finish(crashy)

        # 2.0: a device rebooting unexpectedly every ~1.5 s of operation (every "40 minutes").
        flaky = self.device("gw-flaky", "2.0").start()
        unexpected = 5
        for _ in range(unexpected):
            time.sleep(1.5)
            flaky.kill()
            flaky.new_boot()
            flaky.start()
        self.finish(flaky)

        # 2.0: an update reboot declared with faultctl reboot, then a clean shutdown.
        updated = self.device("gw-updated", "2.0").start()
        time.sleep(0.5)
        self.ok(updated, "reboot", "--reason", "FirmwareUpdate")
        self.assertEqual(updated.stop(), 0)
        updated.new_boot()
        updated.start()
        time.sleep(0.5)
        self.finish(updated)

        # 2.0: a kernel panic, found in pstore after the reboot.
        panicked = self.device("gw-panic", "2.0").start()
        time.sleep(0.5)
        panicked.kill()
        pstore = os.path.join(panicked.sysroot, "sys", "fs", "pstore")
        os.makedirs(pstore)
        with open(os.path.join(pstore, "dmesg-ramoops-0"), "w") as f:
            f.write(PANIC_RECORD)
        panicked.new_boot()
        panicked.start()
        time.sleep(0.5)
        self.finish(panicked)

        report, table = self.report()
        rows = {row["software_version"]: row for row in report["versions"]}
        self.assertEqual(sorted(rows), ["1.0", "2.0"])

        v1 = rows["1.0"]
        self.assertEqual(v1["devices"], 2)
        # The crash made one 2-second interval of one device crash time; the rest was stable.
        self.assertAlmostEqual(v1["crash_hours"] * 3600, WINDOW, delta=0.05)
        self.assertEqual(v1["crashes"], 1)
        self.assertGreater(v1["operational_hours"] * 3600, 2 * 4 * WINDOW - 1)
        expected = 100 * (1 - v1["crash_hours"] / v1["operational_hours"])
        self.assertAlmostEqual(v1["stable_hours_percent"], expected, places=9)
        self.assertGreater(v1["stable_hours_percent"], 80)
        self.assertLess(v1["stable_hours_percent"], 100)
        self.assertEqual(v1["unexpected_reboots_by_reason"], {})

        v2 = rows["2.0"]
        self.assertEqual(v2["devices"], 3)
        self.assertEqual(v2["unexpected_reboots_by_reason"],
                         {"UnknownError": unexpected, "KernelPanic": 1})
        self.assertEqual(v2["expected_reboots_by_reason"], {"FirmwareUpdate": 1})
        self.assertEqual(v2["crashes"], unexpected + 1)

        # The flaky device shows its operating time and that all of it was crash time.
        flaky_beats = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
                       if e["type"] == "linux-metric-report"
                       and e["manifest"]["device"]["device_serial"] == "gw-flaky"]
        op = sum(m["operational_hours"] for m in flaky_beats) * 3600
        crash = sum(m["operational_hours"] - m["operational_crashfree_hours"]
                    for m in flaky_beats) * 3600
        self.assertGreater(op, unexpected * 0.8, flaky_beats)
        # Every interval up to the last reboot holds one; only the last can be clean.
        self.assertGreaterEqual(crash, op - WINDOW - 0.001, flaky_beats)
        self.assertIn("2.0", table)
        self.assertIn("UnknownError 5", table)


if __name__ == "__main__":
    unittest.main()
