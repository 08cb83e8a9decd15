# SPDX-License-Identifier: MIT
"""Storage faults under the real faultd: its state directory on a small tmpfs that fills up (blocks
and inodes), turns read-only and back, and state files replaced by garbage or truncated, while
faultd runs and across restarts. faultd must keep running, evict or refuse by policy, say so in
`faultctl status`, recover by itself, and lose nothing it acknowledged (docs/spool.md, "Storage
faults").

Needs root (mount(8)); skipped otherwise. Every mount is undone in cleanup, also on failure.
CoreTest also needs faultd-core-handler and tests/crash/crasher (CORE_HANDLER, CRASHER: set by meson
when the coredump plugin is built) and gdb's gcore; skipped without them.
"""
import errno
import glob
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import coredump_util as cu  # noqa: E402
from harness import (FAULTD, HAVE_COREDUMP, SANITIZER_MARKERS, DaemonTestCase,  # noqa: E402
                     Receiver, check_valgrind, scaled, valgrind_command, wait_for)

CORE_HANDLER = os.environ.get("CORE_HANDLER", "")
CRASHER = os.environ.get("CRASHER", "")
SIGSEGV = 11
TMPFS_SIZE = 2 * 1024 * 1024
TMPFS_INODES = 400
# Figures for docs/reliability.md, printed at the end of the run.
FIGURES = {}


def count(key, n=1):
    FIGURES[key] = FIGURES.get(key, 0) + n


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def mount_tmpfs(path, size=TMPFS_SIZE, inodes=TMPFS_INODES):
    """Mounts a tmpfs of size bytes and inodes inodes on path; returns None or why it cannot."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    r = run("mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes},mode=0700",
            "faultd-test", path)
    if r.returncode != 0:
        return f"cannot mount a tmpfs: {r.stderr.strip()}"
    return None


def umount(path):
    if os.path.ismount(path):
        r = run("umount", path)
        if r.returncode != 0:
            run("umount", "-l", path)


def remount(path, mode):
    """Remounts path read-only ("ro") or read-write ("rw"). Going read-only waits for a moment
    when no file is open for writing (the kernel refuses it while one is: faultd only holds one
    during a write)."""
    last = []

    def done():
        r = run("mount", "-o", f"remount,{mode}", path)
        last[:] = [r.stderr.strip()]
        return r.returncode == 0
    wait_for(done, timeout=30, interval=0.05, what=f"remount,{mode} {path}: {last}")


def fill_blocks(path):
    """Writes a file at path until the filesystem is full; returns its size."""
    chunk = b"\0" * 65536
    size = 0
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                size += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # The last blocks, a byte at a time where a whole chunk no longer fits.
        while True:
            try:
                size += f.write(b"\0" * 512)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return size


def fill_inodes(directory):
    """Creates empty files in directory until no inode is left; returns how many."""
    os.makedirs(directory, exist_ok=True)
    n = 0
    while True:
        try:
            with open(os.path.join(directory, f"f{n}"), "w"):
                pass
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            return n
        n += 1


def spooled(d):
    """{uuid: type} of the entries committed in d's spool."""
    return {e["uuid"]: e["type"] for e in spool_entries(d)}


class StorageTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)
        self.acked = set()  # uuids faultd acknowledged to a client

    def storage_daemon(self, **config):
        config.setdefault("hours", {"checkpoint_interval_seconds": 1})
        # The defaults ask for more free space than the whole tmpfs holds.
        config["spool"] = dict({"min_free_bytes": 0, "min_free_inodes": 0},
                               **config.get("spool", {}))
        cfg = self.rx.daemon_config(**config)
        d = self.daemon(config=cfg)
        os.makedirs(d.state_dir)
        why = mount_tmpfs(d.state_dir)
        if why:
            self.skipTest(why)
        # Runs after DaemonTestCase.tearDown has stopped faultd: the mount never outlives the
        # test, whatever happened in it.
        self.addCleanup(umount, d.state_dir)
        return d

    def storage(self, d):
        return d.status()["storage"]

    def attributes(self, d, n=1, expect_ok=True):
        """Runs write-attributes n times; returns the replies (CompletedProcess)."""
        out = []
        for i in range(n):
            r = d.ctl("write-attributes", f"seq={len(self.acked)}", f"pad={'x' * 200}")
            if expect_ok:
                self.assertEqual(r.returncode, 0, r.stderr + d.log())
            if r.returncode == 0:
                self.acked.add(r.stdout.strip().rsplit(" ", 1)[1].rstrip("."))
            out.append(r)
        return out

    def heartbeat(self, d, expect_ok=True):
        """Closes a heartbeat (a metrics-class entry, the lowest value) with one reading."""
        r = d.ctl("write-metric", "storage/test=1:counter")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = d.ctl("request-metrics")
        if expect_ok:
            self.assertEqual(r.returncode, 0, r.stderr + d.log())
        return r

    def problem(self, d, what):
        for p in self.storage(d)["problems"]:
            if p["what"] == what:
                return p
        return None

    def wait_ok(self, d):
        return wait_for(lambda: self.storage(d)["state"] == "ok", timeout=30,
                        what=f"storage to be ok again: {self.storage(d)}")

    def sync(self, d):
        r = d.ctl("sync", timeout=120)
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}\n{d.log()}\n{self.rx.log()}")
        return r

    def received(self):
        return {e["uuid"] for e in self.rx.entries()}

    def assert_running(self, d):
        self.assertIsNone(d.proc.poll(), f"faultd exited:\n{d.log()}")

    def assert_nothing_lost(self, d):
        """Every acknowledged entry reached the receiver, or was evicted and counted."""
        drops = d.status()["spool"]["drops"]
        evicted = sum(v for c in drops.values() for k, v in c.items()
                      if k in ("free_space", "bytes", "entries"))
        got = self.received()
        missing = self.acked - got
        count("acknowledged", len(self.acked))
        count("delivered", len(self.acked & got))
        count("evicted_by_policy", len(missing))
        self.assertLessEqual(len(missing), evicted,
                             f"{len(missing)} acknowledged entries neither delivered nor "
                             f"counted as drops ({evicted})")
        return missing


