#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of the receiver's fleet pages and of linux-logs entries, without a browser:
number formatting, escaping of device strings, the strict linux-logs check (read_mar), the log
chain, what the pages read of cores and log files, and the pages rendered from entry dicts shaped
like load_entries' answer (including an empty fleet and a few hundred entries).
The script is tests/receiver/faultd-receiver, or the program in $RECEIVER.
"""
import gzip
import io
import json
import os
import struct
import sys
import tempfile
import time
import unittest
import uuid as uuidlib
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import browser  # noqa: E402
from test_report import fr, heartbeat, manifest, reboot  # noqa: E402

BOOT = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f"
BOOT2 = "1d6a8490-31cf-4af1-aa29-c6132bca8175"


def new_uuid():
    return str(uuidlib.uuid4())


def logs_metadata(name="log.jsonl.gz", cid=None, next_cid=None):
    return {"format": {"id": "v1", "serialization": "json-lines"}, "log_file_name": name,
            "compression": "gzip", "cid": {"uuid": cid or new_uuid()},
            "next_cid": {"uuid": next_cid or new_uuid()}}


def log_bytes(lines):
    return gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())


def log_line(message="hello", ts="2026-11-21T10:00:00.123Z", **fields):
    return {"ts": ts, "data": dict({"MESSAGE": message}, **fields)}


def note(name, ntype, desc):
    name = name.encode() + b"\0"
    return (struct.pack("<III", len(name), len(desc), ntype) + name + b"\0" * (-len(name) % 4)
            + desc + b"\0" * (-len(desc) % 4))


def elf_core(notes, e_type=4):
    """An ELF64 little-endian core with one PT_NOTE segment holding notes."""
    body = b"".join(notes)
    header = (b"\x7fELF\x02\x01\x01" + bytes(9)
              + struct.pack("<HHIQQQIHHHHHH", e_type, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 4, 0, 64 + 56, 0, 0, len(body), 0, 4)
    return header + phdr + body


def faultd_note(**capture):
    return note("FAULTD", 1, json.dumps(capture).encode())


def mar(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for uid, files in entries:
            for name, data in files.items():
                zf.writestr(zipfile.ZipInfo(f"{uid}/{name}", (2026, 11, 21, 10, 0, 0)), data)
    return buf.getvalue()


def logs_entry(metadata=None, files=None, raw_manifest=None):
    metadata = metadata or logs_metadata()
    m = manifest("linux-logs", "1.0", "gw-1", metadata)
    m["device"]["project_key"] = "dev-key"
    all_files = {"manifest.json": raw_manifest or json.dumps(m).encode()}
    if files is None:
        files = {metadata["log_file_name"]: log_bytes([log_line()])}
    all_files.update(files)
    return new_uuid(), all_files


def trace_doc(active, others=(), symbols=None, signal="SIGSEGV", cmdline="/usr/bin/gatewayd -v"):
    """A linux-stacktrace document (memfaultd's format 1): active the crashing thread's pcs
    (ints), others the pcs of each other thread; symbols (path, start, end, compiled_offset)."""
    if symbols is None:
        symbols = [("/usr/bin/gatewayd", 0x5581c3a01000, 0x5581c3a03000, 0x1000),
                   ("/lib/libc.so.6", 0x7f0000028000, 0x7f000019d000, 0x28000)]
    return {"version": "1", "signal": signal, "cmdline": cmdline,
            "symbols": [{"pc_range": {"start": hex(start), "end": hex(end)},
                         "build_id": "7078ab15df", "compiled_offset": hex(compiled),
                         "runtime_offset": hex(start), "path": path}
                        for path, start, end, compiled in symbols],
            "threads": [{"active": True, "pcs": [hex(pc) for pc in active]}]
            + [{"active": False, "pcs": [hex(pc) for pc in pcs]} for pcs in others]}


class Formatting(unittest.TestCase):
    def test_stable_percent_one_decimal_unless_it_would_hide_crashes(self):
        self.assertEqual(fr.format_stable(97.54, 100, 2.46), "97.5")
        self.assertEqual(fr.format_stable(100.0, 10, 0), "100.0")
        self.assertEqual(fr.format_stable(0.0, 10, 10), "0.0")
        self.assertEqual(fr.format_stable(fr.stable_percent(10000, 3), 10000, 3), "99.97")
        self.assertEqual(fr.format_stable(fr.stable_percent(1e6, 0.1), 1e6, 0.1), "99.99999")
        self.assertEqual(fr.format_stable(fr.stable_percent(1000, 999.9996), 1000, 999.9996),
                         "0.00004")
        self.assertEqual(fr.format_stable(fr.stable_percent(1e12, 1e-3), 1e12, 1e-3),
                         ">99.9999999")
        self.assertEqual(fr.format_stable(None), "-")
        self.assertEqual(fr.format_stable(99.96), "100.0")      # without the hours, as it is

    def test_hours_two_decimals_or_two_significant_digits(self):
        cases = {0: "0.00", 0.0: "0.00", 1234.567: "1234.57", 0.5: "0.50", 0.1: "0.10",
                 0.034: "0.034", 0.000556: "0.00056", 0.05: "0.050", 22: "22.00",
                 1e-12: "<0.000000001"}
        for hours, text in cases.items():
            self.assertEqual(fr.format_hours(hours), text, hours)

    def test_escaping(self):
        self.assertEqual(fr.esc('<b a="x">&\'\x1b\u202e\x00ok\n'),
                         "&lt;b a=&quot;x&quot;&gt;&amp;&#x27;\\x1b\\u202e\\x00ok\n")
        self.assertEqual(fr.esc(42), "42")
        self.assertEqual(fr.device_href("gw-1"), "/devices/gw-1")

    def test_rfc3339(self):
        self.assertEqual(fr.rfc3339_epoch("1970-01-01T00:00:01Z"), 1.0)
        self.assertEqual(fr.rfc3339_epoch("1970-01-01T01:00:01.5+01:00"), 1.5)
        self.assertEqual(fr.rfc3339_epoch("1970-01-01T00:00:00-00:30"), 1800.0)
        for bad in ("1970-01-01 00:00:00Z", "1970-02-30T00:00:00Z", "1970-01-01T00:00:00",
                    "1970-01-01T00:00:00+24:00", "1970-01-01T25:00:00Z", None, 5):
            self.assertIsNone(fr.rfc3339_epoch(bad), bad)


class LinuxLogs(unittest.TestCase):
    def accept(self, *entries):
        return fr.read_mar(mar(entries), "dev-key")

    def reject(self, entry, *fragments):
        with self.assertRaises(fr.Invalid) as cm:
            self.accept(entry)
        message = str(cm.exception)
        self.assertTrue(message.startswith(f"entry {entry[0]}: "), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_the_spec_shape_is_accepted(self):
        lines = [log_line("started", _PID="77", PRIORITY="6", _SYSTEMD_UNIT="gw.service"),
                 log_line("x", ts="2026-11-21T11:00:00+01:00", PRIORITY=3, _PID=12,
                          _SOURCE_REALTIME_TIMESTAMP="1795255200000000", ERRNO=2.0),
                 log_line("", ts="2026-11-21T10:00:00.123456789Z")]
        md = logs_metadata()
        uid, files = logs_entry(md, {md["log_file_name"]: log_bytes(lines)})
        (got,) = self.accept((uid, files))
        self.assertEqual(got["type"], "linux-logs")
        # Two gzip members (a file appended to), and no newline after the last line.
        two = gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": "a"}}\n') + \
            gzip.compress(b'{"ts": "2026-11-21T10:00:01Z", "data": {"MESSAGE": "b"}}')
        self.accept(logs_entry(md, {md["log_file_name"]: two}))
        self.assertEqual(fr.check_log_file(two), 2)

    def test_metadata_is_checked_strictly(self):
        def md(**changes):
            m = logs_metadata()
            m.update(changes)
            return m
        cid = new_uuid()
        cases = [
            (dict(md(), extra=1), 'metadata: unknown field "extra"'),
            ({k: v for k, v in md().items() if k != "next_cid"},
             'metadata: missing field "next_cid"'),
            (md(format={"id": "v2", "serialization": "json-lines"}),
             'metadata.format.id: expected "v1", got "v2"'),
            (md(format={"id": "v1", "serialization": "json"}),
             'metadata.format.serialization: expected "json-lines"'),
            (md(format={"id": "v1"}), 'metadata.format: missing field "serialization"'),
            (md(compression="zstd"), 'metadata.compression: expected "gzip", got "zstd"'),
            (md(compression=None), "metadata.compression"),
            (md(cid={"uuid": "not-a-uuid"}), "metadata.cid.uuid: expected a canonical"),
            (md(cid=cid), "metadata.cid: expected an object"),
            (md(cid={"uuid": cid}, next_cid={"uuid": cid}),
             "metadata.next_cid.uuid: equals cid.uuid"),
            (md(next_cid={"uuid": cid, "x": 1}), 'metadata.next_cid: unknown field "x"'),
            (md(log_file_name="manifest.json"), "metadata.log_file_name"),
            (md(log_file_name="a/b"), "metadata.log_file_name: expected a file name"),
        ]
        for metadata, fragment in cases:
            with self.subTest(fragment):
                name = metadata.get("log_file_name")
                files = {name: log_bytes([log_line()])} if isinstance(name, str) and \
                    fr.MEMBER_FILE_RE.fullmatch(name) and name != "manifest.json" else {}
                self.reject(logs_entry(metadata, files), "manifest.json: " + fragment)

    def test_the_attachment_is_checked_line_by_line(self):
        name = "log.jsonl.gz"

        def entry(content):
            return logs_entry(logs_metadata(name), {name: content})

        def lines(*items):
            return entry(log_bytes(items))

        good = log_line()
        cases = [
            (logs_entry(logs_metadata(name), {}), "the log file log.jsonl.gz named by "
             "metadata.log_file_name is not in the entry"),
            (logs_entry(logs_metadata(name), {name: log_bytes([good]), "x.txt": b"x"}),
             "unexpected attachment x.txt"),
            (entry(b'{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": "a"}}\n'),
             "attachment log.jsonl.gz: not gzip data"),
            (entry(gzip.compress(b"x" * 1000)[:-12]), "attachment log.jsonl.gz: ", "cut short"),
            (entry(b"\x1f\x8b\x07\x00" + bytes(6) + b"garbage"),
             "attachment log.jsonl.gz: corrupt gzip data"),
            (entry(log_bytes([good]) + b"trailing"), "garbage after the gzip data"),
            (entry(gzip.compress(b"")), "the log file holds no lines"),
            (entry(gzip.compress(b"not json\n")), "line 1: not JSON"),
            (entry(gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": "a"}}\n'
                                 b"\n{}\n")), "line 2: empty"),
            (entry(gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "ts": "x", "data": {}}\n')),
             "line 1: duplicate key"),
            (lines(good, [1, 2]), "line 2: expected an object, got a list"),
            (lines({"data": {"MESSAGE": "a"}}), 'line 1: missing field "ts"'),
            (lines(dict(good, extra=1)), 'line 1: unknown field "extra"'),
            (lines(log_line(ts="2026-11-21 10:00:00Z")), "line 1: ts: expected RFC 3339"),
            (lines(log_line(ts="2026-13-01T10:00:00Z")), "line 1: ts: expected RFC 3339"),
            (lines(log_line(ts=1795255200)), "line 1: ts: expected a string"),
            (lines({"ts": "2026-11-21T10:00:00Z", "data": "text"}),
             "line 1: data: expected an object"),
            (lines({"ts": "2026-11-21T10:00:00Z", "data": {"_PID": "1"}}),
             'line 1: data: missing field "MESSAGE"'),
            (lines(log_line(5)), "line 1: data.MESSAGE: expected a string, got 5"),
            (lines(log_line(PRIORITY=9)), "line 1: data.PRIORITY: expected a syslog priority"),
            (lines(log_line(PRIORITY="info")), "data.PRIORITY"),
            (lines(log_line(_PID="abc")), "line 1: data._PID: expected a process id"),
            (lines(log_line(_PID=0)), "data._PID"),
            (lines(log_line(message="x", unit="y")), 'field name "unit" is not a journal field'),
            (lines(log_line(UNIT=["a"])), "line 1: data.UNIT: expected a string or a number"),
            (lines(log_line(UNIT=None)), "data.UNIT: expected a string or a number, got null"),
            (lines(log_line(UNIT=True)), "data.UNIT"),
            (entry(gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": NaN}}')),
             "line 1: ", "NaN"),
            (entry(gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "data": {"MESSAGE": "\xff"}}')),
             "line 1: not UTF-8"),
            (lines(good, good, log_line(PRIORITY=8)), "line 3: data.PRIORITY"),
        ]
        for entry_, *fragments in cases:
            with self.subTest(fragments[0]):
                self.reject(entry_, *fragments)

    def test_limits(self):
        long = log_line("x" * (fr.LOG_LINE_LIMIT + 10))
        self.reject(logs_entry(logs_metadata("l.gz"), {"l.gz": log_bytes([long])}),
                    "line 1: ", "over the limit of")
        limit = fr.LOG_DECOMPRESSED_LIMIT
        fr.LOG_DECOMPRESSED_LIMIT = 1000
        try:
            big = log_bytes([log_line("y" * 600), log_line("z" * 600)])
            self.reject(logs_entry(logs_metadata("l.gz"), {"l.gz": big}),
                        "more than 1000 bytes once decompressed")
        finally:
            fr.LOG_DECOMPRESSED_LIMIT = limit

    def test_list_summary(self):
        md = logs_metadata("l.gz")
        m = manifest("linux-logs", "1.0", "gw-1", md)
        text = fr.summarize("linux-logs", m, {"l.gz": 321})
        self.assertIn("l.gz, 321 bytes", text)
        self.assertIn(md["cid"]["uuid"][:8], text)


def view(kind, metadata, seconds, uuid=None, index=0, serial="gw-1"):
    m = manifest(kind, "1.0", serial, metadata)
    m["collection_time"]["timestamp"] = time.strftime("2026-11-21T10:%M:%SZ",
                                                      time.gmtime(seconds))
    return fr.entry_view({"uuid": uuid or new_uuid(), "manifest": m}, index)


class LogChain(unittest.TestCase):
    def test_chain(self):
        a, b, c, d, e = (new_uuid() for _ in range(5))
        files = [view("linux-logs", logs_metadata(cid=a, next_cid=b), 1, index=2),
                 view("linux-logs", logs_metadata(cid=b, next_cid=c), 2, index=0),
                 view("linux-logs", logs_metadata(cid=c, next_cid=d), 3, index=1)]
        self.assertEqual(fr.log_chain(files), {})           # arrival order does not matter
        self.assertEqual(fr.log_chain(files[1:]), {})       # the device began before us
        gap = view("linux-logs", logs_metadata(cid=e, next_cid=new_uuid()), 4)
        problems = fr.log_chain(files + [gap])
        self.assertEqual(list(problems), [gap["uuid"]])
        self.assertIn(f"no file received has next_cid {e}", problems[gap["uuid"]])
        again = view("linux-logs", logs_metadata(cid=b, next_cid=new_uuid()), 5)
        problems = fr.log_chain(files + [again])
        self.assertIn(f"cid {b} was already used by entry {files[1]['uuid']}",
                      problems[again["uuid"]])
        fork = view("linux-logs", logs_metadata(cid=new_uuid(), next_cid=c), 6)
        self.assertIn(f"next_cid {c} was already announced",
                      fr.log_chain(files + [fork])[fork["uuid"]])
        self.assertEqual(fr.log_chain([]), {})


class Attachments(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="faultd-pages-")
        self.addCleanup(self.tmp.cleanup)

    def write(self, data, name="core.elf"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_faultd_note(self):
        core = elf_core([note("CORE", 1, struct.pack("<i", 6) + bytes(300)),
                         note("CORE", 1, struct.pack("<i", 0) + bytes(300)),
                         faultd_note(process="gatewayd", pid=42, tid=43, signal=11, time=100,
                                     exe="/usr/bin/gatewayd", cmdline="gatewayd -v",
                                     signature="abc123", maps="00400000-…"),
                         note("FAULTD", 2, b'{"truncated": null, "kept_bytes": 10}\0\0')])
        info = fr.core_info(self.write(gzip.compress(core)), "gzip")
        self.assertIsNone(info["error"])
        self.assertEqual((info["process"], info["pid"], info["tid"], info["signal"],
                          info["time"], info["signature"], info["threads"]),
                         ("gatewayd", 42, 43, 11, 100, "abc123", 2))
        self.assertEqual(info["outcome"], {"truncated": None, "kept_bytes": 10})
        self.assertEqual(info["capture"]["maps"], "00400000-…")

    def test_kernel_notes_only(self):
        prpsinfo = bytearray(136)
        prpsinfo[40:48] = b"modemd\0\0"
        core = elf_core([note("CORE", 3, bytes(prpsinfo)),
                         note("CORE", 1, struct.pack("<i", 7) + bytes(300)),
                         note("CORE", 0x53494749, struct.pack("<i", 6) + bytes(124))])
        info = fr.core_info(self.write(core), None)
        self.assertEqual((info["process"], info["signal"], info["error"]), ("modemd", 6, None))
        self.assertEqual(fr.signal_name(info["signal"]), "SIGABRT")
        self.assertEqual(fr.signal_name(99), "signal 99")

    def test_bad_cores_give_an_error_not_an_exception(self):
        cases = [
            (gzip.compress(b"\x7fELF\x02\x01\x01" + bytes(300)), "gzip", "not a core file"),
            (gzip.compress(elf_core([], e_type=2)), "gzip", "e_type 2"),
            (b"plain text", None, "not an ELF file"),
            (b"not gzip at all", "gzip", "cannot be read"),
            (gzip.compress(elf_core([faultd_note(process="x")]))[:-20], "gzip", "cannot be read"),
            (elf_core([]), None, "the core holds no notes"),
            (elf_core([note("FAULTD", 1, b"{not json")]), None, None),
            (b"\x28\xb5\x2f\xfd" + bytes(10), "zstd", "zstd"),
            (elf_core([])[:70], None, "program headers are cut short"),
        ]
        # Program headers claimed far beyond what the receiver reads.
        far = bytearray(elf_core([]))
        struct.pack_into("<Q", far, 32, 1 << 40)
        cases.append((bytes(far), None, "beyond what the receiver reads"))
        for n, (data, compression, fragment) in enumerate(cases):
            with self.subTest(n):
                info = fr.core_info(self.write(data, f"c{n}"), compression)
                if fragment is None:
                    self.assertIsNone(info["process"])
                else:
                    self.assertIn(fragment, info["error"] or "")
        self.assertIn("cannot be read", fr.core_info(os.path.join(self.tmp.name, "none"),
                                                     None)["error"])

    def test_log_file_lines(self):
        path = self.write(log_bytes([log_line(f"m{i}", ts=f"2026-11-21T10:00:{i:02d}Z")
                                     for i in range(8)]), "l.gz")
        lines, count, error = fr.log_file_lines(path, 3)
        self.assertEqual((count, error, [d["MESSAGE"] for _, _, d in lines]),
                         (8, None, ["m0", "m1", "m2"]))
        path = self.write(gzip.compress(b'{"ts": "2026-11-21T10:00:00Z", "data": '
                                        b'{"MESSAGE": "ok"}}\nbroken\n'), "b.gz")
        lines, count, error = fr.log_file_lines(path)
        self.assertEqual((len(lines), count), (1, 1))
        self.assertIn("line 2: not JSON", error)


class FleetPages(unittest.TestCase):
    """The pages rendered from entry dicts and files written the way the receiver keeps them."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="faultd-pages-")
        self.addCleanup(self.tmp.cleanup)
        self.root = self.tmp.name
        self.details = fr.Details(self.root)

    def store(self, e, files=None):
        folder = os.path.join(self.root, "entries", e["uuid"])
        os.makedirs(folder)
        for name, data in (files or {}).items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
            e["attachments"][name] = len(data)
        return e

    def at(self, e, seconds, boot=BOOT):
        ct = e["manifest"]["collection_time"]
        ct["timestamp"] = time.strftime("2026-11-21T%H:%M:%SZ", time.gmtime(seconds))
        ct["linux_boot_id"] = boot
        e["received"] = 1795255200.0 + seconds
        return e

    def core(self, version, serial, seconds, **capture):
        name = f"core-{new_uuid()}.elf.gz"
        e = reboot(version, serial, 0)
        e["type"] = e["manifest"]["type"] = "elf-coredump"
        e["manifest"]["metadata"] = {"coredump_file_name": name, "compression": "gzip"}
        self.at(e, seconds)
        return self.store(e, {name: gzip.compress(elf_core([faultd_note(**capture)]))})

    def logs(self, serial, seconds, lines, cid=None, next_cid=None):
        md = logs_metadata("log.jsonl.gz", cid, next_cid)
        e = reboot("1.0", serial, 0)
        e["type"] = e["manifest"]["type"] = "linux-logs"
        e["manifest"]["metadata"] = md
        self.at(e, seconds)
        return self.store(e, {"log.jsonl.gz": log_bytes(lines)})

    def trace(self, serial, seconds, doc, compression=None, boot=BOOT, raw=None):
        name = f"stacktrace-{new_uuid()}.json"
        e = reboot("1.0", serial, 0)
        e["type"] = e["manifest"]["type"] = "linux-stacktrace"
        e["manifest"]["metadata"] = {"stacktrace_file_name": name, "compression": compression}
        self.at(e, seconds, boot)
        data = raw if raw is not None else json.dumps(doc).encode()
        return self.store(e, {name: gzip.compress(data) if compression == "gzip" else data})

    def render_all(self, entries, serials=()):
        fleet = fr.Fleet(entries, self.details)
        now = 1795255200.0 + 3600
        pages = {"/": fr.render_fleet(fleet, now, ("https://127.0.0.1:1", "ca.pem")),
                 "/crashes": fr.render_crashes(fleet),
                 "/reboots": fr.render_reboots(fleet)}
        for serial in serials:
            pages[f"/devices/{serial}"] = fr.render_device(fleet, serial, now)
        for e in entries:
            pages[f"/entries/{e['uuid']}"] = fr.render_entry(fleet, e["uuid"])
        return {path: browser.parse_dom(page.decode()) for path, page in pages.items()}

    def test_a_small_fleet(self):
        entries = [
            self.at(heartbeat("1.0", "gw-1", 10, 9, crashes=1,
                              **{"coredump/crashes/gatewayd": 1}), 3600),
            self.at(heartbeat("1.0", "gw-2", 10, 10), 3601),
            self.core("1.0", "gw-1", 1800, process="gatewayd", signal=11, pid=7, time=None),
            self.at(reboot("1.0", "gw-2", 0x8008), 3700),
            self.at(reboot("2.0", "gw-1", 0x0003), 7200, boot=BOOT2),
            self.at(heartbeat("2.0", "gw-1", 10, 10), 10800, boot=BOOT2),
        ]
        pages = self.render_all(entries, ["gw-1", "gw-2"])
        table = pages["/"].find("table", "versions", data_software_type="gateway")
        self.assertEqual(table.find("tr", data_version="1.0").find("td", "stable").text(), "95.0")
        self.assertEqual(table.find("tr", data_version="2.0").find("td", "stable").text(),
                         "100.0")
        self.assertEqual(table.find("tr", "total").find("td", "stable").text(), "96.7")
        devices = pages["/"].find("table", "devices")
        self.assertEqual(devices.find("tr", data_serial="gw-1").find("td", "version").text(),
                         "2.0")
        self.assertIn("KernelPanic", devices.find("tr", data_serial="gw-2").text())
        group = pages["/crashes"].find("section", "crash-group", data_process="gatewayd")
        self.assertIn("1 crash on 1 device", group.text())
        kinds = [tr.attrs["data-type"] for tr in
                 pages["/devices/gw-1"].find("table", "timeline").find_all("tr", "entry")]
        self.assertEqual(kinds, ["elf-coredump", "linux-metric-report", "linux-reboot",
                                 "linux-metric-report"])
        self.assertEqual(len(pages["/devices/gw-1"].find_all("tr", "boot")), 2)
        reasons = pages["/reboots"].find("table", "reboot-reasons")
        self.assertEqual(reasons.find("tr", data_reason="KernelPanic").attrs["data-kind"],
                         "unexpected")
        self.assertEqual(reasons.find("tr", data_reason="FirmwareUpdate").attrs["data-kind"],
                         "expected")

    def test_an_empty_fleet(self):
        pages = self.render_all([])
        self.assertIn("No entries have been received yet", pages["/"].text())
        self.assertIn("https://127.0.0.1:1", pages["/"].text())
        self.assertIn("No core has been received", pages["/crashes"].text())
        self.assertIn("No reboot has been received", pages["/reboots"].text())
        fleet = fr.Fleet([], self.details)
        self.assertIsNone(fr.render_device(fleet, "gw-1", 0))
        self.assertIsNone(fr.render_entry(fleet, new_uuid()))

    def test_device_strings_never_become_markup(self):
        evil = '<b id="x1">b</b><script>alert(1)</script>\x1b'
        attributes = reboot("1.0", "gw-1", 0)
        attributes["type"] = attributes["manifest"]["type"] = "device-attributes"
        attributes["manifest"]["metadata"] = {"attributes": [{"string_key": evil,
                                                              "value": evil}]}
        attributes["manifest"]["producer"]["version"] = evil
        bad_heartbeat = heartbeat("1.0", "gw-1", "ten", 1)
        entries = [
            self.at(attributes, 1),
            self.at(reboot("1.0", "gw-1", {"unexpected": True, "name": evil}), 2),
            self.core("1.0", "gw-1", 3, process=evil, cmdline=evil, exe=evil, signature=evil,
                      maps=evil, time=None),
            self.logs("gw-1", 4, [log_line(evil, _SYSTEMD_UNIT=evil, _PID="7")]),
            self.at(bad_heartbeat, 5),
            # A device serial and version the API would refuse, as a manifest on disk may hold.
            self.at(heartbeat(evil, evil, 1, 1), 6),
        ]
        entries[-1]["manifest"]["device"]["software_type"] = evil
        pages = self.render_all(entries, ["gw-1", evil])
        for path, dom in pages.items():
            with self.subTest(path):
                self.assertEqual(dom.find_all(id="x1"), [])
                self.assertEqual(dom.find_all("script"), [])
        crash = pages["/crashes"].find("section", "crash-group")
        self.assertEqual(crash.attrs["data-process"], evil.replace("\x1b", "\\x1b"))
        self.assertIn("<script>alert(1)</script>", crash.find("h2", "process").text())
        self.assertIn("skipped", pages["/"].find("details", "warn").text())
        link = pages["/"].find("table", "devices").find("tr", data_serial=evil.replace(
            "\x1b", "\\x1b")).find("a")
        self.assertTrue(link.attrs["href"].startswith("/devices/%3Cb%20id%3D%22x1%22"))

    def test_crash_shows_the_log_lines_before_it(self):
        t = 1000
        crash_time = int(fr.rfc3339_epoch("2026-11-21T00:16:40Z"))
        lines = [log_line(f"m{i}", ts=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(crash_time - 700 + i * 100)))
                 for i in range(9)]
        entries = [self.logs("gw-1", t, lines),
                   self.core("1.0", "gw-1", t + 10, process="gatewayd", time=crash_time)]
        fleet = fr.Fleet(entries, self.details)
        crash = fleet.by_uuid[entries[1]["uuid"]]
        shown = fleet.logs_before(crash, self.details.core(crash))
        self.assertEqual([d["MESSAGE"] for _, _, d in shown],
                         ["m1", "m2", "m3", "m4", "m5", "m6", "m7"])
        page = browser.parse_dom(fr.render_crashes(fleet).decode())
        self.assertIn("m7", page.find("pre", "crashlog").text())

    def test_a_crash_trace_on_the_device_page(self):
        evil = "<script>alert(1)</script>"
        doc = trace_doc([0x5581c3a01930, 0x7f0000029f00, 0x12345, 0x5581c3a02004],
                        others=[[0x7f0000030000]] * 5,
                        symbols=[("/usr/bin/gatewayd", 0x5581c3a01000, 0x5581c3a03000, 0x1000),
                                 ("/lib/libc.so.6", 0x7f0000028000, 0x7f000019d000, 0x28000),
                                 ("/usr/lib/<b id=x1><script>evil.so", 0x7f1000000000,
                                  0x7f1000001000, 0x0)],
                        cmdline=f"/usr/bin/gatewayd --name {evil}")
        doc["threads"][0]["pcs"].append("0x7f1000000010")
        # The document is one the API accepts (the same check the pages run on the file).
        entry = (new_uuid(), {"manifest.json": None, "st.json": json.dumps(doc).encode()})
        m = manifest("linux-stacktrace", "1.0", "gw-1",
                     {"stacktrace_file_name": "st.json", "compression": None})
        entry[1]["manifest.json"] = json.dumps(m).encode()
        self.assertEqual(len(fr.read_mar(mar([entry]), "dev-key")), 1)
        entries = [self.at(heartbeat("1.0", "gw-1", 1, 1), 5),
                   self.trace("gw-1", 10, doc, compression="gzip")]
        pages = self.render_all(entries, ["gw-1"])
        for path, dom in pages.items():
            with self.subTest(path):
                self.assertEqual(dom.find_all(id="x1"), [])
                self.assertEqual(dom.find_all("script"), [])
        row = pages["/devices/gw-1"].find("tr", data_type="linux-stacktrace")
        frames = row.find("pre", "frames").text().split("\n")
        self.assertEqual(frames, ["#0  0x5581c3a01930  gatewayd+0x1930",
                                  "#1  0x7f0000029f00  libc.so.6+0x29f00",
                                  "#2  0x12345  ?",
                                  "#3  0x5581c3a02004  gatewayd+0x2004",
                                  "#4  0x7f1000000010  <b id=x1><script>evil.so+0x10"])
        self.assertIn("SIGSEGV", row.find("b", "signal").text())
        self.assertEqual(row.find("code", "cmdline").text(), f"/usr/bin/gatewayd --name {evil}")
        self.assertIn("5 other threads", row.text())
        self.assertEqual(row.find_all("details"), [])      # the other threads are only counted
        page = pages[f"/entries/{entries[1]['uuid']}"]
        self.assertIn("#2  0x12345  ?", page.find("pre", "frames").text())
        self.assertIn("5 other threads", page.find("details", "threads").text())
        self.assertIn("#0  0x7f0000030000  libc.so.6+0x30000",
                      page.find("details", "threads").find("pre", "frames").text())
        self.assertIn("No core of this crash", page.text())
        alone = pages["/crashes"].find("section", "traces-alone")
        self.assertIn("gatewayd+0x1930", alone.find("pre", "frames").text())

    def test_a_trace_goes_with_its_core(self):
        doc = trace_doc([0x5581c3a01930])
        core = self.core("1.0", "gw-1", 100, process="gatewayd", signal=11, pid=7, time=None)
        entries = [core, self.trace("gw-1", 102, doc),              # the same crash
                   self.trace("gw-1", 160, doc),                    # a minute later: another
                   self.trace("gw-1", 101, trace_doc([0x5581c3a01930], signal="SIGABRT")),
                   self.trace("gw-1", 101, doc, boot=BOOT2),        # another boot
                   self.trace("gw-2", 100, doc)]                    # another device
        fleet = fr.Fleet(entries, self.details)
        self.assertEqual([t["uuid"] for t in fleet.traces_of(fleet.by_uuid[core["uuid"]])],
                         [entries[1]["uuid"]])
        self.assertIsNone(fleet.core_of(fleet.by_uuid[entries[2]["uuid"]]))
        pages = self.render_all(entries, ["gw-1"])
        timeline = pages["/devices/gw-1"].find("table", "timeline")
        core_row = timeline.find("tr", data_uuid=core["uuid"])
        self.assertIn("gatewayd+0x1930", core_row.find("pre", "frames").text())
        self.assertIn("shown with its core above",
                      timeline.find("tr", data_uuid=entries[1]["uuid"]).text())
        self.assertIsNotNone(timeline.find("tr", data_uuid=entries[2]["uuid"]).find("pre",
                                                                                   "frames"))
        crash = pages["/crashes"].find("details", "crash", data_uuid=core["uuid"])
        self.assertIn("gatewayd+0x1930", crash.find("pre", "frames").text())
        self.assertEqual(len(crash.find_all("div", "trace")), 1)
        self.assertIn(core["uuid"], pages[f"/entries/{entries[1]['uuid']}"].text())
        self.assertIn("gatewayd+0x1930",
                      pages[f"/entries/{core['uuid']}"].find("pre", "frames").text())
        self.assertEqual(len(pages["/crashes"].find("section", "traces-alone")
                             .find_all("details", "crash-trace")), 4)

    def test_a_trace_page_stays_bounded(self):
        doc = trace_doc([0x5581c3a01000 + i for i in range(200)], others=[[1]] * 100,
                        cmdline="x" * 5000)
        entries = [self.trace("gw-1", 10, doc),
                   self.trace("gw-1", 20, None, raw=b'{"version": "2"}'),
                   self.trace("gw-1", 30, None, raw=b"\x1f\x8b not json")]
        pages = self.render_all(entries, ["gw-1"])
        row = pages["/devices/gw-1"].find("tr", data_uuid=entries[0]["uuid"])
        self.assertEqual(len(row.find("pre", "frames").text().split("\n")), 64)
        self.assertIn("the first 64 of 200 frames shown", row.text())
        self.assertIn("100 other threads", row.text())
        self.assertLess(len(row.find("code", "cmdline").text()), 301)
        self.assertIn("(5000 characters)", row.text())
        page = pages[f"/entries/{entries[0]['uuid']}"]
        self.assertEqual(len(page.find("details", "threads").find_all("pre", "frames")),
                         fr.TRACE_OTHER_THREADS)
        self.assertIn("68 more threads not shown", page.text())
        for e, fragment in ((entries[1], "missing field"), (entries[2], "not UTF-8")):
            row = pages["/devices/gw-1"].find("tr", data_uuid=e["uuid"])
            self.assertIn("not a valid trace", row.find("span", "warn").text())
            self.assertIn(fragment, row.text())

    def test_a_few_hundred_entries(self):
        entries = []
        chain = {}
        for n in range(600):
            serial = f"gw-{n % 12:02d}"
            version = ("1.0", "1.1", "2.0")[n // 200]
            t = 600 * n
            kind = n % 10
            if kind == 0:
                e = self.core(version, serial, t, process=f"proc{n % 3}", signal=11, time=None)
            elif kind == 1:
                e = self.at(reboot(version, serial, (0x8008, 0x0003, 0x8005)[n % 3]), t)
            elif kind == 2:
                cid = chain.get(serial) or new_uuid()
                chain[serial] = new_uuid()
                e = self.logs(serial, t, [log_line(f"line {i}") for i in range(50)], cid,
                              chain[serial])
            else:
                e = self.at(heartbeat(version, serial, 1, 1 - (n % 7 == 0)), t)
            entries.append(e)
        now = 1795255200.0
        for attempt in ("first (attachments read)", "second"):
            started = time.monotonic()
            fleet = fr.Fleet(entries, self.details)
            pages = [fr.render_fleet(fleet, now), fr.render_crashes(fleet),
                     fr.render_reboots(fleet), fr.render_device(fleet, "gw-03", now)]
            elapsed = time.monotonic() - started
            print(f"\n600 entries, the four pages ({sum(map(len, pages))} bytes): {attempt} "
                  f"{elapsed:.2f} s", file=sys.stderr)
        dom = browser.parse_dom(pages[0].decode())
        self.assertEqual(len(dom.find("table", "devices").find_all("tr")), 13)
        self.assertEqual(len(dom.find("section", "software-type").find("svg", "chart")
                             .find_all("g", "series")), 3)
        self.assertEqual(len(fleet.crashes()), 3)
        self.assertEqual(fleet.device_summary("gw-03")["log_problems"], {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
