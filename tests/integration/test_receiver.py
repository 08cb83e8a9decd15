# SPDX-License-Identifier: MIT
"""The development receiver itself: the device API served strictly, storage, test switches.

Runs tests/receiver/faultd-receiver (or the program in $RECEIVER) on a free port in a temporary
directory and talks to it over HTTPS with the CA it generates.
"""
import gzip
import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid as uuidlib
import warnings
import zipfile
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import RECEIVER, PROJECT_KEY, wait_for  # noqa: E402
IDENTITY = {"device_serial": "gw-0042", "hardware_version": "evt-1",
            "software_type": "main", "software_version": "1.2.3+g7 (build [x])"}
API_HEADERS = {"Memfault-Project-Key": PROJECT_KEY, "Content-Type": "application/json",
               "Accept": "application/json"}


def receiver_command(*args):
    if os.access(RECEIVER, os.X_OK):
        return [RECEIVER, *args]
    return [sys.executable, RECEIVER, *args]


# --- batches ---------------------------------------------------------------------------------

def new_uuid():
    return str(uuidlib.uuid4())


def manifest(kind, metadata, project_key=PROJECT_KEY, **changes):
    m = {
        "schema_version": 1,
        "collection_time": {"timestamp": "2026-11-21T10:00:00.123Z", "uptime_ms": 17445527,
                            "linux_boot_id": "48af0b97-79c3-4e95-ba80-8c436b4b9e8f",
                            "elapsed_realtime_ms": 17445527, "boot_count": 0},
        "device": dict(IDENTITY, project_key=project_key),
        "producer": {"id": "faultd", "version": "0.1.0", "os_name": "Linux",
                     "os_version": "6.1.0"},
        "type": kind,
        "metadata": metadata,
    }
    m.update(changes)
    return m


def entry(kind, metadata, attachments=None, uid=None, raw_manifest=None, **changes):
    """(uuid, {file name: bytes}) for one entry folder."""
    uid = uid or new_uuid()
    text = raw_manifest if raw_manifest is not None else \
        json.dumps(manifest(kind, metadata, **changes), indent=1).encode()
    files = {"manifest.json": text}
    files.update(attachments or {})
    return uid, files


def reboot(code=0x8008, **kw):
    return entry("linux-reboot", {"reason": code}, **kw)


def heartbeat(**kw):
    return entry("linux-metric-report",
                 {"metrics": {"operational_hours": 1, "operational_crashfree_hours": 1,
                              "cpu/usage_pct": 12.5, "mem.free_kb": 1024},
                  "duration_ms": 3600000, "report_type": "heartbeat"}, **kw)


def coredump(**kw):
    name = f"core-{new_uuid()}.elf.gz"
    core = gzip.compress(b"\x7fELF\x02\x01\x01" + bytes(300))
    return entry("elf-coredump", {"coredump_file_name": name, "compression": "gzip"},
                 attachments={name: core}, **kw)


def attributes(**kw):
    return entry("device-attributes",
                 {"attributes": [{"string_key": "fw", "value": "1.2"},
                                 {"string_key": "cellular", "value": True},
                                 {"string_key": "slots", "value": 3}]}, **kw)


def device_config_entry(revision=1, **kw):
    return entry("device-config", {"revision": revision}, **kw)


def build_mar(entries, compress_type=zipfile.ZIP_STORED, extra_members=()):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # duplicate names are written on purpose
        with zipfile.ZipFile(buf, "w") as zf:
            for uid, files in entries:
                for name, data in files.items():
                    zi = zipfile.ZipInfo(f"{uid}/{name}", date_time=(2026, 11, 21, 10, 0, 0))
                    zi.compress_type = compress_type
                    zf.writestr(zi, data)
            for name, data in extra_members:
                zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 21, 10, 0, 0)), data)
    return buf.getvalue()


# --- the receiver ----------------------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def message(self):
        return self.json["error"]["message"]

    def __repr__(self):
        return f"<Reply {self.status} {self.body[:300]!r}>"


