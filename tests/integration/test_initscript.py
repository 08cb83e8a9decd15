# SPDX-License-Identifier: MIT
"""The SysV/BusyBox init script (systemd/faultd.init.in) driving the real faultd.

Each test runs the script as BusyBox init would: with BusyBox's sh and start-stop-daemon first on
PATH (and once with Debian's start-stop-daemon). faultd starts inside a private mount namespace
whose /dev/log is a socket of the test's, so the syslog lines it writes are read back here.

One test boots a small BusyBox system: BusyBox init as PID 1 of a PID namespace of its own, whose
inittab starts faultd with the script at sysinit and stops it at shutdown, as Buildroot's rcS and
rcK do; a reboot of that system is a SIGTERM to its init, as BusyBox's `reboot` sends. reboot(2)
from a child PID namespace ends that namespace, never the machine.
"""
import json
import os
import signal
import shutil
import socket
import subprocess
import threading
import time
import unittest

import harness

INIT_SCRIPT = os.environ.get("INIT_SCRIPT", "")
BUSYBOX = shutil.which("busybox")

# Runs "$@" in a mount namespace whose /dev holds the usual character devices and, as log, the
# syslog socket $SYSLOG_SOCKET. The rest of the system is shared.
WITH_DEV_LOG = r"""
set -e
stage=$(mktemp -d)
mount -t tmpfs -o mode=0755 faultd-test-dev "$stage"
for n in null zero full random urandom tty; do
	[ -e "/dev/$n" ] || continue
	touch "$stage/$n"
	mount --bind "/dev/$n" "$stage/$n"
done
touch "$stage/log"
mount --bind "$SYSLOG_SOCKET" "$stage/log"
mount --move "$stage" /dev
rmdir "$stage" 2>/dev/null || true
exec "$@"
"""

# Runs "$@" (WITH_DEV_LOG, then BusyBox init) as PID 1 of a new PID and mount namespace whose /etc
# is an overlay holding $INITTAB as inittab: never the machine's own, and never none, since BusyBox
# init without one would run its default shutdown (umount -a -r, swapoff -a). The overlay's upper
# layer is a tmpfs at $ETC_OVERLAY, seen only in the namespace. Exits 77 without overlayfs.
BOOT_BUSYBOX_INIT = r"""
set -e
[ "$$" = 1 ] || exit 1
mount -t tmpfs -o mode=0755 faultd-test-etc "$ETC_OVERLAY" || exit 77
mkdir "$ETC_OVERLAY/upper" "$ETC_OVERLAY/work"
cp "$INITTAB" "$ETC_OVERLAY/upper/inittab"
mount -t overlay faultd-test-etc \
	-o "lowerdir=/etc,upperdir=$ETC_OVERLAY/upper,workdir=$ETC_OVERLAY/work" /etc || exit 77
cmp -s "$INITTAB" /etc/inittab
exec "$@"
"""


