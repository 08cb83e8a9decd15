# SPDX-License-Identifier: MIT
"""Runs the real faultd and faultctl binaries for integration tests.

Each Daemon gets its own temporary directory holding its configuration, state directory and
control socket. Binaries come from the environment set by meson (FAULTD, FAULTCTL); when they are
built with sanitizers, any sanitizer report on faultd's stderr fails the test that stops it.

With FAULTD_VALGRIND=1, faultd and faultctl run under valgrind's memcheck (see valgrind_command());
any error or leak valgrind reports fails the test that ran the program, and every timeout of the
harness is multiplied by FAULTD_TIMEOUT_SCALE (10 under valgrind unless set) so that slowness alone
fails nothing. FAULTD_VALGRIND_LOGS names a directory that keeps the logs after the tests (they are
otherwise removed with the daemon's directory); FAULTD_VALGRIND_OPTIONS adds options to valgrind's.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import sys
import time
import unittest
import urllib.request
import uuid

FAULTD = os.environ.get("FAULTD", "faultd")
FAULTCTL = os.environ.get("FAULTCTL", "faultctl")
SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
HAVE_SYSTEMD = os.environ.get("HAVE_SYSTEMD") == "1"
HAVE_STATSD = os.environ.get("HAVE_STATSD", "1") == "1"
HAVE_COLLECTD = os.environ.get("HAVE_COLLECTD", "1") == "1"
HAVE_SYSMETRICS = os.environ.get("HAVE_SYSMETRICS", "1") == "1"
HAVE_COREDUMP = os.environ.get("HAVE_COREDUMP", "1") == "1"
# The built-in coredump.handler (meson's libexecdir), which the coredump plugin looks for in the
# fake tree before it names it in core_pattern.
CORE_HANDLER_PATH = os.environ.get("FAULTD_CORE_HANDLER", "/usr/libexec/faultd-core-handler")
RECEIVER = os.environ.get("RECEIVER",
                          os.path.join(SOURCE_ROOT, "tests", "receiver", "faultd-receiver"))
PROJECT_KEY = "test-project-key"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

VALGRIND = os.environ.get("FAULTD_VALGRIND", "0") not in ("", "0")
TIMEOUT_SCALE = os.environ.get("FAULTD_TIMEOUT_SCALE") or ("10" if VALGRIND else "1")
TIMEOUT_SCALE = int(TIMEOUT_SCALE) if TIMEOUT_SCALE.isdigit() else float(TIMEOUT_SCALE)
VALGRIND_LOGS = os.environ.get("FAULTD_VALGRIND_LOGS")
VALGRIND_SUPPRESSIONS = os.path.join(SOURCE_ROOT, "tests", "valgrind.supp")


def scaled(seconds):
    """A timeout in seconds, stretched for slow runs (FAULTD_TIMEOUT_SCALE); whole seconds stay
    whole with a whole scale."""
    return seconds * TIMEOUT_SCALE


def skip_under_valgrind(why):
    """Skips, under valgrind only, a test whose assertions measure wall time more finely than
    valgrind's slowdown allows (a start alone takes seconds there)."""
    return unittest.skipIf(VALGRIND, f"under valgrind: {why}")


def valgrind_command(argv, log_dir, name):
    """argv unchanged, or under memcheck when FAULTD_VALGRIND asks for it, logging to
    log_dir/name-<pid>.log (made world-writable: faultctl may run as another user). Every leak
    that is not still reachable counts as an error, so check_valgrind() sees it. Programs the
    command starts with exec run natively; forked children stay silent."""
    if not VALGRIND:
        return list(argv)
    os.makedirs(log_dir, exist_ok=True)
    os.chmod(log_dir, 0o1777)
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible", "--num-callers=40",
            "--child-silent-after-fork=yes", f"--suppressions={VALGRIND_SUPPRESSIONS}",
            f"--log-file={os.path.join(log_dir, name)}-%p.log"] \
        + os.environ.get("FAULTD_VALGRIND_OPTIONS", "").split() + list(argv)


# The first line of a report of each kind of memcheck error (valgrind's manual, 4.2), found
# even when the process was killed before its ERROR SUMMARY.
_VALGRIND_ERROR = re.compile(
    r"^==\d+== (Invalid (read|write|free)|Mismatched free|Conditional jump or move|"
    r"Use of uninitialised|Syscall param|Source and destination overlap|Argument .* of function|"
    r"Jump to the invalid address|Fishy value|.* bytes in .* blocks are "
    r"(definitely|indirectly|possibly) lost)", re.M)