class FullTest(StorageTestCase):
    def test_blocks_full_evicts_by_class_refuses_and_recovers(self):
        d = self.storage_daemon(spool={"min_free_bytes": 0, "min_free_inodes": 0})
        d.start()
        # Lowest value first: two heartbeats (metrics) between attribute entries.
        self.attributes(d, 2)
        self.heartbeat(d)
        self.heartbeat(d)
        self.attributes(d, 2)
        before = spooled(d)
        metrics = {u for u, k in before.items() if k == "linux-metric-report"}
        self.assertEqual(len(metrics), 2, before)
        filler = os.path.join(d.state_dir, "filler")
        fill_blocks(filler)
        count("fill_blocks")

        # The filesystem is full: a new entry's write fails, faultd evicts what the policy
        # gives up first (the heartbeats, then the oldest attributes) and stores it.
        self.attributes(d, 3)
        self.assertTrue(metrics.isdisjoint(spooled(d)), "heartbeats outlived attributes")
        drops = d.status()["spool"]["drops"]
        self.assertEqual(drops["metrics"]["free_space"], 2)
        self.assertNotIn("reboot", drops)
        evicted = drops.get("attributes", {}).get("free_space", 0)
        # A heartbeat is worth less than every entry left: refused with a clear error.
        r = self.heartbeat(d, expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No space left on device", r.stderr)
        count("refused_full")
        st = self.storage(d)
        self.assertEqual(st["state"], "full", st)
        p = self.problem(d, "spool")
        self.assertEqual(p["state"], "full")
        self.assertEqual(p["errno"], errno.ENOSPC)
        self.assertEqual(p["error"], "No space left on device")
        self.assertIn(os.path.join(d.state_dir, "spool"), p["path"])
        self.assertRegex(p["since"], r"^\d{4}-\d\d-\d\dT")
        self.assertGreaterEqual(p["failures"], 1)
        self.assertEqual(d.status()["spool"]["drops"]["metrics"]["free_space"], 3)
        human = d.ctl("status")
        self.assertEqual(human.returncode, 0)
        self.assertRegex(human.stdout, r"storage:\n  state: full\n")
        self.assertIn("No space left on device", human.stdout)
        # Another refusal in the same episode is not logged again at error level.
        self.heartbeat(d, expect_ok=False)
        self.assertEqual(self.problem(d, "spool")["since"], p["since"])
        errors = [line for line in d.log().splitlines()
                  if line.startswith("faultd: error: Failed to") and "/spool/" in line]
        entries = [line for line in errors if "drops.json" not in line]
        self.assertEqual(len(entries), 1, "\n".join(errors))
        self.assertLessEqual(len(errors) - len(entries), 1, "\n".join(errors))
        self.assert_running(d)

        # Space returns: the next entry commits, the state clears itself, uploads work.
        os.unlink(filler)
        count("space_returned")
        self.attributes(d, 2)
        self.heartbeat(d)
        self.wait_ok(d)
        self.assertEqual(self.storage(d)["problems"], [])
        self.assertIn("stores again", d.log())
        self.sync(d)
        self.assertEqual(spooled(d), {})
        missing = self.assert_nothing_lost(d)
        # Only the oldest attributes, evicted for newer ones and counted.
        self.assertEqual(len(missing), evicted)
        count("evicted_full", len(missing) + 2)

    def test_inodes_exhausted(self):
        d = self.storage_daemon(spool={"min_free_bytes": 0, "min_free_inodes": 0})
        d.start()
        self.heartbeat(d)
        self.attributes(d, 1)
        n = fill_inodes(os.path.join(d.state_dir, "many"))
        self.assertGreater(n, 0)
        count("fill_inodes")
        # The heartbeat's inodes (folder, manifest) make room for a new attribute entry (and,
        # if they are not enough, the older attributes).
        (r,) = self.attributes(d, 1)
        new = r.stdout.strip().rsplit(" ", 1)[1].rstrip(".")
        kinds = spooled(d)
        self.assertEqual(kinds.get(new), "device-attributes")
        self.assertNotIn("linux-metric-report", kinds.values())
        # A heartbeat is worth less than all that is left: refused, counted, not lost silently.
        r = self.heartbeat(d, expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No space left on device", r.stderr)
        count("refused_inodes")
        st = self.storage(d)
        self.assertEqual(st["state"], "full", f"{st}\n{d.log()}")
        self.assertLessEqual(st["free_inodes"], 2)
        self.assertEqual(d.status()["spool"]["drops"]["metrics"]["free_space"], 2)
        self.assert_running(d)
        count("evicted_inodes", 1 + d.status()["spool"]["drops"]["attributes"]["free_space"])
        for name in os.listdir(os.path.join(d.state_dir, "many")):
            os.unlink(os.path.join(d.state_dir, "many", name))
        self.attributes(d, 1)
        self.wait_ok(d)
        self.sync(d)
        missing = self.assert_nothing_lost(d)
        self.assertEqual(len(missing), d.status()["spool"]["drops"]["attributes"]["free_space"])

    def test_min_free_bytes_policy(self):
        d = self.storage_daemon(spool={"min_free_bytes": 512 * 1024, "min_free_inodes": 0})
        d.start()
        self.heartbeat(d)
        self.attributes(d, 1)
        # Less free than the minimum, but room enough to write: the policy, not the
        # filesystem, refuses; it gives up everything of lower or equal value first.
        with open(os.path.join(d.state_dir, "filler"), "wb") as f:
            f.write(b"\0" * (TMPFS_SIZE - 384 * 1024))
        r = self.attributes(d, 1, expect_ok=False)[0]
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("below the spool's minimum", r.stderr)
        count("refused_policy")
        self.assertEqual(spooled(d), {})
        drops = d.status()["spool"]["drops"]
        self.assertEqual(drops["metrics"]["free_space"], 1)
        self.assertEqual(drops["attributes"]["free_space"], 2)
        st = self.storage(d)
        self.assertEqual((st["state"], st["problems"]), ("low-space", []), st)
        os.unlink(os.path.join(d.state_dir, "filler"))
        self.attributes(d, 1)
        self.assertEqual(self.storage(d)["state"], "ok")
        self.sync(d)
        self.assert_nothing_lost(d)

    def test_starts_on_full_filesystem_after_reboot(self):
        d = self.storage_daemon(spool={"min_free_bytes": 0, "min_free_inodes": 0})
        d.start()
        self.attributes(d, 2)
        d.stop()
        d.new_boot()  # boot.json must be rewritten at start
        fill_blocks(os.path.join(d.state_dir, "filler"))
        fill_inodes(os.path.join(d.state_dir, "many"))
        d.start()
        count("start_on_full")
        self.assertIn("boot.json, ignoring: No space left on device", d.log())
        self.assertEqual(self.storage(d)["state"], "full")
        self.assertIsNotNone(self.problem(d, "hours ledger"))
        run("rm", "-rf", os.path.join(d.state_dir, "filler"), os.path.join(d.state_dir, "many"))
        self.attributes(d, 1)
        self.wait_ok(d)
        self.sync(d)
        # The unexpected reboot's event outranks attributes: one went to make room for it.
        kinds = {e["uuid"]: e["type"] for e in self.rx.entries()}
        self.assertIn("linux-reboot", kinds.values())
        missing = self.assert_nothing_lost(d)
        self.assertEqual(len(missing), d.status()["spool"]["drops"]["attributes"]["free_space"])


class ReadOnlyTest(StorageTestCase):
    def test_read_only_and_back(self):
        d = self.storage_daemon()
        d.start()
        self.attributes(d, 3)
        remount(d.state_dir, "ro")
        count("remount_ro")
        try:
            r = d.ctl("write-attributes", "a=1", json_output=True)
            self.assertNotEqual(r.returncode, 0)
            reply = json.loads(r.stdout)
            self.assertEqual(reply["errno"], "EROFS", reply)
            self.assertIn("read-only", reply["error"])
            r = self.heartbeat(d, expect_ok=False)  # lost, logged, not fatal
            self.assertIn("Read-only file system", r.stderr)

            # The hours ledger fails at every checkpoint: logged once, retried, reported.
            def ledger_failed_thrice():
                for p in self.storage(d)["problems"]:
                    if p["what"] == "hours ledger" and p["failures"] >= 3:
                        return p
                return None
            p = wait_for(ledger_failed_thrice, timeout=30, what="three failed checkpoints")
            self.assertEqual(p["state"], "read-only")
            self.assertTrue(p["path"].endswith("/hours.json"), p)
            self.assertEqual(d.log().count("Failed to save the hours ledger"), 1, d.log())
            st = self.storage(d)
            self.assertEqual(st["state"], "read-only", st)
            # The refusals are counted, but drops.json cannot be saved either: kept in memory.
            self.assertEqual({p["what"] for p in st["problems"]},
                             {"spool", "hours ledger", "spool drop counters"})
            # Uploads go on; what was sent cannot be deleted yet, and is sent again later.
            d.ctl("sync", timeout=120)
            self.assert_running(d)
        finally:
            remount(d.state_dir, "rw")
        count("remount_rw")
        wait_for(lambda: not [p for p in self.storage(d)["problems"]
                              if p["what"] == "hours ledger"],
                 timeout=30, what="the hours ledger to be saved again")
        self.assertIn("Saved the hours ledger", d.log())
        self.attributes(d, 1)
        st = self.storage(d)
        self.assertEqual((st["state"], st["problems"]), ("ok", []), st)
        self.sync(d)
        self.assertEqual(spooled(d), {})
        self.assertEqual(self.assert_nothing_lost(d), set())
        stats = self.rx.stats()
        count("duplicates_at_receiver", stats.get("duplicates", 0))

    def test_restart_on_read_only(self):
        """faultd starts on a read-only state directory (after a reboot, so boot.json is due),
        reports it, uploads what it holds, and stores again once it is writable."""
        d = self.storage_daemon()
        d.start()
        self.attributes(d, 2)
        d.stop()
        d.new_boot()
        remount(d.state_dir, "ro")
        try:
            d.start()
            count("start_on_read_only")
            self.assertIn("boot.json, ignoring: Read-only file system", d.log())
            self.assertEqual(self.storage(d)["state"], "read-only")
            r = d.ctl("write-attributes", "a=1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("read-only", r.stderr)
            d.ctl("sync", timeout=120)
            self.assert_running(d)
        finally:
            remount(d.state_dir, "rw")
        self.attributes(d, 1)
        self.wait_ok(d)
        self.sync(d)
        self.assertEqual(spooled(d), {})
        self.assertEqual(self.assert_nothing_lost(d), set())


class GarbageTest(StorageTestCase):
    GARBAGE = b"\x00\xff{\"garbage\": [1, 2,\n\x7f" * 50

    def spoil(self, path, how):
        if how == "garbage":
            with open(path, "wb") as f:
                f.write(self.GARBAGE)
        elif how == "truncated":
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
        elif how == "empty":
            open(path, "wb").close()
        count(f"spoiled_{how}")

    def test_garbage_state_files(self):
        d = self.storage_daemon()
        d.start()
        self.attributes(d, 6)
        self.heartbeat(d)
        d.stop()
        entries = sorted(glob.glob(os.path.join(d.state_dir, "spool", "*_device-attributes_*")))
        bad = {os.path.basename(e).rsplit("_", 1)[1] for e in entries[:2]}
        self.spoil(os.path.join(entries[0], "manifest.json"), "garbage")
        self.spoil(os.path.join(entries[1], "manifest.json"), "truncated")
        # An entry whose folder became a plain file.
        os.rename(entries[2], entries[2] + ".moved")
        with open(entries[2], "wb") as f:
            f.write(self.GARBAGE)
        gone = os.path.basename(entries[2]).rsplit("_", 1)[1]
        state = d.state_dir
        self.spoil(os.path.join(state, "spool", "drops.json"), "garbage")
        self.spoil(os.path.join(state, "spool", "lock"), "garbage")
        self.spoil(os.path.join(state, "hours.json"), "truncated")
        self.spoil(os.path.join(state, "boot.json"), "garbage")
        for extra in ("device-config.json", "reboot/last.json"):
            path = os.path.join(state, extra)
            if os.path.exists(path):
                self.spoil(path, "garbage")
        d.start()
        count("restart_with_garbage")
        log = d.log()
        self.assertIn("hours.json is damaged", log)
        self.assertTrue(os.path.exists(os.path.join(state, "hours.json.bad")))
        self.assertIn("drops.json: not a JSON object", log)
        self.assertIn("boot.json: not a boot record", log)
        self.assertIn(os.path.basename(entries[2]), log)  # malformed entry, named
        # The folder moved aside no longer parses as an entry: removed, counted; the plain file
        # in its place is not the spool's to delete: left alone, named in the log.
        self.assertEqual(d.status()["spool"]["drops"]["attributes"]["invalid"], 1)

        # While it runs: garbage into another manifest, truncate drops.json and hours.json.
        live = sorted(glob.glob(os.path.join(state, "spool", "*_device-attributes_*")))
        live = [e for e in live
                if os.path.isdir(e) and os.path.basename(e).rsplit("_", 1)[1] not in bad]
        self.spoil(os.path.join(live[0], "manifest.json"), "empty")
        bad.add(os.path.basename(live[0]).rsplit("_", 1)[1])
        self.spoil(os.path.join(state, "spool", "drops.json"), "empty")
        self.spoil(os.path.join(state, "hours.json"), "garbage")
        self.attributes(d, 2)
        self.sync(d)
        self.assert_running(d)
        # The damaged entries are refused by the server one by one and dropped, counted; every
        # valid one beside them arrives.
        got = self.received()
        valid = self.acked - bad - {gone}
        self.assertEqual(valid - got, set(), d.log())
        self.assertTrue(bad.isdisjoint(got))
        self.assertEqual(d.status()["spool"]["drops"]["attributes"]["rejected"], len(bad))
        self.assertEqual(spooled(d), {})
        # The ledger on disk is whole again after the next checkpoint.
        wait_for(lambda: self._json_ok(os.path.join(state, "hours.json")), timeout=30,
                 what="hours.json to be rewritten")
        d.stop()
        d.start()
        count("restart_after_garbage")
        self.assertEqual(self.storage(d)["state"], "ok")
        self.assertEqual(d.status()["spool"]["entries"], 0)
        FIGURES["garbage_entries_dropped_counted"] = len(bad) + 1
        FIGURES["valid_entries_delivered"] = len(valid & got)

    def test_damaged_runtime_conf(self):
        """A runtime.conf faultd cannot apply neither stops it nor turns collection on."""
        cfg = self.rx.daemon_config(enable_data_collection=True)
        d = self.daemon(config=cfg)
        runtime = os.path.join(d.state_dir, "runtime.conf")
        for how in ("garbage", "truncated", "empty"):
            os.makedirs(d.state_dir, exist_ok=True)
            with open(runtime, "w") as f:
                f.write('{\n\t"enable_data_collection": true,\n\t"enable_dev_mode": true\n}\n')
            self.spoil(runtime, how)
            # --check-config passes (faultd starts) but warns that the switches stay off.
            r = subprocess.run([FAULTD, "--config", d.config_path, "--check-config"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("runtime.conf is damaged and will not be applied", r.stderr)
            d.start()
            st = d.status()
            self.assertFalse(st["data_collection"], how)
            self.assertFalse(st["developer_mode"], how)
            self.assertTrue(st["runtime_config_damage"].startswith(runtime + ":"),
                            st["runtime_config_damage"])
            self.assertIn("runtime.conf is damaged and was not applied", d.log())
            # Refused while collection is off, as after disable-data-collection.
            r = d.ctl("write-attributes", "a=1")
            self.assertNotEqual(r.returncode, 0, r.stdout)
            # faultctl writes the file anew: repaired, and it stays so after a restart.
            r = d.ctl("enable-data-collection")
            self.assertEqual(r.returncode, 0, r.stderr + d.log())
            st = d.status()
            self.assertTrue(st["data_collection"])
            self.assertIsNone(st["runtime_config_damage"])
            d.stop()
            d.start()
            self.assertIsNone(d.status()["runtime_config_damage"])
            self.assertTrue(d.status()["data_collection"])
            self.assert_running(d)
            d.stop()
        count("damaged_runtime_conf_restarts", 3)

    @staticmethod
    def _json_ok(path):
        try:
            with open(path) as f:
                return isinstance(json.load(f), dict)
        except (OSError, ValueError):
            return False


# The value classes of docs/spool.md, lowest first, by entry type.
CLASS_OF = {"linux-metric-report": "metrics", "device-attributes": "attributes",
            "elf-coredump": "coredump", "linux-reboot": "reboot", "device-config": "reboot"}
CLASS_RANK = {"metrics": 0, "attributes": 1, "coredump": 2, "reboot": 3}


def spool_entries(d):
    """The entries committed in d's spool in the spool's order, oldest first: [{"name",
    "created_ms", "type", "class", "uuid", "path"}]."""
    out = []
    for path in glob.glob(os.path.join(d.state_dir, "spool", "*_*_*")):
        if not os.path.isdir(path):
            continue
        name = os.path.basename(path)
        digits, _, rest = name.partition("_")
        kind, _, uuid = rest.rpartition("_")
        out.append({"name": name, "created_ms": int(digits), "type": kind,
                    "class": CLASS_OF.get(kind), "uuid": uuid, "path": path})
    return sorted(out, key=lambda e: (e["created_ms"], e["name"]))


def eviction_order(entries):
    """entries in the order the spool gives them up for a core: lowest class, then oldest."""
    return sorted(entries, key=lambda e: (CLASS_RANK[e["class"]], e["created_ms"], e["name"]))


def core_skip_reason():
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    if not HAVE_COREDUMP:
        return "the coredump plugin is not built (HAVE_COREDUMP=0)"
    missing = [name for name, path in (("CORE_HANDLER", CORE_HANDLER), ("CRASHER", CRASHER))
               if not path or not os.access(path, os.X_OK)]
    if missing:
        return f"needs {' and '.join(missing)} (set by meson when the coredump plugin is built)"
    missing = [t for t in ("gdb", "gcore") if not shutil.which(t)]
    if missing:
        return f"needs {' and '.join(missing)} to take a real core"
    return None


@unittest.skipUnless(os.environ.get("HAVE_LOGS", "1") == "1", "built without the logs plugin")
class LogsConsentTest(StorageTestCase):
    def test_withdrawn_lines_are_never_sent_when_throwing_them_away_fails(self):
        """Data collection turned off while the log directory has no inode left: the file in
        progress cannot be begun anew (its state cannot be written), and the lines collected
        before never leave the device, then or once the directory has room again."""
        d = self.storage_daemon(logs={"flush_interval_seconds": 1, "max_lines_per_minute": 0,
                                      "journal": "off", "kmsg": "off"})
        sock = os.path.join(d.dir, "syslog.sock")
        d.config["logs"]["syslog_listen"] = sock
        d.write_config()
        logs_dir = os.path.join(d.state_dir, "logs")
        os.makedirs(logs_dir)
        why = mount_tmpfs(logs_dir, size=1024 * 1024, inodes=16)
        if why:
            self.skipTest(why)
        self.addCleanup(umount, logs_dir)
        d.start()

        def send(word, n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            for i in range(n):
                s.sendto(f"<14>app: {word} seq={i}".encode(), sock)
            s.close()

        def kept():
            return d.plugin_status("logs")["sources"]["syslog"]["kept"]
        send("withdrawn", 20)
        wait_for(lambda: kept() >= 20, timeout=20, what="20 lines kept")
        wait_for(lambda: d.plugin_status("logs")["file"]["unflushed"] == 0, timeout=20,
                 what="the lines flushed")
        filled = fill_inodes(os.path.join(logs_dir, "filler"))
        self.assertGreater(filled, 0)
        r = d.ctl("disable-data-collection")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: "failed to throw away the log file" in d.log(), timeout=20,
                 what=f"the failed discard to be logged:\n{d.log()}")
        self.assert_running(d)
        r = d.ctl("enable-data-collection")
        self.assertEqual(r.returncode, 0, r.stderr)
        shutil.rmtree(os.path.join(logs_dir, "filler"))
        # The discard is tried again on a 5 s timer; until it succeeds lines are refused.
        before = kept()

        def probe():
            send("probe", 1)
            time.sleep(0.5)
            return kept() > before
        wait_for(probe, timeout=30, what=f"the discard to succeed: {d.plugin_status('logs')}")
        before = kept()
        send("after", 5)
        wait_for(lambda: kept() >= before + 5, timeout=30,
                 what=f"lines kept once the discard succeeded: {d.plugin_status('logs')}")
        self.sync(d)
        texts = []
        for e in self.rx.entries():
            if e["type"] == "linux-logs":
                md = e["manifest"]["metadata"]
                with gzip.open(os.path.join(self.rx.dir, "entries", e["uuid"],
                                            md["log_file_name"])) as f:
                    texts += [json.loads(x)["data"]["MESSAGE"]
                              for x in f.read().decode().splitlines()]
        self.assertEqual([t for t in texts if "withdrawn" in t], [], texts)
        self.assertEqual([t for t in texts if t.startswith("after")],
                         [f"after seq={i}" for i in range(5)], texts)


class CoreTest(StorageTestCase):
    """A real core streamed by the real faultd-core-handler into a full state directory: the core
    of tests/crash/crasher (gcore of a parked one, in the kernel's layout) piped to the handler as
    the kernel does, with faultd's configuration and the crasher's /proc in faultd's sysroot. On
    a full filesystem the handler evicts lower-value entries while it writes (counted as
    free_space drops) and stores the core; when nothing it may displace makes room it refuses the
    core, counted as a free_space drop of class coredump, and leaves nothing behind."""

    @classmethod
    def setUpClass(cls):
        why = core_skip_reason()
        if why:
            raise unittest.SkipTest(why)
        cls.work = tempfile.mkdtemp(prefix="faultd-storage-core-")
        try:
            parked = cu.ParkedCrasher(CRASHER)
            try:
                raw = parked.gcore(os.path.join(cls.work, "gcore"))
                cls.core_path = os.path.join(cls.work, "core")
                cu.relayout_core(raw, cls.core_path)
                os.unlink(raw)
                # What the handler reads of /proc/<pid>, as it was while the crasher lived.
                cls.proc_dir = cu.snapshot_proc(parked.info["pid"], cls.work)
                cls.info = parked.info
            finally:
                parked.close()
        except BaseException:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise
        with open(cls.core_path, "rb") as f:
            cls.core = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def core_device(self, **config):
        """A storage daemon (not started) and the configuration file the handler gets: faultd's
        own with coredump on (faultd itself leaves core_pattern alone)."""
        d = self.storage_daemon(**config)
        shutil.copytree(self.proc_dir, os.path.join(d.sysroot, "proc", str(self.info["pid"])),
                        symlinks=True)
        handler = dict(d.config, coredump={"enabled": True, "compression": "gzip",
                                           "rate_limit_count": 10000})
        path = os.path.join(d.dir, "core-handler.conf")
        with open(path, "w") as f:
            json.dump(handler, f, indent=2)
        return d, path

    def crash(self, d, config):
        """Pipes the core into faultd-core-handler as the kernel would; returns (CompletedProcess
        with text stderr, seconds)."""
        info = self.info
        cmd = valgrind_command([CORE_HANDLER, "-c", config, str(info["pid"]), str(info["crasher"]),
                                str(SIGSEGV), str(int(time.time())), "0", "0"],
                               d.valgrind_dir, "faultd-core-handler")
        t0 = time.monotonic()
        r = subprocess.run(cmd, input=self.core, capture_output=True, timeout=scaled(60))
        elapsed = time.monotonic() - t0
        r.stderr = r.stderr.decode(errors="replace")
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, r.stderr, f"sanitizer report from faultd-core-handler:\n"
                                               f"{r.stderr}")
        self.assertGreaterEqual(r.returncode, 0, f"faultd-core-handler died of signal "
                                                 f"{-r.returncode}:\n{r.stderr}")
        check_valgrind(d.valgrind_dir, "faultd-core-handler", "faultd-core-handler")
        count("cores_piped")
        FIGURES["core_handler_seconds_max"] = round(max(
            FIGURES.get("core_handler_seconds_max", 0), elapsed), 2)
        return r, elapsed

    def free_space_drops(self, d):
        """{class: free_space drops} of every class, as faultd reports them."""
        drops = d.status()["spool"]["drops"]
        return {c: drops.get(c, {}).get("free_space", 0) for c in CLASS_RANK}

    def assert_no_partial_entry(self, d):
        spool = os.path.join(d.state_dir, "spool")
        left = [n for n in os.listdir(spool) if n.startswith((".tmp-", ".del-"))]
        self.assertEqual(left, [], "a partial entry was left in the spool")

    def check_stored_core(self, entry):
        """The core entry's attachment: a whole gzip stream of a valid ELF core, not truncated.
        Returns its size."""
        attachment = os.path.join(entry["path"], f"core-{entry['uuid']}.elf.gz")
        size = os.path.getsize(attachment)
        self.assertGreater(size, 0)
        plain = os.path.join(self.work, f"stored-{entry['uuid']}.elf")
        with gzip.open(attachment, "rb") as fin, open(plain, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        try:
            elf = cu.ElfCore(plain)
        except ValueError as e:
            self.fail(f"the stored core is not a valid ELF core: {e}")
        finally:
            os.unlink(plain)
        outcome = [desc for name, kind, desc in elf.notes if (name, kind) == ("FAULTD", 2)]
        self.assertEqual(len(outcome), 1, "the FAULTD outcome note")
        self.assertIsNone(json.loads(outcome[0].rstrip(b"\0 "))["truncated"])
        self.assertTrue(elf.loads(), "memory segments")
        return size

    def test_core_evicts_lower_value_entries(self):
        d, config = self.core_device()
        d.start()
        self.heartbeat(d)
        self.heartbeat(d)
        # About 4 KiB of tmpfs each: together several times what the core needs.
        self.attributes(d, 40)
        before = spool_entries(d)
        self.assertEqual(sorted({e["class"] for e in before}), ["attributes", "metrics"], before)
        drops = self.free_space_drops(d)
        filler = os.path.join(d.state_dir, "filler")
        fill_blocks(filler)
        self.assertEqual(self.storage(d)["free_bytes"], 0)

        r, elapsed = self.crash(d, config)
        self.assertEqual(r.returncode, 0, r.stderr)
        after = spool_entries(d)
        cores = [e for e in after if e["type"] == "elf-coredump"]
        self.assertEqual(len(cores), 1, f"{after}\n{r.stderr}")
        size = self.check_stored_core(cores[0])
        # The entries given up for it: the lowest value, oldest first, each one counted.
        kept = {e["uuid"] for e in after}
        gone = [e for e in eviction_order(before) if e["uuid"] not in kept]
        self.assertGreater(len(gone), 2, "the core needed more than the heartbeats")
        self.assertLess(len(gone), len(before), "the core displaced everything")
        self.assertEqual(gone, eviction_order(before)[:len(gone)], "evicted out of order")
        grown = {c: n - drops[c] for c, n in self.free_space_drops(d).items()}
        self.assertEqual(grown, {"metrics": 2, "attributes": len(gone) - 2, "coredump": 0,
                                 "reboot": 0}, r.stderr)
        self.assert_no_partial_entry(d)
        self.assert_running(d)
        FIGURES["core_stored_bytes"] = size
        FIGURES["core_evicted_for_it"] = len(gone)
        FIGURES["core_handler_seconds_on_full"] = round(elapsed, 2)
        print(f"\ncore of {len(self.core)} bytes stored as {size} on a full tmpfs after "
              f"evicting {len(gone)} entries, {elapsed:.2f}s", file=sys.stderr)

        # Space returns: everything left, the core with it, reaches the receiver.
        os.unlink(filler)
        self.sync(d)
        self.assertIn(cores[0]["uuid"], self.received())
        self.assertEqual(spool_entries(d), [])
        self.assertEqual(self.assert_nothing_lost(d),
                         {e["uuid"] for e in gone if e["class"] == "attributes"})
        # faultd heard of the crash from the handler.
        wait_for(lambda: f"core: stored (entry {cores[0]['uuid']})" in d.log(), timeout=30,
                 what=f"faultd to count the crash\n{r.stderr}")

    def test_core_refused_beside_reboots_only(self):
        gone = self.check_core_refused(heartbeats=0)
        self.assertEqual(gone, [], "an entry worth more than a core went")

    def test_core_refused_when_little_is_freeable(self):
        # The heartbeats go (the core's size is not known before it is written) but cannot make
        # room for it.
        gone = self.check_core_refused(heartbeats=2)
        FIGURES["core_refused_evicted_in_vain"] = len(gone)

    def check_core_refused(self, heartbeats):
        """A core on a filesystem full of other data, beside the reboot's entries (worth more
        than a core) and heartbeats: refused, counted, nothing left of it; faultd runs on and
        hears of the crash; the next core, once there is space, is stored. Returns the entries
        that went."""
        d, config = self.core_device()
        d.start()
        d.stop()
        d.new_boot()
        d.start()  # the reboot's entries: worth more than a core
        for _ in range(heartbeats):
            self.heartbeat(d)
        before = spool_entries(d)
        higher = [e for e in before if CLASS_RANK[e["class"]] > CLASS_RANK["coredump"]]
        self.assertIn("linux-reboot", [e["type"] for e in higher], before)
        drops = self.free_space_drops(d)
        filler = os.path.join(d.state_dir, "filler")
        fill_blocks(filler)

        r, elapsed = self.crash(d, config)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("No space left on device", r.stderr)
        after = spool_entries(d)
        self.assertEqual([e for e in after if e["type"] == "elf-coredump"], [], r.stderr)
        # The reboot's entries stay, and every entry that went is counted.
        self.assertEqual(eviction_order(higher), eviction_order(
            [e for e in after if CLASS_RANK[e["class"]] > CLASS_RANK["coredump"]]))
        gone = [e for e in before if e not in after]
        self.assertTrue(all(e["class"] == "metrics" for e in gone), gone)
        grown = {c: n - drops[c] for c, n in self.free_space_drops(d).items()}
        refused_log = r.stderr
        self.assert_no_partial_entry(d)
        self.assert_running(d)
        count("cores_refused")
        FIGURES["core_handler_seconds_refused"] = round(elapsed, 2)

        # Space returns: the next core is stored.
        os.unlink(filler)
        r, _ = self.crash(d, config)
        self.assertEqual(r.returncode, 0, r.stderr)
        cores = [e for e in spool_entries(d) if e["type"] == "elf-coredump"]
        self.assertEqual(len(cores), 1, r.stderr)
        self.check_stored_core(cores[0])
        self.sync(d)
        self.assertIn(cores[0]["uuid"], self.received())
        self.assert_running(d)

        # Counted: the refused core (and its stack trace, which had no room either) as free_space
        # drops of class coredump and each entry that went for them, at once and after the next
        # core; and faultd heard of the crash.
        refused = 1 + ("Failed to store the stack trace" in refused_log)
        self.assertEqual(grown, {"metrics": len(gone), "attributes": 0, "coredump": refused,
                                 "reboot": 0}, f"{refused_log}\n{d.log()}")
        self.assertEqual(self.free_space_drops(d)["coredump"], drops["coredump"] + refused)
        wait_for(lambda: "core: no-space." in d.log(), timeout=30,
                 what=f"faultd to count the refused core's crash\n{refused_log}")
        return gone


def tearDownModule():
    print("storage fault figures: " + json.dumps(FIGURES, sort_keys=True), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