class SyslogSocket:
    """A datagram socket standing in for /dev/log, read by a thread as syslogd would: faultd's
    syslog() blocks once the socket's queue is full."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.lines = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            with self.lock:
                self.lines.append(data.decode(errors="replace"))

    def drain(self):
        with self.lock:
            return list(self.lines)

    def wait_for(self, text, timeout=10.0):
        def seen():
            return any(text in line for line in self.drain())
        harness.wait_for(seen, timeout=timeout,
                         what=f"syslog line with {text!r}; got:\n" + "\n".join(self.lines))

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@unittest.skipUnless(INIT_SCRIPT, "INIT_SCRIPT is not set (run through meson test)")
@unittest.skipUnless(os.geteuid() == 0, "needs root for a private mount namespace with /dev/log")
class InitScriptTest(unittest.TestCase):
    def setUp(self):
        if not BUSYBOX:
            self.fail("busybox is not installed (tests/dev installs it)")
        self.daemon = harness.Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.dir = self.daemon.dir
        # BusyBox applets first on PATH, as on a BusyBox system.
        self.bin = os.path.join(self.dir, "bin")
        os.mkdir(self.bin)
        for applet in ("sh", "start-stop-daemon", "sleep", "cat", "mkdir", "chmod", "rm",
                       "printf", "echo"):
            os.symlink(BUSYBOX, os.path.join(self.bin, applet))
        self.rundir = os.path.join(self.dir, "run")
        self.statedir = os.path.join(self.dir, "state-by-script")
        self.pidfile = os.path.join(self.rundir, "faultd.pid")
        self.defaults = os.path.join(self.dir, "default-faultd")
        self.write_defaults()
        self.syslog = SyslogSocket(os.path.join(self.dir, "log"))
        self.addCleanup(self.syslog.close)
        self.addCleanup(self.kill_leftover)

    def write_defaults(self, extra=""):
        with open(self.defaults, "w") as f:
            f.write(f'FAULTD_ARGS="--config {self.daemon.config_path}"\n{extra}')

    def env(self, path_first=None):
        env = dict(os.environ)
        env.update({
            "DAEMON": harness.FAULTD,
            "RUNDIR": self.rundir,
            "STATEDIR": self.statedir,
            "PIDFILE": self.pidfile,
            "DEFAULTS": self.defaults,
            "SYSLOG_SOCKET": self.syslog.path,
            "PATH": (path_first or self.bin) + ":" + env.get("PATH", "/usr/bin:/bin"),
        })
        return env

    def script(self, action, path_first=None, timeout=60):
        """Runs the init script with BusyBox's sh; start and restart get the /dev/log namespace."""
        cmd = [BUSYBOX, "sh", INIT_SCRIPT, action]
        if action in ("start", "restart"):
            cmd = ["unshare", "--mount", "--propagation", "private", "--",
                   "sh", "-c", WITH_DEV_LOG, "with-dev-log"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=self.env(path_first))

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def alive(self, pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"

    def kill_leftover(self):
        try:
            pid = self.pid()
        except (OSError, ValueError):
            return
        if self.alive(pid):
            os.kill(pid, 9)

    def assert_started(self, r):
        self.assertEqual(r.returncode, 0, f"start failed:\n{r.stdout}{r.stderr}")
        self.assertIn("Starting faultd: OK", r.stdout)
        harness.wait_for(self.answers, what="faultd started by the init script to answer")
        return self.pid()

    def answers(self):
        return self.daemon.ctl("status").returncode == 0

    def test_start_status_reload_stop(self):
        pid = self.assert_started(self.script("start"))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(os.path.realpath(f"/proc/{pid}/exe"), os.path.realpath(harness.FAULTD))
        self.assertIn(b"--log-target", argv)
        self.assertEqual(argv[argv.index(b"--log-target") + 1], b"syslog")
        # The directories the unit's StateDirectory=/RuntimeDirectory= would make.
        self.assertEqual(os.stat(self.statedir).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(self.rundir).st_mode & 0o777, 0o755)
        # faultd's own lines reach syslog, tagged with its name and pid.
        self.syslog.wait_for(f"faultd[{pid}]: ")

        r = self.script("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"faultd is running (pid {pid})", r.stdout)

        before = len(self.syslog.drain())
        r = self.script("reload")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        harness.wait_for(lambda: any("eload" in line for line in self.syslog.drain()[before:]),
                         what="a syslog line about the reload:\n" + "\n".join(self.syslog.lines))
        self.assertTrue(self.alive(pid))

        r = self.script("stop")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        self.assertIn("Stopping faultd: OK", r.stdout)
        self.assertFalse(self.alive(pid))
        self.assertFalse(os.path.exists(self.pidfile))
        r = self.script("status")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stdout)
        r = self.script("stop")
        self.assertEqual(r.returncode, 0)
        self.assertIn("not running", r.stdout)

    def test_start_twice_keeps_one_and_restart_replaces_it(self):
        pid = self.assert_started(self.script("start"))
        r = self.script("start")
        self.assertEqual(r.returncode, 0)
        self.assertIn("already running", r.stdout)
        self.assertEqual(self.pid(), pid)
        r = self.script("restart")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        new = self.pid()
        self.assertNotEqual(new, pid)
        self.assertFalse(self.alive(pid))
        harness.wait_for(self.answers, what="the restarted faultd to answer")
        self.assertEqual(self.script("stop").returncode, 0)
        self.assertFalse(self.alive(new))

    def test_invalid_configuration_is_refused_on_the_console(self):
        self.daemon.write_config('{ "upload_interval_seconds": "soon" }')
        r = self.script("start")
        self.assertEqual(r.returncode, 6, f"{r.stdout}{r.stderr}")
        self.assertIn("configuration is invalid", r.stderr)
        self.assertIn("upload_interval_seconds", r.stderr)
        self.assertFalse(os.path.exists(self.pidfile))

        # A running faultd keeps its configuration when the new one is invalid.
        self.daemon.write_config()
        pid = self.assert_started(self.script("start"))
        self.daemon.write_config('{ "log_level": "loud" }')
        r = self.script("reload")
        self.assertEqual(r.returncode, 6)
        self.assertIn("the running one is kept", r.stderr)
        self.assertTrue(self.alive(pid))
        self.assertEqual(self.script("stop").returncode, 0)

    def test_stale_pid_file_and_replaced_executable(self):
        # A pid file left by a faultd that died: start must not believe it runs.
        os.makedirs(self.rundir, exist_ok=True)
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(self.pidfile, "w") as f:
            f.write(f"{dead.pid}\n")
        self.assertEqual(self.script("status").returncode, 3)
        pid = self.assert_started(self.script("start"))
        self.assertNotEqual(pid, dead.pid)
        # An upgrade replaces the executable while faultd runs: stop still finds it.
        copy = os.path.join(self.dir, "faultd")
        shutil.copy2(harness.FAULTD, copy)
        env = self.env()
        env["DAEMON"] = copy
        r = subprocess.run([BUSYBOX, "sh", INIT_SCRIPT, "stop"], capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        self.assertIn("Stopping faultd: OK", r.stdout)
        self.assertFalse(self.alive(pid))

    def test_log_target_from_defaults(self):
        # stderr is /dev/null under start-stop-daemon -b, so nothing may reach syslog then.
        self.write_defaults('LOG_TARGET=stderr\n')
        pid = self.assert_started(self.script("start"))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(argv[argv.index(b"--log-target") + 1], b"stderr")
        time.sleep(0.5)
        self.assertEqual([line for line in self.syslog.drain() if f"faultd[{pid}]" in line], [])
        self.assertEqual(self.script("stop").returncode, 0)

    def test_missing_daemon_and_usage(self):
        env_daemon = os.path.join(self.dir, "no-such-faultd")
        r = subprocess.run([BUSYBOX, "sh", INIT_SCRIPT, "start"], capture_output=True,
                           text=True, env=dict(self.env(), DAEMON=env_daemon), timeout=30)
        self.assertEqual(r.returncode, 5)
        self.assertIn("no-such-faultd is missing", r.stderr)
        r = self.script("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("Usage:", r.stderr)

    @unittest.skipUnless(os.path.exists("/sbin/start-stop-daemon"), "dpkg's start-stop-daemon")
    def test_with_debian_start_stop_daemon(self):
        debian = os.path.join(self.dir, "debian-bin")
        os.mkdir(debian)
        os.symlink("/sbin/start-stop-daemon", os.path.join(debian, "start-stop-daemon"))
        pid = self.assert_started(self.script("start", path_first=debian + ":" + self.bin))
        self.syslog.wait_for(f"faultd[{pid}]: ")
        r = self.script("stop", path_first=debian + ":" + self.bin)
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        self.assertFalse(self.alive(pid))


    def busybox_init_boot(self):
        """Boots BusyBox init as PID 1 of a PID namespace with an inittab that, as Buildroot's,
        runs every init script with start at sysinit (rcS) and with stop at shutdown (rcK): here
        only faultd's. Waits for faultd to answer; returns init's pid as this test sees it."""
        scripts = {}
        for name, action in (("rcS", "start"), ("rcK", "stop")):
            scripts[name] = os.path.join(self.dir, name)
            with open(scripts[name], "w") as f:
                f.write(f"#!{BUSYBOX} sh\nPATH={self.bin}:$PATH\n"
                        f"exec {BUSYBOX} sh {INIT_SCRIPT} {action}\n")
            os.chmod(scripts[name], 0o755)
        inittab = os.path.join(self.dir, "inittab")
        with open(inittab, "w") as f:
            f.write(f"::sysinit:{scripts['rcS']}\n::shutdown:{scripts['rcK']}\n")
        overlay = os.path.join(self.dir, "etc-overlay")
        os.mkdir(overlay)
        env = dict(self.env(), INITTAB=inittab, ETC_OVERLAY=overlay)
        self.init_log = open(os.path.join(self.dir, "init.log"), "wb")
        self.addCleanup(self.init_log.close)
        self.system = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--propagation", "private", "--mount-proc",
             "--", "sh", "-c", BOOT_BUSYBOX_INIT, "boot-busybox-init",
             "sh", "-c", WITH_DEV_LOG, "with-dev-log", BUSYBOX, "init"],
            stdin=subprocess.DEVNULL, stdout=self.init_log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        self.init_pid = None
        # Before kill_leftover (cleanups run last first): the pid file holds a pid of the
        # namespace, which means another process here.
        self.addCleanup(self.end_busybox_system)

        def booted():
            if self.system.poll() is not None:
                return True
            try:
                with open(f"/proc/{self.system.pid}/task/{self.system.pid}/children") as f:
                    children = f.read().split()
            except OSError:
                return False
            if not children:
                return False
            with open(f"/proc/{children[0]}/status") as f:
                nspid = [line.split()[1:] for line in f if line.startswith("NSpid:")][0]
            if nspid[-1] != "1" or not os.path.samefile(f"/proc/{children[0]}/exe", BUSYBOX):
                return False
            self.init_pid = int(children[0])
            return True
        harness.wait_for(booted, what="BusyBox init to run as PID 1 of its namespace")
        if self.system.poll() == 77:
            self.skipTest("no tmpfs or overlayfs for a private /etc/inittab")
        self.assertIsNone(self.system.poll(), self.busybox_log())
        harness.wait_for(lambda: self.system.poll() is None and self.answers(),
                         what="faultd started by rcS to answer\n" + self.busybox_log())
        return self.init_pid

    def busybox_log(self):
        with open(os.path.join(self.dir, "init.log"), errors="replace") as f:
            return f.read() + "\n".join(self.syslog.drain())

    def end_busybox_system(self):
        if self.init_pid and self.system.poll() is None:
            os.kill(self.init_pid, signal.SIGKILL)  # ends every process of the namespace
        if self.system.poll() is None:
            self.system.kill()
        self.system.wait()
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)

    def admin(self, action):
        """Runs the init script as an administrator logged in to the BusyBox system would."""
        return subprocess.run(["nsenter", "-t", str(self.init_pid), "-p", "-m", "--",
                               BUSYBOX, "sh", INIT_SCRIPT, action],
                              capture_output=True, text=True, timeout=60, env=self.env())

    @unittest.skipUnless(shutil.which("unshare") and shutil.which("nsenter"), "util-linux")
    def test_busybox_reboot_is_clean_and_a_stop_by_hand_is_not(self):
        # faultd's fake tree shows the system's own PID 1: BusyBox init inside the namespace.
        os.symlink("/proc/1", os.path.join(self.daemon.sysroot, "proc", "1"))
        marker = os.path.join(self.daemon.state_dir, "reboot", "shutdown.json")
        self.busybox_init_boot()

        # An administrator stops and restarts faultd while the system stays up: no marker, or
        # a later power cut would pass for a clean reboot.
        r = self.admin("stop")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        self.assertIn("Stopping faultd: OK", r.stdout)
        self.assertFalse(os.path.exists(marker), "a stop by hand wrote the clean-shutdown marker")
        r = self.admin("start")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        harness.wait_for(self.answers, what="faultd started by hand to answer")
        r = self.admin("restart")
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        harness.wait_for(self.answers, what="faultd restarted by hand to answer")
        self.assertFalse(os.path.exists(marker), "a restart wrote the clean-shutdown marker")

        # `reboot`: BusyBox init runs ::shutdown, whose rcK stops faultd with the script.
        os.kill(self.init_pid, signal.SIGTERM)
        try:
            self.system.wait(timeout=harness.scaled(60))
        except subprocess.TimeoutExpired:
            self.fail("the BusyBox system did not go down:\n" + self.busybox_log())
        self.assertTrue(os.path.exists(marker),
                        "no clean-shutdown marker after a BusyBox reboot:\n" + self.busybox_log())
        with open(marker) as f:
            note = json.load(f)
        self.assertEqual(note["reason"], 2)  # UserReset: BusyBox does not say which of the two
        self.assertEqual(note["boot_id"], harness.FAKE_BOOT_ID.strip())
        self.assertTrue(any("clean-shutdown marker written" in line
                            for line in self.syslog.drain()), self.busybox_log())

        # The next boot: the reboot was expected.
        self.daemon.new_boot()
        self.daemon.start()
        with open(os.path.join(self.daemon.state_dir, "reboot", "last.json")) as f:
            last = json.load(f)
        self.assertEqual((last["source"], last["reason"]), ("clean-shutdown", 2),
                         self.daemon.log())
        self.assertIn("Previous boot ended: UserReset (0x0002), from clean-shutdown marker",
                      self.daemon.log())
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    unittest.main()
