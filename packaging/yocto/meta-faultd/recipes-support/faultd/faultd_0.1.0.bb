# SPDX-License-Identifier: MIT
SUMMARY = "Crash, reboot and reliability data collector for embedded Linux devices"
DESCRIPTION = "faultd records why a device rebooted, aggregates metrics (built-in \
collectors, collectd and statsd intake), keeps operational and crash-free hours and \
captures trimmed core files through the kernel's core_pattern pipe. It keeps everything \
on flash and uploads it in batches over HTTPS."
SECTION = "console/utils"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=99b55dfd50487377aa17d2051c2a9df8"

# The source is the faultd repository this layer lives in (packaging/yocto/meta-faultd/ of
# it), built where it is: nothing is fetched. README.md shows how to build the tarball of
# `meson dist` instead (EXTERNALSRC = "" and a SRC_URI).
inherit externalsrc
EXTERNALSRC ?= "${@os.path.normpath(os.path.join(d.getVar('FILE_DIRNAME'), '../../../../..'))}"
# No oe-workdir and oe-logs symlinks in the repository.
EXTERNALSRC_SYMLINKS = ""
# Under externalsrc, a change of an option reconfigures too, not only one of meson.build.
CONFIGURE_FILES += "meson.options"

DEPENDS = "libuv json-c curl zlib"

inherit meson pkgconfig systemd update-rc.d bash-completion

# The init system follows DISTRO_FEATURES: the unit with systemd, the init script with
# sysvinit (both when a distro has both). collectd needs libmicrohttpd from meta-oe.
PACKAGECONFIG ??= " \
    ${@bb.utils.filter('DISTRO_FEATURES', 'systemd sysvinit', d)} \
    coredump statsd logs zstd stacktrace manpages \
"
PACKAGECONFIG[systemd] = "-Dsystemd=enabled,-Dsystemd=disabled,systemd"
PACKAGECONFIG[sysvinit] = "-Dsysvinit=enabled,-Dsysvinit=disabled"
PACKAGECONFIG[coredump] = "-Dcoredump=enabled,-Dcoredump=disabled"
PACKAGECONFIG[collectd] = "-Dcollectd=enabled,-Dcollectd=disabled,libmicrohttpd"
PACKAGECONFIG[statsd] = "-Dstatsd=enabled,-Dstatsd=disabled"
PACKAGECONFIG[logs] = "-Dlogs=enabled,-Dlogs=disabled,libpcre2"
PACKAGECONFIG[zstd] = "-Dzstd=enabled,-Dzstd=disabled,zstd"
PACKAGECONFIG[stacktrace] = "-Dstacktrace=enabled,-Dstacktrace=disabled,elfutils"
PACKAGECONFIG[manpages] = "-Dman=enabled,-Dman=disabled,scdoc-native"

# Directories from the distro's layout, never from the build host's or the sysroot's .pc files.
EXTRA_OEMESON = " \
    -Dtests=disabled \
    -Dsystemdsystemunitdir=${systemd_system_unitdir} \
    -Dsysctldir=${nonarch_libdir}/sysctl.d \
    -Dtmpfilesdir=${nonarch_libdir}/tmpfiles.d \
    -Dbashcompletiondir=${datadir}/bash-completion/completions \
"

SYSTEMD_SERVICE:${PN} = "faultd.service"
INITSCRIPT_NAME = "faultd"
INITSCRIPT_PARAMS = "defaults 90 10"

# faultd-core-handler is in ${libexecdir}, which FILES:${PN} has by default.
FILES:${PN} += " \
    ${nonarch_libdir}/sysctl.d/50-faultd-*.conf \
    ${nonarch_libdir}/tmpfiles.d/faultd.conf \
"
CONFFILES:${PN} = "${sysconfdir}/faultd.conf"

# Uploads go over HTTPS and, unless faultd.conf names a ca_bundle, trust the system's CAs.
RRECOMMENDS:${PN} += "ca-certificates"
