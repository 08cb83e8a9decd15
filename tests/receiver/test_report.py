#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of `faultd-receiver report`, the fleet stable-hours report.

The arithmetic (fleet_report, stable_percent, format_report) is tested on synthetic entry
dicts shaped like load_entries' answer; the command is run as a subprocess on a receiver
directory written the way the receiver writes one (entries/<uuid>/manifest.json and
index.jsonl). The script is tests/receiver/faultd-receiver, or the program in $RECEIVER.
"""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.environ.get("RECEIVER") or os.path.join(HERE, "faultd-receiver")


def load_receiver():
    loader = importlib.machinery.SourceFileLoader("faultd_receiver", RECEIVER)
    spec = importlib.util.spec_from_loader("faultd_receiver", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


fr = load_receiver()


def manifest(kind, version, serial, metadata):
    return {
        "schema_version": 1,
        "collection_time": {"timestamp": "2026-11-21T10:00:00.123Z", "uptime_ms": 1000,
                            "linux_boot_id": "48af0b97-79c3-4e95-ba80-8c436b4b9e8f",
                            "elapsed_realtime_ms": 1000, "boot_count": 0},
        "device": {"project_key": "dev-key", "hardware_version": "gw-a",
                   "software_version": version, "software_type": "gateway",
                   "device_serial": serial},
        "producer": {"id": "faultd", "version": "0.1.0", "os_name": "Linux",
                     "os_version": "6.1.0"},
        "type": kind,
        "metadata": metadata,
    }


def entry(kind, version, serial, metadata, uuid=None):
    m = manifest(kind, version, serial, metadata)
    return {"uuid": uuid or str(uuidlib.uuid4()), "type": kind, "batch": 1, "received": 0.0,
            "manifest": m, "attachments": {}}


def heartbeat(version, serial, op, crashfree, crashes=None, uuid=None, **extra):
    metrics = {"operational_hours": op, "operational_crashfree_hours": crashfree}
    if crashes is not None:
        metrics["operational_crashes"] = crashes
    metrics.update(extra)
    return entry("linux-metric-report", version, serial,
                 {"metrics": metrics, "duration_ms": 3600000, "report_type": "heartbeat"}, uuid)


def reboot(version, serial, reason, uuid=None):
    return entry("linux-reboot", version, serial, {"reason": reason}, uuid)


def row(report, version, software_type="gateway"):
    for r in report["versions"]:
        if r["software_version"] == version and r["software_type"] == software_type:
            return r
    raise AssertionError(f"no row for version {version!r} in {report['versions']}")


def table_row(lines, name):
    """The first line of the table for a version (or "all versions", "all types")."""
    for line in lines:
        if line.startswith(name + " "):
            return line
    raise AssertionError(f"no row {name!r} in {lines}")


class StablePercent(unittest.TestCase):
    def test_formula(self):
        self.assertAlmostEqual(fr.stable_percent(500000, 1500), 99.7, delta=1e-9)
        self.assertEqual(fr.stable_percent(22, 22), 0.0)
        self.assertEqual(fr.stable_percent(20, 4), 80.0)
        self.assertEqual(fr.stable_percent(10, 0), 100.0)

    def test_no_operational_hours_is_none(self):
        self.assertIsNone(fr.stable_percent(0, 0))
        self.assertIsNone(fr.stable_percent(0.0, 3))

    def test_natural_version_order(self):
        versions = ["1.10", "1.9", "10.0", "1.2-rc1", "2.0", "1.2", "1.0.1"]
        self.assertEqual(sorted(versions, key=fr.natural_key),
                         ["1.0.1", "1.2", "1.2-rc1", "1.9", "1.10", "2.0", "10.0"])


class FleetArithmetic(unittest.TestCase):
    def test_textbook_fleet_99_7_percent(self):
        # 10,000 devices x 10 h/day x 5 days = 500,000 h; 1,500 heartbeats lost one hour each.
        entries = []
        for d in range(10000):
            serial = f"gw-{d:05d}"
            for day in range(5):
                crashfree = 9 if (d * 5 + day) < 1500 else 10
                entries.append(heartbeat("2.4.0", serial, 10, crashfree,
                                         crashes=1 if crashfree == 9 else 0,
                                         uuid=f"{d:08d}-0000-4000-8000-{day:012d}"))
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], 0)
        self.assertEqual(len(report["versions"]), 1)
        r = row(report, "2.4.0")
        self.assertEqual(r["devices"], 10000)
        self.assertEqual(r["heartbeats"], 50000)
        self.assertEqual(r["operational_hours"], 500000)
        self.assertEqual(r["crash_hours"], 1500)
        self.assertEqual(r["crashes"], 1500)
        self.assertEqual(round(r["stable_hours_percent"], 1), 99.7)
        self.assertAlmostEqual(r["stable_hours_percent"], 99.7, delta=1e-9)
        self.assertEqual(report["total"]["stable_hours_percent"], r["stable_hours_percent"])
        self.assertTrue(table_row(fr.format_report(report), "2.4.0").endswith(" 99.7"))

    def test_versions_are_separate_and_totalled(self):
        entries = [
            # 1.0: 22 of 22 hours crashed.
            heartbeat("1.0", "a", 12, 0, crashes=5),
            heartbeat("1.0", "b", 10, 0, crashes=2),
            # 1.1: 4 crash hours of 20.
            heartbeat("1.1", "a", 10, 7, crashes=1),
            heartbeat("1.1", "c", 10, 9),
        ]
        report = fr.fleet_report(entries)
        self.assertEqual([r["software_version"] for r in report["versions"]], ["1.0", "1.1"])
        old, new, total = row(report, "1.0"), row(report, "1.1"), report["total"]
        self.assertEqual((old["operational_hours"], old["crash_hours"]), (22, 22))
        self.assertEqual(old["stable_hours_percent"], 0.0)
        self.assertEqual(old["crashes"], 7)
        self.assertEqual(old["devices"], 2)
        self.assertEqual((new["operational_hours"], new["crash_hours"]), (20, 4))
        self.assertAlmostEqual(new["stable_hours_percent"], 80.0, delta=1e-9)
        self.assertEqual(new["crashes"], 1)         # an absent operational_crashes is 0
        self.assertEqual(new["devices"], 2)
        self.assertEqual((total["operational_hours"], total["crash_hours"]), (42, 26))
        self.assertAlmostEqual(total["stable_hours_percent"], 100 * (1 - 26 / 42), delta=1e-9)
        self.assertEqual(total["devices"], 3)       # "a" runs both versions: counted once
        self.assertEqual(total["crashes"], 8)
        lines = fr.format_report(report)
        self.assertTrue(table_row(lines, "1.0").endswith(" 0.0"), lines)
        self.assertTrue(table_row(lines, "1.1").endswith(" 80.0"), lines)
        self.assertTrue(lines[-1].startswith("all versions") and lines[-1].endswith(" 38.1"))
        self.assertEqual(table_row(lines, "1.0").split()[2:4], ["22.00", "22.00"])

    def test_versions_sort_naturally(self):
        entries = [heartbeat(v, "a", 1, 1) for v in ("1.10", "1.9", "2.0", "1.10")]
        report = fr.fleet_report(entries)
        self.assertEqual([r["software_version"] for r in report["versions"]],
                         ["1.9", "1.10", "2.0"])
        self.assertEqual(row(report, "1.10")["heartbeats"], 2)

    def test_reboots_by_reason(self):
        entries = [
            reboot("3.0", "a", 0x8008),
            reboot("3.0", "a", 0x8008),
            reboot("3.0", "b", 0x8008),
            reboot("3.0", "b", 0x8005),
            reboot("3.0", "c", {"unexpected": True, "name": "Overheat"}),
            reboot("3.0", "c", 0x8123),                 # not in the spec's table
            reboot("3.0", "a", 0x0003),
            reboot("3.0", "a", 0x0001),
            reboot("3.0", "d", 0x0003),
            reboot("3.0", "d", {"unexpected": False, "name": "Maintenance"}),
            reboot("3.0", "d", 0x0042),
            reboot("3.1", "a", 0x800A),
            heartbeat("3.1", "e", 5, 5),
        ]
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], 0)
        r = row(report, "3.0")
        self.assertEqual(r["reboots"], {"expected": 5, "unexpected": 6})
        self.assertEqual(r["unexpected_reboots_by_reason"],
                         {"KernelPanic": 3, "!Overheat": 1, "0x8123": 1, "HardwareWatchdog": 1})
        self.assertEqual(list(r["unexpected_reboots_by_reason"])[0], "KernelPanic")
        self.assertEqual(r["expected_reboots_by_reason"],
                         {"FirmwareUpdate": 2, "0x0042": 1, "Maintenance": 1, "UserShutdown": 1})
        self.assertEqual(r["devices"], 4)               # a, b, c, d; a's reboots count once
        self.assertIsNone(r["stable_hours_percent"])    # reboots only, no heartbeat
        r31 = row(report, "3.1")
        self.assertEqual(r31["devices"], 2)
        self.assertEqual(r31["unexpected_reboots_by_reason"], {"OutOfMemory": 1})
        total = report["total"]
        self.assertEqual(total["devices"], 5)
        self.assertEqual(total["reboots"], {"expected": 5, "unexpected": 7})
        self.assertEqual(total["unexpected_reboots_by_reason"]["KernelPanic"], 3)
        lines = fr.format_report(report)
        self.assertIn("  unexpected: KernelPanic 3, !Overheat 1, 0x8123 1, HardwareWatchdog 1",
                      lines)
        self.assertIn("  unexpected: OutOfMemory 1", lines)
        self.assertTrue(table_row(lines, "3.0").endswith(" -"), lines)

    def test_other_entry_types_are_ignored(self):
        entries = [
            entry("elf-coredump", "1.0", "a",
                  {"coredump_file_name": "core-48af0b97-79c3-4e95-ba80-8c436b4b9e8f.elf"}),
            entry("device-config", "1.0", "a", {"revision": 2}),
            heartbeat("1.0", "b", 2, 2),
        ]
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], 0)
        self.assertEqual(row(report, "1.0")["devices"], 1)

    def test_bad_input_is_skipped_and_counted(self):
        good = heartbeat("1.0", "ok", 10, 8)
        not_a_dict = entry("linux-metric-report", "1.0", "x", {})
        not_a_dict["manifest"] = ["not", "an", "object"]
        unreadable = dict(good, uuid="u-unreadable", manifest=None, type=None)
        bad = {
            "u-missing": heartbeat("1.0", "b1", 10, None),
            "u-string": heartbeat("1.0", "b2", "10", 9),
            "u-negative-op": heartbeat("1.0", "b3", -5, -6),
            "u-negative-crashfree": heartbeat("1.0", "b4", 5, -1),
            "u-bool": heartbeat("1.0", "b5", True, 1),
            "u-nan": heartbeat("1.0", "b6", float("nan"), 1),
            "u-huge": heartbeat("1.0", "b7", 10 ** 400, 1),
            "u-crashes": heartbeat("1.0", "b8", 1, 1, crashes="many"),
            "u-negative-crashes": heartbeat("1.0", "b9", 1, 1, crashes=-1),
            "u-not-a-dict": not_a_dict,
            "u-unreadable": unreadable,
            "u-metrics": entry("linux-metric-report", "1.0", "c1",
                               {"metrics": [1], "duration_ms": 1, "report_type": "heartbeat"}),
            "u-no-metadata": entry("linux-metric-report", "1.0", "c2", None),
            "u-not-heartbeat": entry("linux-metric-report", "1.0", "c3",
                                     {"metrics": {}, "duration_ms": 1, "report_type": "daily"}),
            "u-no-version": heartbeat(None, "c4", 1, 1),
            "u-no-serial": heartbeat("1.0", 42, 1, 1),
            "u-reason-string": reboot("1.0", "r1", "KernelPanic"),
            "u-reason-negative": reboot("1.0", "r2", -1),
            "u-reason-bool": reboot("1.0", "r3", True),
            "u-reason-custom": reboot("1.0", "r4", {"unexpected": "yes", "name": "X"}),
            "u-reason-empty": reboot("1.0", "r5", {"unexpected": True, "name": ""}),
            "u-reason-missing": entry("linux-reboot", "1.0", "r6", {}),
        }
        del bad["u-missing"]["manifest"]["metadata"]["metrics"]["operational_crashfree_hours"]
        bad["u-no-version"]["manifest"]["device"].pop("software_version")
        for uuid, e in bad.items():
            e["uuid"] = uuid
        entries = [good] + list(bad.values()) + ["not an entry"]
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], len(bad) + 1)
        warned = [uuid for uuid, _ in report["warnings"]]
        self.assertEqual(warned, list(bad) + ["?"])
        self.assertTrue(all(why.startswith("skipped: ") for _, why in report["warnings"]))
        self.assertEqual(len(report["versions"]), 1)
        r = row(report, "1.0")
        self.assertEqual((r["devices"], r["heartbeats"]), (1, 1))
        self.assertEqual((r["operational_hours"], r["crash_hours"]), (10, 2))
        self.assertAlmostEqual(r["stable_hours_percent"], 80.0, delta=1e-9)
        self.assertEqual(r["reboots"], {"expected": 0, "unexpected": 0})
        lines = fr.format_report(report)
        self.assertIn(f"skipped {len(bad) + 1} unusable entries (warnings on stderr)", lines)
        json.dumps(report, allow_nan=False)     # nothing unrepresentable reaches the output

    def test_crashfree_above_operational_counts_zero_crash_hours(self):
        entries = [heartbeat("1.0", "a", 10, 12, uuid="u-over"), heartbeat("1.0", "b", 10, 5)]
        report = fr.fleet_report(entries)
        self.assertEqual((report["skipped"], report["clamped"]), (0, 1))
        self.assertEqual(report["warnings"][0][0], "u-over")
        r = row(report, "1.0")
        self.assertEqual((r["operational_hours"], r["crash_hours"]), (20, 5))
        self.assertEqual(r["stable_hours_percent"], 75.0)

    def test_software_types_are_grouped(self):
        hub = heartbeat("1.0", "hub-1", 10, 5, crashes=1)
        hub["manifest"]["device"]["software_type"] = "hub"
        entries = [heartbeat("1.0", "gw-1", 10, 10), heartbeat("2.0", "gw-1", 10, 9), hub,
                   reboot("1.0", "gw-1", 0x8008)]
        report = fr.fleet_report(entries)
        self.assertEqual([(r["software_type"], r["software_version"]) for r in report["versions"]],
                         [("gateway", "1.0"), ("gateway", "2.0"), ("hub", "1.0")])
        gateway, hubs = report["software_types"]
        self.assertEqual((gateway["software_type"], gateway["operational_hours"],
                          gateway["crash_hours"], gateway["devices"]), ("gateway", 20, 1, 1))
        self.assertEqual((hubs["software_type"], hubs["stable_hours_percent"]), ("hub", 50.0))
        self.assertEqual(row(report, "1.0", "hub")["crashes"], 1)
        self.assertEqual(row(report, "1.0")["stable_hours_percent"], 100.0)
        self.assertEqual((report["total"]["operational_hours"], report["total"]["devices"]),
                         (30, 2))
        lines = fr.format_report(report)
        self.assertEqual(lines[0], "software type gateway")
        self.assertIn("software type hub", lines)
        self.assertEqual(lines[lines.index("software type hub") - 1], "")
        self.assertEqual(table_row(lines, "all types").split()[-1], "80.0")
        self.assertEqual(sum(line.startswith("all versions") for line in lines), 2)
        self.assertTrue(set(lines[-3]) == {"="}, lines)

    def test_crashed_processes_come_from_the_crash_counters(self):
        entries = [heartbeat("1.0", "a", 1, 0, crashes=3, **{"coredump/crashes/gatewayd": 2,
                                                             "coredump/crashes/modemd": 1}),
                   heartbeat("1.0", "b", 1, 1, **{"coredump/crashes/gatewayd": 1,
                                                  "coredump/crashes/bad": "x",
                                                  "coredump/crashes/neg": -1,
                                                  "coredump/crashes/": 4,
                                                  "coredump/crashes/zero": 0}),
                   heartbeat("2.0", "a", 1, 1, **{"coredump/crashes/gatewayd": 0.5})]
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], 0)
        self.assertEqual(row(report, "1.0")["crashed_processes"], {"gatewayd": 3, "modemd": 1})
        self.assertEqual(list(row(report, "1.0")["crashed_processes"]), ["gatewayd", "modemd"])
        self.assertEqual(row(report, "2.0")["crashed_processes"], {"gatewayd": 0.5})
        self.assertEqual(report["total"]["crashed_processes"], {"gatewayd": 3.5, "modemd": 1})
        lines = fr.format_report(report)
        self.assertIn("  crashed processes: gatewayd 3, modemd 1", lines)
        self.assertIn("  crashed processes: gatewayd 0.5", lines)

    def test_stable_per_failure_kind_beside_the_crash_figure(self):
        wifi = {"operational_failures/wifi_disconnect": 2,
                "operational_failurefree_hours/wifi_disconnect": 0}
        entries = [heartbeat("1.0", "a", 1, 1, **wifi),
                   heartbeat("1.0", "a", 1, 0, crashes=1, **{
                       "operational_failures/sensor_read": 1,
                       "operational_failurefree_hours/sensor_read": 0}),
                   heartbeat("1.0", "b", 1, 1),
                   heartbeat("1.0", "b", 1, 1, **wifi),
                   heartbeat("2.0", "a", 2, 2)]
        report = fr.fleet_report(entries)
        self.assertEqual(report["skipped"], 0)
        r = row(report, "1.0")
        self.assertEqual(r["stable_hours_percent"], 75.0)
        self.assertEqual(r["failure_kinds"], {
            "sensor_read": {"failures": 1, "failure_hours": 1.0, "stable_hours_percent": 75.0},
            "wifi_disconnect": {"failures": 4, "failure_hours": 2.0,
                                "stable_hours_percent": 50.0},
        })
        # A version whose heartbeats never named a kind has no figure for it.
        self.assertEqual(row(report, "2.0")["failure_kinds"], {})
        # All versions: heartbeats without the kind count as free of it.
        self.assertEqual(report["total"]["failure_kinds"]["wifi_disconnect"]
                         ["stable_hours_percent"], 100 * (1 - 2 / 6))
        lines = fr.format_report(report)
        self.assertIn("  % stable per failure kind: sensor_read 75.0 (1 failure), "
                      "wifi_disconnect 50.0 (4 failures)", lines)

    def test_failure_metrics_are_checked_strictly(self):
        def check(**metrics):
            md = {"metrics": dict({"operational_hours": 1.0,
                                   "operational_crashfree_hours": 1.0}, **metrics),
                  "duration_ms": 1, "report_type": "heartbeat"}
            fr.check_metric_report(md, "metadata")

        check(**{"operational_failures/wifi": 1, "operational_failurefree_hours/wifi": 0.0})
        check(**{"operational_failures/_other": 3, "operational_failurefree_hours/_other": 0})
        bad = [
            ({"operational_failures/wifi": 1}, "missing \"operational_failurefree_hours/wifi\""),
            ({"operational_failurefree_hours/wifi": 0}, "missing \"operational_failures/wifi\""),
            ({"operational_failures/WiFi": 1, "operational_failurefree_hours/WiFi": 0},
             "the failure kind \"WiFi\" is not"),
            ({"operational_failures/": 1, "operational_failurefree_hours/": 0},
             "the failure kind \"\" is not"),
            ({"operational_failures/wifi": 0, "operational_failurefree_hours/wifi": 0},
             "expected a whole number of failures of at least 1, got 0"),
            ({"operational_failures/wifi": 1.5, "operational_failurefree_hours/wifi": 0},
             "expected a whole number of failures"),
            ({"operational_failures/wifi": 1, "operational_failurefree_hours/wifi": 2.0},
             "expected 0 to operational_hours (1.0), got 2.0"),
            ({"operational_failures/wifi": 1, "operational_failurefree_hours/wifi": -1},
             "expected 0 to operational_hours"),
        ]
        for metrics, why in bad:
            with self.subTest(metrics=metrics):
                with self.assertRaises(fr.Invalid) as e:
                    check(**metrics)
                self.assertIn(why, str(e.exception))

    def test_a_fleet_that_crashed_never_shows_100(self):
        entries = [heartbeat("1.0", f"d{i}", 1000, 1000) for i in range(999)]
        entries.append(heartbeat("1.0", "unlucky", 1000, 999.99))
        report = fr.fleet_report(entries)
        self.assertTrue(table_row(fr.format_report(report), "1.0").endswith(" 99.999999"))
        self.assertEqual(table_row(fr.format_report(report), "1.0").split()[2:4],
                         ["1000000.00", "0.010"])
        report = fr.fleet_report([heartbeat("1.0", "a", 1000, 0.01)])
        self.assertTrue(table_row(fr.format_report(report), "1.0").endswith(" 0.001"))

    def test_empty(self):
        report = fr.fleet_report([])
        self.assertEqual(report["versions"], [])
        self.assertIsNone(report["total"]["stable_hours_percent"])
        self.assertEqual(report["skipped"], 0)
        lines = fr.format_report(report)
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("version"))
        self.assertIn("no heartbeats or reboots were received", lines[1])


class Command(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="faultd-report-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_receiver(self, *args):
        return subprocess.run([sys.executable, RECEIVER, *args], capture_output=True, text=True,
                              timeout=60)

    def store(self, entries, raw=None):
        """Writes entries like the receiver does: entries/<uuid>/manifest.json, index.jsonl.
        `raw` maps more uuids to manifest.json bytes written as they are."""
        os.makedirs(os.path.join(self.dir, "entries"), exist_ok=True)
        items = [(e["uuid"], e["type"], json.dumps(e["manifest"]).encode()) for e in entries]
        items += [(uuid, None, data) for uuid, data in (raw or {}).items()]
        with open(os.path.join(self.dir, "index.jsonl"), "a") as index:
            for n, (uuid, kind, data) in enumerate(items):
                folder = os.path.join(self.dir, "entries", uuid)
                os.mkdir(folder)
                with open(os.path.join(folder, "manifest.json"), "wb") as f:
                    f.write(data)
                index.write(json.dumps({"uuid": uuid, "type": kind, "batch": 1 + n // 3,
                                        "received": 1700000000.0 + n}) + "\n")

    def fleet(self):
        def uid():
            return str(uuidlib.uuid4())
        return [
            heartbeat("1.10", "gw-1", 10, 9.5, crashes=1, uuid=uid(),
                      **{"coredump/crashes/modemd": 1}),
            heartbeat("1.9", "gw-1", 12, 0, crashes=3, uuid=uid(),
                      **{"coredump/crashes/gatewayd": 3}),
            heartbeat("1.9", "gw-2", 10, 0, uuid=uid()),
            heartbeat("1.10", "gw-2", 10, 10, uuid=uid()),
            reboot("1.9", "gw-1", 0x8008, uuid=uid()),
            reboot("1.9", "gw-2", 0x8008, uuid=uid()),
            reboot("1.9", "gw-2", {"unexpected": True, "name": "Overheat"}, uuid=uid()),
            reboot("1.10", "gw-3", 0x0003, uuid=uid()),
        ]

    def test_table(self):
        self.store(self.fleet())
        r = self.run_receiver("report", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "software type gateway")
        self.assertEqual(lines[1].split(), ["version", "devices", "op", "hours", "crash", "hours",
                                            "crashes", "unexpected", "reboots", "stable", "%"])
        self.assertEqual(lines[2].split(), ["1.9", "2", "22.00", "22.00", "3", "3", "0.0"])
        self.assertEqual(lines[3], "  unexpected: KernelPanic 2, !Overheat 1")
        self.assertEqual(lines[4], "  crashed processes: gatewayd 3")
        self.assertEqual(lines[5].split(), ["1.10", "3", "20.00", "0.50", "1", "0", "97.5"])
        self.assertEqual(lines[6], "  crashed processes: modemd 1")
        self.assertTrue(set(lines[7]) == {"-"})
        self.assertEqual(lines[8].split(), ["all", "versions", "3", "42.00", "22.50", "4", "3",
                                            "46.4"])
        self.assertEqual(lines[9], "  unexpected: KernelPanic 2, !Overheat 1")
        self.assertEqual(lines[10], "  crashed processes: gatewayd 3, modemd 1")
        self.assertEqual(len(lines), 11)
        widths = {len(line) for line in lines[1:3] + lines[5:6] + lines[7:9]}
        self.assertEqual(len(widths), 1, lines)          # fixed-width columns

    def test_json(self):
        self.store(self.fleet(), raw={"0badbad0-0000-4000-8000-000000000000": b"{not json"})
        r = self.run_receiver("report", "--dir", self.dir, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(set(out), {"versions", "software_types", "total", "skipped", "clamped"})
        self.assertEqual([t["software_type"] for t in out["software_types"]], ["gateway"])
        self.assertEqual(out["software_types"][0]["operational_hours"], 42)
        self.assertEqual([v["software_version"] for v in out["versions"]], ["1.9", "1.10"])
        v19, v110 = out["versions"]
        self.assertEqual(v19["stable_hours_percent"], 0.0)
        self.assertEqual(v110["stable_hours_percent"], 97.5)
        self.assertEqual(v19["reboots"], {"expected": 0, "unexpected": 3})
        self.assertEqual(v19["software_type"], "gateway")
        self.assertEqual(v19["crashed_processes"], {"gatewayd": 3})
        self.assertEqual(v110["expected_reboots_by_reason"], {"FirmwareUpdate": 1})
        self.assertEqual(out["total"]["crash_hours"], 22.5)
        self.assertEqual(out["total"]["stable_hours_percent"], 100 * (1 - 22.5 / 42))
        self.assertNotIn("software_version", out["total"])
        self.assertEqual(out["skipped"], 1)
        self.assertIn("0badbad0-0000-4000-8000-000000000000", r.stderr)
        self.assertIn("skipped", r.stderr)

    def test_skipped_heartbeat_warns_on_stderr(self):
        broken = heartbeat("1.0", "gw-9", "ten", 1, uuid="11111111-2222-4333-8444-555555555555")
        self.store([broken, heartbeat("1.0", "gw-1", 4, 3, uuid=str(uuidlib.uuid4()))])
        r = self.run_receiver("report", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("11111111-2222-4333-8444-555555555555", r.stderr)
        self.assertIn("operational_hours", r.stderr)
        self.assertIn("skipped 1 unusable entry", r.stdout)
        self.assertEqual(table_row(r.stdout.splitlines(), "1.0").split()[-1], "75.0")

    def test_empty_directory(self):
        r = self.run_receiver("report", "--dir", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith("version"))
        self.assertIn("no heartbeats or reboots were received", lines[1])
        r = self.run_receiver("report", "--dir", self.dir, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["versions"], out["skipped"]), ([], 0))
        self.assertIsNone(out["total"]["stable_hours_percent"])

    def test_missing_directory(self):
        missing = os.path.join(self.dir, "nope")
        for extra in ((), ("--json",)):
            r = self.run_receiver("report", "--dir", missing, *extra)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout, "")
            self.assertIn(f"{missing}: no such directory", r.stderr)

    def test_help_mentions_report(self):
        r = self.run_receiver("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("report", r.stdout)
        r = self.run_receiver("report", "--help")
        self.assertIn("100 x (1 - crash hours / operational hours)", " ".join(r.stdout.split()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
