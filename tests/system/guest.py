# SPDX-License-Identifier: MIT
"""A BusyBox-init guest under QEMU (TCG) for faultd's system tests (tests/system/test_qemu.py).

The kernel is Debian's cloud kernel, fetched with `apt-get download` into the build directory
and unpacked with `dpkg-deb -x`, never installed. The initramfs holds BusyBox (with the
libraries ldd names), faultd, faultctl, faultd-core-handler and the crasher of this build (with
theirs), faultd's SysV init script as the build generated it, the virtio modules of the same
kernel package, and the guest scripts below. The state directory /var/lib/faultd is an ext4
image on a virtio disk that persists across boots; everything else is in RAM, as on a device
whose rootfs is read-only.

The guest reaches the development receiver on the host's loopback through QEMU's user
networking with restrict=on: the only way out is a guestfwd rule from 10.0.2.100:PORT to
127.0.0.1:PORT. The serial console is a file; the guest prints lines "@@WORD ..." that the test
waits for. The kernel command line names the scenario (faultd.scenario=) and the boot
(faultd.boot=).
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import time

KERNEL_PACKAGE = "linux-image-cloud-amd64"
MODULES = ["virtio_pci", "virtio_blk", "virtio_net"]
GUEST_HOST = "10.0.2.100"  # the receiver as the guest sees it (guestfwd)


class GuestError(AssertionError):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def fetch_kernel(cache):
    """(vmlinuz, modules dir) of Debian's cloud kernel, downloaded once into cache."""
    os.makedirs(cache, exist_ok=True)
    root = os.path.join(cache, "root")
    found = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
    if not found:
        for attempt in range(2):
            # The package lists may be missing or stale on a machine whose packages were all
            # installed long ago: read them again once.
            if attempt:
                run(["apt-get", "update", "-qq"], timeout=600)
            dep = subprocess.run(["apt-cache", "depends", KERNEL_PACKAGE], capture_output=True,
                                 text=True).stdout
            m = re.search(r"Depends:\s*(linux-image-\S+)", dep)
            if not m:
                continue
            for old in glob.glob(os.path.join(cache, "*.deb")):
                os.unlink(old)
            # As the _apt user when it can write there; else apt-get warns and downloads as
            # root.
            r = subprocess.run(["apt-get", "download", "-q", m.group(1)], cwd=cache,
                               capture_output=True, text=True, timeout=600)
            if r.returncode == 0:
                break
        if not m:
            raise GuestError(f"apt-cache depends {KERNEL_PACKAGE}: no kernel package:\n{dep}")
        debs = glob.glob(os.path.join(cache, "*.deb"))
        if len(debs) != 1:
            raise GuestError(f"apt-get download {m.group(1)}: got {debs}")
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        run(["dpkg-deb", "-x", debs[0], tmp], timeout=600)
        shutil.rmtree(root, ignore_errors=True)
        os.rename(tmp, root)
        found = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
    vmlinuz = found[0]
    version = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    return vmlinuz, os.path.join(root, "lib", "modules", version)


