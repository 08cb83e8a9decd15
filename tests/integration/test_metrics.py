# SPDX-License-Identifier: MIT
"""Metrics end to end: readings from faultctl, statsd, the real collectd and the built-in
collectors, aggregated by the real faultd into heartbeats that reach the real receiver."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (HAVE_COLLECTD, HAVE_STATSD, HAVE_SYSMETRICS, DaemonTestCase,  # noqa: E402
                     Receiver, wait_for)

COLLECTD = shutil.which("collectd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


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
        # Only the readings a test makes, unless it asks for the built-in collectors.
        if HAVE_SYSMETRICS:
            base["sysmetrics"] = {"enabled": False}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

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
            # An unknown KIND is named as such (it used to read "VALUE is not a finite number").
            (("ok=1", "x=1:meter"), "reading 2 (\"x=1:meter\"): KIND \"meter\" is unknown; KIND "
             "is counter (c), gauge (g), histogram (h, ms, timer, d) or set (s)"),
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
        # All or nothing, kinds included, also within one call.
        r = d.ctl("write-metric", "a=1:counter", "b=2:counter", "a=3:gauge", "c=4:counter")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("reading 3: \"a\" already holds another kind", r.stderr)
        # Names the heartbeat holds itself are never taken from a reading.
        out = self.ok(d, "write-metric", "operational_hours=99999", "faultd/spool_drops=0",
                      "fine=1")
        self.assertIn("Recorded 1 reading; not kept: 0 over metrics.max_keys, 2 with a name "
                      "reserved", out)
        m = self.heartbeat(d)
        self.assertEqual(m["k"], 1)
        self.assertEqual(m["fine"], 1)
        for key in ("a", "b", "c"):
            self.assertNotIn(key, m)
        self.assertLess(m["operational_hours"], 1)
        self.assertEqual(m["faultd/spool_drops"], 0)
        self.assertEqual(m["faultd/metrics_rejected"], 2)

    def test_key_cap_counts_what_it_refuses(self):
        d = self.device(metrics={"max_keys": 3}).start()
        out = self.ok(d, "write-metric", *[f"k{i}=1:counter" for i in range(5)])
        self.assertIn("Recorded 3 readings; not kept: 2 over metrics.max_keys", out)
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
        # The hours are kept: the odometer goes on from the saved one.
        self.assertGreaterEqual(d.status()["hours"]["odometer_hours"],
                                saved["odometer_ms"] / 3600000.0)


@unittest.skipUnless(HAVE_STATSD, "built without statsd")
class StatsdTest(MetricsTestCase):
    PACKETS = 100_000
    IN_FLIGHT = 2_000  # well below what the socket buffer holds, so the kernel drops nothing

    def send_paced(self, d, sock, addr, datagrams):
        """Sends datagrams, letting faultd catch up every IN_FLIGHT of them."""
        sent = d.plugin_status("statsd")["datagrams"]
        for i, dgram in enumerate(datagrams, 1):
            sock.sendto(dgram, addr)
            if i % self.IN_FLIGHT == 0 or i == len(datagrams):
                target = sent + i
                wait_for(lambda: d.plugin_status("statsd")["datagrams"] >= target,
                         timeout=60, interval=0.01, what=f"faultd to read {target} datagrams")

    def test_known_load_gives_exact_sums(self):
        d = self.device().start()
        addr = d.listen_address("statsd")
        datagrams = []
        for i in range(self.PACKETS):
            lines = [b"hits:1|c", b"bytes:%d|c" % (i % 100)]
            if i % 10 == 0:
                lines.append(b"sampled:1|c|@0.1|#env:test")
            if i % 4 == 0:
                lines.append(b"rtt:%d|ms" % (i % 50))
            if i % 1000 == 0:
                lines.append(b"user:u%d|s" % (i % 7))
            lines.append(b"level:%d|g" % i)
            datagrams.append(b"\n".join(lines))
        # Malformed lines are counted and skipped; the rest of their datagram counts.
        datagrams.append(b"hits:1|c\nno-colon\nbad:1|q\nnan:nan|c\n:1|c\nhits:1|c")
        datagrams.append(b"queue:+5|g\nqueue:-2|g\n_e{5,4}:title|text\nh:3:4:5|h")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            self.send_paced(d, sock, addr, datagrams)
        st = d.plugin_status("statsd")
        self.assertEqual(st["datagrams"], self.PACKETS + 2)
        self.assertEqual(st["malformed"], 4)
        self.assertEqual(st["ignored"], 1)
        self.assertEqual(st["dropped_by_kernel"], 0)

        m = self.heartbeat(d)
        n = self.PACKETS
        self.assertEqual(m["hits"], n + 2)
        self.assertEqual(m["bytes"], sum(i % 100 for i in range(n)))
        self.assertEqual(m["sampled"], (n // 10) * 10)
        rtts = [i % 50 for i in range(0, n, 4)]
        self.assertEqual(m["rtt.count"], len(rtts))
        self.assertEqual(m["rtt.sum"], sum(rtts))
        self.assertEqual((m["rtt.min"], m["rtt.max"]), (0, 48))
        self.assertEqual(m["user"], 7)
        self.assertEqual(m["level"], n - 1)
        self.assertEqual(m["queue"], 3)
        self.assertEqual((m["h.count"], m["h.sum"]), (3, 12))
        self.assertNotIn("faultd/metrics_rejected", m)

    def test_consent_off_reads_and_keeps_nothing(self):
        d = self.device(enable_data_collection=False).start()
        addr = d.listen_address("statsd")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            self.send_paced(d, sock, addr, [b"hits:1|c"] * 10)
        st = d.plugin_status("statsd")
        self.assertEqual(st["not_collected"], 10)
        self.assertEqual(d.status()["hours"]["metrics"]["keys"], 0)


COLLECTD_CONF = """
Interval 1
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "{plugindir}"
TypesDB "{typesdb}"
AutoLoadPlugin false
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/collectd.log"
</Plugin>
LoadPlugin cpu
LoadPlugin load
LoadPlugin memory
LoadPlugin interface
LoadPlugin uptime
LoadPlugin write_http
<Plugin write_http>
  <Node "faultd">
    URL "http://{host}:{port}/v1/collectd"
    Format "JSON"
    StoreRates {store_rates}
    BufferSize 4096
    Timeout 5000
  </Node>
