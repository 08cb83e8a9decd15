# SPDX-License-Identifier: MIT
"""Network faults between the real faultd and the development receiver, over real TLS: every
status class, timeouts, resets, slow, truncated, huge and endless replies, redirects and their
loops, TLS failures. For each fault: what faultd does, that every entry arrives byte for byte
once the fault clears (duplicates counted), that faultd's memory stays bounded, and that the
retries follow the documented backoff schedule (docs/uploads.md)."""
import json
import os
import sys
import time
import unittest
import urllib.error

sys.path.insert(0, os.path.dirname(__file__))
from harness import VALGRIND, DaemonTestCase, Receiver, spooled, wait_for  # noqa: E402

MIB = 1024 * 1024
# Small limits, so that every timeout fires within seconds.
TIMEOUTS = {"connect_timeout_seconds": 2, "low_speed_timeout_seconds": 2, "timeout_seconds": 4}


def memory_kib(d):
    """(VmRSS, VmHWM) of the running faultd, in KiB."""
    values = {}
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


class NetFaultTestCase(DaemonTestCase):
    """One receiver for the class; each test resets its switches and counts its own entries."""

    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver().start()

    @classmethod
    def tearDownClass(cls):
        cls.rx.cleanup()

    def setUp(self):
        super().setUp()
        self.rx.faults({})
        stats = self.rx.stats()
        self.first_request = len(stats["requests"])
        self.duplicates0 = stats["duplicates"]

    def uploader(self, **upload):
        config = self.rx.daemon_config()
        config["upload"] = dict(TIMEOUTS, **upload)
        # ASan keeps up to 256 MiB of freed memory in quarantine, which would make RSS count
        # allocations rather than what is held; a small quarantine still catches recent misuse.
        asan = os.environ.get("ASAN_OPTIONS", "")
        return self.daemon(config=config, env={"ASAN_OPTIONS": (asan + ":" if asan else "")
                                               + "quarantine_size_mb=4"}).start()

    def write(self, d, n, tag):
        """Records n attribute entries; returns {uuid: manifest bytes} of the new ones."""
        before = spooled(d)
        for i in range(n):
            r = d.ctl("write-attributes", f"{tag}={i}")
            self.assertEqual(r.returncode, 0, r.stderr + d.log())
        new = {u: m for u, m in spooled(d).items() if u not in before}
        self.assertEqual(len(new), n)
        return new

    def sync(self, d):
        r = d.ctl("sync", timeout=120)
        return r.returncode, (r.stdout + r.stderr).strip()

    def arrived(self, sent):
        """The uuids of sent held by the receiver with exactly the bytes sent."""
        ok = set()
        for uuid, manifest in sent.items():
            try:
                with open(os.path.join(self.rx.dir, "entries", uuid, "manifest.json"),
                          "rb") as f:
                    if f.read() == manifest:
                        ok.add(uuid)
            except FileNotFoundError:
                pass
        return ok

    def requests(self, step=None):
        """The receiver's log of this test's requests (to step, if given)."""
        return [q for q in self.rx.stats()["requests"][self.first_request:]
                if step is None or q["step"] == step]


class SwitchesTest(NetFaultTestCase):
    def test_new_switches_are_validated(self):
        cases = [
            ({"put": [{"reset": "middle"}]}, 'put[0].reset: expected "early" or "late"'),
            ({"put": [{"hang": 1}]}, "put[0].hang: expected true"),
            ({"prepare": [{"interim": 200}]}, "prepare[0].interim"),
            ({"prepare": [{"status": 302, "location": "/\u00e9"}]}, "location: expected ASCII"),
            ({"prepare": [{"status": 200, "endless": True, "handled": True}]},
             "cannot be handled"),
            ({"prepare": [{"status": 200, "endless": True, "body": "x"}]}, "exclude each other"),
            ({"accept": ["hang", "later"]}, "accept[1]: expected one of hang, reset"),
            ({"accept": "hang"}, "accept: expected a list"),
            ({"disconnect": 1}, "disconnect"),
        ]
        for settings, fragment in cases:
            with self.subTest(fragment):
                with self.assertRaises(urllib.error.HTTPError) as cm:
                    self.rx.faults(settings)
                self.assertEqual(cm.exception.code, 400)
                self.assertIn(fragment, json.loads(cm.exception.read())["error"]["message"])
        # The queue applies to every new connection, the test's own too.
        view = self.rx.faults({"accept": ["reset"], "disconnect": True})
        self.assertEqual(view["accept"], ["reset"])
        self.assertNotIn("disconnect", view)
        with self.assertRaises(urllib.error.URLError):
            self.rx.stats()
        self.assertEqual(self.rx.stats()["requests"][self.first_request:], [])


