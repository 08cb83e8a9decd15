# SPDX-License-Identifier: MIT
"""Power-loss torture: faultd is killed with SIGKILL at random moments and aimed ones (a command
committing an entry, a commit that evicts, a prepare/PUT/commit the receiver holds or answers
truncated), restarted each time, and in the end the receiver and the spool are checked: every
acknowledged entry arrived, is still spooled or was evicted by policy (named in the log and
counted in the drop counters), every entry the receiver holds is what was sent, the spool holds
nothing half-written, and the duplicates are counted.

TORTURE_ITERATIONS (default 200) sets the number of kills, TORTURE_SEED the random seed (printed,
so that a failing run can be replayed). SIGKILL tests the process's atomicity (what the spool
leaves on disk at any instant), not the flash's: the page cache outlives the process.
"""
import collections
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (FAULTD, SANITIZER_MARKERS, Daemon, DaemonTestCase, Receiver,  # noqa: E402
                     raw_request, skip_under_valgrind, wait_for)

ITERATIONS = int(os.environ.get("TORTURE_ITERATIONS", "200"))
SEED = int(os.environ.get("TORTURE_SEED", str(int.from_bytes(os.urandom(4), "little"))))
# A spool this small is full after a few commands: every commit then evicts.
SMALL_SPOOL_ENTRIES = 6
# How an iteration kills: "random*" after a random time of commands back to back, "command" a few
# milliseconds after one command, "evict*" the same with a spool full (every commit evicts) and no
# uploads, "upload*" while commands go and uploads run, or while the receiver holds (delay) or
# truncates the answer to a step.
MODES = ["random", "random-heartbeats", "command", "evict-random", "evict-command",
         "upload-random", "upload-delay", "upload-truncate"]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENTRY_DIR_RE = re.compile(r"^\d{13}_([a-z-]+)_(" + UUID + r")$")


