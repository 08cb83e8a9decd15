# SPDX-License-Identifier: MIT
"""The device's history across boots (libcollector/store/history.c): `faultctl timeline` and
`faultctl crashes` over three boots of a test device (a crash, an unexpected reboot, a declared
FirmwareUpdate with a new software version), boot loops in the linux-reboot entry at the receiver,
the heartbeat and the status, and a damaged history file."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTestCase, Receiver  # noqa: E402

FRAMES = ["libgw.so!parse_frame", "libgw.so!on_packet", "gatewayd+0x1a2b"]
SIGNATURE = "0123456789abcdef"
CORE_ENTRY = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
TRACE_ENTRY = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"


def boot_id(d):
    with open(os.path.join(d.sysroot, "proc", "sys", "kernel", "random", "boot_id")) as f:
        return f.read().strip()


def write_report(d, process, pid, signo, boot, version, loop_crashes=0):
    """A crash report as faultd-core-handler leaves it in the crash log
    (libcollector/store/crashlog.c), with the stack trace's members."""
    time_ms = int(time.time() * 1000)
    directory = os.path.join(d.state_dir, "crashes")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = "%020d-%d.json" % (time_ms, pid)
    report = {"process": process, "pid": pid, "signal": signo, "time_ms": time_ms,
              "boot_id": boot, "monotonic_ms": 1000, "software_version": version,
              "core": "stored", "entry": CORE_ENTRY, "trace_entry": TRACE_ENTRY,
              "signature": SIGNATURE, "frames": FRAMES}
    if loop_crashes:
        report["loop_crashes"] = loop_crashes
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.rename(tmp, os.path.join(directory, name))


class TimelineTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, version="1.0", **config):
        base = {"device": {"serial": "gw-1", "software_version": version},
                "reboot_command": "true"}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def update(self, d, version):
        d.config["device"] = dict(d.config["device"], software_version=version)
        d.write_config()

    def json_of(self, d, *args):
        out = self.ok(d, *args)
        reply = json.loads(out)
        self.assertTrue(reply["ok"], reply)
        return reply["data"]

    def crash(self, d, **kwargs):
        write_report(d, "gatewayd", 4242, 11, boot_id(d), "1.0", **kwargs)
        self.assertTrue(d.request("crash-reported")["ok"])

    def crash_free_boot(self, d):
        """An unexpected reboot: faultd killed, no clean-shutdown marker, a new boot."""
        d.kill()
        return d.new_boot()

    def reboot_entries(self):
        self.ok(self.daemons[-1], "sync")
        return [e["manifest"]["metadata"] for e in self.rx.entries()
                if e["type"] == "linux-reboot"]


