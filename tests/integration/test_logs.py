# SPDX-License-Identifier: MIT
"""Logs end to end (docs/logs.md): syslog datagrams over UDP and a Unix socket, a kernel log in the
fake tree, journal files written by systemd-journal-remote, all through the real faultd into
linux-logs entries at the real receiver. Every line carries a sequence number, so that the tests
can say that none was lost or read twice: across restarts, kill -9 at random moments (while
lines are written, flushed and files rotated) and a new boot. The cid chain of the files must be
unbroken."""
import collections
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import (FAKE_BOOT_ID, FAKE_MACHINE_ID, FAULTD, HAVE_SYSTEMD,  # noqa: E402
                     DaemonTestCase, Receiver, scaled, wait_for)

HAVE_LOGS = os.environ.get("HAVE_LOGS", "1") == "1"
JOURNAL_REMOTE = shutil.which(
    "systemd-journal-remote",
    path=os.environ.get("PATH", "") + ":/lib/systemd:/usr/lib/systemd")


def log_files(rx):
    """The linux-logs entries the receiver holds, in arrival order: dicts with uuid, cid, next_cid
    and lines (each {"ts", "data"}), read back from the gzip file as the server would."""
    out = []
    for e in rx.entries():
        if e["type"] != "linux-logs":
            continue
        md = e["manifest"]["metadata"]
        path = os.path.join(rx.dir, "entries", e["uuid"], md["log_file_name"])
        with gzip.open(path, "rb") as f:
            text = f.read().decode("utf-8")
        assert text.endswith("\n"), f"{path}: the last line has no newline"
        lines = [json.loads(line) for line in text.split("\n")[:-1]]
        out.append({"uuid": e["uuid"], "cid": md["cid"]["uuid"],
                    "next_cid": md["next_cid"]["uuid"], "lines": lines})
    return out


def chained(files):
    """The files in chain order; fails unless each next_cid is the next file's cid, one chain."""
    by_cid = {f["cid"]: f for f in files}
    assert len(by_cid) == len(files), f"a cid used twice: {[f['cid'] for f in files]}"
    announced = {f["next_cid"] for f in files}
    starts = [f for f in files if f["cid"] not in announced]
    assert len(starts) == 1, f"{len(starts)} chains (a gap): {files}"
    order, f = [], starts[0]
    while f:
        order.append(f)
        f = by_cid.get(f["next_cid"])
    assert len(order) == len(files), "files outside the chain"
    return order


def messages(files, prefix=None):
    """Every MESSAGE of the files in chain order (only those starting with prefix)."""
    return [line["data"]["MESSAGE"] for f in chained(files) for line in f["lines"]
            if prefix is None or line["data"]["MESSAGE"].startswith(prefix)]


def seqs(msgs, word):
    """The numbers N of the messages "<word> seq=N ..."."""
    out = []
    for m in msgs:
        if m.startswith(word + " seq="):
            out.append(int(m.split("seq=", 1)[1].split()[0]))
    return out