class TortureDaemon(Daemon):
    """A Daemon that waits for its socket without spawning faultctl (cheaper under ASan)."""

    def start(self, wait=True):
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([FAULTD, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_file, env=self.env)
        wait_for(self._answers_raw, timeout=60, interval=0.01,
                 what=f"faultd to answer on {self.socket}")
        return self

    def _answers_raw(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"faultd exited with {self.proc.returncode}:\n{self.log()}")
        try:
            reply = raw_request(self.socket, b'{"command": "status"}\n', timeout=5)
        except OSError:
            return False
        return reply.startswith(b'{"ok": true') or b'"ok":true' in reply



def try_request(path, command, args, timeout=30.0):
    """The parsed reply; None when there was none (the daemon died while the command was in
    flight), False when it could not be sent at all."""
    payload = json.dumps({"command": command, "args": args}).encode() + b"\n"
    try:
        reply = raw_request(path, payload, timeout=timeout)
    except (ConnectionRefusedError, FileNotFoundError):
        return False  # not sent: the daemon is already gone
    except OSError:
        return None
    try:
        return json.loads(reply)
    except ValueError:
        return None  # nothing or half a reply: not acknowledged


class Ledger:
    """What the test sent and what faultd acknowledged. Attribute entries carry seq=N and
    tag=torture-N; heartbeats carry the gauge torture_hb=N, set just before they are closed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 0
        self.attributes = {}        # seq -> the acknowledged entry's UUID, or None
        self.acked = {}             # UUID -> seq
        self.heartbeats_sent = set()
        self.heartbeats_acked = set()
        self.refused = collections.Counter()    # by class: a full spool refuses new entries
        self.unanswered = 0         # commands that got no reply: the kill landed during them

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def write_attributes(self, path):
        seq = self.next_seq()
        reply = try_request(path, "write-attributes",
                            {"attributes": [f"seq={seq}", f"tag=torture-{seq}"]})
        with self.lock:
            if reply is not False:
                self.attributes[seq] = None
            if reply is None:
                self.unanswered += 1
            elif reply and reply.get("ok"):
                uuid = reply["data"]["entry"]
                self.attributes[seq] = uuid
                self.acked[uuid] = seq
            elif reply:
                self.refused["attributes"] += 1
        return reply

    def heartbeat(self, path):
        seq = self.next_seq()
        reply = try_request(path, "write-metric", {"metrics": [f"torture_hb={seq}"]})
        if not reply or not reply.get("ok"):
            if reply is None:
                self.unanswered += 1
            return reply
        with self.lock:
            self.heartbeats_sent.add(seq)
        reply = try_request(path, "request-metrics", {})
        with self.lock:
            if reply is None:
                self.unanswered += 1
            elif reply and reply.get("ok") and "Heartbeat closed;" in reply["data"]["message"]:
                self.heartbeats_acked.add(seq)
            elif reply:
                self.refused["metrics"] += 1
        return reply


class Sender(threading.Thread):
    """Sends commands back to back until stopped or the daemon is gone."""

    def __init__(self, ledger, path, rng, heartbeat_every):
        super().__init__(daemon=True)
        self.ledger, self.path, self.heartbeat_every = ledger, path, heartbeat_every
        self.rng = random.Random(rng.random())
        self.stop = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stop.is_set():
            self.sent += 1
            if self.heartbeat_every and self.sent % self.heartbeat_every == 0:
                reply = self.ledger.heartbeat(self.path)
            else:
                reply = self.ledger.write_attributes(self.path)
            if not reply:
                return


class TortureTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver(args=["--quiet"]).start()
        self.addCleanup(self.rx.cleanup)
        self.rng = random.Random(SEED)
        self.ledger = Ledger()
        self.iterations = collections.Counter()  # by mode
        self.kills = collections.Counter()      # by mode, upload steps apart
        self.evidence = collections.Counter()   # what the kill interrupted, seen on disk/rx
        self.evicted_exact = 0
        self.d = TortureDaemon(config=self.rx.daemon_config(
            upload_interval_seconds=1,
            upload={"backoff_min_seconds": 1, "backoff_max_seconds": 2,
                    "timeout_seconds": 20},
            spool={"max_entries": 20000, "min_free_bytes": 0, "min_free_inodes": 0}))
        self.daemons.append(self.d)

    # -- the daemon's configuration per iteration

    def configure(self, small_spool, uploads):
        self.d.config["spool"]["max_entries"] = SMALL_SPOOL_ENTRIES if small_spool else 20000
        self.d.config["upload_interval_seconds"] = 1 if uploads else 0
        self.d.write_config()

    def spool_names(self):
        try:
            return os.listdir(os.path.join(self.d.state_dir, "spool"))
        except FileNotFoundError:
            return []

    def spooled_uuids(self):
        return {m.group(2) for m in map(ENTRY_DIR_RE.match, self.spool_names()) if m}

    def spooled_types(self):
        """{UUID: type} of the committed entries."""
        return {m.group(2): m.group(1) for m in map(ENTRY_DIR_RE.match, self.spool_names()) if m}

    def spooled_heartbeats(self):
        """The torture_hb values of the spooled heartbeats."""
        out = set()
        spool = os.path.join(self.d.state_dir, "spool")
        for name in self.spool_names():
            m = ENTRY_DIR_RE.match(name)
            if m and m.group(1) == "linux-metric-report":
                with open(os.path.join(spool, name, "manifest.json")) as f:
                    out.add(json.load(f)["metadata"]["metrics"].get("torture_hb"))
        return out

    def drops_counted(self):
        """{class: evictions and refusals counted} from drops.json."""
        try:
            with open(os.path.join(self.d.state_dir, "spool", "drops.json")) as f:
                drops = json.load(f)
        except FileNotFoundError:
            drops = {}
        return {c: sum(drops.get(c, {}).get(r, 0) for r in ("entries", "bytes", "age",
                                                             "free_space"))
                for c in ("metrics", "attributes")}

    def check_drops(self, mode, before, t_start):
        """Exact accounting of one iteration: the drop counters grew by the entries that left
        the spool (uploads are off in the evict modes) plus the acknowledged entries of the
        iteration already gone again plus the refusals the test saw; a kill may leave one
        more counted (counter written, then killed before the deletion or the reply)."""
        types0, counted0, acked0, hb0, refused0 = before
        types1 = self.spooled_types()
        counted1 = self.drops_counted()
        if not mode.startswith("evict"):
            self.assertEqual(counted1, counted0, f"{mode}: drops without a full spool")
            return
        self.assertEqual([q for q in self.rx_requests_since(t_start) if q["step"] == "prepare"],
                         [], f"{mode}: uploaded with interval 0")
        hb1 = self.spooled_heartbeats()
        cls_of = {"device-attributes": "attributes", "linux-metric-report": "metrics"}
        slack = {}
        for cls in ("attributes", "metrics"):
            left = sum(1 for u, t in types0.items() if u not in types1 and cls_of.get(t) == cls)
            if cls == "attributes":
                gone = sum(1 for u in self.ledger.acked if u not in acked0 and u not in types1)
            else:
                gone = len(self.ledger.heartbeats_acked - hb0 - hb1)
            refused = self.ledger.refused[cls] - refused0[cls]
            slack[cls] = counted1[cls] - counted0[cls] - left - gone - refused
        self.assertIn(sum(slack.values()), (0, 1), f"{mode}: drops not accounted: {slack}: "
                      f"counted {counted0} -> {counted1}, {len(types0)} -> {len(types1)} spooled, "
                      f"{self.d.log()[-3000:]}")
        self.assertTrue(all(v >= 0 for v in slack.values()), f"{mode}: {slack}")
        if sum(slack.values()):
            self.evidence["evict: counted, then killed before the deletion or reply"] += 1
        self.evicted_exact += counted1["attributes"] + counted1["metrics"] - \
            counted0["attributes"] - counted0["metrics"]

    def accounting_snapshot(self):
        return (self.spooled_types(), self.drops_counted(), set(self.ledger.acked),
                set(self.ledger.heartbeats_acked), collections.Counter(self.ledger.refused))

    def rx_requests_since(self, t0):
        return [q for q in self.rx.stats()["requests"] if q["t"] >= t0]

    def rx_held(self):
        """UUIDs the receiver stored (its index.jsonl: cheaper than /_dev/entries)."""
        try:
            with open(os.path.join(self.rx.dir, "index.jsonl")) as f:
                return {json.loads(line)["uuid"] for line in f if line.endswith("\n")}
        except FileNotFoundError:
            return set()

    def kill(self, mode):
        self.d.kill()
        self.kills[mode] += 1

    # -- the ways to kill

    def run_sender(self, heartbeat_every, kill_after, mode):
        """Commands back to back, killed after kill_after seconds."""
        sender = Sender(self.ledger, self.d.socket, self.rng, heartbeat_every)
        sender.start()
        time.sleep(kill_after)
        self.kill(mode)
        sender.stop.set()
        sender.join(timeout=60)
        self.assertFalse(sender.is_alive(), "a command to a killed faultd did not end")

    def kill_mid_command(self, mode):
        """One command sent, the kill a few milliseconds later: inside its commit."""
        for _ in range(self.rng.randint(0, 2)):
            self.ledger.write_attributes(self.d.socket)
        t = threading.Thread(target=self.ledger.write_attributes, args=(self.d.socket,))
        t.start()
        time.sleep(self.rng.uniform(0, 0.03))
        self.kill(mode)
        t.join(timeout=60)

    def kill_mid_upload(self, step, fault):
        """The receiver holds (delay_ms) or truncates the answer to step; the kill lands while
        faultd waits for it, or right after a truncated commit was stored."""
        # The fault first: a scheduled run may take the entries before the sync does.
        t0 = time.monotonic()
        delay = self.rng.randint(300, 900)
        self.rx.faults({step: [{"delay_ms": delay} if fault == "delay" else {"truncate": True}]})
        for _ in range(self.rng.randint(1, 4)):
            self.ledger.write_attributes(self.d.socket)
        sync = threading.Thread(target=try_request, args=(self.d.socket, "sync", {}))
        sync.start()

        def reached():
            return [q for q in self.rx_requests_since(t0) if q["step"] == step
                    and (fault == "delay" or q["status"] is not None)]
        try:
            wait_for(reached, timeout=30, interval=0.01, what=f"faultd to reach {step}")
        finally:
            if fault == "delay":
                time.sleep(self.rng.uniform(0, delay / 1000 * 0.8))
            else:
                time.sleep(self.rng.uniform(0, 0.05))
            self.kill(f"upload-{step}-{fault}")
            self.rx.faults({})
            sync.join(timeout=60)

    # -- what a kill interrupted

    def note_evidence(self, mode, t0, received_before):
        """What the kill interrupted, as the disk and the receiver show it (faultd's log is
        rate-limited per call site, so it cannot be the record)."""
        names = self.spool_names()
        group = "evict" if mode.startswith("evict") else \
            "upload" if mode.startswith("upload") else "commit"
        n_entries = sum(1 for n in names if ENTRY_DIR_RE.match(n))
        if any(n.startswith(".tmp-") for n in names):
            self.evidence[f"{group}: commit interrupted (.tmp- left)"] += 1
            if group == "evict" and n_entries >= SMALL_SPOOL_ENTRIES:
                self.evidence["evict: commit into a full spool interrupted"] += 1
        if any(n.startswith(".del-") for n in names):
            self.evidence[f"{group}: deletion interrupted (.del- left)"] += 1
        reqs = self.rx_requests_since(t0)
        if any(q["status"] is None for q in reqs):
            self.evidence[f"{group}: upload request unanswered (receiver status null)"] += 1
        held = self.rx_held()
        if (held - received_before) & self.spooled_uuids():
            self.evidence[f"{group}: batch stored by the receiver, still spooled "
                          "(duplicates due)"] += 1
        return held

    # -- the test

    @skip_under_valgrind("200 restarts of seconds each, and a killed faultd is never leak-checked")
    def test_sigkill_torture(self):
        print(f"\ntorture: {ITERATIONS} iterations, TORTURE_SEED={SEED}", file=sys.stderr)
        wall = time.monotonic()
        received = set()
        for i in range(ITERATIONS):
            mode = MODES[i % len(MODES)] if i < len(MODES) else self.rng.choice(MODES)
            self.iterations[mode] += 1
            self.configure(small_spool=mode.startswith("evict"),
                           uploads=not mode.startswith("evict"))
            before = self.accounting_snapshot()
            t_start = time.monotonic()
            self.d.start()
            t0 = time.monotonic()
            if mode == "random":
                self.run_sender(0, self.rng.uniform(0, 0.4), mode)
            elif mode == "random-heartbeats":
                self.run_sender(3, self.rng.uniform(0, 0.4), mode)
            elif mode == "command":
                self.kill_mid_command(mode)
            elif mode == "evict-random":
                self.run_sender(5, self.rng.uniform(0.05, 0.4), mode)
            elif mode == "evict-command":
                for _ in range(SMALL_SPOOL_ENTRIES):  # full: the next commit evicts
                    self.ledger.write_attributes(self.d.socket)
                self.kill_mid_command(mode)
            elif mode == "upload-random":
                self.run_sender(4, self.rng.uniform(0.1, 1.2), mode)
            elif mode == "upload-delay":
                self.kill_mid_upload(self.rng.choice(["prepare", "put", "commit"]), "delay")
            elif mode == "upload-truncate":
                self.kill_mid_upload("commit", "truncate")
            self.check_drops(mode, before, t_start)
            received = self.note_evidence(mode, t0, received)
        torture_s = time.monotonic() - wall

        # Power back for good: no faults, everything goes up.
        self.configure(small_spool=False, uploads=True)
        self.d.start()

        def drained():
            reply = try_request(self.d.socket, "sync", {}, timeout=120)
            return reply and reply.get("ok") and reply["data"].get("remaining") == 0 \
                and reply["data"].get("entries") == 0
        wait_for(drained, timeout=120, interval=0.2, what="the spool to drain")
        status = self.d.status()
        self.assertEqual(self.d.stop(), 0, self.d.log()[-5000:])
        self.check(status, torture_s, time.monotonic() - wall)

    def check(self, status, torture_s, total_s):
        log = self.d.log()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, log)
        ledger = self.ledger

        # The spool after the last stop: committed entries only, each whole.
        spooled = {}
        for name in self.spool_names():
            if name in ("lock", "drops.json"):
                continue
            m = ENTRY_DIR_RE.match(name)
            self.assertIsNotNone(m, f"leftover in the spool after a clean stop: {name}")
            with open(os.path.join(self.d.state_dir, "spool", name, "manifest.json")) as f:
                manifest = json.load(f)
            self.assertEqual(manifest["type"], m.group(1), name)
            spooled[m.group(2)] = manifest
        with open(os.path.join(self.d.state_dir, "spool", "drops.json")) as f:
            drops = json.load(f)

        # The receiver: every entry is what was sent, once.
        held = self.rx.entries()
        self.assertEqual(len({e["uuid"] for e in held}), len(held), "an entry stored twice")
        held_by_uuid = {e["uuid"]: e for e in held}
        seqs_held = collections.Counter()
        for e in held:
            m = e["manifest"]
            self.assertEqual(m["type"], e["type"])
            if e["type"] == "device-attributes":
                attrs = m["metadata"]["attributes"]
                self.assertEqual(len(attrs), 2, e)
                self.assertEqual(attrs[0]["string_key"], "seq", e)
                seq = attrs[0]["value"]
                self.assertIn(seq, ledger.attributes, f"an entry nobody sent: {e}")
                self.assertEqual(attrs[1], {"string_key": "tag", "value": f"torture-{seq}"}, e)
                if ledger.attributes[seq] is not None:
                    self.assertEqual(ledger.attributes[seq], e["uuid"], e)
                seqs_held[seq] += 1
            else:
                self.assertEqual(e["type"], "linux-metric-report", e)
                self.assertIn("operational_hours", json.dumps(m), e)
        self.assertEqual([s for s, n in seqs_held.items() if n > 1], [],
                         "one command stored as several entries")

        # Accounting: acknowledged = at the receiver + still spooled + evicted by policy. The
        # log cannot name every eviction (rate-limited): the drop counters bound them.
        for uuid, manifest in spooled.items():
            if manifest["type"] == "device-attributes":
                seq = manifest["metadata"]["attributes"][0]["value"]
                self.assertIn(seq, ledger.attributes, f"a spooled entry nobody sent: {uuid}")
        metrics_held = collections.Counter(
            (e["manifest"]["metadata"]["metrics"].get("torture_hb") for e in held
             if e["type"] == "linux-metric-report"))
        metrics_spooled = collections.Counter(
            (m["metadata"]["metrics"].get("torture_hb") for m in spooled.values()
             if m["type"] == "linux-metric-report"))
        found = {"attributes": collections.Counter(), "metrics": collections.Counter()}
        missing = {"attributes": [], "metrics": []}
        for uuid, seq in ledger.acked.items():
            where = "receiver" if uuid in held_by_uuid else "spool" if uuid in spooled else None
            if where:
                found["attributes"][where] += 1
            else:
                missing["attributes"].append(uuid)
        for seq in ledger.heartbeats_acked:
            where = "receiver" if metrics_held[seq] else "spool" if metrics_spooled[seq] else None
            if where:
                found["metrics"][where] += 1
            else:
                missing["metrics"].append(f"heartbeat torture_hb={seq}")
        duplicates_hb = sum(n - 1 for v, n in metrics_held.items() if v is not None and n > 1)
        self.assertEqual(duplicates_hb, 0, "one heartbeat stored as several entries")

        # Every missing acknowledged entry must be one the counters say was dropped by policy
        # (refusals the test saw are counted there too); nothing was malformed or rejected.
        counted = {}
        for cls in ("metrics", "attributes"):
            counted[cls] = sum(drops.get(cls, {}).get(r, 0) for r in ("entries", "bytes", "age",
                                                                       "free_space"))
            self.assertLessEqual(len(missing[cls]) + ledger.refused[cls], counted[cls],
                                 f"{cls}: acknowledged entries gone without a count: "
                                 f"{missing[cls]}; refused {ledger.refused[cls]}; {drops}")
        for cls, reasons in drops.items():
            self.assertEqual(reasons.get("invalid", 0), 0, f"malformed entries: {drops}")
            self.assertEqual(reasons.get("rejected", 0), 0, f"rejected entries: {drops}")
            if cls not in ("metrics", "attributes"):
                self.assertEqual(sum(reasons.values()), 0, f"{cls} dropped: {drops}")
        self.assertNotIn("is malformed", log)
        n_acked = len(ledger.acked) + len(ledger.heartbeats_acked)
        n_found = sum(sum(c.values()) for c in found.values())
        n_evicted = sum(len(m) for m in missing.values())

        stats = self.rx.stats()
        unacked_arrived = sum(1 for q in seqs_held if ledger.attributes[q] is None)
        lines = [
            f"torture: seed {SEED}, {sum(self.kills.values())} kills in {torture_s:.1f} s "
            f"({total_s:.1f} s with the final upload)",
            "kills by mode: " + ", ".join(f"{k} {v}" for k, v in sorted(self.kills.items())),
            "what the kills interrupted (seen on disk and at the receiver):",
            *(f"  {k}: {v}" for k, v in sorted(self.evidence.items())),
            f"commands: {ledger.seq} numbered, {ledger.unanswered} unanswered (killed), "
            f"refused as the spool was full: {dict(ledger.refused)}",
            f"acknowledged entries: {n_acked} ({len(ledger.acked)} attributes, "
            f"{len(ledger.heartbeats_acked)} heartbeats); at the receiver "
            f"{found['attributes']['receiver'] + found['metrics']['receiver']}, still spooled "
            f"{found['attributes']['spool'] + found['metrics']['spool']}, evicted by policy "
            f"{n_evicted} (drop counters: {counted}, of which refusals seen "
            f"{dict(ledger.refused)}), lost 0",
            f"evict iterations: drop counters grew by {self.evicted_exact}, each matched to an "
            f"entry gone or a refusal seen, one over when the kill fell between count and "
            f"deletion ({self.evidence['evict: counted, then killed before the deletion or reply']}"
            f" times)",
            f"unacknowledged commands whose entry arrived anyway: {unacked_arrived}",
            f"receiver: {stats['entries']} entries in {stats['batches']} batches, "
            f"{stats['duplicates']} duplicates (same UUID again); corrupt 0",
        ]
        print("\n".join(lines), file=sys.stderr)
        self.assertEqual(n_found + n_evicted, n_acked)
        self.assertEqual(status["spool"]["entries"], 0, "the final upload left entries")
        if ITERATIONS >= len(MODES):
            for mode in MODES:
                self.assertGreater(self.iterations[mode], 0, mode)


if __name__ == "__main__":
    unittest.main(verbosity=2)