class MatrixTest(NetFaultTestCase):
    """Each fault once, then the fault cleared: nothing lost, duplicates only where the server
    had stored a batch whose answer never arrived."""

    def matrix(self):
        port = self.rx.port
        other_host = f"https://localhost:{port}{{path}}"
        # name, how it is injected, switches, entries, expected sync outcome ("ok" or a
        # fragment of the error), duplicates expected (the server stored the batch)
        return [
            ("2xx 201 without a body", "prepare: 201 (not handled)",
             {"prepare": [{"status": 201}]}, 3, "unusable reply", False),
            ("2xx 204", "prepare: 204", {"prepare": [{"status": 204}]}, 3, "unusable reply",
             False),
            ("2xx 203", "prepare: handled, answered 203", {"prepare": [{"status": 203,
                                                                         "handled": True}]},
             3, "ok", False),
            ("2xx 201 to the PUT", "put: handled, 201",
             {"put": [{"status": 201, "handled": True}]}, 3, "ok", False),
            ("2xx 204 to the PUT", "put: handled, 204",
             {"put": [{"status": 204, "handled": True}]}, 3, "ok", False),
            ("2xx 202 to the commit", "commit: handled, 202",
             {"commit": [{"status": 202, "handled": True}]}, 3, "ok", False),
            ("2xx 299 to the commit", "commit: handled, 299",
             {"commit": [{"status": 299, "handled": True}]}, 3, "ok", False),
            ("1xx 103 before the answer", "prepare: interim 103",
             {"prepare": [{"interim": 103}]}, 3, "ok", False),
            ("1xx 102 before the answer", "commit: interim 102",
             {"commit": [{"interim": 102}]}, 3, "ok", False),
            ("3xx 301 to another host", "prepare: 301 Location https://localhost:PORT/...",
             {"prepare": [{"status": 301, "location": other_host}]}, 3, "HTTP 301", False),
            ("3xx 308 to itself", "commit: 308 Location: the same URL",
             {"commit": [{"status": 308, "location": "{path}"}]}, 3, "HTTP 308", False),
            ("3xx 307 loop", "put: 307 to the same URL, 8 times",
             {"put": [{"status": 307, "location": "{path}"}] * 8}, 3, "redirects", False),
            ("3xx 307 to another host", "put: 307 to https://localhost:PORT/upload/<token>",
             {"put": [{"status": 307, "location": other_host}]}, 3, "ok", False),
            ("3xx 302 to http", "put: 302 to http://127.0.0.1:PORT/upload/<token>",
             {"put": [{"status": 302, "location": f"http://127.0.0.1:{port}{{path}}"}]}, 3,
             "upload:", False),
            ("3xx 303 (would turn the PUT into a GET)", "put: 303 to /_dev/stats (a 200 GET)",
             {"put": [{"status": 303, "location": "/_dev/stats"}]}, 1, "upload:", False),
            ("4xx 401", "prepare: 401", {"prepare": [{"status": 401}]}, 3, "HTTP 401", False),
            ("4xx 404", "prepare: 404", {"prepare": [{"status": 404}]}, 3, "HTTP 404", False),
            ("4xx 409", "prepare: 409", {"prepare": [{"status": 409}]}, 3, "HTTP 409", False),
            ("4xx 413 to the prepare", "prepare: 413 (batch split in halves)",
             {"prepare": [{"status": 413}]}, 3, "ok", False),
            ("4xx 409 to the PUT", "put: 409 (batch split)", {"put": [{"status": 409}]}, 3,
             "ok", False),
            ("4xx 409 to a stored commit", "commit: handled, then 409 (batch split, resent)",
             {"commit": [{"status": 409, "handled": True}]}, 3, "ok", True),
            ("4xx 429 Retry-After", "prepare: 429, Retry-After: 1",
             {"prepare": [{"status": 429, "retry_after": 1}]}, 3, "HTTP 429", False),
            ("5xx 500", "put: 500", {"put": [{"status": 500}]}, 3, "HTTP 500", False),
            ("5xx 502", "commit: 502", {"commit": [{"status": 502}]}, 3, "HTTP 502", False),
            ("5xx 503 Retry-After", "prepare: 503, Retry-After: 2",
             {"prepare": [{"status": 503, "retry_after": 2}]}, 3, "HTTP 503", False),
            ("5xx 503 after storing", "commit: handled, then 503, Retry-After: 1",
             {"commit": [{"status": 503, "retry_after": 1, "handled": True}]}, 3, "HTTP 503",
             True),
            ("timeout: no answer", "prepare: request read, never answered",
             {"prepare": [{"hang": True}]}, 3, "upload failed", False),
            ("timeout: no TLS handshake", "accept: TCP accepted, nothing sent",
             {"accept": ["hang"], "disconnect": True}, 3, "upload failed", False),
            ("timeout: endless slow body", "prepare: 200, endless body at 100 bytes/s",
             {"prepare": [{"status": 200, "endless": True, "slow_bps": 100}]}, 3,
             "upload failed", False),
            ("slow answer", "prepare: answer at 400 bytes/s; commit delayed 500 ms",
             {"prepare": [{"slow_bps": 400}], "commit": [{"delay_ms": 500}]}, 3, "ok", False),
            ("reset at connect", "accept: RST before the TLS handshake",
             {"accept": ["reset"], "disconnect": True}, 3,
             "upload failed", False),
            ("reset before the body", "put: RST after the request head, twice",
             {"put": [{"reset": "early"}] * 2}, 3, "upload:", False),
            # When curl sends the commit again on a new connection, it meets 409 (already
            # committed): the batch is split and sent again, as duplicates.
            ("reset after storing", "commit: handled, RST instead of the answer",
             {"commit": [{"reset": "late"}]}, 3, "any", True),
            # Twice: curl sends a request again, once, on a new connection when a reused one
            # closes without an answer.
            ("drop", "put: closed without an answer, twice", {"put": [{"drop": True}] * 2}, 3,
             "upload:", False),
            ("truncated prepare", "prepare: half the answer, then closed",
             {"prepare": [{"truncate": True}]}, 3, "prepare:", False),
            ("truncated commit", "commit: handled, half the answer",
             {"commit": [{"truncate": True}]}, 3, "commit:", True),
            # disconnect: faultd's kept connection goes, the next one meets the certificate.
            ("TLS untrusted", "certificate: untrusted CA",
             {"certificate": "untrusted", "disconnect": True}, 3, "certificate", False),
            ("TLS wrong host", "certificate: for wrong.example",
             {"certificate": "wrong-host", "disconnect": True}, 3, "127.0.0.1", False),
            ("TLS expired", "certificate: expired two days ago",
             {"certificate": "expired", "disconnect": True}, 3, "expired", False),
            ("huge reply", "prepare: 200 with a 64 MiB body",
             {"prepare": [{"status": 200, "body_bytes": 64 * MIB}]}, 3, "1 MiB", False),
            ("huge error reply", "commit: 500 with a 64 MiB body",
             {"commit": [{"status": 500, "body_bytes": 64 * MIB}]}, 3, "1 MiB", False),
            ("endless reply", "put: 200 with an endless body",
             {"put": [{"status": 200, "endless": True}]}, 3, "1 MiB", False),
        ]

    def test_every_fault_then_everything_arrives(self):
        # A long backoff: between the rows only `faultctl sync` uploads.
        d = self.uploader(backoff_min_seconds=600, backoff_max_seconds=600)
        self.assertEqual(self.sync(d)[0], 0)  # the device configuration, fetched once
        rss0, hwm0 = memory_kib(d)
        rows = []
        for i, (name, how, switches, n, expect, dups) in enumerate(self.matrix()):
            with self.subTest(name):
                dup0 = self.rx.stats()["duplicates"]
                n_req = len(self.requests())
                sent = self.write(d, n, f"row{i}")
                self.rx.faults(switches)
                start = time.monotonic()
                code, out = self.sync(d)
                took = time.monotonic() - start
                if expect == "ok":
                    self.assertEqual(code, 0, f"{out}\n{self.rx.log()[-3000:]}")
                elif expect != "any":
                    self.assertEqual(code, 1, out)
                    self.assertIn(expect, out)
                    st = d.status()
                    self.assertEqual(st["spool"]["entries"], n, out)
                    self.assertEqual(st["upload"]["last_attempt"]["result"], "failed")
                if "certificate" in switches:
                    self.assertEqual(len(self.requests()), n_req)  # nothing got through TLS
                if name.startswith("3xx 301"):
                    # Not followed: one prepare, no request at the other host.
                    self.assertEqual(len(self.requests()), n_req + 1)
                self.rx.faults({})
                code2, out2 = self.sync(d)
                self.assertEqual(code2, 0, f"{out2}\n{d.log()[-3000:]}")
                self.assertEqual(self.arrived(sent), set(sent), out2)
                st = d.status()
                self.assertEqual(st["spool"]["entries"], 0)
                self.assertEqual(st["spool"]["drops_total"], 0)
                dup = self.rx.stats()["duplicates"] - dup0
                if dups:
                    self.assertEqual(dup, n, "the stored batch is sent again and counted")
                else:
                    self.assertEqual(dup, 0)
                what = "uploaded" if code == 0 else out.splitlines()[-1]
                rows.append((name, how, what[:90], f"{took:.1f}", n, len(sent) - len(
                    self.arrived(sent)), dup, memory_kib(d)[1]))
        rss1, hwm1 = memory_kib(d)
        print("\nfault | injected | faultd | sync s | entries | lost | duplicates | VmHWM KiB",
              file=sys.stderr)
        for row in rows:
            print(" | ".join(str(c) for c in row), file=sys.stderr)
        print(f"faultd memory: VmRSS {rss0} -> {rss1} KiB, VmHWM {hwm0} -> {hwm1} KiB",
              file=sys.stderr)
        # 128 MiB of huge and endless replies went by: what faultd keeps of a reply is capped.
        # (Under valgrind the figures are valgrind's own memory: the rows still run, unmeasured.)
        if not VALGRIND:
            self.assertLess(hwm1 - hwm0, 32 * 1024, "faultd buffered a reply")