_VALGRIND_LEAK = re.compile(r"blocks are (definitely|indirectly|possibly) lost in loss record")
_VALGRIND_SUMMARY = re.compile(r"ERROR SUMMARY: \d+ errors from (\d+) contexts")


def valgrind_findings(text):
    """(errors, leaks) of one valgrind log: error contexts other than leaks, and loss records of
    leaks that are not still reachable."""
    leaks = len(_VALGRIND_LEAK.findall(text))
    found = len(_VALGRIND_ERROR.findall(text))
    summary = _VALGRIND_SUMMARY.search(text)
    contexts = int(summary.group(1)) if summary else 0
    return max(found, contexts) - leaks, leaks


def check_valgrind(log_dir, name="*", what="a program"):
    """Raises AssertionError with the logs of log_dir/name-*.log that report errors or leaks."""
    bad = []
    for path in sorted(glob.glob(os.path.join(log_dir, f"{name}-*.log"))):
        with open(path, errors="replace") as f:
            text = f.read()
        if any(valgrind_findings(text)):
            bad.append(f"{path}:\n{text}")
    if bad:
        raise AssertionError(f"valgrind report from {what}:\n" + "\n".join(bad))


def keep_valgrind_logs(log_dir, prefix):
    """Copies the logs of log_dir to FAULTD_VALGRIND_LOGS, named prefix-<log name>."""
    if VALGRIND_LOGS and os.path.isdir(log_dir):
        os.makedirs(VALGRIND_LOGS, exist_ok=True)
        for path in glob.glob(os.path.join(log_dir, "*.log")):
            shutil.copy(path, os.path.join(VALGRIND_LOGS, f"{prefix}-{os.path.basename(path)}"))

