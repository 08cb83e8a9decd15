# SPDX-License-Identifier: MIT
"""The real faultd uploading to the real development receiver over TLS: the spool, batches,
the uploader's status handling and backoff, and what survives kill -9."""
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (PROJECT_KEY, DaemonTestCase, Receiver, scaled, spooled,  # noqa: E402
                     wait_for)


class UploadTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def uploader(self, **config):
        return self.daemon(config=self.rx.daemon_config(**config)).start()

    def attributes(self, d, *items):
        r = d.ctl("write-attributes", *items)
        self.assertEqual(r.returncode, 0, r.stderr + d.log())
        return r.stdout

    def sync(self, d, expect_ok=True):
        r = d.ctl("sync", timeout=120)
        if expect_ok:
            self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}\n{d.log()}\n{self.rx.log()}")
        return r

    def steps(self, step):
        return [q for q in self.rx.stats()["requests"] if q["step"] == step]


class AttributesTest(UploadTestCase):
    def test_attributes_arrive_byte_for_byte(self):
        d = self.uploader()
        out = self.attributes(d, "wifi=true", "rssi=-61", "ratio=0.5", "name=gw 7",
                              'code="042"')
        self.assertRegex(out, r"Recorded 5 attributes as entry [0-9a-f-]{36}\.")
        before = spooled(d)
        self.assertEqual(len(before), 1)
        (uuid, manifest), = before.items()

        r = self.sync(d)
        self.assertIn("Uploaded 1 entry", r.stdout)
        self.assertIn("0 left in the spool", r.stdout)
        self.assertEqual(spooled(d), {})

        held = self.rx.entries()
        self.assertEqual([e["uuid"] for e in held], [uuid])
        with open(os.path.join(self.rx.dir, "entries", uuid, "manifest.json"), "rb") as f:
            self.assertEqual(f.read(), manifest)
        m = held[0]["manifest"]
        self.assertEqual(m["type"], "device-attributes")
        self.assertEqual(m["metadata"], {"attributes": [
            {"string_key": "wifi", "value": True},
            {"string_key": "rssi", "value": -61},
            {"string_key": "ratio", "value": 0.5},
            {"string_key": "name", "value": "gw 7"},
            {"string_key": "code", "value": "042"},
        ]})
        self.assertEqual(m["device"]["project_key"], PROJECT_KEY)
        self.assertEqual(m["device"]["device_serial"], "0123456789abcdef0123456789abcdef")
        self.assertEqual(m["collection_time"]["linux_boot_id"],
                         "48af0b97-79c3-4e95-ba80-8c436b4b9e8f")
        self.assertEqual(held[0]["attachments"], {})

        st = d.status()
        self.assertEqual(st["spool"]["entries"], 0)
        self.assertEqual(st["upload"]["last_attempt"]["result"], "ok")
        self.assertEqual(st["upload"]["last_attempt"]["entries"], 1)
        self.assertIsNone(st["upload"]["next_attempt_in_seconds"])  # interval 0
        # One batch: device-config, prepare, upload, commit.
        self.assertEqual([q["step"] for q in self.rx.stats()["requests"]],
                         ["device-config", "prepare", "put", "commit"])
        self.assertEqual(self.sync(d).stdout.strip(), "Nothing to upload.")

    def test_bad_attributes_are_refused_with_reasons(self):
        d = self.uploader()
        r = d.ctl("write-attributes")
        self.assertEqual(r.returncode, 2)
        r = d.ctl("write-attributes", "novalue")
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected KEY=VALUE, got 'novalue'", r.stderr)
        r = d.ctl("write-attributes", "ok=1", "bad key=1")
        self.assertEqual(r.returncode, 1)
        self.assertIn('attribute 2 ("bad key=1"): expected a key of', r.stderr)
        r = d.ctl("write-attributes", "a=1", "a=2")
        self.assertEqual(r.returncode, 1)
        self.assertIn('key "a" given twice', r.stderr)
        r = d.ctl("write-attributes", "ctl=a\x01b")
        self.assertEqual(r.returncode, 1)
        self.assertIn("printable UTF-8", r.stderr)
        self.assertEqual(spooled(d), {})

    def test_consent_off_records_and_uploads_nothing(self):
        d = self.uploader(enable_data_collection=False)
        r = d.ctl("write-attributes", "a=1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("data collection is disabled", r.stderr)
        r = self.sync(d, expect_ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("data collection is disabled", r.stderr)
        self.assertEqual(spooled(d), {})
        self.assertEqual(self.rx.stats()["requests"], [])


class OutageTest(UploadTestCase):
    def test_receiver_down_entries_survive_restart_then_arrive_once(self):
        # No scheduled retry before the test looks, however slow the run.
        d = self.uploader(upload={"backoff_min_seconds": scaled(60),
                                  "backoff_max_seconds": scaled(120)})
        self.rx.stop()
        for i in range(3):
            self.attributes(d, f"n={i}")
        r = self.sync(d, expect_ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("upload failed", r.stderr)
        st = d.status()
        self.assertEqual(st["spool"]["entries"], 3)
        self.assertEqual(st["upload"]["last_attempt"]["result"], "failed")
        self.assertIsNotNone(st["upload"]["next_attempt_in_seconds"])  # backing off
        self.assertEqual(st["upload"]["consecutive_failures"], 1)

        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(spooled(d)), 3)
        d.start()
        self.assertEqual(d.status()["spool"]["entries"], 3)

        self.rx.start()  # same port
        r = self.sync(d)
        self.assertIn("Uploaded 3 entries", r.stdout)
        self.assertEqual(sorted(e["manifest"]["metadata"]["attributes"][0]["value"]
                                for e in self.rx.entries()), [0, 1, 2])
        self.assertEqual(self.rx.stats()["duplicates"], 0)
        self.assertEqual(d.status()["spool"]["entries"], 0)

    def test_503_storm_backs_off_then_succeeds(self):
        d = self.uploader()
        self.rx.faults({"prepare": [{"status": 503}] * 3})
        self.attributes(d, "storm=1")
        r = self.sync(d, expect_ok=False)
        self.assertIn("HTTP 503", r.stderr)
        # The scheduled retries (1 s doubling, equal jitter) get it through on the 4th try.
        wait_for(lambda: len(self.rx.entries()) == 1, timeout=30, what="the entry to arrive")
        prepares = [q for q in self.steps("prepare")]
        self.assertEqual([q["status"] for q in prepares], [503, 503, 503, 200])
        gaps = [b["t"] - a["t"] for a, b in zip(prepares, prepares[1:])]
        # Failure k waits within [2^(k-1)/2, 2^(k-1)] seconds.
        self.assertGreaterEqual(gaps[0], 0.45)
        self.assertGreaterEqual(gaps[1], 0.95)
        self.assertGreaterEqual(gaps[2], 1.95)
        self.assertLess(gaps[2], 6)
        st = d.status()
        self.assertEqual(st["upload"]["consecutive_failures"], 0)
        self.assertEqual(st["upload"]["last_attempt"]["result"], "ok")

    def check_busy_device_config(self, status):
        # The device configuration answered 429 or 5xx: the cached configuration applies and
        # the batch goes in the same run.
        d = self.uploader()
        self.rx.faults({"device-config": [{"status": status}]})
        self.attributes(d, f"busy={status}")
        self.sync(d)
        self.assertEqual([q["status"] for q in self.steps("device-config")], [status])
        self.assertEqual([q["status"] for q in self.steps("commit")], [200])
        self.assertEqual(len(self.rx.entries()), 1)
        self.assertIn(f"Fetching the device configuration failed (HTTP {status})", d.log())

    def test_a_device_config_answered_429_does_not_stop_the_upload(self):
        self.check_busy_device_config(429)

    def test_a_device_config_answered_503_does_not_stop_the_upload(self):
        self.check_busy_device_config(503)

    def test_retry_after_is_honoured(self):
        d = self.uploader()
        self.rx.faults({"prepare": [{"status": 429, "retry_after": 3}]})
        self.attributes(d, "slow=1")
        self.sync(d, expect_ok=False)
        wait_for(lambda: len(self.rx.entries()) == 1, timeout=20, what="the entry to arrive")
        prepares = self.steps("prepare")
        self.assertEqual([q["status"] for q in prepares], [429, 200])
        self.assertGreaterEqual(prepares[1]["t"] - prepares[0]["t"], 2.9)


class CrashTest(UploadTestCase):
    def test_kill9_before_the_commit_answer_loses_nothing(self):
        d = self.uploader()
        for i in range(5):
            self.attributes(d, f"k={i}")
        # The commit is held long enough to kill faultd while it waits for the answer.
        self.rx.faults({"commit": [{"delay_ms": 3000}]})
        sync = d.ctl_async("sync")
        # The commit is recorded before its delay: the kill lands while faultd waits for it.
        wait_for(lambda: len(self.steps("commit")) == 1, timeout=20, what="the commit")
        d.kill()
        sync.wait(timeout=10)
        self.assertEqual(len(spooled(d)), 5)
        d.start()
        self.assertIn("Uploaded 5 entries", self.sync(d).stdout)
        wait_for(lambda: self.rx.stats()["duplicates"] == 5, timeout=10,
                 what="the delayed commit to be counted")
        held = self.rx.entries()
        self.assertEqual(sorted(e["manifest"]["metadata"]["attributes"][0]["value"]
                                for e in held), [0, 1, 2, 3, 4])
        self.assertEqual(spooled(d), {})

    def test_kill9_during_the_upload_loses_nothing(self):
        d = self.uploader()
        for i in range(3):
            self.attributes(d, f"p={i}")
        self.rx.faults({"put": [{"delay_ms": 3000}]})
        sync = d.ctl_async("sync")
        # The PUT is recorded before its delay: the kill lands while faultd sends or waits.
        wait_for(lambda: len(self.steps("put")) == 1, timeout=20, what="the upload")
        d.kill()
        sync.wait(timeout=10)
        d.start()
        self.assertIn("Uploaded 3 entries", self.sync(d).stdout)
        self.assertEqual(len(self.rx.entries()), 3)
        self.assertEqual(self.rx.stats()["duplicates"], 0)


class TrustTest(UploadTestCase):
    def check_refused(self, certificate, words):
        # No scheduled retry before the sync that follows the fix, however slow the run.
        d = self.uploader(upload={"backoff_min_seconds": scaled(60),
                                  "backoff_max_seconds": scaled(120)})
        self.rx.faults({"certificate": certificate})
        self.attributes(d, "t=1")
        r = self.sync(d, expect_ok=False)
        self.assertEqual(r.returncode, 1)
        for w in words:
            self.assertIn(w, r.stderr)
        st = d.status()
        self.assertEqual(st["upload"]["last_attempt"]["result"], "failed")
        for w in words:
            self.assertIn(w, st["upload"]["last_attempt"]["error"])
        self.assertEqual(st["spool"]["entries"], 1)
        self.assertEqual(self.rx.stats()["requests"], [])  # no request got through TLS
        self.rx.faults({"certificate": "good"})
        self.assertIn("Uploaded 1 entry", self.sync(d).stdout)

    def test_untrusted_certificate_sends_nothing(self):
        self.check_refused("untrusted", ["device-config", "certificate"])

    def test_wrong_host_certificate_sends_nothing(self):
        self.check_refused("wrong-host", ["device-config", "127.0.0.1"])


class RejectTest(UploadTestCase):
    def test_refused_entry_is_dropped_and_counted_the_rest_arrive(self):
        d = self.uploader()
        for item in ("a=1", "b=2", "poison=1", "c=3", "d=4"):
            self.attributes(d, item)
        self.rx.faults({"reject_matching": "poison"})
        r = self.sync(d)
        self.assertIn("Uploaded 4 entries", r.stdout)
        self.assertIn("refused some", r.stdout)
        keys = sorted(e["manifest"]["metadata"]["attributes"][0]["string_key"]
                      for e in self.rx.entries())
        self.assertEqual(keys, ["a", "b", "c", "d"])
        st = d.status()
        self.assertEqual(st["spool"]["entries"], 0)
        self.assertEqual(st["spool"]["drops"]["attributes"]["rejected"], 1)
        self.assertEqual(st["upload"]["last_attempt"]["rejected"], 1)
        self.assertIn("refused entry", d.log())


    def test_refusals_that_are_not_the_batch_s_fault_keep_everything(self):
        # A 404 to the prepare (a wrong base_url path), a redirect of the commit and a 401:
        # retried later, nothing dropped. No scheduled retry before the test looks.
        d = self.uploader(upload={"backoff_min_seconds": scaled(60),
                                  "backoff_max_seconds": scaled(120)})
        for i in range(3):
            self.attributes(d, f"keep={i}")
        for step, status in (("prepare", 404), ("commit", 302), ("prepare", 401),
                             ("put", 403)):
            self.rx.faults({step: [{"status": status}]})
            r = self.sync(d, expect_ok=False)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(f"HTTP {status}", r.stderr)
            st = d.status()
            self.assertEqual(st["spool"]["entries"], 3, (step, status))
            self.assertEqual(st["spool"]["drops_total"], 0)
        self.assertIn("Uploaded 3 entries", self.sync(d).stdout)
        self.assertEqual(len(self.rx.entries()), 3)


class SyncMetricsTest(UploadTestCase):
    def test_sync_reports_and_faultds_own_uploads_reach_the_heartbeat(self):
        d = self.uploader()
        for verb in ("report-sync-success", "report-sync-success", "report-sync-failure"):
            r = d.ctl(verb)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Counted in sync_failure of this heartbeat.", r.stdout)
        # One upload run fails (503 at the prepare), the next sends the attributes.
        self.rx.faults({"prepare": [{"status": 503}]})
        self.attributes(d, "s=1")
        self.sync(d, expect_ok=False)
        self.sync(d)
        self.assertEqual(d.ctl("request-metrics").returncode, 0)
        self.sync(d)
        beats = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
                 if e["type"] == "linux-metric-report"]
        self.assertEqual(len(beats), 1, beats)
        m = beats[0]
        self.assertEqual((m["sync_successful"], m["sync_failure"]), (2, 1))
        self.assertEqual((m["sync_memfault_failure"], m["sync_memfault_successful"]), (1, 1))
        # Without consent, nothing is counted.
        self.assertEqual(d.ctl("disable-data-collection").returncode, 0)
        r = d.ctl("report-sync-success")
        self.assertEqual(r.returncode, 1)
        self.assertIn("data collection is disabled", r.stderr)


class SamplingTest(UploadTestCase):
    def test_data_upload_start_date_drops_older_entries(self):
        start = time.time() + 3
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)) + \
            ".%03d+00:00" % int(start % 1 * 1000)
        self.rx.faults({"device_config": {"data_upload_start_date": stamp}})
        d = self.uploader()
        self.attributes(d, "before=1")
        wait_for(lambda: time.time() > start + 0.2, timeout=10, what="the start date")
        self.attributes(d, "after=1")
        self.sync(d)
        got = [e["manifest"]["metadata"]["attributes"] for e in self.rx.entries()
               if e["type"] == "device-attributes"]
        self.assertEqual(got, [[{"string_key": "after", "value": 1}]])
        self.assertIn("recorded before the fleet's data_upload_start_date; dropping it", d.log())
        self.assertEqual(d.status()["spool"]["entries"], 0)
        # Cached with the rest of the configuration.
        with open(os.path.join(d.state_dir, "device-config.json")) as f:
            cached = json.load(f)["data"]["config"]["memfault"]["data_upload_start_date"]
        self.assertEqual(cached[:19], stamp[:19])

    def test_fleet_sampling_off_then_developer_mode(self):
        self.rx.faults({"device_config": {"sampling": {"debugging.resolution": "normal",
                                                        "logging.resolution": "normal",
                                                        "monitoring.resolution": "off"},
                                           "revision": 9, "completed": None}})
        d = self.uploader()
        self.sync(d)  # fetches the configuration, and confirms revision 9
        held = self.rx.entries()
        self.assertEqual([(e["type"], e["manifest"]["metadata"]) for e in held],
                         [("device-config", {"revision": 9})])
        st = d.status()
        self.assertEqual(st["upload"]["sampling"]["monitoring"], "off")
        self.assertEqual(st["upload"]["sampling"]["revision"], 9)
        r = d.ctl("write-attributes", "a=1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("sampling", r.stderr)
        # Cached on flash: a restart, with the server unreachable, keeps it.
        self.rx.stop()
        d.stop()
        d.start()
        self.assertEqual(d.status()["upload"]["sampling"]["monitoring"], "off")
        self.assertEqual(d.ctl("write-attributes", "a=1").returncode, 1)
        self.assertEqual(d.ctl("enable-dev-mode").returncode, 0)
        self.attributes(d, "a=1")
        self.rx.start()
        self.sync(d)
        self.assertEqual(len(self.rx.entries()), 2)  # no second confirmation


class SpoolLimitTest(UploadTestCase):
    def test_full_spool_evicts_and_counts(self):
        d = self.uploader(spool={"max_entries": 3})
        for i in range(5):
            self.attributes(d, f"e={i}")
        st = d.status()["spool"]
        self.assertEqual(st["entries"], 3)
        self.assertEqual(st["drops"]["attributes"]["entries"], 2)
        self.assertEqual(st["drops_total"], 2)
        self.assertIn("Uploaded 3 entries", self.sync(d).stdout)
        values = sorted(e["manifest"]["metadata"]["attributes"][0]["value"]
                        for e in self.rx.entries())
        self.assertEqual(values, [2, 3, 4])  # the oldest went first


if __name__ == "__main__":
    unittest.main(verbosity=2)
