#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: faultd's metrics against collectd 5.12, both measured in the same run on the same
machine.

    python3 bench/metrics.py [--idle-seconds 300] [--load-datagrams 1000000 | --load-seconds S]
                             [--rates 10000,50000] [--hour-intervals 12] [--build DIR]
                             [--collectd PATH]

It builds faultd without sanitizers (meson buildtype=release in build-bench-metrics unless --build
is given) and compiles the statsd load generator (bench/statsd-load.c) and the libcurl anchor
(bench/libcurl-floor.c) with cc. Every daemon runs from a temporary directory with a
configuration of its own; the machine's configuration is never read or touched (faultd's
coredump plugin is off, so kernel.core_pattern stays the machine's), and everything started is
stopped at the end. The tables are printed in markdown at the end.

1. Idle at a 10 s collection interval. faultd: sysmetrics (CPU, load, memory, "/", every
   interface, thermal zones, uptime, its own process) with the statsd and collectd listeners
   open. collectd: cpu, load, memory, df ("/"), interface, thermal, uptime, processes (its own
   process) and statsd, with write_http posting JSON over TLS to a byte-counting sink in this
   script (collectd must ship its values somewhere, as faultd spools its heartbeat). Measured
   side by side over --idle-seconds: RSS (VmRSS at the end, anonymous and file-backed parts, PSS,
   VmHWM), context switches per minute (voluntary + involuntary, summed over every thread) and
   CPU time.
2. statsd load at each of --rates datagrams/s, --load-datagrams at each rate (or for
   --load-seconds), one daemon at a time (the other idles), the same stream for both: one
   metric per datagram, 100 names (40 counters, a quarter each at sample rate 0.5 and 0.25;
   30 gauges, 5 of them moved by deltas; 20 timers; 10 sets).
   Measured: CPU seconds per million datagrams (utime + stime of the daemon, all threads), drops
   (the daemon socket's drop counter in /proc/net/udp and the machine's Udp RcvbufErrors), whether
   the daemon saw every datagram (faultd: its statsd counters; collectd: the sum of its statsd
   counters as write_http reports them, against the sum sent) and peak RSS.
3. Bytes per device-hour for 100 metrics (50 counters, 50 gauges, sent by statsd to a fresh
   faultd and a fresh collectd every 10 s). faultd: one heartbeat closed with
   `faultctl request-metrics` and uploaded with `faultctl sync` (one heartbeat per device-hour),
   through a byte-counting relay to the development receiver over TLS. collectd: write_http at a
   10 s interval over TLS, measured over --hour-intervals intervals and scaled to 360 intervals.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upload import RECEIVER, TOP, Relay, coredump_off, cpu_seconds  # noqa: E402

COLLECTD = "/usr/sbin/collectd"
INTERVAL = 10  # collection interval of both daemons, seconds


# --- measuring processes -------------------------------------------------------------------

def proc_status(pid, task=None):
    """/proc/<pid>[/task/<tid>]/status as {field: first number or text}."""
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.split()
            out[k] = int(v[0]) if v and v[0].isdigit() else (v[0] if v else "")
    return out


def context_switches(pid):
    """Voluntary + involuntary context switches, summed over every thread of pid."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            s = proc_status(pid, tid)
        except OSError:
            continue  # the thread ended meanwhile
        total += s["voluntary_ctxt_switches"] + s["nonvoluntary_ctxt_switches"]
    return total


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def largest_mappings(pid, n=6):
    """[(KiB resident, name)] of the n largest resident parts of pid's memory, by file (shared
    library base name) or "anonymous" (heap, stacks, other private mappings)."""
    rss = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                name = os.path.basename(path) if path.startswith("/") else "anonymous"
            elif parts and parts[0] == "Rss:":
                rss[name] = rss.get(name, 0) + int(parts[1])
    return sorted(((v, k) for k, v in rss.items()), reverse=True)[:n]


def udp_socket(port):
    """(bytes queued, drops) of the UDP socket bound to 127.0.0.1:port, from /proc/net/udp."""
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            addr, p = fields[1].split(":")
            if int(p, 16) == port and addr == "0100007F":
                return int(fields[4].split(":")[1], 16), int(fields[12])
    raise SystemExit(f"bench: no UDP socket on 127.0.0.1:{port}")


def rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        udp = [line.split() for line in f if line.startswith("Udp:")]
    return int(dict(zip(udp[0], udp[1]))["RcvbufErrors"])


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit(f"bench: timed out waiting for {what}")


def kib(v):
    return f"{v / 1024:.1f} MiB"


# --- the sink for collectd's write_http ------------------------------------------------------

class _Counting:
    """Wraps a handler's rfile or wfile and adds the bytes that pass to sink.<attr>."""

    def __init__(self, f, sink, attr):
        self.f, self.sink, self.attr = f, sink, attr

    def _add(self, b):
        with self.sink.lock:
            setattr(self.sink, self.attr, getattr(self.sink, self.attr) + len(b))
        return b

    def readline(self, *a):
        return self._add(self.f.readline(*a))

    def read(self, *a):
        return self._add(self.f.read(*a))

    def write(self, b):
        self._add(b)
        return self.f.write(b)

    def flush(self):
        return self.f.flush()

    def close(self):
        return self.f.close()

    @property
    def closed(self):
        return self.f.closed


