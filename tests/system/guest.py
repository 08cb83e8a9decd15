# SPDX-License-Identifier: MIT
"""A BusyBox-init guest under QEMU (TCG) for faultd's system tests (tests/system/test_qemu.py).

The kernel is Debian's (the cloud flavour; the generic one for the i6300esb watchdog), for
x86_64 or aarch64, fetched with `apt-get download` into the build directory and unpacked with
`dpkg-deb -x`, never installed. The initramfs holds BusyBox (with its libraries), faultd,
faultctl, faultd-core-handler, the crasher and the alternate-stack crash (tests/crash/altstack) of
this build (with theirs: ldd for this machine's architecture, readelf and the multiarch
directories for another), each at its own path, faultd's SysV init script as
the build generated it, the modules of the same kernel package that it lacks built in (virtio,
ext4, ramoops, i6300esb), and the guest scripts below. The state disk is an ext4 image on a
virtio disk that persists across boots: faultd's state directory (bind-mounted on
/var/lib/faultd) and the guest's count of the boots of that disk; everything else is in RAM, as
on a device whose rootfs is read-only.

The guest reaches the development receiver on the host's loopback through QEMU's user
networking with restrict=on: the only way out is a guestfwd rule from 10.0.2.100:PORT to
127.0.0.1:PORT, each connection through its own relay process (relay.py). The serial console is
a file; the guest prints lines "@@WORD ..." that the test waits for. The kernel command line
names the scenario (faultd.scenario=) and the QEMU start (faultd.boot=).
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# Debian's cloud kernel boots fastest under TCG; it has no driver for QEMU's i6300esb watchdog,
# so the watchdog scenario boots Debian's generic kernel, which has.
KERNEL_PACKAGE = "linux-image-cloud-amd64"
GENERIC_KERNEL_PACKAGE = "linux-image-amd64"
# Modules loaded in this order with these arguments, with what they depend on first; those the
# kernel has built in are left out. ext4 wants the crc32c algorithm loaded before it.
MODULES = [("virtio_pci", ""), ("virtio_blk", ""), ("virtio_net", ""), ("crc32c_generic", ""),
           ("ext4", "")]
# pstore's RAM backend on a region the kernel is told to leave alone (memmap=SIZE$ADDRESS), low
# enough that neither the kernel nor the initramfs QEMU loads at the top of RAM lands on it, and
# kept by QEMU across a guest reset (the panic scenario).
RAMOOPS_ADDRESS = 0x10000000
RAMOOPS_SIZE = 0x100000
RAMOOPS = ("ramoops", f"mem_address=0x{RAMOOPS_ADDRESS:x} mem_size=0x{RAMOOPS_SIZE:x} "
           "record_size=0x40000 ecc=0")
# The i6300esb watchdog: WATCHDOG_SECONDS from the last pet to the board's reset (two stages).
WATCHDOG_SECONDS = 8
WATCHDOG = ("i6300esb", f"heartbeat={WATCHDOG_SECONDS}")
GUEST_HOST = "10.0.2.100"  # the receiver as the guest sees it (guestfwd)
# The mode of tests/crash/altstack the core scenario runs: its crash on a second thread, whose
# alternate stack is malloc'ed (Python faulthandler's kind), SIGSEGV raised again in the handler.
ALTSTACK_MODE = "thread"


class Arch:
    """What differs between the guests of two architectures."""

    def __init__(self, name, dpkg, qemu, machine, console, kernel, generic_kernel, ramoops,
                 libdirs, gdb):
        self.name, self.dpkg, self.qemu, self.machine = name, dpkg, qemu, machine
        self.console, self.kernel, self.generic_kernel = console, kernel, generic_kernel
        self.ramoops = ramoops  # whether memmap= can reserve pstore's RAM (x86 only)
        self.libdirs = libdirs  # where a foreign architecture's libraries are (multiarch)
        self.gdb = gdb

    @property
    def native(self):
        return self.name == os.uname().machine


ARCHES = {
    "x86_64": Arch("x86_64", "amd64", "qemu-system-x86_64", ["-machine", "q35"], "ttyS0",
                   KERNEL_PACKAGE, GENERIC_KERNEL_PACKAGE, True,
                   ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"], "gdb"),
    # Debian's arm64 packages through multiarch (tests/cross adds the architecture); the virt
    # board with a Cortex-A57, its PL011 UART as the console.
    "aarch64": Arch("aarch64", "arm64", "qemu-system-aarch64",
                    ["-machine", "virt", "-cpu", "cortex-a57"], "ttyAMA0",
                    "linux-image-cloud-arm64:arm64", "linux-image-arm64:arm64", False,
                    ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"], "gdb-multiarch"),
}
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py")


class GuestError(AssertionError):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def fetch_package(cache, package, want):
    """The root of package (apt-cache's name; for a virtual package such as
    linux-image-cloud-amd64 the package it depends on), downloaded once into cache/package with
    `apt-get download` and unpacked there with `dpkg-deb -x`. want: a glob under the root that
    shows a complete unpacking."""
    cache = os.path.join(cache, package.replace(":", "_"))
    os.makedirs(cache, exist_ok=True)
    root = os.path.join(cache, "root")
    if glob.glob(os.path.join(root, want)):
        return root
    name = None
    for attempt in range(2):
        # The package lists may be missing or stale on a machine whose packages were all
        # installed long ago: read them again once.
        if attempt:
            run(["apt-get", "update", "-qq"], timeout=600)
        r = subprocess.run(["apt-cache", "depends", package], capture_output=True, text=True)
        if r.returncode != 0:
            continue
        m = re.search(r"Depends:\s*(linux-image-\S+)", r.stdout)
        name = m.group(1) if m and package.startswith("linux-image-") else package
        for old in glob.glob(os.path.join(cache, "*.deb")):
            os.unlink(old)
        # As the _apt user when it can write there; else apt-get warns and downloads as root.
        r = subprocess.run(["apt-get", "download", "-q", name], cwd=cache, capture_output=True,
                           text=True, timeout=600)
        if r.returncode == 0:
            break
    if name is None:
        raise GuestError(f"apt-cache depends {package}: no such package")
    debs = glob.glob(os.path.join(cache, "*.deb"))
    if len(debs) != 1:
        raise GuestError(f"apt-get download {name}: got {debs}:\n{r.stderr}")
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    run(["dpkg-deb", "-x", debs[0], tmp], timeout=600)
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
    if not glob.glob(os.path.join(root, want)):
        raise GuestError(f"{debs[0]} has no {want}")
    return root


def fetch_kernel(cache, package=KERNEL_PACKAGE):
    """(vmlinuz, modules dir) of the kernel package's dependency (the current kernel of that
    flavour), downloaded once into cache."""
    root = fetch_package(cache, package, "boot/vmlinuz-*")
    vmlinuz = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))[0]
    version = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    return vmlinuz, os.path.join(root, "lib", "modules", version)


def busybox_for(arch, cache):
    """The BusyBox of arch: this machine's for its own architecture, else Debian's package of
    arch, unpacked."""
    if arch.native:
        return shutil.which("busybox")
    return os.path.join(fetch_package(cache, f"busybox:{arch.dpkg}", "bin/busybox"),
                        "bin", "busybox")


def module_depends(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def builtin_modules(moddir):
    """The names of the modules the kernel has built in (modules.builtin)."""
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            return {os.path.basename(ln.strip())[:-3].replace("-", "_") for ln in f if ln.strip()}
    except FileNotFoundError:
        return set()


def module_order(moddir, modules, optional=()):
    """[(.ko path, arguments)] for modules (name, arguments) and what they depend on,
    dependencies first, without those built in. A module of optional that this kernel lacks
    altogether is left out; any other missing module is an error."""
    paths = {}
    for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko"), recursive=True):
        paths[os.path.basename(p)[:-3].replace("-", "_")] = p
    builtin = builtin_modules(moddir)
    order, seen = [], set()

    def visit(name, args=""):
        name = name.replace("-", "_")
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in paths:
            raise GuestError(f"module {name} is not in {moddir}")
        for d in module_depends(paths[name]):
            visit(d)
        order.append((paths[name], args))

    for name, args in modules:
        if name in optional and name.replace("-", "_") not in set(paths) | builtin:
            continue
        visit(name, args)
    return order


def elf_dynamic(path):
    """(NEEDED names, RUNPATH/RPATH directories with $ORIGIN resolved, interpreter or None)."""
    d = run(["readelf", "-d", path]).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", d)
    paths = []
    for p in re.findall(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", d):
        paths += [x.replace("$ORIGIN", os.path.dirname(os.path.abspath(path)))
                  for x in p.split(":") if x]
    m = re.search(r"Requesting program interpreter: (\S+)\]", run(["readelf", "-l", path]).stdout)
    return needed, paths, m.group(1) if m else None


def libraries(src, arch):
    """Every library src needs, and its loader, as paths on this machine (which are also their
    paths in the guest): ldd for this machine's architecture; for another, readelf's NEEDED
    resolved in its RUNPATH and the multiarch directories, recursively."""
    if arch.native:
        out = subprocess.run(["ldd", src], capture_output=True, text=True).stdout
        return [m.group(1) for m in (re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", ln)
                                     for ln in out.splitlines()) if m]
    found, todo = [], [src]
    while todo:
        needed, runpath, interp = elf_dynamic(todo.pop())
        if interp and interp not in found:
            found.append(interp)
        for name in needed:
            for d in runpath + arch.libdirs:
                p = os.path.join(d, name)
                if os.path.exists(p):
                    break
            else:
                raise GuestError(f"{src} needs {name}, which is in none of "
                                 f"{runpath + arch.libdirs} (is the {arch.dpkg} package "
                                 "installed?)")
            if p not in found:
                found.append(p)
                todo.append(p)
    return found


def copy_with_libs(root, src, dest, arch):
    """Copies src to root/dest and every library it needs to the same path under root."""
    target = root + dest
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(src, target)
    for lib in libraries(src, arch):
        t = root + lib
        if not os.path.exists(t):
            os.makedirs(os.path.dirname(t), exist_ok=True)
            shutil.copy2(os.path.realpath(lib), t)


INITTAB = """\
::sysinit:/etc/rcS
::once:/etc/scenario
::shutdown:/etc/init.d/faultd stop
::shutdown:/bin/sh -c 'echo @@SHUTDOWN; sync; umount /var/lib/faultd; umount -r /mnt/state'
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