class ThreeBootsTest(TimelineTestCase):
    def test_timeline_shows_boots_reasons_crashes_and_the_update_across_three_boots(self):
        d = self.device("1.0").start()
        boot1 = boot_id(d)
        self.crash(d)
        boot2 = self.crash_free_boot(d)
        d.start()
        self.ok(d, "reboot", "--reason", "FirmwareUpdate")
        self.assertEqual(d.stop(), 0)
        self.update(d, "1.1")
        boot3 = d.new_boot()
        d.start()

        events = self.json_of(d, "timeline", "--json")["events"]
        got = [(e["kind"], e["boot_id"]) for e in events]
        self.assertEqual(got, [("boot", boot1), ("crash", boot1), ("boot", boot2),
                               ("boot", boot3), ("update", boot3)], events)
        b1, crash, b2, b3, update = events
        self.assertIsNone(b1["reason"])
        self.assertEqual(b1["software_version"], "1.0")
        self.assertEqual((crash["process"], crash["pid"], crash["signal"]), ("gatewayd", 4242, 11))
        self.assertEqual(crash["signature"], SIGNATURE)
        self.assertEqual(crash["frames"], FRAMES)
        self.assertEqual((crash["core"], crash["entry"], crash["trace_entry"]),
                         ("stored", CORE_ENTRY, TRACE_ENTRY))
        self.assertEqual(b2["reason"], 0x8000)
        self.assertEqual(b2["reason_name"], "UnknownError (0x8000)")
        self.assertTrue(b2["unexpected"])
        self.assertFalse(b2["boot_loop"])
        self.assertEqual(b3["reason"], 0x0003)
        self.assertFalse(b3["unexpected"])
        self.assertEqual(b3["software_version"], "1.1")
        self.assertEqual((update["from"], update["to"]), ("1.0", "1.1"))
        times = [e["time_ms"] for e in events]
        self.assertEqual(times, sorted(times))

        text = self.ok(d, "timeline")
        lines = text.splitlines()
        self.assertRegex(lines[0], r"^TIME \(UTC\)\s+BOOT\s+EVENT\s+DETAILS$")
        self.assertEqual(len(lines), 6, text)
        self.assertRegex(lines[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ   " + boot1[:8]
                         + r"  boot +first boot seen; version 1\.0$")
        self.assertIn("crash       gatewayd[4242] SIGSEGV sig " + SIGNATURE
                      + " at libgw.so!parse_frame; core stored", lines[2])
        self.assertIn("boot        after UnknownError (0x8000), unexpected; version 1.0",
                      lines[3])
        self.assertIn("*" + boot3[:8], lines[4])
        self.assertIn("boot        after FirmwareUpdate (0x0003); version 1.1", lines[4])
        self.assertIn("update      1.0 -> 1.1", lines[5])

        # --limit keeps the newest; --json after the command is the one before it.
        limited = self.json_of(d, "--json", "timeline", "--limit", "2")
        self.assertEqual([e["kind"] for e in limited["events"]], ["boot", "update"])
        self.assertEqual(limited["total"], 5)
        self.assertIn("(the newest 2 of 5 events)", self.ok(d, "timeline", "--limit=2"))

        crashes = self.json_of(d, "crashes", "--json")
        self.assertEqual(crashes["total"], 1)
        self.assertEqual(crashes["events"], [crash])
        text = self.ok(d, "crashes")
        self.assertIn("gatewayd[4242]", text)
        self.assertIn(SIGNATURE, text)
        self.assertIn("core " + CORE_ENTRY + ", trace " + TRACE_ENTRY, text)
        self.assertIn("    #0 libgw.so!parse_frame\n    #1 libgw.so!on_packet\n", text)

        r = d.ctl("timeline", "--limit", "0")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--limit", r.stderr)

    def test_an_empty_history_says_so(self):
        d = self.daemon().start()
        os.unlink(os.path.join(d.state_dir, "history.jsonl"))
        self.assertEqual(self.ok(d, "crashes"), "No crashes recorded yet.\n")
        self.assertEqual(self.ok(d, "timeline"), "No events recorded yet.\n")


class LoopTest(TimelineTestCase):
    def test_unexpected_reboots_in_a_row_are_a_boot_loop(self):
        d = self.device("1.0", reboot={"loop_count": 3, "loop_minutes": 15}).start()
        for _ in range(2):
            self.crash_free_boot(d)
            d.start()
        self.assertIsNone(d.status()["loops"]["boot_loop"])
        self.assertTrue(all("boot_loop" not in md for md in self.reboot_entries()))
        self.crash_free_boot(d)
        d.start()
        self.assertIn("Boot loop: 3 unexpected reboots within 15 minutes.", d.log())
        loops = d.status()["loops"]
        self.assertEqual(loops["boot_loop"]["unexpected_reboots"], 3)
        self.assertEqual(loops["boot_loop"]["minutes"], 15)
        reboots = self.reboot_entries()
        self.assertEqual(len(reboots), 3, reboots)
        self.assertEqual(reboots[-1]["boot_loop"], {"unexpected_reboots": 3, "minutes": 15})
        self.assertNotIn("boot_loop", reboots[0])
        # The boot's first heartbeat carries boot_loop = 1.
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        beats = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
                 if e["type"] == "linux-metric-report"]
        self.assertTrue(any(m.get("boot_loop") == 1 for m in beats), beats)
        kinds = [e["kind"] for e in self.json_of(d, "timeline", "--json")["events"]]
        self.assertEqual(kinds, ["boot"] * 4 + ["boot-loop"], kinds)
        self.assertIn("boot-loop   3 unexpected reboots within 15 minutes",
                      self.ok(d, "timeline"))

    def test_a_crash_loop_shows_in_status_and_timeline(self):
        d = self.device("1.0").start()
        self.crash(d, loop_crashes=5)
        loops = d.status()["loops"]["crash_loops"]
        self.assertEqual([(c["process"], c["crashes"]) for c in loops], [("gatewayd", 5)])
        kinds = [e["kind"] for e in self.json_of(d, "timeline", "--json")["events"]]
        self.assertEqual(kinds, ["boot", "crash", "crash-loop"])


class DamageTest(TimelineTestCase):
    def test_a_damaged_history_is_skipped_with_a_warning(self):
        d = self.device("1.0")
        os.makedirs(d.state_dir, exist_ok=True)
        path = os.path.join(d.state_dir, "history.jsonl")
        with open(path, "wb") as f:
            f.write(b"\x00\xffgarbage\n{\"kind\": \"boot\"}\n[1, 2]\n{\"kind\":\"crash\",\"time_")
        d.start()
        self.assertIn("damaged lines skipped", d.log())
        events = self.json_of(d, "timeline", "--json")["events"]
        self.assertEqual([e["kind"] for e in events], ["boot"])
        # Rewritten with this boot's event only: the damage is gone.
        with open(path) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(json.loads(lines[0])["boot_id"], boot_id(d))

    def test_a_torn_last_line_is_dropped_at_the_next_append(self):
        d = self.device("1.0").start()
        path = os.path.join(d.state_dir, "history.jsonl")
        with open(path, "a") as f:
            f.write('{"kind":"crash","time_ms":1,"boot_id":"x","process":"gate')
        self.assertEqual(len(self.json_of(d, "timeline", "--json")["events"]), 1)
        self.crash(d)
        with open(path) as f:
            text = f.read()
        self.assertTrue(text.endswith("\n"))
        self.assertEqual([json.loads(line)["kind"] for line in text.splitlines()],
                         ["boot", "crash"])

    def test_a_history_too_large_starts_again(self):
        d = self.device("1.0")
        os.makedirs(d.state_dir, exist_ok=True)
        path = os.path.join(d.state_dir, "history.jsonl")
        with open(path, "w") as f:
            f.write("x" * (300 * 1024))
        d.start()
        self.assertIn("is not a history file", d.log())
        self.assertEqual(len(self.json_of(d, "timeline", "--json")["events"]), 1)
        self.assertLess(os.path.getsize(path), 4096)


if __name__ == "__main__":
    unittest.main()
