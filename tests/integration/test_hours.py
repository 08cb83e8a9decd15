# SPDX-License-Identifier: MIT
"""The hours ledger and heartbeats of the real faultd, uploaded to the real receiver; the
declared reboot reason and the clean-shutdown marker. Times are scaled down: heartbeats of
seconds instead of an hour. test_stable_hours.py has the attribution rules of docs/hours.md."""
import json
import os
import signal
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTestCase, Receiver, skip_under_valgrind, wait_for  # noqa: E402

MS_PER_HOUR = 3600000.0


def heartbeats(rx, version=None):
    """The heartbeats the receiver holds, in arrival order, as (version, metadata)."""
    out = []
    for e in rx.entries():
        m = e["manifest"]
        if e["type"] == "linux-metric-report":
            v = m["device"]["software_version"]
            if version is None or v == version:
                out.append((v, m["metadata"]))
    return out


def write_runlevel(sysroot, runlevel):
    """A utmp file whose runlevel record says the system is going to runlevel (x86_64 glibc
    layout: 384-byte records, ut_type at 0, ut_pid at 4)."""
    record = struct.pack("<hxxi", 1, ord(runlevel) + 256 * ord("N")).ljust(384, b"\0")
    os.makedirs(os.path.join(sysroot, "var", "run"), exist_ok=True)
    with open(os.path.join(sysroot, "var", "run", "utmp"), "wb") as f:
        f.write(record)


class HoursTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, **config):
        base = {"heartbeat_interval_seconds": 3600,
                "hours": {"checkpoint_interval_seconds": 1}}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))


class HeartbeatTest(HoursTestCase):
    def test_heartbeats_close_on_the_interval_and_carry_the_hours(self):
        d = self.device(heartbeat_interval_seconds=2).start()
        wait_for(lambda: d.status()["hours"]["odometer_hours"] * MS_PER_HOUR > 4500,
                 timeout=20, what="4.5 s of operating time")
        self.ok(d, "sync")
        beats = heartbeats(self.rx)
        self.assertGreaterEqual(len(beats), 2, beats)
        for _, md in beats[:2]:
            self.assertEqual(md["report_type"], "heartbeat")
            m = md["metrics"]
            # Closed when the odometer crossed 2 s and 4 s: each about 2 s of operating time.
            self.assertAlmostEqual(md["duration_ms"], 2000, delta=300)
            self.assertAlmostEqual(m["operational_hours"] * MS_PER_HOUR, md["duration_ms"],
                                   delta=1)
            self.assertEqual(m["operational_crashfree_hours"], m["operational_hours"])
            self.assertEqual(m["operational_crashes"], 0)

    def test_a_crash_makes_its_interval_crash_time_and_the_next_is_clean(self):
        d = self.device(heartbeat_interval_seconds=2).start()
        out = self.ok(d, "report-crash", "gatewayd", "11")  # in the first interval, [0, 2 s)
        self.assertIn("Crash of gatewayd counted", out)
        self.assertEqual(d.status()["hours"]["operational_crashes"], 1)
        self.assertIn("Crash of gatewayd (signal 11) counted", d.log())
        wait_for(lambda: d.status()["hours"]["odometer_hours"] * MS_PER_HOUR > 4100,
                 what="two intervals to end")
        self.ok(d, "sync")
        (_, first), (_, second) = heartbeats(self.rx)[:2]
        m = first["metrics"]
        self.assertEqual(m["operational_crashes"], 1)
        # The whole first interval [0, 2 s) is crash time.
        self.assertEqual(m["operational_crashfree_hours"], 0)
        self.assertAlmostEqual(m["operational_hours"] * MS_PER_HOUR, 2000, delta=1)
        m = second["metrics"]
        self.assertEqual(m["operational_crashes"], 0)
        self.assertEqual(m["operational_crashfree_hours"], m["operational_hours"])

    @skip_under_valgrind("counts the time to start within a second")
    def test_restart_counts_the_time_faultd_was_down_once(self):
        d = self.device()
        t0 = time.monotonic()
        d.start()
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        time.sleep(1.5)  # faultd down, the device still operating
        d.start()
        time.sleep(1.0)
        counted = d.status()["hours"]["odometer_hours"] * MS_PER_HOUR
        elapsed_ms = (time.monotonic() - t0) * 1000
        # Everything from the first start to now, once: not less, and never more.
        self.assertLessEqual(counted, elapsed_ms)
        self.assertGreater(counted, elapsed_ms - 1000, d.log())

    def test_kill_loses_at_most_one_checkpoint_period(self):
        d = self.device().start()
        time.sleep(3.2)
        before_ms = d.status()["hours"]["odometer_hours"] * MS_PER_HOUR
        d.kill()
        d.new_boot()  # as if the power went: the next start is a new boot
        d.start()
        after_ms = d.status()["hours"]["odometer_hours"] * MS_PER_HOUR
        self.assertLessEqual(before_ms - after_ms, 1000 + 50,
                             f"lost more than a checkpoint: {before_ms} -> {after_ms}")
        self.assertGreater(after_ms, 0)

    def test_damaged_ledger_is_set_aside_and_counting_restarts(self):
        d = self.device()
        os.makedirs(d.state_dir, exist_ok=True)
        with open(os.path.join(d.state_dir, "hours.json"), "w") as f:
            f.write('{"boot_id": 7}')
        d.start()
        self.assertIn("hours ledger", d.log())
        self.assertIn("damaged", d.log())
        self.assertTrue(os.path.exists(os.path.join(d.state_dir, "hours.json.bad")))
        self.assertLess(d.status()["hours"]["odometer_hours"] * MS_PER_HOUR, 5000)

    @skip_under_valgrind("measures a heartbeat of 1.5 s within 0.4 s")
    def test_update_closes_the_heartbeat_as_the_old_version(self):
        d = self.device(device={"software_version": "1.0"}, heartbeat_interval_seconds=3).start()
        time.sleep(1.5)
        self.assertEqual(d.stop(), 0)
        d.config["device"] = {"software_version": "2.0"}
        d.write_config()
        d.new_boot()
        d.start()
        self.assertIn("Software version changed from 1.0 to 2.0", d.log())

        def two():
            self.ok(d, "sync")
            return len(heartbeats(self.rx)) >= 2
        wait_for(two, timeout=15, interval=0.3, what="the first heartbeat of 2.0")
        beats = heartbeats(self.rx)
        self.assertEqual([v for v, _ in beats[:2]], ["1.0", "2.0"], beats)
        # 1.0's interval ends where 1.0 stopped; 2.0's is a whole one, from its boot's start.
        self.assertAlmostEqual(beats[0][1]["duration_ms"], 1500, delta=400)
        self.assertAlmostEqual(beats[1][1]["metrics"]["operational_hours"] * MS_PER_HOUR, 3000,
                               delta=1)

    def test_no_consent_no_heartbeat(self):
        d = self.device(enable_data_collection=False).start()
        out = self.ok(d, "request-metrics")
        self.assertIn("not recorded: data collection is disabled", out)
        self.assertEqual(d.status()["spool"]["entries"], 0)


