# SPDX-License-Identifier: MIT
"""Failure kinds, "not just crashes" (docs/hours.md, "Failure kinds"), through the real faultd and
the real receiver: a failure recorded by `faultctl report-failure` and by a syslog line that a
`logs.failures` rule matches makes its heartbeat interval failure time of its kind, the heartbeat
says so in operational_failures/KIND and operational_failurefree_hours/KIND, and the fleet report
shows % stable per failure kind and version beside the crash-based figure. Times are scaled:
heartbeat intervals of 4 s instead of an hour."""
import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (FAULTD, RECEIVER, DaemonTestCase, Receiver,  # noqa: E402
                     skip_under_valgrind, wait_for)

HAVE_LOGS = os.environ.get("HAVE_LOGS", "1") == "1"
INTERVAL = 4  # seconds: one heartbeat interval
MS_PER_HOUR = 3600000.0
WIFI_RULE = "wifi_disconnect identifier:wpa_supplicant message:CTRL-EVENT-DISCONNECTED"


def heartbeats(rx, version):
    """The metrics of the heartbeats of version at the receiver that end an hours interval, in
    the order of the intervals."""
    out = []
    for e in rx.entries():
        m = e["manifest"]
        if (e["type"] == "linux-metric-report" and m["device"]["software_version"] == version
                and m["metadata"]["metrics"]["operational_hours"] > 0):
            out.append((m["collection_time"]["uptime_ms"], m["metadata"]["metrics"]))
    return [metrics for _, metrics in sorted(out, key=lambda t: t[0])]


def failure_keys(metrics):
    return {k: v for k, v in metrics.items() if k.startswith("operational_fail")}


