# SPDX-License-Identifier: MIT
"""The log lines before a crash, inside its core (docs/logs.md, "Lines before a crash").

A program's lines reach faultd over its syslog socket; then its core (gcore of tests/crash/crasher,
parked, in the kernel's layout, with its /proc copied into faultd's sysroot) is piped into the real
faultd-core-handler as the kernel would, without touching this machine's core_pattern. The core
that reaches the real receiver must carry, in its "Memfault" note (CBOR, key 10), the lines of the
last coredump.log_seconds, at most coredump.log_lines of them, redacted as the log files are, with
a line sent just before the handler started; gdb must still read it, and the receiver show the
lines on the crash's page. With faultd stopped the core is stored without lines; a reply from the
control socket that is not what faultd would send (too long, not JSON, a line not a string) is
refused, and the core stored without lines all the same.

Environment (set by meson): CORE_HANDLER, CRASHER, RECEIVER.
"""
import gzip
import importlib.machinery
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coredump_util as cu  # noqa: E402
from harness import (SANITIZER_MARKERS, DaemonTestCase, Receiver, check_valgrind,  # noqa: E402
                     scaled, valgrind_command, wait_for)

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
CRASHER = os.environ.get("CRASHER", "")
RECEIVER = os.environ.get("RECEIVER", "")
HAVE_LOGS = os.environ.get("HAVE_LOGS", "1") == "1"
MEMFAULT_METADATA = 0x4154454D
LOG_LINES = 5
LOG_SECONDS = 2


def skip_reason():
    if not HAVE_LOGS:
        return "built without the logs plugin"
    missing = [n for n, p in (("CORE_HANDLER", CORE_HANDLER), ("CRASHER", CRASHER))
               if not p or not os.access(p, os.X_OK)]
    missing += [t for t in ("gdb", "gcore") if not shutil.which(t)]
    return f"needs {', '.join(missing)}" if missing else None


def receiver_module():
    loader = importlib.machinery.SourceFileLoader("faultd_receiver", RECEIVER)
    module = type(sys)("faultd_receiver")
    loader.exec_module(module)
    return module


def page(rx, path):
    """A page of the receiver, as text."""
    ctx = ssl.create_default_context(cafile=rx.ca_bundle)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(rx.url + path, context=ctx, timeout=10) as r:
        return r.read().decode()


