#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The receiver's fleet pages in a real browser (headless Chromium), on a fleet of real faultd
processes uploading to the real receiver over TLS.

The fleet (heartbeat intervals of 2 s instead of an hour; reboots are a new boot id in each
daemon's fake tree, as in tests/integration/test_stable_hours.py):
- gw-a, software type "gateway": runs 1.0, a real crash (a gcore of tests/crash/crasher piped
  into the real faultd-core-handler, which stores the core and tells faultd), device attributes,
  then `faultctl reboot --reason FirmwareUpdate` and 2.0 after the reboot;
- gw-b, "gateway" 1.0: a kernel panic found in pstore after the reboot;
- hub-1, "hub" 3.1: steady.
Chromium then loads each page; the tests read numbers and text from the DOM it built and save
screenshots under $BUILD_ROOT/fleet-page (or a temporary folder, printed).

HostileTest posts crafted batches through the real HTTP API: device strings that are HTML must
show as text and never become elements; linux-logs entries show on the timeline, with a broken
cid chain flagged. EmptyTest: a receiver with nothing.

Needs FAULTD, FAULTCTL, CORE_HANDLER, CRASHER (set by meson), gdb's gcore and chromium.
"""
import gzip
import http.client
import io
import json
import os
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid as uuidlib
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import browser  # noqa: E402
from harness import (FAULTCTL, FAULTD, HAVE_COREDUMP, PROJECT_KEY, RECEIVER,  # noqa: E402
                     SANITIZER_MARKERS, VALGRIND, Daemon, Receiver, scaled, wait_for)

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
CRASHER = os.environ.get("CRASHER", "")
INTERVAL = 2            # seconds: one heartbeat interval
SIGSEGV = 11
PANIC_RECORD = ("Panic#1 Part1\n<0>[  123.456789] Kernel panic - not syncing: "
                "Fatal exception in interrupt\n")


def artifacts_dir():
    root = os.environ.get("BUILD_ROOT")
    path = os.path.join(root, "fleet-page") if root else tempfile.mkdtemp(prefix="fleet-page-")
    os.makedirs(path, exist_ok=True)
    return path


def fleet_skip_reason():
    if VALGRIND:
        return "under valgrind: the fleet's intervals last seconds"
    if browser.chromium_path() is None:
        return "needs chromium (Debian package chromium)"
    if not HAVE_COREDUMP:
        return "the coredump plugin is not built (HAVE_COREDUMP=0)"
    for name, path in (("FAULTD", FAULTD), ("FAULTCTL", FAULTCTL), ("CORE_HANDLER", CORE_HANDLER),
                       ("CRASHER", CRASHER)):
        if not path or not os.access(path, os.X_OK):
            return f"needs {name} (set by meson)"
    if not shutil.which("gcore"):
        return "needs gdb's gcore to take a real core"
    return None


def stable(op, crash):
    return 100.0 * (1.0 - crash / op)


class PageTestCase(unittest.TestCase):
    """A receiver and a browser that trusts it; page(path) gives the DOM Chromium built."""

    @classmethod
    def start_receiver(cls):
        cls.rx = Receiver().start()
        cls.browser = browser.Browser(os.path.join(cls.rx.dir, "tls", "server.pem"))
        cls.artifacts = artifacts_dir()

    @classmethod
    def stop_receiver(cls):
        if getattr(cls, "browser", None):
            cls.browser.close()
        if getattr(cls, "rx", None):
            cls.rx.cleanup()

    def page(self, path):
        text = self.browser.dom(self.rx.url + path)
        self.assertNotIn("<script", text.lower())
        return browser.parse_dom(text)

    def screenshot(self, path, name, height=900):
        out = os.path.join(self.artifacts, name)
        self.browser.screenshot(self.rx.url + path, out, size=(1200, height))
        print(f"\nscreenshot of {path}: {out}", file=sys.stderr)
        return out

    def get(self, path):
        """(status, headers, body) of a GET to the receiver, over TLS with its CA."""
        ctx = ssl.create_default_context(cafile=self.rx.ca_bundle)
        conn = http.client.HTTPSConnection("127.0.0.1", self.rx.port, context=ctx, timeout=30)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()


class FleetTest(PageTestCase):
    @classmethod
    def setUpClass(cls):
        why = fleet_skip_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.work = tempfile.mkdtemp(prefix="faultd-fleet-page-")
        cls.daemons = []
        try:
            cls.start_receiver()
            cls.take_core()
            cls.build_fleet()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for d in getattr(cls, "daemons", []):
            d.cleanup()
        cls.stop_receiver()
        shutil.rmtree(getattr(cls, "work", ""), ignore_errors=True)

    @classmethod
    def take_core(cls):
        """A real core of the crasher (gcore of a parked one, in the kernel's layout) and its
        /proc as the handler would read it while it lived."""
        import coredump_util as cu
        parked = cu.ParkedCrasher(CRASHER)
        try:
            raw = parked.gcore(os.path.join(cls.work, "gcore"))
            cls.core_path = os.path.join(cls.work, "core")
            cu.relayout_core(raw, cls.core_path)
            os.unlink(raw)
            cls.proc_dir = cu.snapshot_proc(parked.info["pid"], cls.work)
            cls.crasher = parked.info
        finally:
            parked.close()

    @classmethod
    def device(cls, serial, software_type, version):
        config = cls.rx.daemon_config(
            heartbeat_interval_seconds=INTERVAL, hours={"checkpoint_interval_seconds": 1},
            device={"serial": serial, "software_type": software_type,
                    "software_version": version, "hardware_version": "evt-2"},
            reboot_command="true", coredump={"enabled": True})
        d = Daemon(config=config)
        cls.daemons.append(d)
        return d

    @classmethod
    def ctl(cls, d, *args):
        r = d.ctl(*args, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"faultctl {' '.join(args)}: {r.stdout}{r.stderr}\n{d.log()}")
        return r.stdout

    @classmethod
    def stop(cls, d):
        code = d.stop()
        if code != 0:
            raise AssertionError(f"faultd exit status {code}:\n{d.log()}")

    @classmethod
    def crash(cls, d):
        """The crasher's core through faultd-core-handler with d's configuration, as the
        kernel pipes it; the handler stores the core and tells faultd."""
        info = cls.crasher
        shutil.copytree(cls.proc_dir, os.path.join(d.sysroot, "proc", str(info["pid"])),
                        symlinks=True)
        config = os.path.join(d.dir, "core-handler.conf")
        with open(config, "w") as f:
            json.dump(dict(d.config, coredump={"enabled": True, "compression": "gzip"}), f)
        with open(cls.core_path, "rb") as core:
            r = subprocess.run([CORE_HANDLER, "-c", config, str(info["pid"]),
                                str(info["crasher"]), str(SIGSEGV), str(int(time.time())), "0",
                                "0"], stdin=core, capture_output=True, timeout=scaled(60))
        err = r.stderr.decode(errors="replace")
        if r.returncode != 0 or any(m in err for m in SANITIZER_MARKERS):
            raise AssertionError(f"faultd-core-handler failed ({r.returncode}):\n{err}")
        wait_for(lambda: d.status()["hours"]["operational_crashes"] >= 1,
                 what=f"faultd to count the crash\n{d.log()}")

    @classmethod
    def heartbeats(cls, serial, version):
        """The heartbeats with hours at the receiver from serial running version."""
        return [e for e in cls.rx.entries() if e["type"] == "linux-metric-report"
                and e["manifest"]["device"]["device_serial"] == serial
                and e["manifest"]["device"]["software_version"] == version
                and e["manifest"]["metadata"]["metrics"]["operational_hours"] > 0]

    @classmethod
    def wait_heartbeats(cls, d, serial, version, n):
        def enough():
            cls.ctl(d, "sync")
            return len(cls.heartbeats(serial, version)) >= n
        wait_for(enough, timeout=10 * INTERVAL * n, interval=0.3,
                 what=f"{n} heartbeats of {serial} {version}\n{d.log()}")

    @classmethod
    def finish(cls, d):
        """Waits for the interval in progress to end (its hours come with the heartbeat that
        ends it), uploads everything and stops."""
        hours = d.status()["hours"]
        end_s = hours["odometer_hours"] * 3600 + hours["next_in_seconds"] + 1.05
        wait_for(lambda: d.status()["hours"]["odometer_hours"] * 3600 > end_s,
                 timeout=3 * INTERVAL, interval=0.1, what="the interval in progress to end")
        cls.ctl(d, "sync")
        cls.stop(d)

    @classmethod
    def build_fleet(cls):
        gw_a = cls.device("gw-a", "gateway", "1.0").start()
        gw_b = cls.device("gw-b", "gateway", "1.0").start()
        hub = cls.device("hub-1", "hub", "3.1").start()
        cls.ctl(gw_a, "write-attributes", "site=lab-3", "modem=EG25")
        time.sleep(0.5)
        cls.crash(gw_a)
        cls.wait_heartbeats(gw_a, "gw-a", "1.0", 1)

        # gw-b: the kernel panics; pstore holds the record at the next boot.
        gw_b.kill()
        pstore = os.path.join(gw_b.sysroot, "sys", "fs", "pstore")
        os.makedirs(pstore)
        with open(os.path.join(pstore, "dmesg-ramoops-0"), "w") as f:
            f.write(PANIC_RECORD)
        gw_b.new_boot()
        gw_b.start()

        # gw-a: a declared update to 2.0.
        cls.ctl(gw_a, "reboot", "--reason", "FirmwareUpdate")
        cls.stop(gw_a)
        gw_a.config["device"] = dict(gw_a.config["device"], software_version="2.0")
        gw_a.write_config()
        gw_a.new_boot()
        gw_a.start()

        cls.wait_heartbeats(gw_a, "gw-a", "2.0", 2)
        cls.wait_heartbeats(gw_b, "gw-b", "1.0", 2)
        cls.wait_heartbeats(hub, "hub-1", "3.1", 2)
        for d in (gw_a, gw_b, hub):
            cls.finish(d)
        cls.entries = cls.rx.entries()
        kinds = [e["type"] for e in cls.entries]
        if kinds.count("elf-coredump") != 1 or kinds.count("linux-reboot") != 2:
            raise AssertionError(f"unexpected fleet: {kinds}")

    def expected_stable(self):
        """{(software type, version): % stable} from the heartbeats at the receiver, computed
        here rather than by the receiver."""
        sums = {}
        for e in self.entries:
            if e["type"] != "linux-metric-report":
                continue
            device = e["manifest"]["device"]
            m = e["manifest"]["metadata"]["metrics"]
            key = (device["software_type"], device["software_version"])
            op, crash = sums.get(key, (0.0, 0.0))
            sums[key] = (op + m["operational_hours"],
                         crash + max(0.0, m["operational_hours"]
                                     - m["operational_crashfree_hours"]))
        return {key: stable(op, crash) for key, (op, crash) in sums.items()}

    def test_fleet_page(self):
        dom = self.page("/")
        expected = self.expected_stable()
        self.assertEqual(sorted(expected), [("gateway", "1.0"), ("gateway", "2.0"),
                                            ("hub", "3.1")])
        for (software_type, version), percent in expected.items():
            table = dom.find("table", "versions", data_software_type=software_type)
            row = table.find("tr", data_version=version)
            shown = row.find("td", "stable").text()
            self.assertAlmostEqual(float(shown), percent, delta=0.05, msg=(version, shown))
            if percent < 100:
                self.assertNotEqual(shown, "100.0", version)
        self.assertLess(expected[("gateway", "1.0")], 100)
        gateway = dom.find("table", "versions", data_software_type="gateway")
        self.assertEqual(gateway.find("tr", data_version="2.0").find("td", "stable").text(),
                         "100.0")
        self.assertIn("crasher 1", gateway.find("tr", data_version="1.0").text())

        # A chart per software type, a series per version.
        for software_type, versions in (("gateway", ["1.0", "2.0"]), ("hub", ["3.1"])):
            section = dom.find("section", "software-type", data_software_type=software_type)
            chart = section.find("svg", "chart")
            self.assertEqual([g.attrs["data-version"] for g in chart.find_all("g", "series")],
                             versions)
            self.assertTrue(chart.find_all("circle"))

        devices = dom.find("table", "devices")
        rows = {tr.attrs["data-serial"]: tr for tr in devices.find_all("tr")
                if "data-serial" in tr.attrs}
        self.assertEqual(sorted(rows), ["gw-a", "gw-b", "hub-1"])
        self.assertEqual(rows["gw-a"].find("td", "version").text(), "2.0")
        self.assertIn("FirmwareUpdate", rows["gw-a"].find("td", "reboot").text())
        self.assertIn("on 1.0", rows["gw-a"].find("td", "reboot").text())
        self.assertIn("KernelPanic", rows["gw-b"].find("td", "reboot").text())
        self.assertEqual(rows["hub-1"].find("td", "reboot").text(), "-")
        self.assertEqual(rows["hub-1"].find("td", "stable").text(), "100.0")
        self.assertNotEqual(rows["gw-a"].find("td", "stable").text(), "100.0")
        self.assertIn("(1 core)", rows["gw-a"].find("td", "crashes").text())
        for tr in rows.values():
            self.assertRegex(tr.find("td", "contact").text(), r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ")
            link = tr.find("td", "device").find("a")
            self.assertEqual(link.attrs["href"], "/devices/" + tr.attrs["data-serial"])
        path = self.screenshot("/", "fleet.png", height=1250)
        self.assertGreater(os.path.getsize(path), 10000)

    def test_crashes_page(self):
        dom = self.page("/crashes")
        groups = dom.find_all("section", "crash-group")
        self.assertEqual([g.attrs["data-process"] for g in groups], ["crasher"])
        group = groups[0]
        self.assertEqual(group.find("h2", "process").text(), "crasher")
        text = group.text()
        self.assertIn("1 crash on 1 device", text)
        self.assertIn("gateway 1.0 1", text)
        self.assertIn("SIGSEGV", text)
        crash = group.find("details", "crash")
        details = crash.text()
        self.assertIn("gw-a", details)
        self.assertIn(f"{self.crasher['pid']} / {self.crasher['crasher']}", details)
        self.assertIn("crasher", details)
        core = [a for a in crash.find_all("a") if "/files/core-" in a.attrs.get("href", "")]
        self.assertEqual(len(core), 1)
        # The core file itself, as stored.
        status, headers, body = self.get(core[0].attrs["href"])
        self.assertEqual(status, 200)
        self.assertEqual(body[:2], b"\x1f\x8b")
        self.assertIn("attachment", headers["Content-Disposition"])
        counted = dom.find("table", "crash-counts").find("tr", data_process="crasher")
        self.assertEqual([td.text() for td in counted.find_all("td")],
                         ["gateway", "1.0", "crasher", "1"])
        self.screenshot("/crashes", "crashes.png")

    def test_device_timeline(self):
        dom = self.page("/devices/gw-a")
        timeline = dom.find("table", "timeline")
        rows = timeline.find_all("tr", "entry")
        kinds = [tr.attrs["data-type"] for tr in rows]
        versions = [tr.find("td", "version").text() for tr in rows]
        ours = [e["uuid"] for e in self.entries
                if e["manifest"]["device"]["device_serial"] == "gw-a"]
        self.assertEqual(sorted(tr.attrs["data-uuid"] for tr in rows), sorted(ours))
        crash = kinds.index("elf-coredump")
        reboot = kinds.index("linux-reboot")
        first_2 = versions.index("2.0")
        self.assertLess(crash, reboot, kinds)
        self.assertLess(reboot, first_2, list(zip(kinds, versions)))
        self.assertEqual(versions[reboot], "1.0")       # the boot the update ended
        self.assertEqual(set(versions[:first_2]), {"1.0"})
        self.assertEqual(set(versions[first_2:]), {"2.0"})
        self.assertIn("device-attributes", kinds)
        self.assertIn("site=\"lab-3\"", rows[kinds.index("device-attributes")].text())
        self.assertIn("crasher", rows[crash].find("td", "what").text())
        self.assertIn("FirmwareUpdate", rows[reboot].find("td", "what").text())
        times = [tr.find("td", "time").text() for tr in rows]
        self.assertEqual(times, sorted(times))
        boots = timeline.find_all("tr", "boot")
        self.assertEqual(len(boots), 2, [b.text() for b in boots])
        self.screenshot("/devices/gw-a", "device-gw-a.png", height=1100)

        status, _, body = self.get("/devices/no-such-device")
        self.assertEqual(status, 404)
        self.assertIn(b"no-such-device", body)

    def test_reboots_page(self):
        dom = self.page("/reboots")
        table = dom.find("table", "reboot-reasons")
        update = table.find("tr", data_version="1.0", data_reason="FirmwareUpdate")
        self.assertEqual(update.attrs["data-kind"], "expected")
        self.assertIn("0x0003", update.text())
        panic = table.find("tr", data_version="1.0", data_reason="KernelPanic")
        self.assertEqual(panic.attrs["data-kind"], "unexpected")
        self.assertIn("0x8008", panic.text())
        self.assertEqual(len(table.find_all("tr", data_version="2.0")), 0)
        codes = dom.find("table", "reason-codes").text()
        for name in ("HardwareWatchdog", "OutOfMemory", "PowerOnReset"):
            self.assertIn(name, codes)

    def test_entry_page(self):
        crash = next(e for e in self.entries if e["type"] == "elf-coredump")
        dom = self.page(f"/entries/{crash['uuid']}")
        text = dom.text()
        self.assertIn("crasher", text)
        self.assertIn("faultd-core-handler", text)
        self.assertIn(crash["manifest"]["metadata"]["coredump_file_name"], text)

    def test_report_command(self):
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        print("\n" + r.stdout, file=sys.stderr)
        self.assertIn("software type gateway", lines)
        self.assertIn("software type hub", lines)
        v1 = next(i for i, line in enumerate(lines) if line.startswith("1.0 "))
        self.assertIn("  crashed processes: crasher 1", lines[v1 + 1:v1 + 3])
        self.assertTrue(any(line.startswith("all types ") for line in lines), lines)
        r = subprocess.run([sys.executable, RECEIVER, "report", "--dir", self.rx.dir, "--json"],
                           capture_output=True, text=True, timeout=60)
        out = json.loads(r.stdout)
        rows = {(v["software_type"], v["software_version"]): v for v in out["versions"]}
        for key, percent in self.expected_stable().items():
            self.assertAlmostEqual(rows[key]["stable_hours_percent"], percent, places=9)
        self.assertEqual(rows[("gateway", "1.0")]["crashed_processes"], {"crasher": 1})
        self.assertEqual([t["software_type"] for t in out["software_types"]], ["gateway", "hub"])


# --- crafted batches through the real HTTP API ------------------------------------------------

def manifest(kind, metadata, serial="gw-x", version="1.0", software_type="gateway", **changes):
    m = {
        "schema_version": 1,
        "collection_time": {"timestamp": "2026-11-21T10:00:00.000Z", "uptime_ms": 1000,
                            "linux_boot_id": "48af0b97-79c3-4e95-ba80-8c436b4b9e8f",
                            "elapsed_realtime_ms": 1000, "boot_count": 1},
        "device": {"project_key": PROJECT_KEY, "hardware_version": "evt-2",
                   "software_version": version, "software_type": software_type,
                   "device_serial": serial},
        "producer": {"id": "faultd", "version": "0.1.0", "os_name": "Linux",
                     "os_version": "6.1.0"},
        "type": kind,
        "metadata": metadata,
    }
    m.update(changes)
    return m


def at_time(m, seconds):
    m["collection_time"]["timestamp"] = time.strftime("2026-11-21T10:%M:%S.000Z",
                                                      time.gmtime(seconds))
    return m


def fake_core(note):
    """A tiny ELF64 core holding one FAULTD note (type 1) with this JSON, gzip-compressed."""
    desc = json.dumps(note).encode()
    name = b"FAULTD\0"
    body = struct.pack("<III", len(name), len(desc), 1) + name + b"\0" * (-len(name) % 4) \
        + desc + b"\0" * (-len(desc) % 4)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 4, 0, 64 + 56, 0, 0, len(body), 0, 4)
    return gzip.compress(header + phdr + body)


def log_file(lines):
    return gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())


def mar(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for uid, files in entries:
            for name, data in files.items():
                zf.writestr(zipfile.ZipInfo(f"{uid}/{name}", (2026, 11, 21, 10, 0, 0)), data)
    return buf.getvalue()


def entry(m, attachments=None):
    files = {"manifest.json": json.dumps(m).encode()}
    files.update(attachments or {})
    return str(uuidlib.uuid4()), files


class HostileTest(PageTestCase):
    HOSTILE_PROCESS = '<b id="injected">evil</b>'
    HOSTILE_REASON = "<script>document.title='pwned'</script>"
    HOSTILE_ATTRIBUTE = '"><img src=x id=pwned-img onerror=alert(1)>'
    HOSTILE_MESSAGE = "</pre><h1 id=pwned-log>log</h1>\x1b[31m red"

    @classmethod
    def setUpClass(cls):
        if browser.chromium_path() is None:
            raise unittest.SkipTest("needs chromium (Debian package chromium)")
        try:
            cls.start_receiver()
        except BaseException:
            cls.stop_receiver()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_receiver()

    def api(self, path, body=None, method="POST", raw=None, headers=None):
        ctx = ssl.create_default_context(cafile=self.rx.ca_bundle)
        conn = http.client.HTTPSConnection("127.0.0.1", self.rx.port, context=ctx, timeout=30)
        try:
            data = raw if raw is not None else json.dumps(body).encode()
            conn.request(method, path, data, headers if headers is not None else
                         {"Memfault-Project-Key": PROJECT_KEY,
                          "Content-Type": "application/json", "Accept": "application/json"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def upload(self, entries, serial="gw-x", version="1.0", software_type="gateway"):
        """prepare, PUT, commit of one batch; (status, body) of the commit."""
        data = mar(entries)
        device = {"device_serial": serial, "hardware_version": "evt-2",
                  "software_version": version, "software_type": software_type}
        status, body = self.api("/api/v0/upload", {"kind": "MAR", "size": len(data),
                                                   "content_encoding": None, "device": device})
        self.assertEqual(status, 200, body)
        reply = json.loads(body)["data"]
        path = "/" + reply["upload_url"].split("/", 3)[3]
        status, body = self.api(path, method="PUT", raw=data, headers={})
        self.assertEqual(status, 200, body)
        return self.api("/api/v0/upload/mar", dict(device, file={"token": reply["token"]}))

    def test_device_strings_stay_text(self):
        cid = [str(uuidlib.uuid4()) for _ in range(4)]
        core_name = f"core-{uuidlib.uuid4()}.elf.gz"
        core = fake_core({"process": self.HOSTILE_PROCESS, "pid": 4242, "signal": 11,
                          "cmdline": "evil\x00--<i>x</i>", "time": 1795255207})
        logs = []
        for n, (c, nxt) in enumerate(((cid[0], cid[1]), (cid[2], cid[3]))):   # cid[1] is lost
            logs.append(entry(at_time(manifest("linux-logs", {
                "format": {"id": "v1", "serialization": "json-lines"},
                "log_file_name": f"log-{n}.jsonl.gz", "compression": "gzip",
                "cid": {"uuid": c}, "next_cid": {"uuid": nxt}}), 10 + n),
                {f"log-{n}.jsonl.gz": log_file([
                    {"ts": f"2026-11-21T10:00:{5 + n:02d}.000Z",
                     "data": {"MESSAGE": self.HOSTILE_MESSAGE if n == 0 else "second file",
                              "_PID": "77", "PRIORITY": "3", "_SYSTEMD_UNIT": "gatewayd.service"}},
                    {"ts": f"2026-11-21T10:00:{5 + n:02d}.500Z",
                     "data": {"MESSAGE": f"line two of file {n}"}}])}))
        batch = [
            entry(at_time(manifest("device-attributes", {"attributes": [
                {"string_key": "name", "value": self.HOSTILE_ATTRIBUTE}]},
                producer={"id": "faultd", "version": "<i>0.1</i>", "os_name": "Linux",
                          "os_version": "6.1"}), 1)),
            entry(at_time(manifest("linux-reboot", {"reason": {"unexpected": True,
                                                               "name": self.HOSTILE_REASON}}), 2)),
            entry(at_time(manifest("elf-coredump", {"coredump_file_name": core_name,
                                                    "compression": "gzip"}), 3),
                  {core_name: core}),
        ] + logs
        status, body = self.upload(batch)
        self.assertEqual(status, 200, body)

        for path in ("/", "/crashes", "/reboots", "/devices/gw-x",
                     f"/entries/{batch[2][0]}", f"/entries/{batch[0][0]}",
                     f"/entries/{logs[0][0]}"):
            with self.subTest(path):
                dom = self.page(path)
                for bad in ("injected", "pwned-img", "pwned-log"):
                    self.assertEqual(dom.find_all(id=bad), [], f"{bad} became an element")
                self.assertEqual([n for n in dom.walk() if n.tag in ("script", "img", "i")], [])
                title = dom.find("title").text()
                self.assertNotIn("pwned", title)

        crashes = self.page("/crashes")
        group = crashes.find("section", "crash-group")
        self.assertEqual(group.attrs["data-process"], self.HOSTILE_PROCESS)
        self.assertEqual(group.find("h2", "process").text(), self.HOSTILE_PROCESS)
        self.assertIn("evil\\x00--<i>x</i>", group.text())
        self.assertIn("line two of file 0", group.text())      # the log lines before it

        reboots = self.page("/reboots").find("table", "reboot-reasons")
        row = reboots.find("tr", data_reason="!" + self.HOSTILE_REASON)
        self.assertEqual(row.attrs["data-kind"], "unexpected")

        timeline = self.page("/devices/gw-x").find("table", "timeline")
        rows = timeline.find_all("tr", "entry")
        self.assertEqual([r.attrs["data-type"] for r in rows],
                         ["device-attributes", "linux-reboot", "elf-coredump", "linux-logs",
                          "linux-logs"])
        self.assertIn(self.HOSTILE_ATTRIBUTE, rows[0].text())
        first_log, second_log = rows[3], rows[4]
        lines = first_log.find("pre", "loglines").text()
        self.assertIn("</pre><h1 id=pwned-log>log</h1>\\x1b[31m red", lines)
        self.assertIn("gatewayd.service[77] <3>", lines)
        self.assertEqual(first_log.find_all("div", "chain"), [])
        chain = second_log.find("div", "chain").text()
        self.assertIn(f"gap before this file: no file received has next_cid {cid[2]}", chain)
        self.assertIn("second file", second_log.text())
        device_row = self.page("/").find("table", "devices").find("tr", data_serial="gw-x")
        self.assertIn("chain broken (1)", device_row.find("td", "logs").text())
        self.screenshot("/devices/gw-x", "hostile-timeline.png")

    def test_hostile_identity_and_logs_are_refused(self):
        status, body = self.api("/api/v0/upload", {
            "kind": "MAR", "size": 10, "content_encoding": None,
            "device": {"device_serial": "<b>x</b>", "hardware_version": "evt-2",
                       "software_version": "1.0", "software_type": "gateway"}})
        self.assertEqual(status, 400)
        self.assertIn(b"device.device_serial", body)
        bad_log = entry(manifest("linux-logs", {
            "format": {"id": "v1", "serialization": "json-lines"},
            "log_file_name": "log.gz", "compression": "gzip",
            "cid": {"uuid": str(uuidlib.uuid4())}, "next_cid": {"uuid": str(uuidlib.uuid4())}}),
            {"log.gz": log_file([{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": 5}}])})
        status, body = self.upload([bad_log])
        self.assertEqual(status, 400)
        message = json.loads(body)["error"]["message"]
        self.assertIn("attachment log.gz: line 1: data.MESSAGE: expected a string, got 5",
                      message)

    def test_pages_answer_with_a_policy_and_html(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        policy = headers["Content-Security-Policy"]
        self.assertIn("default-src 'none'", policy)        # no script, nothing fetched
        self.assertNotIn("script-src", policy)
        self.assertNotIn(b"<script", body.lower())
        self.assertNotIn(b"http://", body.replace(b'xmlns="http://www.w3.org/2000/svg"', b""))
        self.assertNotIn(b"https://", body)


class EmptyTest(PageTestCase):
    @classmethod
    def setUpClass(cls):
        if browser.chromium_path() is None:
            raise unittest.SkipTest("needs chromium (Debian package chromium)")
        try:
            cls.start_receiver()
        except BaseException:
            cls.stop_receiver()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_receiver()

    def test_every_page_of_an_empty_fleet(self):
        dom = self.page("/")
        self.assertIn("No entries have been received yet", dom.text())
        self.assertIn(self.rx.url, dom.text())
        self.assertIn("No core has been received", self.page("/crashes").text())
        self.assertIn("No reboot has been received", self.page("/reboots").text())
        for path in ("/devices/gw-1", f"/entries/{uuidlib.uuid4()}",
                     f"/entries/{uuidlib.uuid4()}/files/core.elf"):
            status, headers, body = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertTrue(headers["Content-Type"].startswith("text/html"))
        status, _, _ = self.get("/nope")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