class RebootCommandTest(HoursTestCase):
    def declared(self, d):
        with open(os.path.join(d.state_dir, "reboot", "declared.json")) as f:
            return json.load(f)

    def test_reboot_records_the_reason_then_runs_the_command(self):
        d = self.device()
        marker = os.path.join(d.dir, "rebooted")
        d.config["reboot_command"] = f"echo asked > {marker}"
        d.write_config()
        d.start()
        out = self.ok(d, "reboot", "--reason", "FirmwareUpdate")
        self.assertIn("Recorded FirmwareUpdate (0x0003); the system is rebooting.", out)
        self.assertTrue(os.path.exists(marker))
        note = self.declared(d)
        self.assertEqual(note["reason"], 3)
        with open(os.path.join(d.sysroot, "proc", "sys", "kernel", "random", "boot_id")) as f:
            self.assertEqual(note["boot_id"], f.read().strip())

    def test_no_reboot_only_records_and_custom_reasons_work(self):
        d = self.device(reboot_command="exit 99").start()
        out = self.ok(d, "reboot", "--reason=!ModemHang", "--no-reboot")
        self.assertIn("Recorded !ModemHang as the reason for the next reboot.", out)
        self.assertEqual(self.declared(d)["reason"], {"unexpected": True, "name": "ModemHang"})
        self.ok(d, "reboot", "--reason", "0x8005", "--no-reboot")
        self.assertEqual(self.declared(d)["reason"], 0x8005)

    def test_failed_reboot_command_withdraws_the_reason(self):
        d = self.device(reboot_command="exit 3").start()
        r = d.ctl("reboot", "--reason", "UserReset")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("reboot_command \"exit 3\" failed", r.stderr)
        self.assertIn("the reason was withdrawn", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d.state_dir, "reboot", "declared.json")))

    def test_bad_reasons_are_refused_with_what_and_why(self):
        d = self.device().start()
        r = d.ctl("reboot", "--reason", "Sunspots", "--no-reboot")
        self.assertEqual(r.returncode, 1)
        self.assertIn('reason "Sunspots": unknown reason name', r.stderr)
        r = d.ctl("reboot", "--reason", "0x1ffff", "--no-reboot")
        self.assertEqual(r.returncode, 1)
        self.assertIn("0 to 0xFFFF", r.stderr)
        r = d.ctl("reboot", "--no-reboot")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--reason is required", r.stderr)
        r = d.ctl("report-crash", "x", "99")
        self.assertEqual(r.returncode, 2)
        r = d.ctl("report-crash", "x" * 65)
        self.assertEqual(r.returncode, 1)
        self.assertIn("\"process\": expected 1-64 printable characters", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d.state_dir, "reboot", "declared.json")))

    def test_clean_shutdown_marker_only_when_the_system_goes_down(self):
        d = self.device().start()
        self.assertEqual(d.stop(), 0)
        path = os.path.join(d.state_dir, "reboot", "shutdown.json")
        self.assertFalse(os.path.exists(path), "faultd alone stopping wrote the marker")
        write_runlevel(d.sysroot, "6")
        d.start()
        self.assertEqual(d.stop(), 0)
        with open(path) as f:
            note = json.load(f)
        self.assertEqual(note["reason"], 2)  # UserReset
        self.assertIn("clean-shutdown marker written", d.log())
        write_runlevel(d.sysroot, "0")
        d.start()
        self.assertEqual(d.stop(), 0)
        with open(path) as f:
            self.assertEqual(json.load(f)["reason"], 1)  # UserShutdown


if __name__ == "__main__":
    unittest.main()