def notes_of(gz_path, work):
    """(the ELF core's notes, the path of the core decompressed)."""
    plain = os.path.join(work, os.path.basename(gz_path)[:-3])
    with gzip.open(gz_path, "rb") as fin, open(plain, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return cu.ElfCore(plain).notes, plain


class CrashLogsTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        why = skip_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.rxmod = receiver_module()
        cls.work = tempfile.mkdtemp(prefix="faultd-crash-logs-")
        parked = cu.ParkedCrasher(CRASHER)
        try:
            raw = parked.gcore(os.path.join(cls.work, "gcore"))
            cls.core_path = os.path.join(cls.work, "core")
            cu.relayout_core(raw, cls.core_path)
            os.unlink(raw)
            cls.proc_dir = cu.snapshot_proc(parked.info["pid"], cls.work)
            cls.info = parked.info
        finally:
            parked.close()
        with open(cls.core_path, "rb") as f:
            cls.core = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self):
        """faultd with syslog on a Unix socket and a redaction (not started), and the
        configuration file of its handler: the same with coredump on."""
        coredump = {"enabled": False, "log_lines": LOG_LINES, "log_seconds": LOG_SECONDS}
        d = self.daemon(config=self.rx.daemon_config(
            heartbeat_interval_seconds=3600, coredump=coredump,
            logs={"journal": "off", "kmsg": "off", "min_level": "debug",
                  "max_lines_per_minute": 0, "redact": ["secret=\\K\\S+"]}))
        d.config["logs"]["syslog_listen"] = os.path.join(d.dir, "syslog.sock")
        d.write_config()
        shutil.copytree(self.proc_dir, os.path.join(d.sysroot, "proc", str(self.info["pid"])),
                        symlinks=True)
        handler = dict(d.config, coredump=dict(coredump, enabled=True, compression="gzip",
                                               rate_limit_count=10000))
        path = os.path.join(d.dir, "core-handler.conf")
        with open(path, "w") as f:
            json.dump(handler, f, indent=2)
        return d, path

    def send(self, d, *messages):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for m in messages:
            s.sendto(f"<11>crasher[{self.info['pid']}]: {m}".encode(),
                     d.config["logs"]["syslog_listen"])
        s.close()

    def kept(self, d):
        return d.plugin_status("logs")["sources"]["syslog"]["kept"]

    def crash(self, d, config):
        info = self.info
        cmd = valgrind_command([CORE_HANDLER, "-c", config, str(info["pid"]), str(info["crasher"]),
                                str(int(signal.SIGSEGV)), str(int(time.time())), "0", "0"],
                               d.valgrind_dir, "faultd-core-handler")
        r = subprocess.run(cmd, input=self.core, capture_output=True, timeout=scaled(60))
        r.stderr = r.stderr.decode(errors="replace")
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        check_valgrind(d.valgrind_dir, "faultd-core-handler", "faultd-core-handler")
        return r

    def stored_core(self, d):
        """The elf-coredump entry in the state directory's spool (faultd stopped)."""
        spool = os.path.join(d.state_dir, "spool")
        names = [n for n in os.listdir(spool) if "_elf-coredump_" in n]
        self.assertEqual(len(names), 1, os.listdir(spool))
        entry = os.path.join(spool, names[0])
        return os.path.join(entry, next(n for n in os.listdir(entry) if n.endswith(".elf.gz")))

    def memfault(self, notes):
        found = [desc for name, kind, desc in notes if (name, kind) == ("Memfault",
                                                                         MEMFAULT_METADATA)]
        self.assertEqual(len(found), 1, "one Memfault metadata note")
        return self.rxmod.memfault_note(found[0])

    def test_lines_before_the_crash_reach_the_receiver_inside_the_core(self):
        d, config = self.device()
        d.start()
        self.send(d, "too old")
        wait_for(lambda: self.kept(d) >= 1, timeout=20, what="the old line kept")
        time.sleep(LOG_SECONDS + 0.5)
        self.send(d, "early 0", "early 1", "early 2", "recent 0", "recent 1 secret=hunter2",
                  "recent 2")
        wait_for(lambda: self.kept(d) >= 7, timeout=20, what="the recent lines kept")
        # Not waited for: the handler's request takes in what faultd has not read yet.
        self.send(d, "last words")
        r = self.crash(d, config)
        self.assertNotIn("Refusing faultd's log lines", r.stderr)
        self.ok(d, "sync")
        cores = [e for e in self.rx.entries() if e["type"] == "elf-coredump"]
        self.assertEqual(len(cores), 1)
        uuid = cores[0]["uuid"]
        name = cores[0]["manifest"]["metadata"]["coredump_file_name"]
        notes, plain = notes_of(os.path.join(self.rx.dir, "entries", uuid, name), self.work)
        note = self.memfault(notes)
        messages = [data["MESSAGE"] for _, _, data in note["logs"]]
        # The newest LOG_LINES of the last LOG_SECONDS: neither "too old" nor "early 0/1".
        self.assertEqual(messages, ["early 2", "recent 0", "recent 1 secret=[REDACTED]",
                                    "recent 2", "last words"])
        with open(plain, "rb") as f:
            self.assertNotIn(b"hunter2", f.read())
        self.assertEqual(note["capture_strategy"], {"type": "threads", "max_thread_size_kib": 32})
        self.assertTrue(note["device_serial"] and note["software_version"], note)
        self.assertIn(os.path.basename(CRASHER), note["cmdline"])
        # gdb reads the core with the note in it: every thread's backtrace.
        threads = cu.parse_backtraces(cu.run_gdb(CRASHER, plain))
        self.assertGreaterEqual(len(threads), 6, threads)
        self.assertTrue(all(t["frames"] for t in threads.values()), threads)
        # The crash's page shows them.
        text = page(self.rx, f"/entries/{uuid}")
        self.assertIn("Log lines in the core", text)
        self.assertIn("recent 1 secret=[REDACTED]", text)
        self.assertNotIn("hunter2", text)
        self.assertEqual(d.stop(), 0)

    def test_a_fleet_without_log_files_gets_no_lines_in_cores(self):
        # Cores are recorded (debugging.resolution normal), log files are not: nor are lines.
        self.rx.faults({"device_config": {"sampling": {"debugging.resolution": "normal",
                                                       "logging.resolution": "off",
                                                       "monitoring.resolution": "normal"},
                                          "revision": 2, "completed": 2}})
        d, config = self.device()
        d.start()
        self.ok(d, "sync")  # fetches the fleet's configuration
        self.send(d, "a line")
        wait_for(lambda: self.kept(d) >= 1, timeout=20, what="the line kept")
        self.crash(d, config)
        self.assertEqual(d.stop(), 0)
        notes, _ = notes_of(self.stored_core(d), self.work)
        self.assertIsNone(self.memfault(notes)["logs"])

    def test_without_faultd_the_core_is_stored_without_lines(self):
        d, config = self.device()
        t0 = time.monotonic()
        self.crash(d, config)
        self.assertLess(time.monotonic() - t0, scaled(30))
        notes, _ = notes_of(self.stored_core(d), self.work)
        self.assertIsNone(self.memfault(notes)["logs"])

    def test_a_bad_reply_is_refused_and_the_core_stored_without_lines(self):
        """A stand-in for faultd on the control socket answers crash-logs badly."""
        cases = {
            "too long": b'{"ok": true, "data": {"logs": ["' + b"a" * (1 << 20) + b'"]}}\n',
            "not JSON": b"{\"ok\": tru\n",
            "not a string": b'{"ok": true, "data": {"logs": [42]}}\n',
            "too many bytes": json.dumps({"ok": True, "data": {"logs": ["x" * 40000] * 2}})
            .encode() + b"\n",
        }
        for case, reply in cases.items():
            with self.subTest(case=case):
                d, config = self.device()
                srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                srv.bind(d.socket)
                srv.listen(8)
                stop = threading.Event()

                def serve():
                    srv.settimeout(0.2)
                    while not stop.is_set():
                        try:
                            c, _ = srv.accept()
                        except OSError:
                            continue
                        with c:
                            c.settimeout(2)
                            request = c.recv(65536)
                            try:
                                c.sendall(reply if b"crash-logs" in request
                                          else b'{"ok": true, "data": {}}\n')
                            except OSError:
                                pass
                t = threading.Thread(target=serve, daemon=True)
                t.start()
                try:
                    r = self.crash(d, config)
                finally:
                    stop.set()
                    t.join()
                    srv.close()
                self.assertIn("Refusing faultd's log lines for the core", r.stderr)
                notes, _ = notes_of(self.stored_core(d), self.work)
                self.assertIsNone(self.memfault(notes)["logs"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
