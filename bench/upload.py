#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: upload N small entries (default 10,000) from a real faultd to the development
receiver over TLS, and report what it cost.

    python3 bench/upload.py [--entries N] [--build DIR]

It builds faultd without sanitizers (meson buildtype=release in build/bench unless --build is
given), starts the receiver and faultd (its coredump plugin off: the machine's core_pattern is
never touched) in a temporary directory, records N device-attributes
entries with `faultctl write-attributes`, then runs `faultctl sync` once. All traffic goes
through a byte-counting TCP relay, so "bytes on the wire" includes TLS.

Reported for faultd: wire bytes per entry, HTTP requests per entry, CPU seconds (recording and
uploading separately) and peak RSS (VmHWM). The anchor, measured in the same run: curl(1)
sending the very same batch file (the MAR the receiver stored) in one PUT over the same relay,
so faultd's cost of reading the spool, packing and sending can be set against the bare cost of
sending those bytes over TLS.
"""
import argparse
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECEIVER = os.path.join(TOP, "tests", "receiver", "faultd-receiver")


class Relay:
    """127.0.0.1:port -> target port, counting bytes in each direction."""

    def __init__(self, target_port):
        self.target = target_port
        self.up = self.down = self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _pipe(self, src, dst, attr):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                dst.sendall(b)
                with self.lock:
                    setattr(self, attr, getattr(self, attr) + len(b))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _accept(self):
        while True:
            c, _ = self.sock.accept()
            u = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pipe, args=(c, u, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, "down"), daemon=True).start()

    def reset(self):
        with self.lock:
            counts = (self.up, self.down, self.connections)
            self.up = self.down = self.connections = 0
        return counts


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def coredump_off(build):
    """The setting that keeps a benchmark's faultd off this machine's kernel.core_pattern: the
    coredump plugin turned off, when build has it. On, with consent and the real sysroot, it
    would set the whole machine's core_pattern."""
    # Generated in the config layer's directory (docs/architecture.md).
    with open(os.path.join(build, "config", "build-config.h")) as f:
        built = "#define HAVE_COREDUMP 1" in f.read().splitlines()
    return {"coredump": {"enabled": False}} if built else {}