# A fake system tree, so identity fallbacks never depend on the machine running the tests.
FAKE_OS_RELEASE = 'ID=testos\nVERSION_ID="1.2.3"\nPRETTY_NAME="Test OS"\n'
FAKE_MACHINE_ID = "0123456789abcdef0123456789abcdef\n"
FAKE_BOOT_ID = "48af0b97-79c3-4e95-ba80-8c436b4b9e8f\n"
# The kernel's core settings of a machine that never met faultd. Tests run as root: a daemon must
# never write the real /proc/sys/kernel/core_pattern, so the coredump plugin is off by default
# (see Daemon) and, when a test turns it on, writes these files of the fake tree.
FAKE_CORE_PATTERN = "core"
FAKE_CORE_PIPE_LIMIT = "0"


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Daemon:
    def __init__(self, config=None, dropins=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="faultd-it-")
        # World-searchable, so an unprivileged client can reach the socket inside.
        os.chmod(self.dir, 0o755)
        self.sysroot = os.path.join(self.dir, "root")
        os.makedirs(os.path.join(self.sysroot, "etc"))
        with open(os.path.join(self.sysroot, "etc", "os-release"), "w") as f:
            f.write(FAKE_OS_RELEASE)
        with open(os.path.join(self.sysroot, "etc", "machine-id"), "w") as f:
            f.write(FAKE_MACHINE_ID)
        os.makedirs(os.path.join(self.sysroot, "proc", "sys", "kernel", "random"))
        with open(os.path.join(self.sysroot, "proc", "sys", "kernel", "random", "boot_id"),
                  "w") as f:
            f.write(FAKE_BOOT_ID)
        with open(self.sysctl_path("core_pattern"), "w") as f:
            f.write(FAKE_CORE_PATTERN + "\n")
        with open(self.sysctl_path("core_pipe_limit"), "w") as f:
            f.write(FAKE_CORE_PIPE_LIMIT + "\n")
        # As on a machine where faultd is installed: the plugin refuses a handler it cannot find.
        self.core_handler = self.install_core_handler()
        # The boot "began" when faultd first reads this: hours count from there, not from the
        # test machine's real boot.
        with open(os.path.join(self.sysroot, "proc", "uptime"), "w") as f:
            f.write("0.00 0.00\n")
        self.state_dir = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "faultd.sock")
        self.config_path = os.path.join(self.dir, "faultd.conf")
        self.config = {
            "state_dir": self.state_dir,
            "control_socket": self.socket,
            "sysroot": self.sysroot,
            "log_target": "stderr",
            "log_level": "debug",
        }
        # Listeners on ports of their own, so that daemons in parallel tests never compete for
        # the default ports; status tells a test where they are (see listen_address()).
        if HAVE_STATSD:
            self.config["statsd"] = {"listen": "127.0.0.1:0"}
        if HAVE_COLLECTD:
            self.config["collectd"] = {"listen": "127.0.0.1:0"}
        # Off unless a test turns it on: even then it writes only the fake tree's core_pattern,
        # but a daemon that never touches it cannot get the machine's by mistake.
        if HAVE_COREDUMP:
            self.config["coredump"] = {"enabled": False}
        if config:
            for key, value in config.items():
                if isinstance(value, dict) and isinstance(self.config.get(key), dict):
                    self.config[key] = dict(self.config[key], **value)
                else:
                    self.config[key] = value
        self.write_config()
        for name, text in (dropins or {}).items():
            self.write_dropin(name, text)
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.valgrind_dir = os.path.join(self.dir, "valgrind")
        self.ctl_runs = 0

    def new_boot(self, boot_id=None):
        """Simulates a reboot for the next start: a new boot id, the boot beginning then."""
        boot_id = boot_id or str(uuid.uuid4())
        with open(os.path.join(self.sysroot, "proc", "sys", "kernel", "random", "boot_id"),
                  "w") as f:
            f.write(boot_id + "\n")
        return boot_id

    def sysctl_path(self, name):
        """A kernel setting of the fake tree (/proc/sys/kernel/name)."""
        return os.path.join(self.sysroot, "proc", "sys", "kernel", name)

    def sysctl(self, name):
        """The value of a kernel setting of the fake tree, without its newline."""
        with open(self.sysctl_path(name)) as f:
            return f.read().rstrip("\n")

    def set_sysctl(self, name, value):
        """Sets a kernel setting of the fake tree as a whole, as the kernel's own files change:
        a running faultd polls them and must never read one half-written."""
        path = self.sysctl_path(name)
        with open(path + ".tmp", "w") as f:
            f.write(value + "\n")
        os.replace(path + ".tmp", path)

    def install_core_handler(self, handler=CORE_HANDLER_PATH, mode=0o755):
        """Puts a stand-in for faultd-core-handler at handler (coredump.handler) in the fake
        tree, where the coredump plugin checks that the kernel could start it; no kernel ever
        does, as the fake tree's core_pattern is a plain file. Returns its path in the tree."""
        path = os.path.join(self.sysroot, handler.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, mode)
        return path

    def write_config(self, text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else json.dumps(self.config, indent=2))

    def write_dropin(self, name, text):
        d = self.config_path + ".d"
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)

    def start(self, wait=True):
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            valgrind_command([FAULTD, "--config", self.config_path], self.valgrind_dir, "faultd"),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr_file,
            env=self.env)
        if wait:
            wait_for(self._answers, what=f"faultd to answer on {self.socket}\n{self.log()}")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"faultd exited with {self.proc.returncode}:\n{self.log()}")
        return self.ctl("status").returncode == 0

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self, timeout=15):
        """SIGTERM, wait, and return the exit code; sanitizer and valgrind reports fail."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        timeout = scaled(timeout)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"faultd did not stop within {timeout}s:\n{self.log()}")
        self.stderr_file.close()
        self.proc = None
        log = self.log()
        for marker in SANITIZER_MARKERS:
            if marker in log:
                raise AssertionError(f"sanitizer report from faultd:\n{log}")
        check_valgrind(self.valgrind_dir, what="faultd or faultctl")
        return code

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.stderr_file.close()
        self.proc = None

    def ctl(self, *args, json_output=False, as_user=None, timeout=20):
        self.ctl_runs += 1
        name = f"faultctl{self.ctl_runs}"
        cmd = [FAULTCTL, "--socket", self.socket]
        if json_output:
            cmd.append("--json")
        cmd = valgrind_command(cmd + list(args), self.valgrind_dir, name)
        if as_user is not None:
            uid, gid, groups = as_user
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}",
                   "--groups=" + ",".join(str(g) for g in groups) if groups else "--clear-groups",
                   "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(timeout),
                           env=self.env)
        check_valgrind(self.valgrind_dir, name, f"faultctl {' '.join(args)}")
        return r

    def ctl_async(self, *args):
        """Starts faultctl without waiting; returns the Popen."""
        self.ctl_runs += 1
        return subprocess.Popen(valgrind_command([FAULTCTL, "--socket", self.socket] + list(args),
                                                 self.valgrind_dir, f"faultctl{self.ctl_runs}"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env)

    def request(self, command, args=None, timeout=10.0):
        """Sends one control command as faultctl would (for commands faultctl does not offer,
        such as the handler's "crash-reported") and returns the parsed reply."""
        payload = {"command": command}
        if args is not None:
            payload["args"] = args
        reply = raw_request(self.socket, json.dumps(payload).encode() + b"\n", timeout=timeout)
        if not reply:
            raise AssertionError(f"no reply to {command}:\n{self.log()}")
        return json.loads(reply)

    def status(self):
        r = self.ctl("status", json_output=True)
        if r.returncode != 0:
            raise AssertionError(f"faultctl status failed ({r.returncode}): {r.stderr}")
        return json.loads(r.stdout)["data"]

    def plugin(self, name):
        """The plugin name's entry in `faultctl status`: state, error, message, status."""
        for p in self.status()["plugins"]:
            if p["name"] == name:
                return p
        raise AssertionError(f"no plugin {name} in faultd")

    def plugin_status(self, name):
        """What the running plugin name says about itself in `faultctl status`."""
        p = self.plugin(name)
        if p["state"] != "running":
            raise AssertionError(f"plugin {name} is {p['state']}: {p}\n{self.log()}")
        return p.get("status", {})

    def listen_address(self, plugin):
        """(host, port) a listening plugin (statsd, collectd) is bound to."""
        host, _, port = self.plugin_status(plugin)["listen"].rpartition(":")
        return host.strip("[]"), int(port)

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        keep_valgrind_logs(self.valgrind_dir, os.path.basename(self.dir))
        shutil.rmtree(self.dir, ignore_errors=True)


class Receiver:
    """The development receiver (tests/receiver), on a port of its own, over real TLS."""

    def __init__(self, directory=None, args=()):
        self.dir = directory or tempfile.mkdtemp(prefix="faultd-rx-")
        self.args = list(args)
        self.proc = None
        self.port = 0
        self.info = None
        self.log_path = os.path.join(self.dir, "receiver.log")

    def start(self):
        info_path = os.path.join(self.dir, "receiver.json")
        if os.path.exists(info_path):
            os.unlink(info_path)
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, RECEIVER, "serve", "--dir", self.dir, "--port", str(self.port)]
            + self.args,
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"receiver exited with {self.proc.returncode}:\n"
                                     + self.log())
            try:
                with open(info_path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None

        self.info = wait_for(ready, timeout=30, what="the receiver to listen")
        self.port = self.info["port"]  # a restart keeps the same port
        self.url = self.info["url"]
        self.ca_bundle = self.info["ca_bundle"]
        self.faults({})
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log_file.close()
            self.proc = None

    # Unless a test says otherwise, the fleet configuration needs no confirmation entry.
    BASE_FAULTS = {"device_config": {"sampling": {"debugging.resolution": "normal",
                                                  "logging.resolution": "normal",
                                                  "monitoring.resolution": "normal"},
                                     "revision": 1, "completed": 1}}

    def _call(self, method, path, payload=None):
        # The test's own calls: they must work while the receiver presents a bad certificate.
        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read())

    def entries(self):
        return self._call("GET", "/_dev/entries")

    def stats(self):
        return self._call("GET", "/_dev/stats")

    def faults(self, settings):
        return self._call("POST", "/_dev/faults", dict(self.BASE_FAULTS, **settings))

    def daemon_config(self, **extra):
        """The keys that point a faultd at this receiver."""
        config = {
            "base_url": self.url,
            "ca_bundle": self.ca_bundle,
            "project_key": PROJECT_KEY,
            "enable_data_collection": True,
            "upload_interval_seconds": 0,
            "upload": {"backoff_min_seconds": 1, "backoff_max_seconds": 8},
        }
        config.update(extra)
        return config

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def spooled(d):
    """{uuid: manifest bytes} of the entries committed in d's spool."""
    out = {}
    for path in glob.glob(os.path.join(d.state_dir, "spool", "*_*_*", "manifest.json")):
        uuid = os.path.basename(os.path.dirname(path)).rsplit("_", 1)[1]
        with open(path, "rb") as f:
            out[uuid] = f.read()
    return out


def raw_request(path, payload, timeout=10.0, shutdown_write=False):
    """Sends raw bytes on the control socket and returns the reply bytes (until EOF)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(scaled(timeout))
    try:
        s.connect(path)
        if payload:
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


class DaemonTestCase(unittest.TestCase):
    """Tears down every daemon a test started, and fails it on a dirty exit."""

    def setUp(self):
        self.daemons = []

    def daemon(self, **kwargs):
        d = Daemon(**kwargs)
        self.daemons.append(d)
        return d

    def ok(self, d, *args):
        """Runs faultctl args against d and returns its output; fails the test, with d's log,
        unless it succeeds."""
        r = d.ctl(*args, timeout=120)
        self.assertEqual(r.returncode, 0, f"faultctl {' '.join(args)}: {r.stdout}{r.stderr}\n"
                         + d.log())
        return r.stdout

    def tearDown(self):
        for d in self.daemons:
            try:
                if d.proc is not None:
                    code = d.stop()
                    self.assertEqual(code, 0, f"faultd exit status {code}:\n{d.log()}")
            finally:
                d.cleanup()