def free_udp_port():
    """A UDP port of the loopback that nothing is bound to now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@unittest.skipUnless(HAVE_LOGS, "faultd is built without the logs plugin")
class LogsTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, logs=None, **config):
        base = {"heartbeat_interval_seconds": 3600}
        base["logs"] = dict({"flush_interval_seconds": 1, "max_lines_per_minute": 0,
                             "min_level": "debug", "journal": "off", "kmsg": "off"},
                            **(logs or {}))
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def logs(self, d):
        return d.plugin_status("logs")

    def source(self, d, name):
        return self.logs(d)["sources"][name]

    def wait_kept(self, d, name, n, timeout=20):
        wait_for(lambda: self.source(d, name)["kept"] >= n, timeout=timeout,
                 what=f"{n} lines of {name} kept: {self.source(d, name)}\n{d.log()}")

    def wait_flushed(self, d):
        wait_for(lambda: (self.logs(d)["file"] or {}).get("unflushed", 0) == 0, timeout=20,
                 what="the log file to be flushed")

    def kmsg_path(self, d):
        os.makedirs(os.path.join(d.sysroot, "dev"), exist_ok=True)
        return os.path.join(d.sysroot, "dev", "kmsg")


class SyslogTest(LogsTestCase):
    def send_udp(self, d, datagrams):
        host, port = self.source(d, "syslog")["listen"][len("udp:"):].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for dg in datagrams:
            s.sendto(dg, (host, int(port)))
        s.close()

    def test_udp_both_rfcs_and_malformed_lines_reach_the_receiver(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0"}).start()
        self.send_udp(d, [
            b"<30>Nov 21 10:00:00 gatewayd[412]: syslog seq=0 link up\n",
            b"<165>1 2026-11-21T10:00:00.250Z gw-01 evntslog 4242 ID47 "
            b"[exampleSDID@32473 iut=\"3\"] \xef\xbb\xbfsyslog seq=1 from 5424",
            b"syslog seq=2 without a PRI, \xff kept as text",
            b"<13>1 2026-13-99T00:00:00Z h a p m - syslog seq=3 broken header",
        ])
        self.wait_kept(d, "syslog", 4)
        src = self.source(d, "syslog")
        self.assertEqual(src["malformed"], 2, src)
        self.ok(d, "sync")
        files = log_files(self.rx)
        self.assertEqual(len(files), 1, files)
        lines = {re.search(r"seq=\d+", line["data"]["MESSAGE"]).group(0): line
                 for line in files[0]["lines"]}
        self.assertEqual(sorted(lines), ["seq=0", "seq=1", "seq=2", "seq=3"])
        first = lines["seq=0"]["data"]
        self.assertEqual(first["MESSAGE"], "syslog seq=0 link up")
        self.assertEqual(first["PRIORITY"], "6")
        self.assertEqual(first["SYSLOG_FACILITY"], "3")
        self.assertEqual(first["SYSLOG_IDENTIFIER"], "gatewayd")
        self.assertEqual(first["_PID"], "412")
        self.assertEqual(first["_TRANSPORT"], "syslog")
        second = lines["seq=1"]
        self.assertEqual(second["ts"], "2026-11-21T10:00:00.250000Z")
        self.assertEqual(second["data"]["_HOSTNAME"], "gw-01")
        self.assertEqual(second["data"]["_PID"], "4242")
        self.assertEqual(second["data"]["PRIORITY"], "5")
        # Malformed: the whole text, bytes that are not UTF-8 replaced, user.notice.
        self.assertEqual(lines["seq=2"]["data"]["MESSAGE"],
                         "syslog seq=2 without a PRI, \ufffd kept as text")
        self.assertEqual(lines["seq=2"]["data"]["PRIORITY"], "5")
        self.assertEqual(lines["seq=3"]["data"]["MESSAGE"],
                         "1 2026-13-99T00:00:00Z h a p m - syslog seq=3 broken header")
        self.assertEqual(lines["seq=3"]["data"]["PRIORITY"], "5")
        self.assertNotIn("SYSLOG_IDENTIFIER", lines["seq=3"]["data"])

    def test_unix_socket_as_busybox_forwards(self):
        path = os.path.join(self.rx.dir, "log.sock")
        d = self.device({"syslog_listen": path}).start()
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o666)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for i in range(20):
            s.sendto(f"<14>Nov 21 10:00:{i:02} busybox: syslog seq={i}\n".encode(), path)
        s.close()
        self.wait_kept(d, "syslog", 20)
        self.ok(d, "sync")
        self.assertEqual(seqs(messages(log_files(self.rx)), "syslog"), list(range(20)))
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(path), "the socket is removed at stop")
        # A plain file in the way is not replaced, and says why.
        with open(path, "w") as f:
            f.write("not a socket")
        d.start()
        p = d.plugin("logs")
        self.assertIn("syslog could not be received", p.get("message", ""), p)
        self.assertEqual(p["status"]["sources"]["syslog"]["state"], "failed")
        self.assertIn("not a socket", p["status"]["sources"]["syslog"]["detail"])
        with open(path) as f:
            self.assertEqual(f.read(), "not a socket")

    def test_kill_loses_at_most_the_flush_interval_and_repeats_nothing(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0"}).start()
        self.send_udp(d, [f"<14>app: syslog seq={i}".encode() for i in range(50)])
        self.wait_kept(d, "syslog", 50)
        self.wait_flushed(d)
        self.send_udp(d, [f"<14>app: syslog seq={i}".encode() for i in range(50, 60)])
        self.wait_kept(d, "syslog", 60)
        d.kill()
        d.start()
        self.ok(d, "sync")
        got = seqs(messages(log_files(self.rx)), "syslog")
        self.assertEqual(got[:50], list(range(50)), "flushed lines survive kill -9")
        self.assertEqual(len(got), len(set(got)), "no line twice")
        self.assertTrue(set(got[50:]) <= set(range(50, 60)), got)


class KmsgTest(LogsTestCase):
    def write_kmsg(self, d, first, last, mode="a", noise=0):
        """Records first..last-1 of the fake kernel log, each with noise random hex digits
        (which compress badly, so that the log file's bytes reach the disk between flushes)."""
        with open(self.kmsg_path(d), mode) as f:
            for i in range(first, last):
                f.write(f"{6 if i % 7 else 3},{i},{1000000 + i},-;kernel seq={i} line "
                        f"{os.urandom(noise // 2).hex()}\n SUBSYSTEM=test\n")

    def test_resume_by_sequence_number_across_restarts(self):
        d = self.device({"kmsg": "on"})
        self.write_kmsg(d, 0, 100, "w")
        d.start()
        self.wait_kept(d, "kernel", 100)
        self.assertEqual(d.stop(), 0)
        # The whole ring is read again at start: what was taken is skipped.
        self.write_kmsg(d, 100, 150)
        d.start()
        self.wait_kept(d, "kernel", 50)
        src = self.source(d, "kernel")
        self.assertEqual(src["skipped"], 100, src)
        self.assertEqual(src["gaps"], 0, src)
        self.ok(d, "sync")
        files = log_files(self.rx)
        self.assertEqual(seqs(messages(files), "kernel"), list(range(150)))
        line = files[0]["lines"][0]
        self.assertEqual(line["data"]["SYSLOG_IDENTIFIER"], "kernel")
        self.assertEqual(line["data"]["_TRANSPORT"], "kernel")
        self.assertEqual(line["data"]["PRIORITY"], "3")

    def test_overwritten_records_are_a_counted_gap_and_a_new_boot_starts_over(self):
        d = self.device({"kmsg": "on"})
        self.write_kmsg(d, 0, 10, "w")
        d.start()
        self.wait_kept(d, "kernel", 10)
        self.wait_flushed(d)
        self.assertEqual(d.stop(), 0)
        # The ring went on while faultd was away and lost 10..19.
        self.write_kmsg(d, 20, 30, "w")
        d.start()
        self.wait_kept(d, "kernel", 10)
        self.assertEqual(self.source(d, "kernel")["gaps"], 10)
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        self.assertEqual(d.stop(), 0)
        # A new boot numbers from 0 again: nothing of it is skipped.
        d.new_boot()
        self.write_kmsg(d, 0, 5, "w")
        d.start()
        self.wait_kept(d, "kernel", 5)
        self.ok(d, "sync")
        got = seqs(messages(log_files(self.rx)), "kernel")
        self.assertEqual(got, list(range(10)) + list(range(20, 30)) + list(range(5)))
        hb = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
              if e["type"] == "linux-metric-report"]
        self.assertEqual(hb[0].get("logs/gaps"), 10, hb)
        self.assertEqual(hb[0].get("logs/lines"), 20, hb)

    def test_kill_during_writes_and_rotations_loses_and_repeats_nothing(self):
        # The kernel log's records are numbered: none may be lost or taken twice. Beside them a
        # flood of syslog lines that compress badly (those may be lost, from the last flush
        # on). First kill -9 right after lines were written past a flush, in a file too large
        # to rotate, so that written bytes after the last flush are cut off at the restart; then
        # at random in files so small that they rotate and commit all the time.
        port = free_udp_port()
        d = self.device({"kmsg": "on", "max_file_bytes": 64 * 1024 * 1024,
                         "syslog_listen": f"udp:127.0.0.1:{port}"})
        self.write_kmsg(d, 0, 1, "w")
        d.start()
        stop = threading.Event()
        written = [1]

        def kernel():
            while not stop.is_set():
                n = written[0]
                self.write_kmsg(d, n, n + 10, noise=100)
                written[0] = n + 10
                time.sleep(0.02)

        def flood():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            i = 0
            while not stop.is_set():
                for _ in range(20):
                    s.sendto(f"<14>flood: syslog seq={i} {os.urandom(100).hex()}".encode(),
                             ("127.0.0.1", port))
                    i += 1
                time.sleep(0.02)
            s.close()

        def after_a_flush():
            f = self.logs(d)["file"] or {}
            return f.get("lines", 0) > f.get("unflushed", 0) and f.get("unflushed", 0) > 600

        threads = [threading.Thread(target=kernel), threading.Thread(target=flood)]
        for t in threads:
            t.start()
        rng = random.Random(os.environ.get("LOGS_SEED", "20"))
        try:
            for _ in range(3):
                wait_for(after_a_flush, timeout=20, interval=0.01,
                         what="lines written after a flush")
                d.kill()
                d.start()
            d.kill()
            d.config["logs"]["max_file_bytes"] = 16 * 1024
            d.write_config()
            d.start()
            for _ in range(8):
                time.sleep(rng.uniform(0.1, 1.5))
                d.kill()
                d.start()
        finally:
            stop.set()
            for t in threads:
                t.join()
        total = written[0]
        wait_for(lambda: self.source(d, "kernel")["seq"] == total - 1,
                 timeout=30, what=f"every record up to {total - 1} read")
        self.ok(d, "sync")
        files = log_files(self.rx)
        msgs = messages(files)
        got = seqs(msgs, "kernel")
        dup = [s for s, n in collections.Counter(got).items() if n > 1]
        self.assertEqual(dup, [], "kernel lines read twice")
        self.assertEqual(sorted(got), list(range(total)), "kernel lines lost")
        flood = seqs(msgs, "syslog")
        self.assertEqual(len(flood), len(set(flood)), "syslog lines twice")
        self.assertGreater(len(files), 20, "the test rotated files")
        # The kills found written bytes after a flush, and cut them off.
        cut = re.findall(r"goes on with [1-9]\d* lines \([1-9]\d* bytes after", d.log())
        self.assertGreaterEqual(len(cut), 2, "kills after a flush with more written")