class Sink:
    """HTTPS server taking write_http's JSON: counts requests and the HTTP bytes each way (the
    plain bytes inside TLS; a Relay in front counts the TLS bytes) and keeps the latest value of
    every value list."""

    def __init__(self, tls_dir):
        sink = self
        self.lock = threading.Lock()
        self.values = {}
        self.reset()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                self.rfile = _Counting(self.rfile, sink, "received")
                self.wfile = _Counting(self.wfile, sink, "sent")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.take(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(os.path.join(tls_dir, "server.pem"),
                            os.path.join(tls_dir, "server.key"))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.requests = self.body = self.received = self.sent = self.value_lists = 0
            self.statsd_lists = 0

    def take(self, body):
        try:
            lists = json.loads(body)
        except ValueError:
            lists = []
        with self.lock:
            self.requests += 1
            self.body += len(body)
            self.value_lists += len(lists)
            for vl in lists:
                key = (vl["plugin"], vl["plugin_instance"], vl["type"], vl["type_instance"])
                self.values[key] = (vl["time"], vl["values"])
                if vl["plugin"] == "statsd":
                    self.statsd_lists += 1

    def counters(self, since):
        """{name: cumulative value} of the statsd counters reported at or after since."""
        with self.lock:
            return {k[3]: v[1][0] for k, v in self.values.items()
                    if k[0] == "statsd" and k[2] == "derive" and v[0] >= since}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- the packet streams ----------------------------------------------------------------------

def load_stream(n=100000, seed=1):
    """n datagrams of one metric each over 100 names, seeded so that every run sends the same
    stream: returns (datagrams, what each adds to the counters' total, 0 for other kinds)."""
    rnd = random.Random(seed)
    names = []
    for i in range(40):
        rate = "" if i < 20 else ("|@0.5" if i < 30 else "|@0.25")
        names.append(("c", f"bench.counter.{i:02d}", rate))
    for i in range(30):
        names.append(("g", f"bench.gauge.{i:02d}", "delta" if i < 5 else ""))
    for i in range(20):
        names.append(("ms", f"bench.timer.{i:02d}", "|@0.5" if i < 5 else ""))
    for i in range(10):
        names.append(("s", f"bench.set.{i:02d}", ""))
    grams, counts = [], []
    for _ in range(n):
        kind, name, extra = rnd.choice(names)
        c = 0
        if kind == "c":
            v = rnd.randint(1, 5)
            line = f"{name}:{v}|c{extra}"
            c = v / {"": 1, "|@0.5": 0.5, "|@0.25": 0.25}[extra]
        elif kind == "g" and extra == "delta":
            line = f"{name}:{rnd.choice('+-')}{rnd.randint(1, 9)}|g"
        elif kind == "g":
            line = f"{name}:{rnd.randint(0, 10000) / 10}|g"
        elif kind == "ms":
            line = f"{name}:{rnd.randint(1, 500000) / 1000}|ms{extra}"
        else:
            line = f"{name}:user-{rnd.randint(1, 50)}|s"
        grams.append(line.encode())
        counts.append(c)
    return grams, counts


def counter_sum(counts, sent):
    """Counter total of the first sent datagrams of the cycling stream."""
    full, rest = divmod(sent, len(counts))
    return full * sum(counts) + sum(counts[:rest])


HOUR_SUBSYSTEMS = ["modbus", "mqtt", "lte", "zigbee", "ble", "wifi", "sensors", "storage", "ota",
                   "rules"]
HOUR_COUNTERS = ["rx_frames", "tx_frames", "errors", "retries", "reconnects"]
HOUR_GAUGES = ["queue_depth", "latency_ms", "rssi_dbm", "temp_c", "buffer_pct"]


def hour_stream(rnd):
    """The 100 metrics of part 3, one datagram each: 50 counters and 50 gauges with names of a
    gateway application's length."""
    out = []
    for sub in HOUR_SUBSYSTEMS:
        for m in HOUR_COUNTERS:
            out.append(f"gw.{sub}.{m}:{rnd.randint(1, 500)}|c".encode())
        for m in HOUR_GAUGES:
            out.append(f"gw.{sub}.{m}:{rnd.randint(-900, 9000) / 10}|g".encode())
    return out


# --- the daemons -----------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="faultd-bench-metrics-")
        self.procs = []
        self.logs = {}

    def spawn(self, name, argv):
        log = os.path.join(self.work, name + ".log")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(log, "ab"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        self.logs[p.pid] = log
        return p

    def check_alive(self, p):
        if p.poll() is not None:
            with open(self.logs[p.pid], errors="replace") as f:
                raise SystemExit(f"bench: {p.args[0]} exited with {p.returncode}:\n{f.read()}")
        return True

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self):
        for p in reversed(self.procs):
            self.stop(p)
        shutil.rmtree(self.work, ignore_errors=True)

    # faultd

    def faultd(self, name, extra):
        d = os.path.join(self.work, name)
        os.makedirs(d)
        sock = os.path.join(d, "faultd.sock")
        config = {
            "state_dir": os.path.join(d, "state"),
            "control_socket": sock,
            "log_target": "stderr",
            "log_level": "warning",
            "enable_data_collection": True,
            "base_url": f"https://127.0.0.1:{self.rx_relay.port}",
            "ca_bundle": self.rx["ca_bundle"],
            "project_key": "bench",
            "upload_interval_seconds": 0,
            **coredump_off(self.args.build),
        }
        config.update(extra)
        with open(os.path.join(d, "faultd.conf"), "w") as f:
            json.dump(config, f, indent=2)
        p = self.spawn(name, [self.faultd_bin, "--config", os.path.join(d, "faultd.conf")])
        p.sock = sock
        wait_for(lambda: self.check_alive(p) and self.ctl(p, "status", check=False)
                 .returncode == 0, f"{name} to answer")
        return p

    def ctl(self, p, *a, check=True):
        r = subprocess.run([self.faultctl_bin, "--socket", p.sock] + list(a),
                           capture_output=True, text=True, timeout=900)
        if check and r.returncode != 0:
            raise SystemExit(f"bench: faultctl {' '.join(a)} failed: {r.stderr}")
        return r

    def plugin_status(self, p, plugin):
        data = json.loads(self.ctl(p, "--json", "status").stdout)["data"]
        for entry in data["plugins"]:
            if entry["name"] == plugin:
                return entry.get("status") or {}
        raise SystemExit(f"bench: faultd runs no {plugin} plugin (state: {data['plugins']})")

    # collectd

    def collectd(self, name, plugins, statsd_port, sink_port):
        d = os.path.join(self.work, name)
        os.makedirs(d)
        conf = os.path.join(d, "collectd.conf")
        lines = [
            'Hostname "bench"', "FQDNLookup false", f'BaseDir "{d}"',
            f'PIDFile "{d}/collectd.pid"', f'PluginDir "{self.args.collectd_plugins}"',
            f'TypesDB "{self.args.collectd_types}"', f"Interval {INTERVAL}",
            "LoadPlugin logfile",
            f'<Plugin logfile>\n  LogLevel "info"\n  File "{d}/collectd.log"\n</Plugin>',
        ]
        lines += plugins
        lines += [
            "LoadPlugin statsd",
            f'<Plugin statsd>\n  Host "127.0.0.1"\n  Port "{statsd_port}"\n</Plugin>',
            "LoadPlugin write_http",
            "<Plugin write_http>\n  <Node \"sink\">\n"
            f'    URL "https://127.0.0.1:{sink_port}/collectd"\n'
            f'    CACert "{self.rx["ca_bundle"]}"\n'
            '    Format "JSON"\n  </Node>\n</Plugin>',
        ]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        t = subprocess.run([self.args.collectd, "-t", "-C", conf], capture_output=True,
                           text=True)
        if t.returncode != 0:
            raise SystemExit(f"bench: collectd refuses {conf}: {t.stdout}{t.stderr}")
        p = self.spawn(name, [self.args.collectd, "-f", "-C", conf])
        p.log = os.path.join(d, "collectd.log")

        def ready():
            self.check_alive(p)
            try:
                with open(p.log) as f:
                    return "Initialization complete" in f.read()
            except OSError:
                return False

        wait_for(ready, f"{name} to start")
        return p

    def collectd_flush(self, p, sink, names, since, timeout=60):
        """Waits until collectd has reported every statsd counter in names at or after since,
        asking it to flush (SIGUSR1) every second; returns {name: cumulative value}."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.check_alive(p)
            p.send_signal(signal.SIGUSR1)
            time.sleep(1)
            got = sink.counters(since)
            if set(names) <= set(got):
                return got
        raise SystemExit(f"bench: collectd did not report its statsd counters within {timeout} s")

    # --- part 1 ------------------------------------------------------------------------------

    def idle(self):
        a = self.args
        self.fd_statsd, self.cd_statsd = free_port(socket.SOCK_DGRAM), free_port(
            socket.SOCK_DGRAM)
        self.fd = self.faultd("faultd-idle", {
            "sysmetrics": {"interval_seconds": INTERVAL, "filesystems": ["/"],
                           "interfaces": ["*"], "interfaces_exclude": [],
                           "processes": ["faultd"]},
            "statsd": {"listen": f"127.0.0.1:{self.fd_statsd}"},
            "collectd": {"listen": f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"},
        })
        self.cd_relay = Relay(self.sink.port)
        self.cd = self.collectd("collectd-idle", [
            "LoadPlugin cpu", "LoadPlugin load", "LoadPlugin memory",
            "LoadPlugin df", '<Plugin df>\n  MountPoint "/"\n</Plugin>',
            "LoadPlugin interface", "LoadPlugin thermal", "LoadPlugin uptime",
            "LoadPlugin processes", '<Plugin processes>\n  Process "collectd"\n</Plugin>',
        ], self.cd_statsd, self.cd_relay.port)

        # Both have collected, and collectd has posted, before the window opens.
        wait_for(lambda: self.plugin_status(self.fd, "sysmetrics").get("polls", 0) >= 1,
                 "faultd's first poll")
        wait_for(lambda: self.check_alive(self.cd) and self.sink.requests > 0,
                 "collectd's first post", timeout=120)
        print(f"bench: idle for {a.idle_seconds} s ...", file=sys.stderr, flush=True)
        pids = {"faultd": self.fd.pid, "collectd": self.cd.pid}
        t0 = time.monotonic()
        cs0 = {k: context_switches(p) for k, p in pids.items()}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        self.sink.reset()
        self.cd_relay.reset()
        time.sleep(a.idle_seconds)
        for p in (self.fd, self.cd):
            self.check_alive(p)
        minutes = (time.monotonic() - t0) / 60
        cs1 = {k: context_switches(p) for k, p in pids.items()}
        cpu1 = {k: cpu_seconds(p) for k, p in pids.items()}
        up, down, conns = self.cd_relay.reset()
        res = {}
        for k, pid in pids.items():
            s = proc_status(pid)
            res[k] = {
                "rss": s["VmRSS"], "anon": s.get("RssAnon", 0), "file": s.get("RssFile", 0),
                "pss": pss_kib(pid), "hwm": s["VmHWM"], "threads": s["Threads"],
                "cs_per_min": (cs1[k] - cs0[k]) / minutes,
                "cpu_per_min": (cpu1[k] - cpu0[k]) / minutes,
                "largest": largest_mappings(pid),
            }
        res["collectd"]["posts_per_min"] = self.sink.requests / minutes
        res["collectd"]["wire_per_min"] = (up + down) / minutes
        res["minutes"] = minutes
        self.idle_res = res

    # --- part 2 ------------------------------------------------------------------------------

    def load(self):
        a = self.args
        grams, counts = load_stream()
        stream = os.path.join(self.work, "stream")
        with open(stream, "wb") as f:
            f.write(b"\0".join(grams))
        counter_names = sorted({g.split(b":")[0].decode() for g in grams if b"|c" in g})
        self.load_res = []
        cd_before = {}
        for rate in a.rates:
            count = rate * a.load_seconds if a.load_seconds else a.load_datagrams
            for who in ("faultd", "collectd"):
                p, port = (self.fd, self.fd_statsd) if who == "faultd" else (self.cd,
                                                                             self.cd_statsd)
                print(f"bench: {who} at {rate} datagrams/s ...", file=sys.stderr, flush=True)
                if who == "faultd":
                    st0 = self.plugin_status(p, "statsd")
                _, drops0 = udp_socket(port)
                rcv0 = rcvbuf_errors()
                cpu0 = cpu_seconds(p.pid)
                gen = subprocess.run([self.gen_bin, str(port), str(rate), str(count), stream],
                                     capture_output=True, text=True,
                                     timeout=count / rate * 4 + 60)
                if gen.returncode != 0:
                    raise SystemExit(f"bench: statsd-load failed: {gen.stderr}")
                g = json.loads(gen.stdout)
                # Drained: nothing left in the socket's queue.
                wait_for(lambda: udp_socket(port)[0] == 0, f"{who} to drain its socket")
                time.sleep(0.2)
                cpu1 = cpu_seconds(p.pid)
                _, drops1 = udp_socket(port)
                rcv1 = rcvbuf_errors()
                self.check_alive(p)
                r = {"who": who, "rate": rate, "sent": g["sent"], "seconds": g["seconds"],
                     "send_errors": g["errors"], "gen_cpu": g["cpu_seconds"],
                     "cpu": cpu1 - cpu0, "drops": drops1 - drops0, "rcvbuf": rcv1 - rcv0,
                     "hwm": proc_status(p.pid)["VmHWM"]}
                expected = counter_sum(counts, g["sent"])
                if who == "faultd":
                    st1 = self.plugin_status(p, "statsd")
                    d = {k: st1[k] - st0[k] for k in ("datagrams", "lines", "readings",
                                                      "malformed", "rejected",
                                                      "not_collected", "truncated")}
                    r["seen"] = d["datagrams"]
                    r["seen_how"] = (f"statsd counters: {d['datagrams']:,} datagrams, "
                                     f"{d['readings']:,} readings, {d['malformed']} malformed, "
                                     f"{d['rejected']} rejected, {d['not_collected']} not "
                                     f"collected")
                else:
                    got = self.collectd_flush(p, self.sink, counter_names, time.time())
                    total = sum(got.values()) - sum(cd_before.values())
                    cd_before = got
                    r["seen"] = round(g["sent"] * total / expected) if expected else 0
                    r["seen_how"] = (f"sum of its statsd counters: {total:,.0f} of "
                                     f"{expected:,.0f} sent")
                self.load_res.append(r)

    # --- part 3 ------------------------------------------------------------------------------

    def hour(self):
        a = self.args
        rnd = random.Random(2)
        fd_port, cd_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
        fd = self.faultd("faultd-hour", {
            "sysmetrics": {"enabled": False},
            "collectd": {"enabled": False},
            "statsd": {"listen": f"127.0.0.1:{fd_port}"},
        })
        sink = Sink(self.tls_dir)
        relay = Relay(sink.port)
        cd = self.collectd("collectd-hour", [], cd_port, relay.port)
        # Whatever faultd committed at its start (its first-boot evidence) leaves first.
        self.ctl(fd, "sync")
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def send_all():
            for g in hour_stream(rnd):
                out.sendto(g, ("127.0.0.1", fd_port))
                out.sendto(g, ("127.0.0.1", cd_port))

        send_all()
        print(f"bench: 100 metrics, {a.hour_intervals} intervals ...", file=sys.stderr,
              flush=True)
        # collectd has posted the metrics once (TLS connection open) before the window opens.
        next_send = time.monotonic() + INTERVAL
        wait_for(lambda: self.check_alive(cd) and sink.statsd_lists >= 100,
                 "collectd to post the 100 metrics", timeout=3 * INTERVAL)
        sink.reset()
        relay.reset()
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.hour_intervals * INTERVAL:
            if time.monotonic() >= next_send:
                send_all()
                next_send += INTERVAL
            time.sleep(0.05)
        cd_up, cd_down, cd_conns = relay.reset()
        with sink.lock:
            cd_res = {"requests": sink.requests, "body": sink.body, "received": sink.received,
                      "sent": sink.sent, "lists": sink.value_lists}
        self.stop(cd)
        sink.stop()

        stats0 = self.rx_stats()
        batches0 = set(os.listdir(os.path.join(self.rx_dir, "batches")))
        self.rx_relay.reset()
        self.ctl(fd, "request-metrics")
        self.ctl(fd, "sync")
        up, down, conns = self.rx_relay.reset()
        stats1 = self.rx_stats()
        new = sorted(set(os.listdir(os.path.join(self.rx_dir, "batches"))) - batches0)
        if len(new) != 1 or stats1["entries"] != stats0["entries"] + 1:
            raise SystemExit(f"bench: expected one batch holding the heartbeat, got {new}")
        batch = os.path.join(self.rx_dir, "batches", new[0])
        with zipfile.ZipFile(batch) as z:
            members = z.infolist()
            if len(members) != 1 or not members[0].filename.endswith("/manifest.json"):
                raise SystemExit(f"bench: unexpected batch members {z.namelist()}")
            manifest = z.read(members[0])
        text = manifest.decode()
        parsed = json.loads(text)
        if parsed.get("type") != "linux-metric-report":
            raise SystemExit(f"bench: the batch holds a {parsed.get('type')}, not a heartbeat")
        metadata_len = span(text, "metadata")
        metrics_len = span(text, "metrics")
        keys = parsed["metadata"]["metrics"]
        names = {f"gw.{s}.{m}" for s in HOUR_SUBSYSTEMS for m in HOUR_COUNTERS + HOUR_GAUGES}
        missing = names - set(keys)
        if missing:
            raise SystemExit(f"bench: the heartbeat lacks {sorted(missing)[:5]}")
        requests = [q["step"] for q in stats1["requests"][len(stats0["requests"]):]]

        # Anchor: a bare TLS handshake to the receiver through the same relay, so that the bytes
        # of faultd's upload beyond the MAR can be split into handshake and requests.
        ctx = ssl.create_default_context(cafile=self.rx["ca_bundle"])
        with socket.create_connection(("127.0.0.1", self.rx_relay.port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                time.sleep(0.5)  # the server's session tickets pass, as they do for faultd
        time.sleep(0.5)
        hs_up, hs_down, _ = self.rx_relay.reset()
        self.hour_res = {
            "faultd": {"mar": os.path.getsize(batch), "manifest": len(manifest),
                       "metadata": metadata_len, "metrics": metrics_len,
                       "keys": len(keys), "own_keys": sorted(set(keys) - names),
                       "wire_up": up, "wire_down": down, "connections": conns,
                       "requests": requests, "handshake": hs_up + hs_down},
            "collectd": dict(cd_res, up=cd_up, down=cd_down, connections=cd_conns,
                             seconds=time.monotonic() - t0),
        }
        self.stop(fd)

    def rx_stats(self):
        ctx = ssl.create_default_context(cafile=self.rx["ca_bundle"])
        with urllib.request.urlopen(f"{self.rx['url']}/_dev/stats", context=ctx) as r:
            return json.loads(r.read())

    # --- running -----------------------------------------------------------------------------

    def run(self):
        a = self.args
        if not os.path.exists(os.path.join(a.build, "build.ninja")):
            subprocess.run(["meson", "setup", a.build, "-Dbuildtype=release",
                            "-Dtests=disabled"], cwd=TOP, check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run(["ninja", "-C", a.build], check=True, stdout=subprocess.DEVNULL)
        self.faultd_bin = os.path.join(a.build, "daemon", "faultd")
        self.faultctl_bin = os.path.join(a.build, "daemon", "faultctl")
        self.gen_bin = os.path.join(self.work, "statsd-load")
        subprocess.run(["cc", "-O2", "-std=gnu11", "-o", self.gen_bin,
                        os.path.join(TOP, "bench", "statsd-load.c")], check=True)
        # The anchor under faultd's RSS: the system's libcurl, linked and initialised alone.
        floor = os.path.join(self.work, "libcurl-floor")
        curl = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"],
                              capture_output=True, text=True, check=True).stdout.split()
        subprocess.run(["cc", "-O2", "-std=gnu11", "-o", floor,
                        os.path.join(TOP, "bench", "libcurl-floor.c")] + curl, check=True)
        self.floor = json.loads(subprocess.run([floor], capture_output=True, text=True,
                                               check=True).stdout)

        self.rx_dir = os.path.join(self.work, "rx")
        rx = self.spawn("receiver", [sys.executable, RECEIVER, "serve", "--dir", self.rx_dir,
                                     "--quiet"])
        info = os.path.join(self.rx_dir, "receiver.json")
        self.rx = wait_for(lambda: self.check_alive(rx) and os.path.exists(info) and
                           json.load(open(info)), "the receiver")
        self.tls_dir = os.path.dirname(self.rx["ca_bundle"])
        # The fleet configuration is already confirmed: no device-config entry in the batches.
        ctx = ssl.create_default_context(cafile=self.rx["ca_bundle"])
        req = urllib.request.Request(
            f"{self.rx['url']}/_dev/faults", method="POST",
            data=json.dumps({"device_config": {"revision": 1, "completed": 1}}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, context=ctx).read()
        self.rx_relay = Relay(self.rx["port"])
        self.sink = Sink(self.tls_dir)

        self.load0 = os.getloadavg()
        self.idle()
        self.load()
        self.stop(self.fd)
        self.stop(self.cd)
        self.hour()
        self.load1 = os.getloadavg()
        self.report()

    def report(self):
        a = self.args
        i, f, c = self.idle_res, self.idle_res["faultd"], self.idle_res["collectd"]
        out = []
        out.append(f"Load average at start {self.load0[0]:.2f}, at end {self.load1[0]:.2f} "
                   f"({os.cpu_count()} CPUs).\n")
        out.append(f"### 1. Idle, {INTERVAL} s interval, {i['minutes'] * 60:.0f} s side by "
                   "side\n")
        out.append("| | faultd | collectd 5.12 |")
        out.append("| --- | --- | --- |")
        out.append(f"| RSS at the end (VmRSS) | {kib(f['rss'])} | {kib(c['rss'])} |")
        out.append(f"| of which anonymous / file-backed | {kib(f['anon'])} / {kib(f['file'])} "
                   f"| {kib(c['anon'])} / {kib(c['file'])} |")
        out.append(f"| PSS (shared pages divided among their users) | {kib(f['pss'])} "
                   f"| {kib(c['pss'])} |")
        out.append(f"| peak RSS (VmHWM) | {kib(f['hwm'])} | {kib(c['hwm'])} |")
        out.append(f"| threads | {f['threads']} | {c['threads']} |")
        out.append(f"| context switches per minute (all threads) | {f['cs_per_min']:.1f} "
                   f"| {c['cs_per_min']:.1f} |")
        out.append(f"| CPU seconds per minute | {f['cpu_per_min']:.4f} "
                   f"| {c['cpu_per_min']:.4f} |")
        out.append(f"| shipped meanwhile | nothing (heartbeat spooled hourly) "
                   f"| {c['posts_per_min']:.1f} POSTs, {c['wire_per_min']:,.0f} wire bytes "
                   "per minute |")
        out.append("")
        for k, r in (("faultd", f), ("collectd", c)):
            out.append(f"- largest resident parts of {k}: " + ", ".join(
                f"{name} {v / 1024:.1f} MiB" for v, name in r["largest"]) + ".")
        fl = self.floor
        out.append(f"- anchor: a process that only links this machine's libcurl and calls "
                   f"curl_global_init() (bench/libcurl-floor.c): {kib(fl['rss'])} "
                   f"({kib(fl['anon'])} anonymous, {kib(fl['file'])} file-backed); faultd "
                   f"beyond it: {kib(f['rss'] - fl['rss'])}.")
        out.append("")
        per = (f"{a.load_seconds} s" if a.load_seconds else f"{a.load_datagrams:,} datagrams")
        out.append(f"### 2. statsd load, one metric per datagram, {per} per rate, one daemon "
                   "at a time\n")
        out.append("| | " + " | ".join(f"{r['who']} {r['rate'] // 1000}k/s"
                                        for r in self.load_res) + " |")
        out.append("| --- " * (len(self.load_res) + 1) + "|")

        def row(label, fn):
            out.append(f"| {label} | " + " | ".join(fn(r) for r in self.load_res) + " |")

        row("datagrams sent (achieved rate)", lambda r: f"{r['sent']:,} "
            f"({r['sent'] / r['seconds']:,.0f}/s)")
        row("CPU seconds per million datagrams", lambda r: f"{r['cpu'] / r['sent'] * 1e6:.2f}")
        row("socket drops (/proc/net/udp)", lambda r: f"{r['drops']:,}")
        row("Udp RcvbufErrors (whole machine)", lambda r: f"{r['rcvbuf']:,}")
        row("datagrams the daemon saw (collectd: from its counter sums)",
            lambda r: f"{r['seen']:,} ({100 * r['seen'] / r['sent']:.2f} %)")
        row("peak RSS (VmHWM)", lambda r: kib(r["hwm"]))
        row("generator CPU seconds", lambda r: f"{r['gen_cpu']:.2f}")
        out.append("")
        for r in self.load_res:
            out.append(f"- {r['who']} at {r['rate']:,}/s: {r['seen_how']}.")
        out.append("")

        h = self.hour_res
        hf, hc = h["faultd"], h["collectd"]
        intervals = hc["lists"] / 100
        scale = 3600 / INTERVAL / intervals if intervals else 0
        fwire = hf["wire_up"] + hf["wire_down"]
        cwire = (hc["up"] + hc["down"]) * scale
        chttp = (hc["received"] + hc["sent"] - hc["body"]) * scale
        out.append("### 3. Bytes per device-hour, 100 metrics (50 counters, 50 gauges)\n")
        out.append(f"collectd: {hc['lists']:,} value lists in {hc['requests']} POSTs over "
                   f"{hc['seconds']:.0f} s ({intervals:.1f} intervals of {INTERVAL} s), scaled "
                   f"by {scale:.1f} to an hour; one TLS connection kept open "
                   f"({hc['connections']} new in the window). faultd: one heartbeat, "
                   f"{hf['keys']} keys ({hf['keys'] - len(hf['own_keys'])} statsd and "
                   f"{len(hf['own_keys'])} of faultd's own: {', '.join(hf['own_keys'])}), "
                   f"requests {', '.join(hf['requests'])} over {hf['connections']} TLS "
                   "connection(s).\n")
        out.append("| bytes per device-hour | faultd | collectd 5.12 |")
        out.append("| --- | --- | --- |")
        out.append(f"| metric values as JSON | {hf['metrics']:,} (the heartbeat's `metrics` "
                   f"object, {hf['metrics'] / hf['keys']:.1f} per key) | {hc['body'] * scale:,.0f} "
                   f"(write_http bodies, {hc['body'] / max(hc['lists'], 1):.1f} per value "
                   "list) |")
        out.append(f"| heartbeat metadata JSON (`metrics`, `duration_ms`, `report_type`) "
                   f"| {hf['metadata']:,} | — |")
        out.append(f"| manifest around the metadata (identity, times, producer) "
                   f"| {hf['manifest'] - hf['metadata']:,} | — |")
        out.append(f"| ZIP headers (local, central directory, end record) "
                   f"| {hf['mar'] - hf['manifest']:,} | — |")
        out.append(f"| MAR batch (stored ZIP) | {hf['mar']:,} | — |")
        out.append(f"| HTTP headers, both directions | — (inside TLS: in the HTTP requests row) "
                   f"| {chttp:,.0f} ({hc['requests'] * scale:,.0f} POSTs) |")
        out.append(f"| TLS handshake (anchor: a bare handshake through the same relay) "
                   f"| {hf['handshake']:,} | — (connection kept open) |")
        out.append(f"| HTTP requests beyond the MAR (prepare, PUT, commit: headers, JSON "
                   f"bodies), TLS records | {fwire - hf['mar'] - hf['handshake']:,} "
                   f"| {cwire - (hc['received'] + hc['sent']) * scale:,.0f} (TLS records) |")
        out.append(f"| **on the wire, TLS, both directions** | **{fwire:,}** "
                   f"(sent {hf['wire_up']:,}, received {hf['wire_down']:,}) "
                   f"| **{cwire:,.0f}** (sent {hc['up'] * scale:,.0f}, received "
                   f"{hc['down'] * scale:,.0f}) |")
        out.append("")

        cpu = {(r["who"], r["rate"]): r["cpu"] / r["sent"] for r in self.load_res}
        out.append("### Targets\n")
        ratio = f["rss"] / c["rss"]
        out.append(f"- faultd idle RSS at most a third of collectd's: "
                   f"{'met' if ratio <= 1 / 3 else 'not met'} ({kib(f['rss'])} against "
                   f"{kib(c['rss'])}, {ratio:.2f}).")
        for rate in a.rates:
            fr, cr = cpu[("faultd", rate)], cpu[("collectd", rate)]
            out.append(f"- faultd CPU per datagram at most half of collectd's at {rate:,}/s: "
                       f"{'met' if fr <= cr / 2 else 'not met'} ({fr * 1e6:.2f} against "
                       f"{cr * 1e6:.2f} CPU seconds per million, {fr / cr:.2f}).")
        top = [r for r in self.load_res if r["who"] == "faultd" and r["rate"] == max(a.rates)]
        for r in top:
            met = r["drops"] == 0 and r["seen"] == r["sent"]
            out.append(f"- no drops at {r['rate']:,}/s: {'met' if met else 'not met'} "
                       f"({r['drops']} socket drops, {r['seen']:,} of {r['sent']:,} datagrams "
                       "seen).")
        out.append(f"- at most 1 KiB per device-hour: {'met' if fwire <= 1024 else 'not met'} "
                   f"({fwire:,} bytes on the wire, {hf['mar']:,} of them the MAR; "
                   f"collectd {cwire:,.0f}).")
        print("\n".join(out))


def span(text, key):
    """Length in bytes of the JSON value of the first "key" member in text."""
    at = text.index(f'"{key}"')
    colon = text.index(":", at) + 1
    while text[colon] in " \t\r\n":
        colon += 1
    _, end = json.JSONDecoder().raw_decode(text, colon)
    return len(text[colon:end].encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle-seconds", type=int, default=300)
    ap.add_argument("--load-datagrams", type=int, default=1000000,
                    help="datagrams sent at each rate to each daemon")
    ap.add_argument("--load-seconds", type=int, default=0,
                    help="send for this long at each rate instead of --load-datagrams")
    ap.add_argument("--rates", default="10000,50000",
                    help="statsd datagrams per second, comma-separated")
    ap.add_argument("--hour-intervals", type=int, default=12,
                    help="collectd intervals measured for part 3, scaled to an hour")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench-metrics"))
    ap.add_argument("--collectd", default=COLLECTD)
    ap.add_argument("--collectd-plugins", default="/usr/lib/collectd")
    ap.add_argument("--collectd-types", default="/usr/share/collectd/types.db")
    args = ap.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    # A SIGTERM or SIGHUP still stops every daemon started.
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(1))
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