# What the kernel command line says of this boot, for rcS and the scenario script: SCENARIO,
# BOOT (the test's count of QEMU starts).
GUEST_ENV = """\
for w in $(cat /proc/cmdline); do
	case $w in
	faultd.scenario=*) SCENARIO=${w#*=} ;;
	faultd.boot=*) BOOT=${w#*=} ;;
	esac
done
export SCENARIO BOOT
"""

# The state disk holds faultd's state directory (bind-mounted on /var/lib/faultd) and the
# guest's own count of the boots of this disk (DISKBOOT), which tells a scenario that reboots
# inside one QEMU process (a panic, a watchdog reset) which boot it is in. What the previous boot
# left for faultd to read (pstore records, the watchdog's boot status) is printed before faultd
# starts.
RCS = """\
#!/bin/sh
. /etc/guest-env
hostname faultd-guest
while read -r m args; do insmod "$m" $args || echo "@@INSMOD_FAILED $m"; done </etc/modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt/state /var/lib/faultd
if mount -t ext4 -o data=ordered /dev/vda /mnt/state; then
	mkdir -p /mnt/state/faultd
	mount -o bind /mnt/state/faultd /var/lib/faultd
	DISKBOOT=$(( $(cat /mnt/state/boots 2>/dev/null || echo 0) + 1 ))
	echo $DISKBOOT >/mnt/state/boots.tmp && mv /mnt/state/boots.tmp /mnt/state/boots && sync
else
	echo "@@MOUNT_FAILED"
	DISKBOOT=0
fi
echo $DISKBOOT >/run/diskboot
mount -t pstore pstore /sys/fs/pstore
echo "@@BOOT qemu=$BOOT disk=$DISKBOOT"
echo "@@PSTORE $(ls /sys/fs/pstore | tr '\\n' ' ')"
for w in /sys/class/watchdog/watchdog*; do
	[ -e "$w/bootstatus" ] &&
		echo "@@WATCHDOG ${w##*/} $(cat $w/identity) bootstatus=$(cat $w/bootstatus)"
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
syslogd -O /var/log/messages
klogd
ulimit -c unlimited
export DISKBOOT
[ -f /etc/scenarios/$SCENARIO.pre ] && . /etc/scenarios/$SCENARIO.pre
/etc/init.d/faultd start
echo "@@FAULTD_START rc=$?"
"""