class Receiver:
    def __init__(self, *args, root=None):
        self.root = root or tempfile.mkdtemp(prefix="faultd-receiver-test-")
        self.dir = os.path.join(self.root, "recv")
        self.args = args
        self.proc = None
        self.out_path = os.path.join(self.root, "stdout.log")
        self.err_path = os.path.join(self.root, "stderr.log")

    def start(self):
        info_path = os.path.join(self.dir, "receiver.json")
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(
                receiver_command("serve", "--dir", self.dir, "--port", "0", *self.args),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"receiver exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with open(info_path) as f:
                    info = json.load(f)
            except (OSError, ValueError):
                return None
            return info if info.get("pid") == self.proc.pid else None

        self.info = wait_for(ready, timeout=30, what="receiver.json")
        self.port = self.info["port"]
        self.ca = self.info["ca_bundle"]
        return self

    def log(self):
        text = ""
        for path in (self.out_path, self.err_path):
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"receiver did not stop within 15 s:\n{self.log()}")
        self.proc = None
        return code

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    # -- HTTP

    def context(self, cafile=None, check_hostname=True):
        ctx = ssl.create_default_context(cafile=cafile or self.ca)
        ctx.check_hostname = check_hostname
        return ctx

    def connect(self, host="127.0.0.1", timeout=10, context=None):
        return http.client.HTTPSConnection(host, self.port, timeout=timeout,
                                           context=context or self.context())

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            if own:
                conn.close()

    def api(self, path, payload, headers=None, conn=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", path, body, dict(API_HEADERS, **(headers or {})), conn=conn)

    def prepare(self, size, device=None, conn=None, **changes):
        payload = {"kind": "MAR", "size": size, "content_encoding": None,
                   "device": device or dict(IDENTITY)}
        payload.update(changes)
        return self.api("/api/v0/upload", payload, conn=conn)

    def put(self, url, data, headers=None, conn=None):
        parts = urlsplit(url)
        return self.request("PUT", parts.path, data, headers, conn=conn)

    def commit(self, token, identity=None, conn=None):
        payload = dict(identity or IDENTITY, file={"token": token})
        return self.api("/api/v0/upload/mar", payload, conn=conn)

    def upload(self, mar, identity=None, conn=None):
        """prepare, PUT, commit; returns the commit reply (asserting the first two went well)."""
        p = self.prepare(len(mar), device=dict(identity or IDENTITY), conn=conn)
        assert p.status == 200, p
        u = self.put(p.json["data"]["upload_url"], mar, conn=conn)
        assert u.status == 200, u
        return self.commit(p.json["data"]["token"], identity=identity, conn=conn)

    def faults(self, settings, conn=None):
        r = self.request("POST", "/_dev/faults", json.dumps(settings).encode(), conn=conn)
        assert r.status == 200, r
        return r.json

    def reset(self):
        """Default test switches, whatever certificate is being served."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = self.connect(context=ctx)
        try:
            return self.faults({}, conn=conn)
        finally:
            conn.close()

    def get(self, path):
        r = self.request("GET", path)
        assert r.status == 200, r
        return r.json


class ReceiverTestCase(unittest.TestCase):
    """One receiver (with a fixed project key) shared by the class; faults reset per test."""

    @classmethod
    def setUpClass(cls):
        cls.recv = Receiver("--project-key", PROJECT_KEY)
        try:
            cls.recv.start()
        except BaseException:
            cls.recv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            code = cls.recv.stop()
            assert code == 0, f"receiver exit status {code}:\n{cls.recv.log()}"
            assert "Traceback" not in cls.recv.log(), cls.recv.log()
        finally:
            cls.recv.cleanup()

    def setUp(self):
        self.recv.reset()

    def assertRejected(self, reply, status, *fragments):
        self.assertEqual(reply.status, status, reply)
        self.assertEqual(reply.headers.get("Content-Type"), "application/json", reply)
        message = reply.message
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def held(self):
        return {e["uuid"]: e for e in self.recv.get("/_dev/entries")}


# --- tests -------------------------------------------------------------------------------------

class GoodUploadTest(ReceiverTestCase):
    def test_complete_upload_stores_every_entry_byte_for_byte(self):
        entries = [reboot(), reboot(code={"unexpected": True, "name": "brownout-detector"}),
                   heartbeat(), coredump(), attributes(), device_config_entry(3)]
        mar = build_mar(entries)
        r = self.recv.upload(mar)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"data": {"entries": 6, "duplicates": 0}})

        held = self.recv.get("/_dev/entries")
        mine = [e for e in held if e["uuid"] in dict(entries)]
        self.assertEqual([e["uuid"] for e in mine], [uid for uid, _ in entries])
        batch = mine[0]["batch"]
        self.assertTrue(all(e["batch"] == batch for e in mine))
        with open(os.path.join(self.recv.dir, "batches", f"{batch:06d}.mar"), "rb") as f:
            self.assertEqual(f.read(), mar)
        for (uid, files), record in zip(entries, mine):
            folder = os.path.join(self.recv.dir, "entries", uid)
            self.assertEqual(sorted(os.listdir(folder)), sorted(files))
            for name, data in files.items():
                with open(os.path.join(folder, name), "rb") as f:
                    self.assertEqual(f.read(), data, f"{uid}/{name}")
            self.assertEqual(record["manifest"], json.loads(files["manifest.json"]))
            self.assertEqual(record["type"], record["manifest"]["type"])
            self.assertEqual(record["attachments"],
                             {n: len(d) for n, d in files.items() if n != "manifest.json"})
            self.assertIsInstance(record["received"], float)
        self.assertEqual([e["type"] for e in mine],
                         ["linux-reboot", "linux-reboot", "linux-metric-report", "elf-coredump",
                          "device-attributes", "device-config"])

        steps = [(q["step"], q["status"], q["entries"])
                 for q in self.recv.get("/_dev/stats")["requests"][-3:]]
        self.assertEqual(steps, [("prepare", 200, None), ("put", 200, None), ("commit", 200, 6)])
        # A newcomer watching the terminal sees the entries arrive.
        log = wait_for(lambda: entries[-1][0][:8] in self.recv.log() and self.recv.log(),
                       what="entry lines on stdout")
        self.assertIn(f"entry {entries[0][0][:8]}… linux-reboot from serial gw-0042 "
                      f"(batch {batch}): reason 0x8008 KernelPanic (unexpected)", log)
        self.assertIn(f"entry {entries[4][0][:8]}… device-attributes from serial gw-0042", log)

    def test_one_keep_alive_connection_and_the_localhost_name(self):
        conn = self.recv.connect(host="localhost")
        try:
            p = self.recv.prepare(0 + len(build_mar([reboot()])), conn=conn)
            self.assertTrue(p.json["data"]["upload_url"].startswith(
                f"https://localhost:{self.recv.port}/upload/"), p)
            mar = build_mar([reboot()])
            p = self.recv.prepare(len(mar), conn=conn)
            self.assertEqual(self.recv.put(p.json["data"]["upload_url"], mar, conn=conn).status, 200)
            r = self.recv.commit(p.json["data"]["token"], conn=conn)
            self.assertEqual(r.json, {"data": {"entries": 1, "duplicates": 0}})
            # A rejected request leaves the connection usable too.
            self.assertRejected(self.recv.api("/api/v0/upload", {"kind": "MAR"}, conn=conn), 400)
            self.assertEqual(self.recv.request("GET", "/_dev/stats", conn=conn).status, 200)
        finally:
            conn.close()

    def test_expect_100_continue_put(self):
        mar = build_mar([heartbeat()])
        p = self.recv.prepare(len(mar))
        u = self.recv.put(p.json["data"]["upload_url"], mar, headers={"Expect": "100-continue"})
        self.assertEqual(u.status, 200, u)
        self.assertEqual(self.recv.commit(p.json["data"]["token"]).status, 200)

    def test_duplicates_are_counted_and_not_stored_again(self):
        before = self.recv.get("/_dev/stats")
        entries = [reboot(), heartbeat()]
        self.assertEqual(self.recv.upload(build_mar(entries)).json,
                         {"data": {"entries": 2, "duplicates": 0}})
        again = build_mar(entries + [attributes()])
        self.assertEqual(self.recv.upload(again).json, {"data": {"entries": 3, "duplicates": 2}})
        after = self.recv.get("/_dev/stats")
        self.assertEqual(after["duplicates"] - before["duplicates"], 2)
        self.assertEqual(after["entries"] - before["entries"], 3)
        self.assertEqual(after["batches"] - before["batches"], 2)
        held = self.held()
        first_batch = held[entries[0][0]]["batch"]
        self.assertEqual(held[entries[1][0]]["batch"], first_batch)


class PrepareStrictnessTest(ReceiverTestCase):
    def prepare_with(self, payload=None, headers=None, drop=()):
        payload = payload or {"kind": "MAR", "size": 100, "content_encoding": None,
                              "device": dict(IDENTITY)}
        h = dict(API_HEADERS, **(headers or {}))
        for name in drop:
            del h[name]
        return self.recv.request("POST", "/api/v0/upload", json.dumps(payload).encode(), h)

    def test_headers(self):
        self.assertRejected(self.prepare_with(drop=["Memfault-Project-Key"]), 401,
                            "Memfault-Project-Key")
        self.assertRejected(self.prepare_with(headers={"Memfault-Project-Key": "other"}), 401,
                            "project key")
        self.assertRejected(self.prepare_with(headers={"Content-Type": "text/plain"}), 415,
                            "Content-Type", "text/plain")
        self.assertRejected(self.prepare_with(drop=["Content-Type"]), 415, "Content-Type")
        self.assertRejected(self.prepare_with(headers={"Accept": "*/*"}), 406, "Accept")
        r = self.prepare_with(headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 200, r)

    def test_body(self):
        good = {"kind": "MAR", "size": 100, "content_encoding": None, "device": dict(IDENTITY)}
        cases = [
            (dict(good, extra=1), 400, 'unknown field "extra"'),
            ({k: v for k, v in good.items() if k != "content_encoding"}, 400,
             'missing field "content_encoding"'),
            (dict(good, kind="ZIP"), 400, "kind", '"ZIP"'),
            (dict(good, size=True), 400, "size: expected an integer, got true"),
            (dict(good, size=0), 400, "size"),
            (dict(good, size=1.5), 400, "size"),
            (dict(good, size=64 * 1024 * 1024), 413, "size", "10485760"),
            (dict(good, content_encoding="gzip"), 400, "content_encoding: expected null"),
            (dict(good, device=dict(IDENTITY, device_serial="has space")), 400,
             "device.device_serial", '"has space"'),
            (dict(good, device=dict(IDENTITY, hardware_version="a/b")), 400,
             "device.hardware_version"),
            (dict(good, device=dict(IDENTITY, software_type="")), 400, "device.software_type"),
            (dict(good, device=dict(IDENTITY, extra="x")), 400, 'device: unknown field "extra"'),
            (dict(good, device=dict(IDENTITY, software_version="x" * 129)), 400,
             "device.software_version"),
            # The hosted service's sets: '/' is refused in a version.
            (dict(good, device=dict(IDENTITY, software_version="1.0/2")), 400,
             "device.software_version", '"1.0/2"'),
        ]
        for payload, status, *fragments in cases:
            with self.subTest(fragments[0]):
                self.assertRejected(self.prepare_with(payload), status, *fragments)

    def test_malformed_bodies(self):
        post = lambda body: self.recv.request("POST", "/api/v0/upload", body, API_HEADERS)  # noqa: E731
        self.assertRejected(post(b"{not json"), 400, "not JSON")
        self.assertRejected(post(b'{"kind": "MAR", "kind": "MAR"}'), 400, "duplicate key")
        self.assertRejected(post(b"[]"), 400, "expected an object")
        self.assertRejected(post(b'{"size": NaN}'), 400, "NaN")
        self.assertRejected(post(b"\xff\xfe"), 400, "UTF-8")
        self.assertRejected(post(b" " * (64 * 1024 + 1)), 413, "limit")
        self.assertEqual(self.recv.get("/_dev/stats")["requests"][-1]["status"], 413)


class PutAndCommitStrictnessTest(ReceiverTestCase):
    def test_put(self):
        mar = build_mar([reboot()])
        p = self.recv.prepare(len(mar)).json["data"]
        path = urlsplit(p["upload_url"]).path
        self.assertRejected(self.recv.request("PUT", "/upload/NoSuchTokenAtAll", mar), 404,
                            "unknown")
        self.assertRejected(self.recv.request("PUT", path, mar, {"Memfault-Project-Key": "k"}), 400,
                            "the project key must not be sent to the upload URL")
        self.assertRejected(self.recv.request("PUT", path, mar[:-1]), 400,
                            f"expected {len(mar)} bytes, got {len(mar) - 1}")
        self.assertRejected(self.recv.commit(p["token"]), 400, "not been uploaded")
        self.assertEqual(self.recv.request("PUT", path, mar).status, 200)
        self.assertRejected(self.recv.request("PUT", path, mar), 409, "already uploaded")
        self.assertRejected(self.recv.request("GET", path), 405, "PUT")

    def test_commit(self):
        mar = build_mar([reboot()])
        p = self.recv.prepare(len(mar)).json["data"]
        self.recv.put(p["upload_url"], mar)
        self.assertRejected(self.recv.commit("NoSuchTokenAtAll"), 404, "unknown")
        self.assertRejected(self.recv.commit(p["token"], dict(IDENTITY, software_version="1.2.4")),
                            400, "software_version", '"1.2.4"', "prepare")
        r = self.recv.api("/api/v0/upload/mar", dict(IDENTITY, file={"token": p["token"]}, x=1))
        self.assertRejected(r, 400, 'unknown field "x"')
        r = self.recv.api("/api/v0/upload/mar", dict(IDENTITY, file={"token": p["token"], "y": 2}))
        self.assertRejected(r, 400, 'file: unknown field "y"')
        r = self.recv.api("/api/v0/upload/mar", dict(IDENTITY, file={"token": p["token"]}),
                          headers={"Accept": "text/html"})
        self.assertRejected(r, 406)
        self.assertEqual(self.recv.commit(p["token"]).status, 200)
        self.assertRejected(self.recv.commit(p["token"]), 409, "already committed")


class MarStrictnessTest(ReceiverTestCase):
    def reject(self, mar, *fragments):
        before = self.recv.get("/_dev/stats")["rejected"]
        message = self.assertRejected(self.recv.upload(mar), 400, *fragments)
        self.assertEqual(self.recv.get("/_dev/stats")["rejected"], before + 1)
        return message

    def test_archive_structure(self):
        uid, files = reboot()
        good = build_mar([(uid, files)])
        cases = [
            ("deflated member", build_mar([(uid, files)], compress_type=zipfile.ZIP_DEFLATED),
             f"{uid}/manifest.json", "method 8 (deflate)", "stored"),
            ("not a zip", b"this is not a zip archive", "not a valid ZIP"),
            ("junk before", b"JUNK" + good, "before the first member"),
            ("bad CRC", good.replace(b"gw-0042", b"gw-0043", 1), "CRC"),
            ("directory member", build_mar([(uid, files)], extra_members=[(uid + "/", b"")]),
             "directory"),
            ("nested path", build_mar([(uid, files)], extra_members=[(uid + "/a/b", b"x")]),
             "<uuid>/<file>"),
            ("uppercase uuid", build_mar([(uid.upper(), files)]), "canonical lowercase UUID"),
            ("dot-dot", build_mar([(uid, files)], extra_members=[(uid + "/..", b"x")]),
             "file name"),
            ("no manifest", build_mar([(uid, {"notes.txt": b"x"})]),
             f"entry {uid}: manifest.json is missing"),
            ("duplicate name", build_mar([(uid, files), (uid, files)]), "duplicate member"),
            ("empty", build_mar([]), "no members"),
            ("attachment on a reboot", build_mar([reboot(attachments={"log.txt": b"hello"})]),
             "linux-reboot entries carry no attachments", "log.txt"),
            ("manifest not JSON", build_mar([reboot(raw_manifest=b"{")]), "manifest.json: not JSON"),
        ]
        for name, mar, *fragments in cases:
            with self.subTest(name):
                self.reject(mar, *fragments)

    def test_manifest_fields(self):
        def m(kind, metadata, **changes):
            return build_mar([entry(kind, metadata, **changes)])
        hb = {"metrics": {"operational_hours": 1, "operational_crashfree_hours": 1},
              "duration_ms": 1000, "report_type": "heartbeat"}
        core = f"core-{new_uuid()}.elf.gz"
        gz = {core: gzip.compress(b"\x7fELF" + bytes(10))}
        cases = [
            # collection_time, device, producer, top level (any type)
            (m("linux-reboot", {"reason": 1},
               collection_time={"timestamp": "x", "uptime_ms": 0, "linux_boot_id": new_uuid(),
                                "elapsed_realtime_ms": 0, "boot_count": 0}),
             'collection_time.timestamp: expected RFC 3339 UTC', '"x"'),
            (m("linux-reboot", {"reason": 1},
               collection_time={"timestamp": "2026-11-21T10:00:00+01:00", "uptime_ms": 0,
                                "linux_boot_id": new_uuid(), "elapsed_realtime_ms": 0,
                                "boot_count": 0}), "collection_time.timestamp"),
            (m("linux-reboot", {"reason": 1},
               collection_time={"timestamp": "2026-02-30T10:00:00Z", "uptime_ms": 0,
                                "linux_boot_id": new_uuid(), "elapsed_realtime_ms": 0,
                                "boot_count": 0}), "collection_time.timestamp", "not a valid date"),
            (m("linux-reboot", {"reason": 1},
               collection_time={"timestamp": "2026-11-21T10:00:00Z", "uptime_ms": True,
                                "linux_boot_id": new_uuid(), "elapsed_realtime_ms": 0,
                                "boot_count": 0}), "collection_time.uptime_ms", "got true"),
            (m("linux-reboot", {"reason": 1},
               collection_time={"timestamp": "2026-11-21T10:00:00Z", "uptime_ms": 0,
                                "linux_boot_id": "not-a-uuid", "elapsed_realtime_ms": 0,
                                "boot_count": -1}), "collection_time.linux_boot_id"),
            (m("linux-reboot", {"reason": 1}, schema_version=2), "schema_version: expected 1"),
            (m("linux-reboot", {"reason": 1}, extra=True), 'unknown field "extra"'),
            (m("linux-reboot", {"reason": 1}, project_key="someone-else"), "device.project_key"),
            (m("linux-reboot", {"reason": 1}, producer={"id": "faultd", "version": "",
                                                       "os_name": "Linux", "os_version": "6"}),
             "producer.version"),
            (m("linux-panic", {"reason": 1}), "type: expected one of"),
            # linux-reboot
            (m("linux-reboot", {"reason": 0x8002}), "metadata.reason", "0x8002"),
            (m("linux-reboot", {"reason": True}), "metadata.reason"),
            (m("linux-reboot", {"reason": {"unexpected": 1, "name": "x"}}),
             "metadata.reason.unexpected: expected true or false"),
            (m("linux-reboot", {"reason": {"unexpected": True, "name": "x" * 65}}),
             "metadata.reason.name"),
            (m("linux-reboot", {}), 'metadata: missing field "reason"'),
            # linux-metric-report
            (m("linux-metric-report", dict(hb, report_type="daily")), "metadata.report_type"),
            (m("linux-metric-report", dict(hb, metrics={"operational_hours": 1})),
             "operational_crashfree_hours"),
            (m("linux-metric-report", dict(hb, metrics=dict(hb["metrics"], **{"bad key": 1}))),
             "metadata.metrics", '"bad key"'),
            (m("linux-metric-report", dict(hb, metrics=dict(hb["metrics"], up=True))),
             "metadata.metrics.up: expected a number"),
            (m("linux-metric-report", dict(hb, metrics=dict(hb["metrics"], up="1"))),
             "metadata.metrics.up"),
            (m("linux-metric-report", dict(hb, duration_ms=-1)), "metadata.duration_ms"),
            (build_mar([heartbeat(raw_manifest=json.dumps(manifest(
                "linux-metric-report", dict(hb, metrics=dict(hb["metrics"], x=float("nan")))))
                .encode())]), "NaN"),
            # elf-coredump
            (m("elf-coredump", {"coredump_file_name": core, "compression": "zstd"},
               attachments=gz), "metadata.compression", "does not match"),
            (m("elf-coredump", {"coredump_file_name": core}, attachments=gz),
             'missing field "compression"'),
            (m("elf-coredump", {"coredump_file_name": "core.elf"}, attachments={"core.elf": b""}),
             "metadata.coredump_file_name"),
            (m("elf-coredump", {"coredump_file_name": core, "compression": "gzip"}),
             core, "not in the entry"),
            (m("elf-coredump", {"coredump_file_name": core, "compression": "gzip"},
               attachments=dict(gz, **{"extra.txt": b"x"})), "unexpected attachment extra.txt"),
            (m("elf-coredump", {"coredump_file_name": core, "compression": "gzip"},
               attachments={core: b"\x7fELF plain"}), "not gzip data"),
            # device-attributes
            (m("device-attributes", {"attributes": []}), "metadata.attributes", "empty"),
            (m("device-attributes", {"attributes": [{"string_key": "a", "value": None}]}),
             "metadata.attributes[0].value"),
            (m("device-attributes", {"attributes": [{"string_key": "", "value": 1}]}),
             "metadata.attributes[0].string_key"),
            (m("device-attributes", {"attributes": [{"string_key": "a", "value": 1, "t": 0}]}),
             'metadata.attributes[0]: unknown field "t"'),
            # device-config
            (m("device-config", {"revision": -1}), "metadata.revision"),
            (m("device-config", {"revision": False}), "metadata.revision", "got false"),
            (m("device-config", {"revision": 1, "applied": True}), 'unknown field "applied"'),
        ]
        for mar, *fragments in cases:
            with self.subTest(fragments[0]):
                message = self.reject(mar, *fragments)
                self.assertRegex(message, r"^entry [0-9a-f-]{36}: ")

    def test_a_bad_entry_rejects_the_whole_batch(self):
        good = reboot()
        bad = device_config_entry(revision="1")
        self.reject(build_mar([good, bad]), bad[0], "metadata.revision")
        self.assertNotIn(good[0], self.held())
        self.assertFalse(os.path.exists(os.path.join(self.recv.dir, "entries", good[0])))


class FaultSwitchTest(ReceiverTestCase):
    def test_status_queue_with_retry_after(self):
        self.recv.faults({"prepare": [{"status": 503, "retry_after": 2}, {"status": 429}],
                          "commit": [{"status": 500, "body": '{"oops": 1}'}]})
        self.assertEqual(len(self.recv.get("/_dev/faults")["prepare"]), 2)
        r = self.recv.prepare(100)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.headers.get("Retry-After"), "2")
        self.assertIn("injected", r.message)
        faults = self.recv.get("/_dev/faults")
        self.assertEqual(faults["prepare"], [{"status": 429}])
        self.assertEqual(faults["commit"], [{"status": 500, "body": '{"oops": 1}'}])
        self.assertEqual(self.recv.prepare(100).status, 429)
        self.assertEqual(self.recv.prepare(100).status, 200)
        mar = build_mar([reboot()])
        r = self.recv.upload(mar)
        self.assertEqual((r.status, r.body), (500, b'{"oops": 1}'))
        steps = [(q["step"], q["status"]) for q in self.recv.get("/_dev/stats")["requests"][-6:]]
        self.assertEqual(steps, [("prepare", 503), ("prepare", 429), ("prepare", 200),
                                 ("prepare", 200), ("put", 200), ("commit", 500)])
        self.assertEqual(self.recv.get("/_dev/faults")["commit"], [])

    def test_drop_closes_without_an_answer_and_does_not_process(self):
        mar = build_mar([reboot()])
        p = self.recv.prepare(len(mar)).json["data"]
        self.assertEqual(self.recv.put(p["upload_url"], mar).status, 200)
        self.recv.faults({"commit": [{"drop": True}]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            self.recv.commit(p["token"])
        self.assertIsNone(self.recv.get("/_dev/stats")["requests"][-1]["status"])
        self.assertEqual(self.recv.commit(p["token"]).status, 200)

    def test_truncate_sends_half_the_answer_after_processing(self):
        uid, files = reboot()
        mar = build_mar([(uid, files)])
        p = self.recv.prepare(len(mar)).json["data"]
        self.recv.put(p["upload_url"], mar)
        self.recv.faults({"commit": [{"truncate": True}]})
        conn = self.recv.connect()
        try:
            conn.request("POST", "/api/v0/upload/mar",
                         json.dumps(dict(IDENTITY, file={"token": p["token"]})).encode(), API_HEADERS)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            with self.assertRaises((http.client.IncompleteRead, ssl.SSLError, ConnectionError)):
                resp.read()
        finally:
            conn.close()
        self.assertIn(uid, self.held())       # stored although the device never learnt it
        self.assertRejected(self.recv.commit(p["token"]), 409, "already committed")

    def test_delay_and_slow(self):
        self.recv.faults({"device-config": [{"delay_ms": 400}, {"slow_bps": 300}]})
        body = {"device": dict(IDENTITY)}
        t0 = time.monotonic()
        r = self.recv.api("/api/v0/device-config", body)
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        r = self.recv.api("/api/v0/device-config", body)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["data"]["revision"], 1)
        self.assertGreaterEqual(elapsed, len(r.body) / 300)   # the body alone, headers come too
        self.assertLess(elapsed, 10)

    def test_reject_matching(self):
        marked = attributes()
        marked[1]["manifest.json"] = marked[1]["manifest.json"].replace(b'"fw"', b'"reject-me"')
        self.recv.faults({"reject_matching": "reject-me"})
        self.assertRejected(self.recv.upload(build_mar([reboot(), marked])), 400,
                            f"entry {marked[0]} rejected by test switch")
        self.assertEqual(self.recv.upload(build_mar([reboot()])).status, 200)
        self.assertRejected(self.recv.upload(build_mar([marked])), 400, "rejected by test switch")
        self.recv.faults({})
        self.assertEqual(self.recv.upload(build_mar([marked])).status, 200)

    def test_certificate_switch_applies_to_new_connections(self):
        kept = self.recv.connect()
        kept.connect()
        self.addCleanup(self.recv.reset)
        try:
            before = self.recv.get("/_dev/stats")["tls_failures"]
            self.recv.faults({"certificate": "untrusted"}, conn=kept)
            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                self.recv.request("GET", "/_dev/stats")
            self.assertEqual(cm.exception.verify_code, 20)     # unable to get local issuer
            # The untrusted certificate is fine for its own CA and the same names.
            untrusted_ca = os.path.join(self.recv.dir, "tls", "untrusted-ca.pem")
            conn = self.recv.connect(context=self.recv.context(cafile=untrusted_ca))
            self.assertEqual(self.recv.request("GET", "/_dev/faults", conn=conn).json["certificate"],
                             "untrusted")
            conn.close()
            # A connection made before the switch keeps working.
            self.assertEqual(self.recv.request("GET", "/_dev/stats", conn=kept).status, 200)

            self.recv.faults({"certificate": "wrong-host"}, conn=kept)
            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                self.recv.request("GET", "/_dev/stats")
            self.assertIn("mismatch", str(cm.exception))
            conn = self.recv.connect(context=self.recv.context(check_hostname=False))
            self.assertEqual(self.recv.request("GET", "/_dev/stats", conn=conn).status, 200)
            conn.close()

            self.recv.faults({}, conn=kept)
            self.assertEqual(self.recv.get("/_dev/faults")["certificate"], "good")
            wait_for(lambda: self.recv.get("/_dev/stats")["tls_failures"] >= before + 2,
                     what="the failed handshakes to be counted")
        finally:
            kept.close()

    def test_fault_settings_are_validated(self):
        cases = [
            ({"commit": [{"status": 99}]}, "commit[0].status"),
            ({"commit": [{"drop": False}]}, "commit[0].drop"),
            ({"put": [{"status": 500, "drop": True}]}, "put[0]"),
            ({"put": [{"explode": 1}]}, "put[0]"),
            ({"prepare": {"status": 500}}, "prepare: expected a list"),
            ({"certificate": "bogus"}, "certificate"),
            ({"device_config": {"sampling": {"debugging.resolution": "max"}}},
             "device_config.sampling.debugging.resolution"),
            ({"upload": []}, 'unknown field "upload"'),
        ]
        for settings, fragment in cases:
            with self.subTest(fragment):
                r = self.recv.request("POST", "/_dev/faults", json.dumps(settings).encode())
                self.assertRejected(r, 400, fragment)


class DeviceConfigTest(ReceiverTestCase):
    def fetch(self, device=None):
        r = self.recv.api("/api/v0/device-config", {"device": device or dict(IDENTITY)})
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_default_switched_and_confirmed(self):
        normal = {"debugging.resolution": "normal", "logging.resolution": "normal",
                  "monitoring.resolution": "normal"}
        self.assertEqual(self.fetch(), {"data": {"config": {"memfault": {"sampling": normal}},
                                                 "revision": 1, "completed": None}})
        self.recv.faults({"device_config": {"sampling": {"debugging.resolution": "high",
                                                         "monitoring.resolution": "off"},
                                            "revision": 7, "completed": 6}})
        data = self.fetch()["data"]
        self.assertEqual(data["config"]["memfault"]["sampling"],
                         dict(normal, **{"debugging.resolution": "high",
                                         "monitoring.resolution": "off"}))
        self.assertEqual((data["revision"], data["completed"]), (7, 6))
        # A device-config entry confirms the revision for that device.
        self.assertEqual(self.recv.upload(build_mar([device_config_entry(7)])).status, 200)
        self.assertEqual(self.fetch()["data"]["completed"], 7)
        other = dict(IDENTITY, device_serial="gw-0043")
        self.assertEqual(self.fetch(other)["data"]["completed"], 6)

    def test_strictness(self):
        r = self.recv.api("/api/v0/device-config", {"device": dict(IDENTITY), "x": 1})
        self.assertRejected(r, 400, 'unknown field "x"')
        r = self.recv.api("/api/v0/device-config", dict(IDENTITY))
        self.assertRejected(r, 400, 'missing field "device"')
        r = self.recv.api("/api/v0/device-config", {"device": dict(IDENTITY)},
                          headers={"Memfault-Project-Key": ""})
        self.assertRejected(r, 401)


class RoutingAndRobustnessTest(ReceiverTestCase):
    def test_unknown_paths_and_methods(self):
        self.assertRejected(self.recv.request("GET", "/nope"), 404, "/nope")
        self.assertRejected(self.recv.request("POST", "/api/v0/upload/", b"{}", API_HEADERS), 404)
        r = self.recv.request("GET", "/api/v0/upload")
        self.assertRejected(r, 405, "GET")
        self.assertEqual(r.headers.get("Allow"), "POST")
        self.assertRejected(self.recv.request("BREW", "/_dev/stats"), 405)

    def raw(self, payload, tls=True, read=True):
        sock = socket.create_connection(("127.0.0.1", self.recv.port), timeout=10)
        try:
            if tls:
                sock = self.recv.context().wrap_socket(sock, server_hostname="127.0.0.1")
            sock.sendall(payload)
            if not read:
                return None
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionError, ssl.SSLError):
                    break
                if not chunk:
                    break
                data += chunk
            return data
        finally:
            sock.close()

    def test_garbage_never_kills_the_server(self):
        reply = self.raw(b"GARBAGE\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)
        self.assertIn(b'{"error": {"message":', reply)
        self.raw(b"POST /api/v0/upload HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n")
        self.raw(b"PUT /upload/abc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        self.raw(b"\x16\x03\x01garbage that is not a TLS hello", tls=False)
        self.raw(b"GET /_dev/stats HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n")
        # A client that stops mid-body.
        self.raw(b"POST /api/v0/upload HTTP/1.1\r\nMemfault-Project-Key: " + PROJECT_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"kind\"", read=False)
        self.assertEqual(self.recv.request("GET", "/_dev/stats").status, 200)
        self.assertEqual(self.recv.upload(build_mar([reboot()])).status, 200)


class ListAndRestartTest(unittest.TestCase):
    def setUp(self):
        self.recv = Receiver("--quiet")
        self.addCleanup(self.recv.cleanup)

    def run_list(self, *args, directory=None):
        return subprocess.run(receiver_command("list", "--dir", directory or self.recv.dir, *args),
                              capture_output=True, text=True, timeout=30)

    def test_list_and_state_kept_across_restarts(self):
        self.recv.start()
        with open(self.recv.ca, "rb") as f:
            ca = f.read()
        self.recv.faults({"device_config": {"sampling": {"logging.resolution": "low"},
                                            "revision": 2}})
        entries = [reboot(), heartbeat(), coredump(), attributes(), device_config_entry(2)]
        mar = build_mar(entries)
        self.assertEqual(self.recv.upload(mar).status, 200)
        self.assertEqual(self.recv.stop(), 0)
        self.assertFalse(os.path.exists(os.path.join(self.recv.dir, "receiver.json")))
        self.assertEqual(self.recv.log().strip().splitlines(),
                         [f"faultd-receiver: listening on https://127.0.0.1:{self.recv.port} "
                          f"(CA: {self.recv.ca})"])

        r = self.run_list()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 5, r.stdout)
        for (uid, _), line, kind in zip(entries, lines,
                                        ["linux-reboot", "linux-metric-report", "elf-coredump",
                                         "device-attributes", "device-config"]):
            self.assertTrue(line.startswith(uid), line)
            self.assertIn(kind, line)
            self.assertIn("batch 1", line)
        self.assertIn("KernelPanic", lines[0])
        self.assertIn("operational_hours=1", lines[1])
        self.assertIn("revision 2", lines[4])
        listed = json.loads(self.run_list("--json").stdout)
        self.assertEqual([e["uuid"] for e in listed], [uid for uid, _ in entries])
        self.assertEqual(listed[0]["manifest"]["metadata"], {"reason": 0x8008})

        # Started again on the same directory: same CA, entries still held, the device
        # configuration and its confirmation kept (the test switches are not).
        self.recv.start()
        with open(self.recv.ca, "rb") as f:
            self.assertEqual(f.read(), ca)
        r = self.recv.api("/api/v0/device-config", {"device": dict(IDENTITY)})
        self.assertEqual(r.json["data"]["revision"], 2)
        self.assertEqual(r.json["data"]["completed"], 2)
        self.assertEqual(r.json["data"]["config"]["memfault"]["sampling"]["logging.resolution"],
                         "low")
        self.assertEqual(len(self.recv.get("/_dev/entries")), 5)
        self.assertEqual(self.recv.upload(mar).json, {"data": {"entries": 5, "duplicates": 5}})
        self.assertTrue(os.path.exists(os.path.join(self.recv.dir, "batches", "000002.mar")))
        self.assertEqual(self.recv.stop(signal.SIGINT), 0)

        empty = os.path.join(self.recv.root, "empty")
        os.mkdir(empty)
        self.assertEqual(self.run_list(directory=empty).stdout.strip(), "(no entries)")
        self.assertEqual(self.run_list(directory=os.path.join(self.recv.root, "nope")).returncode, 1)

    def test_start_options(self):
        self.recv = Receiver("--quiet", "--certificate", "wrong-host", "--max-batch-bytes", "1K")
        self.addCleanup(self.recv.cleanup)
        self.recv.start()
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.recv.request("GET", "/_dev/stats")
        conn = self.recv.connect(context=self.recv.context(check_hostname=False))
        try:
            r = self.recv.prepare(2048, conn=conn)
            self.assertEqual(r.status, 413, r)
            self.assertIn("1024", r.message)
            # Any non-empty project key is accepted without --project-key.
            self.assertEqual(self.recv.prepare(1024, conn=conn).status, 200)
        finally:
            conn.close()
        self.assertEqual(self.recv.stop(), 0)
        r = subprocess.run(receiver_command("serve", "--dir", self.recv.dir,
                                            "--max-batch-bytes", "65MiB"),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("64 MiB", r.stderr)


if __name__ == "__main__":
    unittest.main()