def module_depends(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def module_order(moddir, names):
    """The .ko files for names and what they depend on, dependencies first."""
    paths = {}
    for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko"), recursive=True):
        paths[os.path.basename(p)[:-3].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in paths:
            raise GuestError(f"module {name} is not in {moddir}")
        for d in module_depends(paths[name]):
            visit(d)
        order.append(paths[name])

    for n in names:
        visit(n)
    return order


def copy_with_libs(root, src, dest):
    """Copies src to root/dest and every library ldd names to the same path under root."""
    target = root + dest
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(src, target)
    out = subprocess.run(["ldd", src], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            lib = m.group(1)
            t = root + lib
            if not os.path.exists(t):
                os.makedirs(os.path.dirname(t), exist_ok=True)
                shutil.copy2(os.path.realpath(lib), t)


INITTAB = """\
::sysinit:/etc/rcS
::once:/etc/scenario
::shutdown:/etc/init.d/faultd stop
::shutdown:/bin/sh -c 'echo @@SHUTDOWN; sync; umount -r /var/lib/faultd'
"""

INIT = """\
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var/log /usr/bin /usr/sbin /sbin /bin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec /sbin/init
"""

RCS = """\
#!/bin/sh
hostname faultd-guest
for m in $(cat /etc/modules.order); do insmod "$m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /var/lib/faultd
mount -t ext4 -o data=ordered /dev/vda /var/lib/faultd || echo "@@MOUNT_FAILED"
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
syslogd -O /var/log/messages
klogd
ulimit -c unlimited
/etc/init.d/faultd start
echo "@@FAULTD_START rc=$?"
"""

SCENARIO = """\
#!/bin/sh
for w in $(cat /proc/cmdline); do
	case $w in
	faultd.scenario=*) SCENARIO=${w#*=} ;;
	faultd.boot=*) BOOT=${w#*=} ;;
	esac
done
export BOOT
echo "@@SCENARIO $SCENARIO"
i=0
until faultctl --timeout 3 status >/tmp/status.out 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "@@NOT_READY $(tr '\n' ' ' </tmp/status.out)"
		ps; grep faultd /var/log/messages | tail -n 30
		exit 1
	fi
	sleep 0.2
done
echo "@@READY boot=$BOOT"
. /etc/scenarios/$SCENARIO.sh
"""

# faultd's log lines of this boot, prefixed so the test can show them.
LOG_DUMP = "grep -i faultd /var/log/messages | sed 's/^/@@LOG /'\n"

SCENARIOS = {
    # 1. the real core pipe, then trigger-coredump.
    "core": """\
echo "@@CORE_PATTERN $(cat /proc/sys/kernel/core_pattern)"
echo x | %(crasher)s segv >/tmp/crasher.json 2>/tmp/crasher.err
echo "@@CRASHED rc=$? $(head -c 2000 /tmp/crasher.json)"
faultctl trigger-coredump
echo "@@TRIGGERED rc=$?"
# The handler commits in the background of the kernel's pipe: sync until both cores are gone.
for i in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	faultctl sync >/dev/null 2>&1
	n=$(ls /var/lib/faultd/spool 2>/dev/null | grep -c elf-coredump)
	[ "$n" = 0 ] && [ $i -ge 2 ] && break
done
faultctl sync
echo "@@SYNCED rc=$?"
%(log)s
echo "@@DONE"
""",
    # 3. records while the test cuts the power: acknowledged attributes, statsd datagrams.
    "records": """\
n=0
while :; do
	n=$((n + 1))
	if faultctl write-attributes "cut=b${BOOT}n$n" >/dev/null 2>&1; then
		echo "@@ACK b${BOOT}n$n"
	fi
	echo "system.cuts.records:1|c" | nc -u -w1 127.0.0.1 8125 </dev/null >/dev/null 2>&1 &
done
""",
    # 3. and 5. the last boot: everything spooled uploaded, drops and reboot reasons shown.
    "final": """\
for i in 1 2 3 4 5 6 7 8 9 10; do
	faultctl sync >/dev/null 2>&1 && break
	sleep 1
done
faultctl sync
echo "@@SYNCED rc=$?"
echo "@@SPOOL $(ls /var/lib/faultd/spool | tr '\\n' ' ')"
echo "@@DROPS $(cat /var/lib/faultd/spool/drops.json 2>/dev/null | tr -d '\\n')"
echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
%(log)s
echo "@@DONE"
""",
    # 5. a clean reboot through BusyBox init and the init script.
    "reboot": """\
faultctl sync >/dev/null 2>&1
echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
echo "@@REBOOTING"
reboot
""",
}


def faultd_conf(url, ca):
    return """\
// Written by tests/system/guest.py.
{
	"log_level": "debug",
	"enable_data_collection": true,
	"base_url": "%(url)s",
	"ca_bundle": "%(ca)s",
	"project_key": "system-test",
	"device": { "serial": "qemu-guest", "software_type": "system-test",
		    "software_version": "1.0" },
	"upload_interval_seconds": 2,
	"heartbeat_interval_seconds": 3600,
	"upload": { "backoff_min_seconds": 1, "backoff_max_seconds": 2 },
	"statsd": { "listen": "127.0.0.1:8125" },
	"coredump": { "enabled": true, "handler": "/usr/libexec/faultd-core-handler" },
}
""" % {"url": url, "ca": ca}


def build_initramfs(workdir, kernel_modules, env, receiver_port, ca_bundle):
    """Writes workdir/initramfs.gz; returns its path."""
    root = os.path.join(workdir, "initramfs")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec", "usr/local/bin", "etc/init.d",
              "etc/default", "etc/faultd", "etc/scenarios", "lib/modules", "proc", "sys", "dev",
              "run", "tmp", "var/log", "var/lib/faultd", "root"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    copy_with_libs(root, shutil.which("busybox"), "/bin/busybox")
    copy_with_libs(root, env["FAULTD"], "/usr/sbin/faultd")
    copy_with_libs(root, env["FAULTCTL"], "/usr/bin/faultctl")
    handler = os.path.join(os.path.dirname(env["FAULTD"]), "faultd-core-handler")
    copy_with_libs(root, handler, "/usr/libexec/faultd-core-handler")
    # At its own path: its RUNPATH ($ORIGIN) finds libcrashlib, gdb on the host the same files.
    copy_with_libs(root, env["CRASHER"], env["CRASHER"])
    crasher = env["CRASHER"]
    # The init script as the build generated it, with the paths of this guest.
    with open(env["INIT_SCRIPT"]) as f:
        script = f.read()
    script = re.sub(r"^DAEMON=.*$", "DAEMON=${DAEMON:-/usr/sbin/faultd}", script, flags=re.M)
    script = re.sub(r"^RUNDIR=.*$", "RUNDIR=${RUNDIR:-/run/faultd}", script, flags=re.M)
    script = re.sub(r"^STATEDIR=.*$", "STATEDIR=${STATEDIR:-/var/lib/faultd}", script, flags=re.M)
    script = re.sub(r"^DEFAULTS=.*$", "DEFAULTS=${DEFAULTS:-/etc/default/faultd}", script,
                    flags=re.M)
    files = {
        "init": INIT, "etc/inittab": INITTAB, "etc/rcS": RCS, "etc/scenario": SCENARIO,
        "etc/init.d/faultd": script,
        "etc/default/faultd": 'FAULTD_ARGS="--config /etc/faultd.conf"\n',
        "etc/faultd.conf": faultd_conf(f"https://{GUEST_HOST}:{receiver_port}",
                                       "/etc/faultd/ca.pem"),
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
        "etc/group": "root:x:0:\n",
        "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
        "etc/hosts": "127.0.0.1 localhost\n",
    }
    for name, body in SCENARIOS.items():
        files[f"etc/scenarios/{name}.sh"] = body % {"crasher": crasher, "log": LOG_DUMP}
    for name, body in files.items():
        p = os.path.join(root, name)
        with open(p, "w") as f:
            f.write(body)
        if name in ("init", "etc/rcS", "etc/scenario", "etc/init.d/faultd"):
            os.chmod(p, 0o755)
    shutil.copy(ca_bundle, os.path.join(root, "etc/faultd/ca.pem"))
    order = []
    for ko in module_order(kernel_modules, MODULES):
        dest = "/lib/modules/" + os.path.basename(ko)
        shutil.copy(ko, root + dest)
        order.append(dest)
    with open(os.path.join(root, "etc/modules.order"), "w") as f:
        f.write("\n".join(order) + "\n")
    out = os.path.join(workdir, "initramfs.gz")
    subprocess.run(f"cd {root} && find . | cpio -o -H newc --quiet | gzip -1 > {out}",
                   shell=True, check=True)
    return out


def make_disk(path, mib=64):
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(mib << 20)
    run(["mkfs.ext4", "-q", "-F", "-L", "faultd-state", path])


class Guest:
    """One boot of the guest: QEMU in a process group of its own, the console in a file."""

    def __init__(self, vmlinuz, initramfs, disk, port, console, scenario, boot, cache="directsync"):
        self.console = console
        self.pos = 0
        self.buf = ""
        cmdline = (f"console=ttyS0 panic=-1 loglevel=4 faultd.scenario={scenario} "
                   f"faultd.boot={boot}")
        self.cmd = [
            "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "512", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", vmlinuz, "-initrd", initramfs, "-append", cmdline,
            "-serial", f"file:{console}", "-monitor", "none",
            "-drive", f"file={disk},format=raw,if=virtio,cache={cache}",
            "-netdev", f"user,id=n0,restrict=on,guestfwd=tcp:{GUEST_HOST}:{port}-tcp:127.0.0.1:{port}",
            "-device", "virtio-net-pci,netdev=n0",
        ]
        open(console, "w").close()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

    def read(self):
        with open(self.console, errors="replace") as f:
            f.seek(self.pos)
            data = f.read()
            self.pos = f.tell()
        self.buf += data
        return data

    def lines(self):
        """The complete console lines so far (a line still being written is not one yet)."""
        self.read()
        return self.buf[:self.buf.rfind("\n") + 1].splitlines()

    def wait_for(self, marker, timeout):
        """The first console line starting with marker; fails on a timeout or QEMU's exit."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if line.startswith(marker):
                    return line
            if self.proc.poll() is not None:
                for line in self.lines():
                    if line.startswith(marker):
                        return line
                raise GuestError(f"QEMU exited ({self.proc.returncode}) before {marker!r}:\n"
                                 + self.tail())
            if time.monotonic() > deadline:
                raise GuestError(f"no {marker!r} within {timeout} s:\n" + self.tail())
            time.sleep(0.05)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestError(f"QEMU still running after {timeout} s:\n" + self.tail()) from None

    def tail(self, n=60):
        self.read()
        return "\n".join(self.buf.splitlines()[-n:])

    def cut(self):
        """The power cut: SIGKILL to QEMU's whole process group."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.read()
        if self.proc.stderr:
            self.proc.stderr.close()