</Plugin>
"""


@unittest.skipUnless(HAVE_COLLECTD, "built without collectd intake")
@unittest.skipUnless(COLLECTD, "collectd is not installed (Debian: collectd-core)")
class CollectdTest(MetricsTestCase):
    """The real collectd from Debian posting to faultd with write_http."""

    def run_collectd(self, d, store_rates):
        host, port = d.listen_address("collectd")
        cdir = tempfile.mkdtemp(prefix="faultd-collectd-")
        self.addCleanup(shutil.rmtree, cdir, True)
        conf = os.path.join(cdir, "collectd.conf")
        with open(conf, "w") as f:
            f.write(COLLECTD_CONF.format(dir=cdir, plugindir="/usr/lib/collectd",
                                         typesdb="/usr/share/collectd/types.db", host=host,
                                         port=port, store_rates=str(store_rates).lower()))
        proc = subprocess.Popen([COLLECTD, "-f", "-C", conf], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def stop():
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        return proc, cdir

    def check_heartbeat(self, d, cdir):
        def counted(n):
            st = d.plugin_status("collectd")
            return st.get("value_lists_accepted", 0) >= n and st
        try:
            st = wait_for(lambda: counted(40), timeout=30, interval=0.2,
                          what="collectd's value lists to reach faultd")
        except AssertionError:
            with open(os.path.join(cdir, "collectd.log"), errors="replace") as f:
                raise AssertionError("collectd log:\n" + f.read() + d.log())
        # collectd's cpu plugin dispatches from its second reading on, and a raw counter's first
        # value is only a baseline: a few intervals more, counted in what reached faultd (collectd
        # posts when its 4 KiB buffer fills, so a slow machine stretches the intervals).
        seen = st["value_lists_accepted"]
        st = wait_for(lambda: counted(seen + 80), timeout=30, interval=0.2,
                      what="three more intervals of collectd's values")
        self.assertEqual((st["value_lists_rejected"], st["bad_bodies"]), (0, 0), st)
        m = self.heartbeat(d)
        # cpu: raw jiffies or rates, both reported as the increase over the heartbeat.
        cpu = [k for k in m if k.startswith("cpu/") and k.endswith("/cpu/idle")]
        self.assertTrue(cpu, sorted(m))
        self.assertTrue(all(m[k] >= 0 for k in cpu), {k: m[k] for k in cpu})
        # load: three data sources, named; memory: one per type_instance, lone "value" left out.
        for k in ("load/load/shortterm", "load/load/midterm", "load/load/longterm"):
            self.assertGreaterEqual(m[k], 0)
        self.assertGreater(m["memory/memory/used"], 1 << 20)
        self.assertNotIn("memory/memory/used/value", m)
        self.assertGreater(m["uptime/uptime"], 0)
        rx = [k for k in m if k.startswith("interface/lo/if_octets/")]
        self.assertEqual(sorted(rx), ["interface/lo/if_octets/rx", "interface/lo/if_octets/tx"])
        return m

    def test_write_http_raw_counters(self):
        d = self.device().start()
        proc, cdir = self.run_collectd(d, store_rates=False)
        self.check_heartbeat(d, cdir)

    def test_write_http_rates(self):
        d = self.device(collectd={"store_rates": True}).start()
        proc, cdir = self.run_collectd(d, store_rates=True)
        self.check_heartbeat(d, cdir)


class DevRunTest(unittest.TestCase):
    """`tests/dev run` on this build (FAULTD_DEV_BUILD): a metric written with faultctl reaches
    its receiver, and Ctrl-C (SIGINT to its process group, as a terminal sends it) stops both
    processes with exit status 0."""

    def test_dev_run_metric_then_ctrl_c(self):
        import signal
        import time
        build = os.path.dirname(os.path.dirname(os.environ["FAULTD"]))
        top = os.environ["SOURCE_ROOT"]
        state = tempfile.mkdtemp(prefix="faultd-devrun-")
        self.addCleanup(shutil.rmtree, state, ignore_errors=True)
        env = dict(os.environ, FAULTD_DEV_BUILD=build, FAULTD_DEV_DIR=state)
        err = open(os.path.join(state, "stderr"), "w+")
        self.addCleanup(err.close)
        proc = subprocess.Popen([os.path.join(top, "tests", "dev"), "run"], env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True)

        def stop():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.addCleanup(stop)
        ctl = [os.environ["FAULTCTL"], "--socket", os.path.join(state, "faultd.sock")]

        def answers():
            return subprocess.run(ctl + ["status"], capture_output=True).returncode == 0
        wait_for(lambda: answers() or proc.poll() is not None, timeout=120, interval=0.2,
                 what="faultctl status to answer")
        self.assertIsNone(proc.poll(), open(err.name).read())
        key = f"devrun_probe_{os.getpid()}"
        for args in (["write-metric", f"{key}=42"], ["request-metrics"], ["sync"]):
            r = subprocess.run(ctl + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r)
        listing = subprocess.run([sys.executable, os.environ["RECEIVER"], "list", "--dir",
                                  os.path.join(state, "receiver"), "--json"],
                                 capture_output=True, text=True, check=True).stdout
        self.assertIn(key, listing)

        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        err.seek(0)
        log = err.read()
        self.assertEqual(proc.returncode, 0, log[-2000:])
        self.assertNotIn("unbound variable", log)
        # The banner shows each kind of evidence and the fleet pages; the configuration has a
        # one-minute heartbeat and uploads every 30 s, so a metric written without sync is at
        # the receiver within 90 s.
        for cmd in ("write-metric", "request-metrics", "sync", "write-attributes",
                    "report-crash", "reboot --reason", "--no-reboot", "status",
                    "faultd-receiver list", "faultd-receiver report", "fleet pages"):
            self.assertIn(cmd, out)
        conf = open(os.path.join(state, "faultd.conf")).read()
        self.assertIn('"heartbeat_interval_seconds": 60', conf)
        self.assertIn('"upload_interval_seconds": 30', conf)
        self.assertIn('"coredump": { "enabled": false }', conf)
        # Nothing of the run is left: the receiver and faultd are gone with the script.
        time.sleep(0.2)
        with self.assertRaises(ProcessLookupError):
            os.killpg(proc.pid, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
