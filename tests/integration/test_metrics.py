# SPDX-License-Identifier: MIT
"""Metrics end to end: readings from faultctl, statsd, the real collectd and the built-in
collectors, aggregated by the real faultd into heartbeats that reach the real receiver."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTestCase, Receiver, wait_for  # noqa: E402


def heartbeats(rx):
    """The metrics of every heartbeat the receiver holds, in arrival order."""
    return [e["manifest"]["metadata"]["metrics"] for e in rx.entries()
            if e["type"] == "linux-metric-report"]


class MetricsTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, **config):
        base = {"heartbeat_interval_seconds": 3600,
                "hours": {"checkpoint_interval_seconds": 1}}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def ok(self, d, *args):
        r = d.ctl(*args, timeout=120)
        self.assertEqual(r.returncode, 0, f"faultctl {' '.join(args)}: {r.stdout}{r.stderr}\n"
                         + d.log())
        return r.stdout

    def heartbeat(self, d):
        """Closes the heartbeat in progress, uploads it and returns its metrics."""
        before = len(heartbeats(self.rx))
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        hbs = heartbeats(self.rx)
        self.assertEqual(len(hbs), before + 1, hbs)
        return hbs[-1]


class WriteMetricTest(MetricsTestCase):
    def test_each_kind_aggregates_into_the_heartbeat(self):
        d = self.device(metrics={"gauge_statistics": ["temp*"]}).start()
        self.ok(d, "write-metric", "jobs=3:counter", "jobs=4.5:c", "temp=20", "temp=22.5",
                "temp=21")
        self.ok(d, "write-metric", "latency=10:histogram", "latency=30:ms", "latency=2:h")
        self.ok(d, "write-metric", "users=alice:set", "users=bob:set", "users=alice:s")
        out = self.ok(d, "write-metric", "queue=-4")
        self.assertIn("Recorded 1 reading", out)
        m = self.heartbeat(d)
        self.assertEqual(m["jobs"], 7.5)
        self.assertEqual(m["temp"], 21)
        self.assertEqual((m["temp.min"], m["temp.mean"], m["temp.max"]), (20, 21.16667, 22.5))
        self.assertEqual((m["latency.count"], m["latency.sum"], m["latency.min"],
                          m["latency.max"], m["latency.mean"]), (3, 42, 2, 30, 14))
        self.assertEqual(m["users"], 2)
        self.assertEqual(m["queue"], -4)
        self.assertNotIn("queue.min", m)
        for key in ("operational_hours", "operational_crashfree_hours", "operational_crashes",
                    "faultd/spool_drops"):
            self.assertIn(key, m)

        # The next heartbeat starts empty.
        m = self.heartbeat(d)
        for key in ("jobs", "temp", "latency.count", "users", "queue"):
            self.assertNotIn(key, m)

    def test_bad_readings_are_refused_with_reasons(self):
        d = self.device().start()
        cases = [
            (("x=abc",), "reading 1 (\"x=abc\"): VALUE is not a finite number"),
            (("ok=1", "x=1:meter"), "reading 2 (\"x=1:meter\"): VALUE is not a finite number"),
            (("x=",), "VALUE is empty"),
            (("x=nan",), "not a finite number"),
            (("k" * 129 + "=1",), "NAME is longer than 128 bytes"),
        ]
        for args, message in cases:
            r = d.ctl("write-metric", *args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(message, r.stderr, args)
        r = d.ctl("write-metric", "novalue")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("expected NAME=VALUE[:KIND], got 'novalue'", r.stderr)
        # All or nothing: the good reading before a bad one was not taken.
        self.assertNotIn("ok", self.heartbeat(d))

        # A key keeps its kind within a heartbeat.
        self.ok(d, "write-metric", "k=1:counter")
        r = d.ctl("write-metric", "k=1:gauge")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already holds another kind of metric", r.stderr)
        m = self.heartbeat(d)
        self.assertEqual(m["k"], 1)
        self.assertEqual(m["faultd/metrics_rejected"], 1)

    def test_key_cap_counts_what_it_refuses(self):
        d = self.device(metrics={"max_keys": 3}).start()
        out = self.ok(d, "write-metric", *[f"k{i}=1:counter" for i in range(5)])
        self.assertIn("Recorded 3 readings; 2 not kept", out)
        self.ok(d, "write-metric", "k0=1:counter", "k9=1:counter")
        self.assertEqual(d.status()["hours"]["metrics"]["over_key_cap"], 3)
        m = self.heartbeat(d)
        self.assertEqual((m["k0"], m["k1"], m["k2"]), (2, 1, 1))
        self.assertNotIn("k3", m)
        self.assertEqual(m["faultd/metrics_over_key_cap"], 3)

    def test_consent_off_keeps_nothing(self):
        d = self.device(enable_data_collection=False).start()
        r = d.ctl("write-metric", "x=1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("data collection is disabled", r.stderr)
        self.assertEqual(d.status()["hours"]["metrics"]["keys"], 0)


class CheckpointTest(MetricsTestCase):
    def test_readings_survive_kill9_and_restart(self):
        d = self.device().start()
        self.ok(d, "write-metric", "boots=1:counter", "temp=30", "seen=a:set")
        hours = os.path.join(d.state_dir, "hours.json")

        def saved():
            try:
                with open(hours) as f:
                    keys = json.load(f).get("metrics", {}).get("keys", [])
            except (OSError, ValueError):
                return False
            return {k["key"] for k in keys} >= {"boots", "temp", "seen"}

        wait_for(saved, timeout=10, what="the readings in the checkpoint")
        d.kill()
        d.start()
        self.ok(d, "write-metric", "boots=1:counter", "seen=a:set", "seen=b:set")
        m = self.heartbeat(d)
        self.assertEqual(m["boots"], 2)
        self.assertEqual(m["temp"], 30)
        self.assertEqual(m["seen"], 2)

    def test_damaged_metrics_keep_the_hours(self):
        d = self.device().start()
        self.ok(d, "write-metric", "x=1:counter")
        d.stop()
        hours = os.path.join(d.state_dir, "hours.json")
        with open(hours) as f:
            saved = json.load(f)
        saved["metrics"]["keys"] = [{"key": "x", "kind": "bogus"}]
        with open(hours, "w") as f:
            json.dump(saved, f)
        d.start()
        self.assertIn("metrics of the heartbeat in progress", d.log())
        self.assertFalse(os.path.exists(hours + ".bad"))
        m = self.heartbeat(d)
        self.assertNotIn("x", m)
        self.assertGreater(m["operational_hours"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