class MemoryTest(NetFaultTestCase):
    def test_huge_and_endless_replies_do_not_grow_faultd(self):
        d = self.uploader(backoff_min_seconds=600, backoff_max_seconds=600)
        self.write(d, 2, "m")
        self.assertEqual(self.sync(d)[0], 0)
        self.write(d, 2, "m")
        # Warm-up: one failure of each kind, so libcurl and TLS state exist before the baseline.
        for _ in range(2):
            self.rx.faults({"prepare": [{"status": 200, "body_bytes": 4 * MIB}]})
            self.assertEqual(self.sync(d)[0], 1)
        rss0, hwm0 = memory_kib(d)
        samples = []
        for i in range(10):
            self.rx.faults({"prepare": [{"status": 200, "body_bytes": 256 * MIB}],
                            "put": [{"status": 200, "endless": True}]} if i % 2 else
                           {"prepare": [{"status": 503, "endless": True}]})
            code, out = self.sync(d)
            self.assertEqual(code, 1, out)
            self.assertIn("1 MiB", out)
            samples.append(memory_kib(d))
        rss1, hwm1 = memory_kib(d)
        self.rx.faults({})
        self.assertEqual(self.sync(d)[0], 0)
        print(f"\nfaultd memory over 10 huge/endless replies: VmRSS {rss0} -> "
              f"{[s[0] for s in samples]} KiB, VmHWM {hwm0} -> {hwm1} KiB", file=sys.stderr)
        if not VALGRIND:  # valgrind's own memory, not faultd's
            self.assertLess(hwm1 - hwm0, 16 * 1024)
            self.assertLess(rss1 - rss0, 16 * 1024)