SCENARIO = """\
#!/bin/sh
. /etc/guest-env
DISKBOOT=$(cat /run/diskboot)
export DISKBOOT
echo "@@SCENARIO $SCENARIO"
i=0
until faultctl --timeout 3 status >/tmp/status.out 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "@@NOT_READY $(tr '\\n' ' ' </tmp/status.out)"
		ps; grep faultd /var/log/messages | tail -n 30
		exit 1
	fi
	sleep 0.2
done
echo "@@READY boot=$BOOT disk=$DISKBOOT"
. /etc/scenarios/$SCENARIO.sh
"""

# faultd's log lines of this boot, prefixed so the test can show them.
LOG_DUMP = "grep -i faultd /var/log/messages | sed 's/^/@@LOG /'\n"

SCENARIOS = {
    # 1. the real core pipe: the crasher, a crash handled on an alternate signal stack (the
    # handler reads the stack the signal interrupted from /proc/<pid>/mem), then
    # trigger-coredump. Each crash waits until the handler of the one before is done, so that
    # each is unwound on its own.
    "core": """\
handled() {
	i=0
	while pidof faultd-core-handler >/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
echo "@@CORE_PATTERN $(cat /proc/sys/kernel/core_pattern)"
echo x | %(crasher)s segv >/tmp/crasher.json 2>/tmp/crasher.err
echo "@@CRASHED rc=$? $(head -c 2000 /tmp/crasher.json)"
handled
if [ -n "%(altstack)s" ]; then
	echo x | %(altstack)s %(altstack_mode)s >/tmp/altstack.json 2>/tmp/altstack.err
	echo "@@ALTSTACK rc=$? $(head -c 500 /tmp/altstack.json)"
else
	echo "@@ALTSTACK none"
fi
handled
faultctl trigger-coredump
echo "@@TRIGGERED rc=$?"
# The handler commits in the background of the kernel's pipe: sync until the cores are gone.
for i in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	faultctl sync >/dev/null 2>&1
	n=$(ls /var/lib/faultd/spool 2>/dev/null | grep -c elf-coredump)
	[ "$n" = 0 ] && [ $i -ge 2 ] && break
done
faultctl --timeout 60 sync
echo "@@SYNCED rc=$?"
%(log)s
echo "@@DONE"
""",
    # 3. records while the test cuts the power: acknowledged attributes, statsd datagrams, and
    # a core every tenth round (no rate limit), into a spool of 64 KiB that must evict to take
    # them.
    "records.pre": """\
sed -i -e 's|"statsd":|"spool": { "max_bytes": 65536 }, "statsd":|' \
	-e 's|"coredump": {|"coredump": { "rate_limit_count": 10000,|' /etc/faultd.conf
""",
    "records": """\
n=0
while :; do
	n=$((n + 1))
	if faultctl write-attributes "cut=b${BOOT}n$n" >/dev/null 2>&1; then
		echo "@@ACK b${BOOT}n$n"
	fi
	echo "system.cuts.records:1|c" | nc -u -w1 127.0.0.1 8125 </dev/null >/dev/null 2>&1 &
	[ $((n %% 10)) = 0 ] && { %(crasher)s segv </dev/null >/dev/null 2>&1 & }
done
""",
    # 3. and 5. the last boot: everything spooled uploaded, drops and reboot reasons shown.
    "final": """\
for i in 1 2 3 4 5; do
	faultctl --timeout 20 sync >/dev/null 2>&1 && break
	sleep 1
done
faultctl --timeout 30 sync
echo "@@SYNCED rc=$?"
echo "@@UPLOAD $(faultctl --json status | tr -d '\\n' | grep -o '"upload":{[^}]*}')"
echo "@@SPOOL $(ls /var/lib/faultd/spool | tr '\\n' ' ')"
echo "@@DROPS $(cat /var/lib/faultd/spool/drops.json 2>/dev/null | tr -d '\\n')"
echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
%(log)s
echo "@@DONE"
""",
    # 2. a kernel panic: boot 1 of the disk runs version 1.0 until the hours ledger has
    # checkpointed, then panics; the kernel writes its log to pstore (ramoops) and reboots in the
    # same QEMU process, whose RAM keeps the record; boot 2 runs 2.0 and uploads.
    "panic.pre": """\
[ "$DISKBOOT" -ge 2 ] && sed -i 's/"software_version": "1.0"/"software_version": "2.0"/' \
	/etc/faultd.conf
""",
    "panic": """\
if [ "$DISKBOOT" = 1 ]; then
	sleep 15  # the ledger's first checkpoint is 10 s into faultd's life
	faultctl sync >/dev/null 2>&1
	echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
	echo "@@PANICKING"
	echo c >/proc/sysrq-trigger
	echo "@@STILL_ALIVE"
else
	. /etc/scenarios/final.sh
fi
""",
    # 4. a hardware watchdog: boot 1 opens /dev/watchdog (which starts it) and never pets it
    # again; the board resets; boot 2 reads the watchdog's boot status and uploads.
    "watchdog": """\
if [ "$DISKBOOT" = 1 ]; then
	faultctl sync >/dev/null 2>&1
	[ -c /dev/watchdog ] || { echo "@@NO_WATCHDOG"; exit 1; }
	echo 1 >/dev/watchdog && echo "@@ARMED"
	sleep 120
	echo "@@STILL_ALIVE"
else
	. /etc/scenarios/final.sh
fi
""",
    # 5. a boot of a reboot loop: faultd runs until the test cuts the power.
    "idle": """\
echo "@@IDLE"
""",
    # 5. a clean reboot through BusyBox init and the init script.
    "reboot": """\
faultctl sync >/dev/null 2>&1
echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
echo "@@REBOOTING"
reboot
""",
    # 5. a clean power off the same way.
    "poweroff": """\
faultctl sync >/dev/null 2>&1
echo "@@STATUS $(faultctl --json status | tr -d '\\n')"
echo "@@POWEROFF"
poweroff
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


def build_initramfs(workdir, kernel_modules, env, receiver_port, ca_bundle, image="initramfs",
                    arch=None, busybox=None):
    """Writes workdir/IMAGE.gz for the kernel of arch (default: this machine's) whose modules
    are in kernel_modules, with the BusyBox busybox (default: this machine's); returns its
    path."""
    arch = arch or ARCHES[os.uname().machine]
    busybox = busybox or shutil.which("busybox")
    root = os.path.join(workdir, image)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec", "usr/local/bin", "etc/init.d",
              "etc/default", "etc/faultd", "etc/scenarios", "lib/modules", "proc", "sys", "dev",
              "run", "tmp", "var/log", "var/lib/faultd", "root"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    copy_with_libs(root, busybox, "/bin/busybox", arch)
    copy_with_libs(root, env["FAULTD"], "/usr/sbin/faultd", arch)
    copy_with_libs(root, env["FAULTCTL"], "/usr/bin/faultctl", arch)
    handler = os.path.join(os.path.dirname(env["FAULTD"]), "faultd-core-handler")
    copy_with_libs(root, handler, "/usr/libexec/faultd-core-handler", arch)
    # At its own path: its RUNPATH ($ORIGIN) finds libcrashlib, gdb on the host the same files.
    copy_with_libs(root, env["CRASHER"], env["CRASHER"], arch)
    crasher = env["CRASHER"]
    altstack = env.get("ALTSTACK") or ""
    if altstack:
        copy_with_libs(root, altstack, altstack, arch)
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
        "etc/guest-env": GUEST_ENV,
        "etc/init.d/faultd": script,
        "etc/default/faultd": 'FAULTD_ARGS="--config /etc/faultd.conf"\n',
        "etc/faultd.conf": faultd_conf(f"https://{GUEST_HOST}:{receiver_port}",
                                       "/etc/faultd/ca.pem"),
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
        "etc/group": "root:x:0:\n",
        "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
        "etc/hosts": "127.0.0.1 localhost\n",
    }
    for scenario, body in SCENARIOS.items():
        script = scenario if scenario.endswith(".pre") else scenario + ".sh"
        files[f"etc/scenarios/{script}"] = body % {"crasher": crasher, "altstack": altstack,
                                                  "altstack_mode": ALTSTACK_MODE,
                                                  "log": LOG_DUMP}
    for name, body in files.items():
        p = os.path.join(root, name)
        with open(p, "w") as f:
            f.write(body)
        if name in ("init", "etc/rcS", "etc/scenario", "etc/init.d/faultd"):
            os.chmod(p, 0o755)
    shutil.copy(ca_bundle, os.path.join(root, "etc/faultd/ca.pem"))
    order = []
    modules = MODULES + ([RAMOOPS] if arch.ramoops else []) + [WATCHDOG]
    for ko, args in module_order(kernel_modules, modules, optional=[WATCHDOG[0]]):
        dest = "/lib/modules/" + os.path.basename(ko)
        shutil.copy(ko, root + dest)
        order.append(f"{dest} {args}".strip())
    with open(os.path.join(root, "etc/modules.order"), "w") as f:
        f.write("\n".join(order) + "\n")
    out = os.path.join(workdir, image + ".gz")
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

    def __init__(self, vmlinuz, initramfs, disk, port, console, scenario, boot, cache="directsync",
                 reboot=False, devices=(), arch=None):
        """reboot: a reboot of the guest (a panic, a watchdog's reset) restarts it in the same
        QEMU process, RAM kept; otherwise it ends QEMU. devices: further -device arguments.
        arch: an Arch (default: this machine's)."""
        arch = arch or ARCHES[os.uname().machine]
        self.console = console
        self.pos = 0
        self.buf = ""
        memmap = (f" memmap={RAMOOPS_SIZE >> 20}M${RAMOOPS_ADDRESS:#x}" if arch.ramoops else "")
        cmdline = (f"console={arch.console} panic=-1 loglevel=4{memmap} "
                   f"faultd.scenario={scenario} faultd.boot={boot}")
        self.cmd = [
            arch.qemu, *arch.machine, "-accel", "tcg", "-m", "512", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            *([] if reboot else ["-no-reboot"]),
            *[a for d in devices for a in ("-device", d)],
            "-kernel", vmlinuz, "-initrd", initramfs, "-append", cmdline,
            "-serial", f"file:{console}", "-monitor", "none",
            "-drive", f"file={disk},format=raw,if=virtio,cache={cache}",
            "-netdev", f"user,id=n0,restrict=on,guestfwd=tcp:{GUEST_HOST}:{port}-cmd:"
                       f"{sys.executable} {RELAY} 127.0.0.1 {port}",
            "-device", "virtio-net-pci,netdev=n0",
        ]
        open(console, "w").close()
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

    def wait_for(self, marker, timeout, start=0):
        """The first console line from line start on (0: the first) that starts with marker;
        fails on a timeout or QEMU's exit."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines()[start:]:
                if line.startswith(marker):
                    return line
            if self.proc.poll() is not None:
                for line in self.lines()[start:]:
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