def wait_for(pred, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("bench: timed out")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--build", default=os.path.join(TOP, "build", "bench"))
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.build, "build.ninja")):
        subprocess.run(["meson", "setup", args.build, "-Dbuildtype=release", "-Dtests=disabled"],
                       cwd=TOP, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", args.build], check=True, stdout=subprocess.DEVNULL)
    faultd = os.path.join(args.build, "daemon", "faultd")
    faultctl = os.path.join(args.build, "daemon", "faultctl")

    work = tempfile.mkdtemp(prefix="faultd-bench-")
    procs = []
    try:
        rx_dir = os.path.join(work, "rx")
        rx = subprocess.Popen([sys.executable, RECEIVER, "serve", "--dir", rx_dir, "--quiet",
                               "--max-batch-bytes", "64MiB"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rx)
        info = wait_for(lambda: os.path.exists(os.path.join(rx_dir, "receiver.json")) and
                        json.load(open(os.path.join(rx_dir, "receiver.json"))))
        relay = Relay(info["port"])

        sock = os.path.join(work, "faultd.sock")
        conf = os.path.join(work, "faultd.conf")
        with open(conf, "w") as f:
            json.dump({
                "state_dir": os.path.join(work, "state"),
                "control_socket": sock,
                "log_target": "stderr",
                "log_level": "warning",
                "enable_data_collection": True,
                "base_url": f"https://127.0.0.1:{relay.port}",
                "ca_bundle": info["ca_bundle"],
                "project_key": "bench",
                "upload_interval_seconds": 0,
                "spool": {"max_entries": 0, "max_bytes": 0, "min_free_bytes": 0},
                **coredump_off(args.build),
            }, f)
        d = subprocess.Popen([faultd, "--config", conf], stderr=open(os.path.join(work, "log"),
                                                                      "w"))
        procs.append(d)
        wait_for(lambda: subprocess.run([faultctl, "--socket", sock, "status"],
                                        capture_output=True).returncode == 0)

        def ctl(*a):
            r = subprocess.run([faultctl, "--socket", sock] + list(a), capture_output=True,
                               text=True, timeout=1200)
            if r.returncode != 0:
                raise SystemExit(f"bench: faultctl {a[0]} failed: {r.stderr}")
            return r.stdout

        cpu0 = cpu_seconds(d.pid)
        t0 = time.monotonic()
        for i in range(args.entries):
            ctl("write-attributes", f"bench_index={i}", "firmware=1.2.3", "wifi=true")
        record_wall = time.monotonic() - t0
        cpu1 = cpu_seconds(d.pid)
        relay.reset()

        t0 = time.monotonic()
        out = ctl("sync")
        sync_wall = time.monotonic() - t0
        cpu2 = cpu_seconds(d.pid)
        up, down, conns = relay.reset()
        hwm = vm_hwm_kib(d.pid)

        ctx = ssl.create_default_context(cafile=info["ca_bundle"])
        with urllib.request.urlopen(f"{info['url']}/_dev/stats", context=ctx) as r:
            stats = json.loads(r.read())
        requests = [q for q in stats["requests"] if q["step"] != "device-config"]
        # Besides the attributes: the device-config entry confirming the fleet configuration.
        if stats["entries"] != args.entries + 1:
            raise SystemExit(f"bench: the receiver holds {stats['entries']} entries, "
                             f"expected {args.entries} and one device-config")
        batches = sorted(os.listdir(os.path.join(rx_dir, "batches")))
        payload = sum(os.path.getsize(os.path.join(rx_dir, "batches", b)) for b in batches)

        # Anchor: curl sends the largest stored batch in one PUT through the same relay.
        big = max(batches, key=lambda b: os.path.getsize(os.path.join(rx_dir, "batches", b)))
        big_path = os.path.join(rx_dir, "batches", big)
        prep = json.dumps({"kind": "MAR", "size": os.path.getsize(big_path),
                           "content_encoding": None,
                           "device": {"device_serial": "bench", "hardware_version": "h",
                                      "software_version": "1", "software_type": "t"}}).encode()
        req = urllib.request.Request(
            f"https://127.0.0.1:{relay.port}/api/v0/upload", data=prep,
            headers={"Memfault-Project-Key": "bench", "Content-Type": "application/json",
                     "Accept": "application/json"})
        with urllib.request.urlopen(req, context=ctx) as r:
            upload_url = json.loads(r.read())["data"]["upload_url"]
        relay.reset()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["curl", "-sS", "--fail", "--cacert", info["ca_bundle"], "-H", "Expect:",
                        "-H", "Content-Type: application/octet-stream", "-T", big_path,
                        upload_url], check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        curl_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        curl_up, curl_down, _ = relay.reset()

        n = args.entries
        print(f"faultd upload benchmark: {n} device-attributes entries, {len(batches)} "
              f"batch(es), {payload} bytes of MAR payload ({payload / n:.1f} per entry)")
        print(f"  sync: {out.strip()}")
        print(f"  wire bytes per entry:    {(up + down) / n:.1f} "
              f"(sent {up}, received {down}, {conns} TCP connection(s))")
        print(f"  HTTP requests per entry: {len(requests) / n:.5f} ({len(requests)} requests)")
        print(f"  faultd CPU, recording:   {cpu1 - cpu0:.2f} s ({(cpu1 - cpu0) / n * 1e6:.0f} us "
              f"per entry; {record_wall:.1f} s wall with faultctl started per entry)")
        print(f"  faultd CPU, uploading:   {cpu2 - cpu1:.2f} s ({sync_wall:.2f} s wall)")
        print(f"  faultd peak RSS (VmHWM): {hwm} KiB")
        print(f"  anchor, curl PUT of the largest batch ({os.path.getsize(big_path)} bytes): "
              f"{curl_cpu:.2f} s CPU, {curl_up + curl_down} wire bytes")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