@skip_under_valgrind("its intervals last seconds")
@unittest.skipUnless(HAVE_LOGS, "faultd is built without the logs plugin")
class FailureKindsTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, version="1.0", failures=(WIFI_RULE,), **config):
        base = {"heartbeat_interval_seconds": INTERVAL,
                "hours": {"checkpoint_interval_seconds": 1},
                "device": {"serial": "gw-1", "software_version": version},
                "logs": {"syslog_listen": "udp:127.0.0.1:0", "journal": "off", "kmsg": "off",
                         "flush_interval_seconds": 1, "max_lines_per_minute": 0,
                         "min_level": "debug", "failures": list(failures)}}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def syslog(self, d, *lines):
        status = d.plugin_status("logs")["sources"]["syslog"]
        host, port = status["listen"][len("udp:"):].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for line in lines:
            s.sendto(line, (host, int(port)))
        s.close()

    def report(self):
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir, "--json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {row["software_version"]: row for row in json.loads(r.stdout)["versions"]}

    def wait_heartbeats(self, d, version, n):
        def enough():
            self.ok(d, "sync")
            return len(heartbeats(self.rx, version)) >= n
        wait_for(enough, timeout=10 * INTERVAL * n, interval=0.3,
                 what=f"{n} heartbeats of {version}\n{d.log()}")
        return heartbeats(self.rx, version)

    def test_failure_kinds_reach_the_fleet_report(self):
        d = self.device().start()
        # All early in the first interval: by hand, and by two log lines the rule matches (and
        # one it does not: another identifier).
        out = self.ok(d, "report-failure", "sensor_read")
        self.assertIn("Failure sensor_read counted", out)
        self.syslog(d, b"<4>wpa_supplicant[311]: wlan0: CTRL-EVENT-DISCONNECTED bssid=aa reason=3",
                    b"<4>wpa_supplicant[311]: wlan0: CTRL-EVENT-DISCONNECTED bssid=aa reason=4",
                    b"<4>gatewayd[12]: wlan0: CTRL-EVENT-DISCONNECTED is only quoted here")
        wait_for(lambda: d.plugin_status("logs")["sources"]["syslog"]["kept"] >= 3, timeout=10,
                 what="three syslog lines kept")
        hours = json.loads(self.ok(d, "--json", "status"))["data"]["hours"]
        self.assertEqual(hours["operational_failures"], {"sensor_read": 1, "wifi_disconnect": 2},
                         hours)
        rules = d.plugin_status("logs")["rules"]["failures"]
        self.assertEqual(rules, [{"rule": WIFI_RULE, "reported": 2}])

        beats = self.wait_heartbeats(d, "1.0", 4)[:4]
        op = INTERVAL * 1000 / MS_PER_HOUR
        for beat in beats:
            self.assertEqual(beat["operational_hours"], op, beats)
            self.assertEqual(beat["operational_crashfree_hours"], op, beats)
            self.assertEqual(beat["operational_crashes"], 0, beats)
        self.assertEqual(failure_keys(beats[0]), {
            "operational_failures/sensor_read": 1,
            "operational_failurefree_hours/sensor_read": 0,
            "operational_failures/wifi_disconnect": 2,
            "operational_failurefree_hours/wifi_disconnect": 0,
        })
        # The next intervals say nothing of either kind: the report counts them as failure-free.
        for beat in beats[1:]:
            self.assertEqual(failure_keys(beat), {}, beats)

        self.assertEqual(d.stop(), 0)
        row = self.report()["1.0"]
        n = len(heartbeats(self.rx, "1.0"))
        self.assertEqual(row["heartbeats"], n)
        self.assertEqual(row["stable_hours_percent"], 100.0)
        total = row["operational_hours"]
        self.assertAlmostEqual(total, n * op, places=12)
        expected = 100.0 * (1 - op / total)
        self.assertEqual(sorted(row["failure_kinds"]), ["sensor_read", "wifi_disconnect"])
        self.assertEqual(row["failure_kinds"]["sensor_read"]["failures"], 1)
        self.assertEqual(row["failure_kinds"]["wifi_disconnect"]["failures"], 2)
        for kind in ("sensor_read", "wifi_disconnect"):
            k = row["failure_kinds"][kind]
            self.assertEqual(k["failure_hours"], op, row)
            self.assertAlmostEqual(k["stable_hours_percent"], expected, places=9)
        if n == 4:
            self.assertAlmostEqual(row["failure_kinds"]["wifi_disconnect"]["stable_hours_percent"],
                                   75.0, places=9)

        # The text report puts them beside the crash-based figure.
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("  % stable per failure kind: sensor_read ", r.stdout)
        self.assertIn(" (2 failures)", r.stdout)

    def test_no_failure_is_counted_without_consent(self):
        d = self.device(enable_data_collection=False).start()
        r = d.ctl("report-failure", "sensor_read")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("data collection is disabled: the failure sensor_read is not counted",
                      r.stderr)
        hours = json.loads(self.ok(d, "--json", "status"))["data"]["hours"]
        self.assertNotIn("operational_failures", hours)

    def test_a_bad_kind_is_refused_naming_it(self):
        d = self.device().start()
        for bad in ("WiFi", "_other", "wifi-down", "x" * 33):
            with self.subTest(kind=bad):
                r = d.ctl("report-failure", bad)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(f"report-failure: KIND: expected 1 to 32 of [a-z0-9_], beginning "
                              f"with a letter or a digit, got '{bad}'", r.stderr)
        r = d.ctl("report-failure")
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected KIND", r.stderr)
        # faultd checks it too, for clients other than faultctl.
        for args in ({"kind": "Bad\nKind"}, {"kind": 7}, {}):
            with self.subTest(args=args):
                reply = d.request("report-failure", args)
                self.assertFalse(reply["ok"], reply)
                self.assertEqual(reply["errno"], "EINVAL", reply)
                self.assertIn("\"kind\": expected 1 to 32 of [a-z0-9_]", reply["error"], reply)
        self.assertIn('got "Bad?Kind"', d.request("report-failure", {"kind": "Bad\nKind"})["error"])
        hours = json.loads(self.ok(d, "--json", "status"))["data"]["hours"]
        self.assertNotIn("operational_failures", hours)

    def test_a_bad_failures_rule_names_the_key_the_item_and_why(self):
        d = self.device(failures=[WIFI_RULE, "WiFi message:down", "lock_open unit:x",
                                  "sensor_read message:ab(c"])
        r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("logs.failures: item 2: at byte 0: expected a failure kind of 1 to 32 of "
                      "[a-z0-9_], beginning with a letter or a digit, got \"WiFi message:down\"",
                      r.stderr)
        self.assertIn("logs.failures: item 3: expected message:PATTERN, got \"lock_open unit:x\"",
                      r.stderr)
        self.assertIn("logs.failures: item 4: bad pattern at byte 24: missing closing "
                      "parenthesis", r.stderr)
        self.assertNotIn("item 1", r.stderr)


if __name__ == "__main__":
    unittest.main()