class ControlTest(LogsTestCase):
    def udp(self, d):
        """A socket to send datagrams to d's syslog, and the address."""
        host, port = self.source(d, "syslog")["listen"][len("udp:"):].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        return s, (host, int(port))

    def test_budget_and_level_are_counted_in_status_and_heartbeat(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_lines_per_minute": 10,
                         "min_level": "info"}).start()
        s, addr = self.udp(d)
        for i in range(5):
            s.sendto(f"<15>app: syslog seq={i} debug".encode(), addr)
        for i in range(5, 35):
            s.sendto(f"<14>app: syslog seq={i} info".encode(), addr)
        wait_for(lambda: self.source(d, "syslog")["received"] == 35, what="35 datagrams")
        src = self.source(d, "syslog")
        self.assertEqual((src["below_level"], src["kept"], src["over_budget"]), (5, 10, 20), src)
        self.assertEqual(self.logs(d)["dropped_rate_limit"], 20)
        out = self.ok(d, "logs")
        self.assertIn("over_budget: 20", out)
        js = json.loads(self.ok(d, "--json", "logs"))["data"]
        self.assertEqual(js["plugin"]["status"]["dropped_rate_limit"], 20)
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        js = json.loads(self.ok(d, "--json", "logs"))["data"]
        self.assertEqual(js["spool"]["entries"], 0)
        hb = [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
              if e["type"] == "linux-metric-report"][-1]
        self.assertEqual(hb.get("logs/dropped_rate_limit"), 20, hb)
        self.assertEqual(hb.get("logs/lines"), 10, hb)
        self.assertEqual(seqs(messages(log_files(self.rx)), "syslog"), list(range(5, 15)))
        # Developer mode lifts the budget.
        self.ok(d, "enable-dev-mode")
        for i in range(35, 60):
            s.sendto(f"<14>app: syslog seq={i} info".encode(), addr)
        self.wait_kept(d, "syslog", 35)

    def test_rotation_by_age_and_the_spool_holds_the_files(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_file_age_seconds": 1}).start()
        s, addr = self.udp(d)
        s.sendto(b"<14>app: syslog seq=0", addr)
        wait_for(lambda: self.logs(d)["files_committed"] == 1, what="a file rotated by age")
        js = json.loads(self.ok(d, "--json", "logs"))["data"]
        self.assertEqual(js["spool"]["entries"], 1, js)
        self.assertIsNone(js["plugin"]["status"]["file"].get("age_seconds"))
        status = d.status()
        self.assertEqual(status["spool"]["by_class"]["logs"], 1)
        self.ok(d, "sync")
        self.assertEqual(len(log_files(self.rx)), 1)

    def test_nothing_is_kept_without_consent(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0"},
                        enable_data_collection=False).start()
        s, addr = self.udp(d)
        s.sendto(b"<14>app: syslog seq=0", addr)
        wait_for(lambda: self.source(d, "syslog")["not_collected"] == 1, what="a line refused")
        self.assertEqual(self.logs(d)["file"]["lines"], 0)
        # Withdrawing consent drops the file in progress.
        self.ok(d, "enable-data-collection")
        s.sendto(b"<14>app: syslog seq=1", addr)
        self.wait_kept(d, "syslog", 1)
        self.ok(d, "disable-data-collection")
        self.assertEqual(self.logs(d)["file"]["lines"], 0)
        self.ok(d, "enable-data-collection")
        self.ok(d, "sync")
        self.assertEqual(log_files(self.rx), [])

    def test_bad_configuration_names_the_key(self):
        d = self.device({"syslog_listen": "tcp:127.0.0.1:514"})
        r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("logs.syslog_listen", r.stderr)
        self.assertIn("udp:ADDRESS:PORT", r.stderr)
        d.config["logs"] = {"min_level": "loud", "max_file_bytes": 1}
        d.write_config()
        r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("logs.min_level", r.stderr)
        self.assertIn("logs.max_file_bytes", r.stderr)

    def test_status_shows_the_plugin(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_lines_per_minute": 1}).start()
        s, addr = self.udp(d)
        s.sendto(b"<14>app: syslog seq=0", addr)
        s.sendto(b"<14>app: syslog seq=1", addr)
        wait_for(lambda: self.source(d, "syslog")["received"] == 2, what="2 datagrams")
        out = self.ok(d, "status")
        self.assertIn("\nlogs: 1 line kept (syslog); 1 dropped by the rate limit, 0 lost\n", out)
        self.assertIn("dropped_rate_limit: 1", out)


@unittest.skipUnless(HAVE_LOGS and HAVE_SYSTEMD and JOURNAL_REMOTE,
                     "needs the logs plugin, libsystemd and systemd-journal-remote")
class JournalTest(LogsTestCase):
    def journal_dir(self, d):
        path = os.path.join(d.sysroot, "var", "log", "journal", FAKE_MACHINE_ID.strip())
        os.makedirs(path, exist_ok=True)
        return path

    def write_journal(self, d, first, last, name="test.journal", boot=FAKE_BOOT_ID,
                      unit="test.service", message="journal seq={i}", extra=()):
        """Entries "journal seq=N" (message, formatted with i) of boot (and unit, and the fields
        "NAME=value" of extra) appended to the journal file name, through
        systemd-journal-remote from the export format."""
        now = int(time.time() * 1e6)
        out = []
        for i in range(first, last):
            out.append("\n".join([
                f"__REALTIME_TIMESTAMP={now + i}", f"__MONOTONIC_TIMESTAMP={1000 + i}",
                f"_BOOT_ID={boot.strip().replace('-', '')}", "MESSAGE=" + message.format(i=i),
                "PRIORITY=6", "_PID=321", f"_SYSTEMD_UNIT={unit}",
                "SYSLOG_IDENTIFIER=tester", "_TRANSPORT=journal",
                f"_MACHINE_ID={FAKE_MACHINE_ID.strip()}", "_HOSTNAME=gw", *extra]) + "\n\n")
        r = subprocess.run([JOURNAL_REMOTE, "-o", os.path.join(self.journal_dir(d), name), "-"],
                           input="".join(out), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_journal_lines_resume_by_cursor_and_a_vacuumed_gap_is_counted(self):
        d = self.device({"journal": "on"})
        # Lines of an earlier boot are not read at the first start: this boot's are.
        self.write_journal(d, 1000, 1005, boot=str(uuid.uuid4()))
        self.write_journal(d, 0, 20)
        d.start()
        self.wait_kept(d, "journal", 20)
        self.assertEqual(self.source(d, "kernel")["state"], "off")
        self.write_journal(d, 20, 30)
        self.wait_kept(d, "journal", 30)
        self.wait_flushed(d)
        d.kill()
        self.write_journal(d, 30, 40)
        d.start()
        self.wait_kept(d, "journal", 10)
        self.ok(d, "sync")
        files = log_files(self.rx)
        self.assertEqual(seqs(messages(files), "journal"), list(range(40)))
        line = chained(files)[0]["lines"][0]["data"]
        self.assertEqual((line["_SYSTEMD_UNIT"], line["_PID"], line["PRIORITY"],
                          line["SYSLOG_IDENTIFIER"]), ("test.service", "321", "6", "tester"))
        self.assertEqual(d.stop(), 0)

        # The journal vacuumed away what faultd read last: a gap, then the lines there are.
        shutil.rmtree(self.journal_dir(d))
        self.write_journal(d, 100, 110, name="new.journal")
        d.start()
        self.wait_kept(d, "journal", 10)
        self.assertEqual(self.source(d, "journal")["gaps"], 1)
        self.ok(d, "sync")
        got = seqs(messages(log_files(self.rx)), "journal")
        self.assertEqual(got, list(range(40)) + list(range(100, 110)))

    def test_a_rotated_journal_keeps_the_cursor(self):
        # journald rotates (the file read last is renamed): until the next entry is read the
        # journal has no cursor, and a flush then must still save the last one.
        d = self.device({"journal": "on"})
        self.write_journal(d, 0, 10)
        d.start()
        self.wait_kept(d, "journal", 10)
        self.wait_flushed(d)
        os.rename(os.path.join(self.journal_dir(d), "test.journal"),
                  os.path.join(self.journal_dir(d), "test@rotated.journal"))
        time.sleep(scaled(1.5))
        self.assertEqual(d.stop(), 0)
        d.start()
        self.write_journal(d, 10, 15)
        self.wait_kept(d, "journal", 5)
        time.sleep(scaled(1))
        self.ok(d, "sync")
        self.assertEqual(seqs(messages(log_files(self.rx)), "journal"), list(range(15)))
        self.assertEqual(self.source(d, "journal")["kept"], 5)

    def test_a_long_message_is_cut_between_characters_and_counted(self):
        d = self.device({"journal": "on", "max_line_bytes": 256})
        # 255 bytes, then a 2-byte character across the limit.
        self.write_journal(d, 0, 1, message="journal seq={i} " + "a" * 241 + "\u00e9" + "b" * 9)
        d.start()
        self.wait_kept(d, "journal", 1)
        self.assertEqual(self.source(d, "journal")["cut"], 1)
        self.ok(d, "sync")
        [msg] = messages(log_files(self.rx))
        self.assertEqual(msg, "journal seq=0 " + "a" * 241)

    def test_a_filtered_unit_does_not_arrive(self):
        d = self.device({"journal": "on", "filters": ["unit:noisy\\.service"]})
        self.write_journal(d, 0, 5, name="noisy.journal", unit="noisy.service")
        self.write_journal(d, 5, 10)
        d.start()
        self.wait_kept(d, "journal", 5)
        wait_for(lambda: self.source(d, "journal")["filtered"] == 5, what="5 lines filtered")
        self.ok(d, "sync")
        files = log_files(self.rx)
        self.assertEqual(seqs(messages(files), "journal"), list(range(5, 10)))
        self.assertEqual({line["data"]["_SYSTEMD_UNIT"] for f in files for line in f["lines"]},
                         {"test.service"})
        self.assertEqual(self.logs(d)["rules"]["filters"],
                         [{"rule": "unit:noisy\\.service", "dropped": 5}])

    def test_extra_attributes_keep_the_fields_named(self):
        d = self.device({"journal": "on", "syslog_listen": "udp:127.0.0.1:0",
                         "extra_attributes": ["CONTAINER_NAME", "CODE_FILE", "_HOSTNAME",
                                              "NOT_IN_ANY_ENTRY", "CONTAINER_NAME"]})
        # 255 bytes, then a 2-byte character across the 256 kept.
        long_value = "a" * 255 + "\u00e9" + "b" * 40
        self.write_journal(d, 0, 3, extra=["CONTAINER_NAME=modem", f"CODE_FILE={long_value}",
                                           "CODE_LINE=42", "UNLISTED=x"])
        d.start()
        self.wait_kept(d, "journal", 3)
        host, port = self.source(d, "syslog")["listen"][len("udp:"):].rsplit(":", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"<14>app: syslog seq=0", (host, int(port)))
        self.wait_kept(d, "syslog", 1)
        self.ok(d, "sync")
        lines = [line["data"] for f in chained(log_files(self.rx)) for line in f["lines"]]
        journal = [x for x in lines if x["MESSAGE"].startswith("journal ")]
        self.assertEqual(len(journal), 3)
        for x in journal:
            self.assertEqual(x["CONTAINER_NAME"], "modem")
            self.assertEqual(x["CODE_FILE"], "a" * 255)
            self.assertEqual(x["_HOSTNAME"], "gw")
            self.assertNotIn("CODE_LINE", x)
            self.assertNotIn("UNLISTED", x)
            self.assertNotIn("NOT_IN_ANY_ENTRY", x)
            self.assertEqual(x["SYSLOG_IDENTIFIER"], "tester")
        # A syslog line has none of them.
        [syslog] = [x for x in lines if x["MESSAGE"].startswith("syslog ")]
        self.assertEqual(set(syslog) & {"CONTAINER_NAME", "CODE_FILE"}, set())

    def test_a_bad_extra_attribute_is_a_configuration_error(self):
        for names, why in ((["CONTAINER_NAME", "lower"], "item 2: expected a journal field name "
                            "of A-Z, 0-9 and _"),
                           (["__CURSOR"], "item 1: a name beginning with __"),
                           (["MESSAGE"], "item 1: this field is kept always"),
                           (["A" * 65], "item 1: expected a journal field name of 1 to 64"),
                           ([f"F{i}" for i in range(17)], "expected at most 16 items")):
            d = self.device({"journal": "on", "extra_attributes": names})
            r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("logs.extra_attributes: " + why, r.stderr)


def received_bytes(rx):
    """Everything the receiver holds, gzip files decompressed, as one byte string."""
    out = []
    for root, _, names in os.walk(rx.dir):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError):
                    pass
            out.append(data)
    return b"\n".join(out)


class RulesTest(LogsTestCase):
    """Filters, redaction and log-to-metrics rules (docs/logs.md), over syslog."""

    def udp(self, d):
        host, port = self.source(d, "syslog")["listen"][len("udp:"):].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        return s, (host, int(port))

    def heartbeat(self, d):
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        return [e["manifest"]["metadata"]["metrics"] for e in self.rx.entries()
                if e["type"] == "linux-metric-report"][-1]

    def test_filtered_and_redacted_lines_never_reach_the_receiver(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0",
                         "filters": ["identifier:chatty", "identifier:app message:^DUMP "],
                         "redact": ["serial=\\K\\w+"]}).start()
        s, addr = self.udp(d)
        for dg in [b"<14>app: rules seq=0 login password=hunter2 from bob@example.com",
                   b"<14>chatty: rules seq=1 hunter2",
                   b"<14>app: DUMP seq=2 hunter2",
                   b"<14>other: DUMP seq=3 serial=SN4711 token: abc.def"]:
            s.sendto(dg, addr)
        wait_for(lambda: self.source(d, "syslog")["received"] == 4, what="4 datagrams")
        src = self.source(d, "syslog")
        self.assertEqual((src["kept"], src["filtered"]), (2, 2), src)
        st = self.logs(d)
        self.assertEqual((st["dropped_filter"], st["redactions"]), (2, 4), st)
        self.assertEqual([r["dropped"] for r in st["rules"]["filters"]], [1, 1])
        self.assertEqual([(r.get("builtin"), r.get("rule"), r["replaced"])
                          for r in st["rules"]["redact"]],
                         [("email", None, 1), ("secret", None, 2), ("private_key", None, 0),
                          (None, "serial=\\K\\w+", 1)])
        self.assertIn("dropped_filter: 2", self.ok(d, "logs"))
        hb = self.heartbeat(d)
        self.assertEqual((hb.get("logs/dropped_filter"), hb.get("logs/redactions")), (2, 4), hb)
        self.assertEqual(messages(log_files(self.rx)),
                         ["rules seq=0 login password=[REDACTED] from [REDACTED]",
                          "DUMP seq=3 serial=[REDACTED] token: [REDACTED]"])
        got = received_bytes(self.rx)
        for secret in [b"hunter2", b"bob@example.com", b"SN4711", b"abc.def"]:
            self.assertNotIn(secret, got)

    def test_builtin_redactions_can_be_turned_off(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "redact_builtin": ["email"]}).start()
        s, addr = self.udp(d)
        s.sendto(b"<14>app: seq=0 password=visible to bob@example.com", addr)
        self.wait_kept(d, "syslog", 1)
        self.ok(d, "sync")
        self.assertEqual(messages(log_files(self.rx)), ["seq=0 password=visible to [REDACTED]"])

    def test_log_lines_become_heartbeat_counters_even_over_the_budget(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_lines_per_minute": 2,
                         "filters": ["identifier:systemd"],
                         "metrics": ["wifi/drop identifier:wpa message:CTRL-EVENT-DISCONNECTED",
                                     "door/$1 message:lock (\\S+) failed"]}).start()
        s, addr = self.udp(d)
        lines = [
            b"<3>kernel: oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,"
            b"mems_allowed=0,global_oom,task_memcg=/system.slice/stress.service,task=stress,"
            b"pid=4242,uid=0",
            b"<3>kernel: Out of memory: Killed process 4242 (stress) total-vm:518632kB, "
            b"anon-rss:255728kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:568kB "
            b"oom_score_adj:0",
            b"<3>kernel: Out of memory: Killed process 99 (sensord) total-vm:1kB",
            b"<30>systemd[1]: gatewayd.service: Main process exited, code=killed, "
            b"status=9/KILL",
            b"<28>systemd[1]: gatewayd.service: Failed with result 'signal'.",
            b"<30>systemd[1]: gatewayd.service: Scheduled restart job, restart counter is at 1.",
            b"<30>systemd[1]: gatewayd.service: Scheduled restart job, restart counter is at 2.",
            b"<6>kernel: sensord[1234]: segfault at 0 ip 00005581d0e2a131 sp 00007ffd1c1b8f50 "
            b"error 6 in sensord[5581d0e29000+1000]",
            b"<4>kernel: WARNING: CPU: 1 PID: 345 at drivers/net/foo.c:12 foo_tx+0x1c/0x40",
            b"<1>kernel: Oops: 0002 [#1] PREEMPT SMP NOPTI",
        ] + [b"<14>wpa: wlan0: CTRL-EVENT-DISCONNECTED bssid=x"] * 3 + [
            b"<14>lockd: lock front-door failed",
            b"<14>lockd: lock bob@example.com failed",
            b"<14>app: Out of memory: Killed process 1 (forged)",
        ]
        for dg in lines:
            s.sendto(dg, addr)
        wait_for(lambda: self.source(d, "syslog")["received"] == len(lines),
                 what=f"{len(lines)} datagrams")
        src = self.source(d, "syslog")
        self.assertEqual((src["filtered"], src["kept"]), (4, 2), src)
        hb = self.heartbeat(d)
        want = {"oom_kill/stress": 1, "oom_kill/sensord": 1,
                "unit_main_exit/gatewayd.service": 1, "unit_failed/gatewayd.service": 1,
                "unit_restart/gatewayd.service": 2, "segfault/sensord": 1, "kernel_warning": 1,
                "kernel_oops": 1, "wifi/drop": 3, "door/front-door": 1, "door/REDACTED": 1,
                "logs/dropped_filter": 4}
        self.assertEqual({k: hb.get(k) for k in want}, want, hb)
        self.assertEqual(hb.get("logs/dropped_rate_limit"), len(lines) - 4 - 2, hb)
        self.assertFalse([k for k in hb if "forged" in k or "example" in k], hb)
        counted = {r.get("builtin", r.get("rule")): r["counted"]
                   for r in self.logs(d)["rules"]["metrics"]}
        self.assertEqual((counted["oom_kill"], counted["wifi/drop identifier:wpa message:"
                                                      "CTRL-EVENT-DISCONNECTED"]), (2, 3))
        # A heartbeat without such lines has no such keys.
        hb = self.heartbeat(d)
        self.assertFalse([k for k in hb if k.startswith(("oom_kill/", "wifi/"))], hb)

    def test_builtin_rules_can_be_turned_off(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0",
                         "metrics_builtin": ["segfault"]}).start()
        s, addr = self.udp(d)
        s.sendto(b"<3>kernel: Out of memory: Killed process 99 (sensord) total-vm:1kB", addr)
        s.sendto(b"<6>kernel: sensord[1234]: segfault at 0 ip 0 sp 0 error 6", addr)
        self.wait_kept(d, "syslog", 2)
        hb = self.heartbeat(d)
        self.assertEqual(hb.get("segfault/sensord"), 1, hb)
        self.assertNotIn("oom_kill/sensord", hb)

    def test_a_bad_pattern_names_the_key_the_item_and_the_offset(self):
        d = self.device({"filters": ["identifier:x", "message:ab(c"],
                         "metrics": ["k/$2 message:(x)"], "redact_builtin": ["ssn"]})
        r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("logs.filters: item 2: bad pattern at byte 12: missing closing "
                      "parenthesis", r.stderr)
        self.assertIn("logs.metrics: item 1: at byte 2: $2, but the pattern has 1 groups",
                      r.stderr)
        self.assertIn("logs.redact_builtin: item 1: expected one of", r.stderr)


if __name__ == "__main__":
    unittest.main()