class TimeoutTest(NetFaultTestCase):
    def test_a_silent_server_is_left_by_the_low_speed_timeout(self):
        # The whole-request timeout is far away: only "no byte moved" can end these.
        d = self.uploader(low_speed_timeout_seconds=2, timeout_seconds=120,
                          backoff_min_seconds=600, backoff_max_seconds=600)
        self.assertEqual(self.sync(d)[0], 0)
        sent = self.write(d, 2, "t")
        for switches in ({"prepare": [{"hang": True}]},
                         {"commit": [{"status": 200, "handled": True, "slow_bps": 1}]}):
            with self.subTest(switches):
                self.rx.faults(switches)
                start = time.monotonic()
                code, out = self.sync(d)
                took = time.monotonic() - start
                print(f"\n{switches}: {took:.1f} s: {out}", file=sys.stderr)
                self.assertEqual(code, 1, out)
                self.assertIn("too slow", out)
                # curl averages the speed over its last few seconds: 2 s plus that window.
                self.assertLess(took, 30)
        self.rx.faults({})
        self.assertEqual(self.sync(d)[0], 0)
        self.assertEqual(self.arrived(sent), set(sent))
        self.assertEqual(self.rx.stats()["duplicates"] - self.duplicates0, 2)


class ScheduleTest(NetFaultTestCase):
    def gaps(self, step="prepare"):
        qs = self.requests(step)
        return [q["status"] for q in qs], [b["t"] - a["t"] for a, b in zip(qs, qs[1:])]

    def test_backoff_doubles_to_its_cap_with_jitter(self):
        d = self.uploader(backoff_min_seconds=1, backoff_max_seconds=4)
        self.assertEqual(self.sync(d)[0], 0)
        self.write(d, 2, "s")
        self.rx.faults({"prepare": [{"status": 503}] * 6})
        self.assertEqual(self.sync(d)[0], 1)
        wait_for(lambda: d.status()["spool"]["entries"] == 0, timeout=60,
                 what="the retries to get through")
        statuses, gaps = self.gaps()
        self.assertEqual(statuses, [503] * 6 + [200])
        # Failure k waits a random point of [d/2, d], d = min(1 s * 2^(k-1), 4 s), counted
        # from the end of the failed run; the slack covers the request itself on a busy machine.
        expected = [min(2 ** k, 4) for k in range(6)]
        print("\nbackoff: expected [d/2, d] s | observed s", file=sys.stderr)
        for k, (dmax, gap) in enumerate(zip(expected, gaps), 1):
            print(f"failure {k}: [{dmax / 2:.1f}, {dmax:.1f}] | {gap:.2f}", file=sys.stderr)
            self.assertGreaterEqual(gap, dmax / 2 - 0.05, (k, gaps))
            self.assertLessEqual(gap, dmax + 2, (k, gaps))
        self.assertEqual(d.status()["upload"]["consecutive_failures"], 0)

    def test_retry_after_is_a_floor_and_capped(self):
        d = self.uploader(backoff_min_seconds=1, backoff_max_seconds=2)
        self.assertEqual(self.sync(d)[0], 0)
        self.write(d, 1, "r")
        # Above the backoff maximum: honoured.
        self.rx.faults({"prepare": [{"status": 503, "retry_after": 4}]})
        self.assertEqual(self.sync(d)[0], 1)
        wait_for(lambda: d.status()["spool"]["entries"] == 0, timeout=30,
                 what="the retry after Retry-After")
        statuses, gaps = self.gaps()
        self.assertEqual(statuses, [503, 200])
        print(f"\nRetry-After 4 s (backoff max 2 s): retried after {gaps[0]:.2f} s",
              file=sys.stderr)
        self.assertGreaterEqual(gaps[0], 3.95)
        self.assertLessEqual(gaps[0], 6.5)
        # Absurd values are capped at a day; an HTTP date counts from now. Only the schedule
        # is read: the next sync uploads at once.
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
        for retry_after, low, high in ((10 ** 9, 86390, 86400), (date, 540, 600)):
            with self.subTest(retry_after=retry_after):
                self.write(d, 1, "r")
                self.rx.faults({"prepare": [{"status": 429, "retry_after": retry_after}]})
                self.assertEqual(self.sync(d)[0], 1)
                due = d.status()["upload"]["next_attempt_in_seconds"]
                print(f"Retry-After {retry_after!r}: next attempt in {due} s", file=sys.stderr)
                self.assertGreaterEqual(due, low)
                self.assertLessEqual(due, high)
                self.rx.faults({})
                self.assertEqual(self.sync(d)[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
