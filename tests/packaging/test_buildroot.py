#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Buildroot external tree (packaging/buildroot) against the build.

Buildroot is not available here, so the parts of it that decide what faultd is built with are
stood in for by real tools: kconfiglib (python3-kconfiglib) reads package/faultd/Config.in
inside a model of the Buildroot symbols it refers to, with the dependencies Buildroot gives
them, and writes a .config; GNU make then reads that .config and faultd.mk exactly as Buildroot
includes them and prints FAULTD_CONF_OPTS and FAULTD_DEPENDENCIES, and runs
FAULTD_INSTALL_INIT_SYSV. faultd is configured with Buildroot's meson-package arguments plus
FAULTD_CONF_OPTS, built and installed into a target directory, for BusyBox init with the
default options and for systemd with every option, and the target tree is checked. The
check-package rules that apply to these files are checked too, since check-package is part of
Buildroot.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import packaging_util as pu  # noqa: E402


def _import_kconfiglib():
    """kconfiglib, also for a python3 other than the system's (one from pyenv, say), which does
    not see Debian's python3-kconfiglib: then the module is loaded from the package's files."""
    try:
        import kconfiglib as module
        return module
    except ImportError:
        pass
    try:
        listing = subprocess.run(["dpkg", "-L", "python3-kconfiglib"], capture_output=True,
                                 text=True).stdout.split()
    except OSError:
        return None
    found = [f for f in listing if f.endswith("/kconfiglib.py")]
    if not found:
        return None  # reported by the tests that need it
    spec = importlib.util.spec_from_file_location("kconfiglib", found[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kconfiglib = _import_kconfiglib()

EXTERNAL = os.path.join(pu.SOURCE_ROOT, "packaging", "buildroot")
PACKAGE_DIR = os.path.join(EXTERNAL, "package", "faultd")
CONFIG_IN = os.path.join(PACKAGE_DIR, "Config.in")
FAULTD_MK = os.path.join(PACKAGE_DIR, "faultd.mk")
RECIPES = os.path.join(pu.SOURCE_ROOT, "packaging", "yocto", "meta-faultd")

# The Buildroot symbols faultd's Config.in and faultd.mk may refer to, with the dependencies and
# selects Buildroot gives them (package/libuv, json-c, libcurl, systemd, system/Config.in): an
# undefined symbol is a kconfiglib warning, and a toolchain that hides a selected library must
# hide faultd too.
BUILDROOT_MODEL = """
config BR2_USE_MMU
	bool "MMU"
	default y

config BR2_STATIC_LIBS
	bool "static libraries only"

config BR2_TOOLCHAIN_HAS_THREADS
	bool "threads"
	default y

config BR2_TOOLCHAIN_HAS_THREADS_NPTL
	bool "NPTL"
	default y
	depends on BR2_TOOLCHAIN_HAS_THREADS

config BR2_TOOLCHAIN_HAS_SYNC_4
	bool "__sync for 4-byte data"
	default y

config BR2_TOOLCHAIN_GCC_AT_LEAST_4_9
	bool "gcc >= 4.9"
	default y

choice
	prompt "Init system"
	default BR2_INIT_BUSYBOX

config BR2_INIT_BUSYBOX
	bool "BusyBox"

config BR2_INIT_SYSV
	bool "systemV"
	depends on BR2_USE_MMU

config BR2_INIT_SYSTEMD
	bool "systemd"
	select BR2_PACKAGE_SYSTEMD

config BR2_INIT_NONE
	bool "None"

endchoice

config BR2_PACKAGE_SYSTEMD
	bool "systemd"
	depends on BR2_INIT_SYSTEMD
	depends on BR2_USE_MMU
	depends on !BR2_STATIC_LIBS

config BR2_PACKAGE_LIBUV
	bool "libuv"
	depends on BR2_TOOLCHAIN_HAS_THREADS_NPTL
	depends on BR2_USE_MMU
	depends on !BR2_STATIC_LIBS
	depends on BR2_TOOLCHAIN_HAS_SYNC_4
	depends on BR2_TOOLCHAIN_GCC_AT_LEAST_4_9

config BR2_PACKAGE_JSON_C
	bool "json-c"
	depends on BR2_TOOLCHAIN_HAS_SYNC_4

config BR2_PACKAGE_LIBCURL
	bool "libcurl"

config BR2_PACKAGE_LIBCURL_FORCE_TLS
	bool
	depends on BR2_PACKAGE_LIBCURL

config BR2_PACKAGE_OPENSSL
	bool "openssl"

config BR2_PACKAGE_BEARSSL
	bool "bearssl"

config BR2_PACKAGE_GNUTLS
	bool "gnutls"

config BR2_PACKAGE_MBEDTLS
	bool "mbedtls"

config BR2_PACKAGE_WOLFSSL
	bool "wolfssl"

config BR2_PACKAGE_LIBMICROHTTPD
	bool "libmicrohttpd"

config BR2_PACKAGE_ZLIB
	bool "zlib support"

config BR2_PACKAGE_ZSTD
	bool "zstd"

config BR2_PACKAGE_ELFUTILS
	bool "elfutils"

config BR2_PACKAGE_PCRE2
	bool "pcre2"

menu "External options"

source "$BR2_EXTERNAL_FAULTD_PATH/Config.in"

endmenu
"""

# How Buildroot decides what each PACKAGECONFIG of the Yocto recipe decides there: a sub-option
# of its own (BR2_PACKAGE_FAULTD_<NAME>) or what this table says.
YOCTO_COUNTERPARTS = {
    "systemd": "BR2_PACKAGE_SYSTEMD",
    "sysvinit": "BR2_INIT_BUSYBOX / BR2_INIT_SYSV (FAULTD_INSTALL_INIT_SYSV)",
    "zstd": "BR2_PACKAGE_ZSTD",
    "stacktrace": "BR2_PACKAGE_ELFUTILS",
    "manpages": "none: Buildroot removes /usr/share/man from the target",
}

# Buildroot's meson-package configure arguments for a target package (package/pkg-meson.mk),
# less the cross file; plain instead of release only to build faster.
MESON_PACKAGE_ARGS = ["--prefix=/usr", "--libdir=lib", "--default-library=shared",
                      "--buildtype=plain", "-Db_pie=false", "-Dstrip=false"]

# Where a package may install on a Buildroot target, as (pattern, when).
TARGET_LAYOUT = [
    (r"/usr/s?bin/[^/]+", None),
    (r"/usr/libexec/[^/]+", None),
    (r"/etc/[^/]+\.conf", None),
    (r"/etc/init\.d/S\d\d[^/]+", "sysv"),
    (r"/usr/lib/systemd/system/[^/]+\.service", "systemd"),
    (r"/usr/lib/sysctl\.d/[^/]+\.conf", None),
    (r"/usr/lib/tmpfiles\.d/[^/]+\.conf", None),
    (r"/usr/share/bash-completion/completions/[^/]+", None),
]

MAKE_STUB = """\
include $(DOT_CONFIG)
BR2_EXTERNAL_FAULTD_PATH := $(EXTERNAL)
INSTALL := install
meson-package :=
include $(BR2_EXTERNAL_FAULTD_PATH)/external.mk
$(info FAULTD_VERSION=$(strip $(FAULTD_VERSION)))
$(info FAULTD_SITE=$(strip $(FAULTD_SITE)))
$(info FAULTD_SITE_METHOD=$(strip $(FAULTD_SITE_METHOD)))
$(info FAULTD_LICENSE=$(strip $(FAULTD_LICENSE)))
$(info FAULTD_LICENSE_FILES=$(strip $(FAULTD_LICENSE_FILES)))
$(info FAULTD_DEPENDENCIES=$(strip $(FAULTD_DEPENDENCIES)))
$(info FAULTD_CONF_OPTS=$(strip $(FAULTD_CONF_OPTS)))
.PHONY: print
print:
	@:
# Buildroot runs these with $(@D) the package's build directory, which holds the meson
# build directory "build".
$(PKG_BUILD_DIR)/.stamp_init_sysv:
	$(FAULTD_INSTALL_INIT_SYSV)
$(PKG_BUILD_DIR)/.stamp_init_systemd:
	$(FAULTD_INSTALL_INIT_SYSTEMD)
"""


def make_vars(dot_config, tmp):
    stub = os.path.join(tmp, "stub.mk")
    with open(stub, "w") as f:
        f.write(MAKE_STUB)
    out = pu.run(["make", "-s", "-f", stub, f"DOT_CONFIG={dot_config}", f"EXTERNAL={EXTERNAL}",
                  f"PKG_BUILD_DIR={tmp}", "print"])
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class KconfigModel:
    """package/faultd/Config.in inside the Buildroot model, through kconfiglib."""

    def __init__(self, tmp):
        path = os.path.join(tmp, "Config.in")
        with open(path, "w") as f:
            f.write(BUILDROOT_MODEL)
        os.environ["BR2_EXTERNAL_FAULTD_PATH"] = EXTERNAL
        os.environ["KCONFIG_WARN_UNDEF"] = "y"
        # Buildroot's symbols carry no CONFIG_ prefix in .config.
        os.environ["CONFIG_"] = ""
        self.kconf = kconfiglib.Kconfig(path, warn_to_stderr=False)
        self.tmp = tmp

    def configure(self, values):
        """Sets symbols in order, as a user would in menuconfig; fails on an impossible one."""
        self.kconf.unset_values()
        for name, value in values:
            sym = self.kconf.syms[name]
            ok = sym.set_value(value)
            assert ok and sym.str_value == value, (
                f"{name}={value} cannot be set (visibility {sym.visibility}, value "
                f"{sym.str_value}): {pu.rel(CONFIG_IN)} or the model's dependencies")
        return self

    def value(self, name):
        return self.kconf.syms[name].str_value

    def write(self, name):
        path = os.path.join(self.tmp, name)
        self.kconf.write_config(path)
        return path


class BuildrootPackageTest(unittest.TestCase):
    def assertNoErrors(self, errors):
        self.assertFalse(errors, "\n" + "\n".join(errors))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="faultd-buildroot-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def model(self):
        self.assertIsNotNone(kconfiglib, "python3-kconfiglib is not installed (tests/dev)")
        return KconfigModel(self.tmp)

    # --- the files themselves --------------------------------------------------------------

    def test_external_tree(self):
        desc = pu.read(os.path.join(EXTERNAL, "external.desc"))
        self.assertRegex(desc, r"(?m)^name:\s*FAULTD\s*$",
                         "external.desc: the name must be FAULTD (BR2_EXTERNAL_FAULTD_PATH)")
        self.assertIn('source "$BR2_EXTERNAL_FAULTD_PATH/package/faultd/Config.in"',
                      pu.read(os.path.join(EXTERNAL, "Config.in")))
        self.assertIn("$(BR2_EXTERNAL_FAULTD_PATH)/package/*/*.mk",
                      pu.read(os.path.join(EXTERNAL, "external.mk")))

    def test_check_package_rules_of_faultd_mk(self):
        errors = []
        lines = pu.read(FAULTD_MK).split("\n")
        where = pu.rel(FAULTD_MK)
        header = ["#" * 80, "#", "# faultd", "#", "#" * 80, ""]
        for i, expected in enumerate(header, 1):
            if lines[i - 1] != expected:
                errors.append(f"{where}:{i}: the header line must be {expected!r}")
        if lines[-1] != "" or lines[-2] == "":
            errors.append(f"{where}: must end with exactly one newline")
        in_define = continuation = False
        conditional = 0
        for lineno, line in enumerate(lines, 1):
            if line != line.rstrip():
                errors.append(f"{where}:{lineno}: trailing whitespace")
            if lineno > 1 and line == "" and lines[lineno - 2] == "":
                errors.append(f"{where}:{lineno}: consecutive empty lines")
            if re.search(r"[^$]\$\{\w+\}", line) and not line.startswith("#"):
                errors.append(f"{where}:{lineno}: use $() for variables, not ${{}}")
            if re.search(r"(  |\t ?)\\$", line):
                errors.append(f"{where}:{lineno}: one space before a backslash")
            m = re.match(r"^(?:define\s+)?([A-Z0-9_]+)\s*(?:\+|:|\?)?=|^define\s+([A-Z0-9_]+)",
                         line)
            if m and not (m.group(1) or m.group(2)).startswith("FAULTD_"):
                errors.append(f"{where}:{lineno}: {m.group(1) or m.group(2)} is not FAULTD_*")
            if re.match(r"^\s*define\s", line):
                in_define = True
            elif re.match(r"^\s*endef\b", line):
                in_define = False
            elif (in_define or continuation) and line and not line.startswith("\t") \
                    and not line.startswith("#"):
                errors.append(f"{where}:{lineno}: expected indent with tabs")
            elif not (in_define or continuation) and line.startswith("\t"):
                errors.append(f"{where}:{lineno}: unexpected indent with tabs")
            continuation = line.endswith("\\") and not line.startswith("#")
            if re.match(r"^\s*if(n)?(eq|def)\b", line):
                conditional += 1
            elif re.match(r"^\s*endif\b", line):
                conditional -= 1
            elif conditional and re.match(r"^FAULTD_(CONF_OPTS|DEPENDENCIES)\s*:?=", line):
                errors.append(f"{where}:{lineno}: conditional override of a variable")
        self.assertNoErrors(errors)

    def test_check_package_rules_of_config_in(self):
        errors = []
        order = {"bool": 1, "prompt": 1, "string": 1, "default": 2, "depends": 3, "select": 4,
                 "help": 5}
        top_level = {"choice", "comment", "config", "endchoice", "endif", "endmenu", "if",
                     "menu", "menuconfig", "source"}
        for path in (CONFIG_IN, os.path.join(EXTERNAL, "Config.in")):
            where = pu.rel(path)
            help_text = first_help = continuation = False
            state = 0
            for lineno, line in enumerate(pu.read(path).splitlines(), 1):
                stripped = line.strip()
                if line != line.rstrip():
                    errors.append(f"{where}:{lineno}: trailing whitespace")
                if not stripped or stripped.startswith("#"):
                    continue
                if continuation:
                    if not line.startswith("\t"):
                        errors.append(f"{where}:{lineno}: continuation line not tab-indented")
                    continuation = line.endswith("\\")
                    continue
                continuation = line.endswith("\\")
                word = stripped.split()[0]
                if help_text and line.startswith("\t  "):
                    fmt = r"\t  \S.{0,61}" if first_help else r"\t  .{0,62}"
                    first_help = False
                    if not re.fullmatch(fmt, line) and not re.fullmatch(r"\t  https?://\S*",
                                                                        line):
                        errors.append(f"{where}:{lineno}: help text: <tab><2 spaces><62 chars>")
                    continue
                help_text = False
                if word in top_level:
                    state = 0
                    if line[0].isspace():
                        errors.append(f"{where}:{lineno}: {word} should not be indented")
                    continue
                if word in order:
                    if not line.startswith("\t" + word):
                        errors.append(f"{where}:{lineno}: should be indented with one tab")
                    if order[word] < state:
                        errors.append(f"{where}:{lineno}: attributes order: type, default, "
                                      "depends on, select, help")
                    state = order[word]
                if re.fullmatch(r"\tdefault n", line):
                    errors.append(f"{where}:{lineno}: 'default n' is redundant")
                if stripped == "help":
                    help_text = first_help = True
        self.assertNoErrors(errors)

    def test_version_license_and_site(self):
        version, license_, _ = pu.project()
        v = make_vars(os.devnull, self.tmp)
        self.assertEqual(v["FAULTD_VERSION"], version,
                         f"{pu.rel(FAULTD_MK)}: FAULTD_VERSION differs from meson.build's")
        self.assertEqual(v["FAULTD_LICENSE"], license_, f"{pu.rel(FAULTD_MK)}: FAULTD_LICENSE")
        self.assertTrue(v["FAULTD_LICENSE_FILES"].split(),
                        f"{pu.rel(FAULTD_MK)}: no FAULTD_LICENSE_FILES (make legal-info needs it)")
        for f in v["FAULTD_LICENSE_FILES"].split():
            self.assertTrue(os.path.isfile(os.path.join(pu.SOURCE_ROOT, f)),
                            f"{pu.rel(FAULTD_MK)}: FAULTD_LICENSE_FILES names {f}, which the "
                            "source does not have")
        self.assertEqual(v["FAULTD_SITE_METHOD"], "local",
                         f"{pu.rel(FAULTD_MK)}: the source must be the repository (local)")
        self.assertEqual(os.path.realpath(v["FAULTD_SITE"]), pu.SOURCE_ROOT,
                         f"{pu.rel(FAULTD_MK)}: FAULTD_SITE is not the repository's top")

    def test_every_meson_argument_is_a_valid_option(self):
        options = pu.meson_options()
        errors = []
        for lineno, name, value in pu.d_args_of_file(FAULTD_MK):
            why = pu.check_meson_arg(name, value, options)
            if why:
                errors.append(f"{pu.rel(FAULTD_MK)}:{lineno}: -D{name}={value}: {why}")
        self.assertNoErrors(errors)

    def test_sub_options_mirror_the_yocto_packageconfig(self):
        k = self.model()
        names = set()
        for root, _, files in os.walk(RECIPES):
            for f in files:
                if f.endswith(".bb"):
                    names |= set(re.findall(r"^PACKAGECONFIG\[([\w-]+)\]",
                                            pu.read(os.path.join(root, f)), re.M))
        self.assertTrue({"systemd", "coredump", "collectd", "statsd"} <= names)
        for name in sorted(names):
            sym = f"BR2_PACKAGE_FAULTD_{name.upper().replace('-', '_')}"
            self.assertTrue(sym in k.kconf.syms and k.kconf.syms[sym].nodes
                            or name in YOCTO_COUNTERPARTS,
                            f"the Yocto recipe has PACKAGECONFIG[{name}]; "
                            f"{pu.rel(CONFIG_IN)} has no {sym}")

    # --- Kconfig ---------------------------------------------------------------------------

    def test_kconfig_parses_without_warnings(self):
        k = self.model()
        self.assertNoErrors(k.kconf.warnings)
        for lineno, line in enumerate(pu.read(FAULTD_MK).splitlines(), 1):
            for sym in re.findall(r"\bBR2_(?!EXTERNAL_)\w+", line):
                self.assertTrue(sym in k.kconf.syms and k.kconf.syms[sym].nodes,
                                f"{pu.rel(FAULTD_MK)}:{lineno}: {sym} is defined neither in "
                                f"{pu.rel(CONFIG_IN)} nor in Buildroot")

    def test_kconfig_dependencies_and_selects(self):
        k = self.model().configure([("BR2_PACKAGE_FAULTD", "y")])
        for sym in ("BR2_PACKAGE_LIBUV", "BR2_PACKAGE_JSON_C", "BR2_PACKAGE_LIBCURL",
                    "BR2_PACKAGE_LIBCURL_FORCE_TLS", "BR2_PACKAGE_OPENSSL", "BR2_PACKAGE_ZLIB",
                    "BR2_PACKAGE_FAULTD_COREDUMP", "BR2_PACKAGE_FAULTD_STATSD",
                    "BR2_PACKAGE_FAULTD_LOGS", "BR2_PACKAGE_PCRE2"):
            self.assertEqual(k.value(sym), "y", f"{pu.rel(CONFIG_IN)}: {sym} is not y with "
                             "faultd's defaults")
        where = pu.rel(CONFIG_IN)
        self.assertEqual(k.value("BR2_PACKAGE_FAULTD_COLLECTD"), "n", where)
        self.assertEqual(k.value("BR2_PACKAGE_LIBMICROHTTPD"), "n", where)
        self.assertNoErrors(k.kconf.warnings)

        k.configure([("BR2_PACKAGE_FAULTD", "y"), ("BR2_PACKAGE_FAULTD_COLLECTD", "y")])
        self.assertEqual(k.value("BR2_PACKAGE_LIBMICROHTTPD"), "y",
                         f"{where}: the collectd intake does not select libmicrohttpd")

        # Another TLS library is used as it is, no OpenSSL besides it.
        k.configure([("BR2_PACKAGE_GNUTLS", "y"), ("BR2_PACKAGE_FAULTD", "y")])
        self.assertEqual(k.value("BR2_PACKAGE_OPENSSL"), "n",
                         f"{where}: OpenSSL is selected although GnuTLS is there")

        comment = next(n for n in k.kconf.node_iter() if n.item == kconfiglib.COMMENT
                       and "faultd" in n.prompt[0])
        for toolchain in (("BR2_STATIC_LIBS", "y"), ("BR2_TOOLCHAIN_GCC_AT_LEAST_4_9", "n"),
                          ("BR2_TOOLCHAIN_HAS_THREADS_NPTL", "n")):
            k.configure([toolchain])
            self.assertEqual(k.kconf.syms["BR2_PACKAGE_FAULTD"].visibility, 0,
                             f"faultd can be selected with {toolchain[0]}={toolchain[1]}")
            self.assertTrue(kconfiglib.expr_value(comment.dep),
                            f"no comment explains why faultd is hidden with {toolchain}")
        k.configure([("BR2_USE_MMU", "n")])
        self.assertEqual(k.kconf.syms["BR2_PACKAGE_FAULTD"].visibility, 0)
        self.assertFalse(kconfiglib.expr_value(comment.dep), "comment shown without an MMU")

    # --- real builds -----------------------------------------------------------------------

    def build(self, k, init):
        dot_config = k.write(".config")
        v = make_vars(dot_config, self.tmp)
        options = pu.meson_options()
        conf_opts = v["FAULTD_CONF_OPTS"].split()
        d_args = pu.effective_d_args(conf_opts)
        where = pu.rel(FAULTD_MK)
        for name, value in d_args.items():
            self.assertIsNone(pu.check_meson_arg(name, value, options), f"{where}: -D{name}")
        for opt in options.values():
            if opt.type == "feature" and opt.value == "auto":
                self.assertIn(opt.name, d_args, f"{where}: the auto feature {opt.name!r} is not "
                              "set in FAULTD_CONF_OPTS")
        # Each dependency is a package the configuration has, and each library the build
        # needs with these options is a dependency.
        deps = v["FAULTD_DEPENDENCIES"].split()
        for dep in deps:
            if dep.startswith("host-"):
                continue
            sym = "BR2_PACKAGE_" + dep.upper().replace("-", "_")
            self.assertEqual(k.value(sym), "y", f"{where}: FAULTD_DEPENDENCIES has {dep}, "
                             f"which {pu.rel(CONFIG_IN)} does not select ({sym})")
        self.assertIn("host-pkgconf", deps)
        for name, option, src in pu.build_requirements():
            self.assertIn(name, pu.PROVIDERS, f"{src}: the build needs {name!r}, which the "
                          "tests cannot map to a package: add it to PROVIDERS and faultd.mk")
            provider = pu.PROVIDERS[name][1]
            if provider and (option is None or d_args.get(option) == "enabled"):
                self.assertIn(provider, deps, f"{src} needs {name!r}; {where}: "
                              f"FAULTD_DEPENDENCIES lacks {provider}")

        builddir = os.path.join(self.tmp, "build")
        target = os.path.join(self.tmp, "target")
        pu.build_and_install(MESON_PACKAGE_ARGS + conf_opts, builddir, target)
        # pkg-generic.mk: the init system's install commands, after the target installation.
        stamp = {"sysv": ".stamp_init_sysv", "systemd": ".stamp_init_systemd"}[init]
        pu.run(["make", "-s", "-f", os.path.join(self.tmp, "stub.mk"),
                f"DOT_CONFIG={dot_config}", f"EXTERNAL={EXTERNAL}", f"PKG_BUILD_DIR={self.tmp}",
                f"TARGET_DIR={target}", os.path.join(self.tmp, stamp)])
        return target, d_args

    def check_target(self, target, init, d_args):
        files = pu.installed_files(target)
        errors = []
        for f in sorted(files):
            allowed = [when for pattern, when in TARGET_LAYOUT if re.fullmatch(pattern, f)]
            if not allowed:
                errors.append(f"{f}: not where a Buildroot package installs")
            elif all(w not in (None, init) for w in allowed):
                errors.append(f"{f}: only for the {allowed[0]} init system, this is {init}")
        for p, lineno, program in pu.runtime_references(target, files):
            if program not in files:
                errors.append(f"{p}:{lineno} starts {program}, which the target lacks")
        self.assertNoErrors(errors)
        for f in ("/usr/sbin/faultd", "/usr/bin/faultctl", "/etc/faultd.conf"):
            self.assertIn(f, files)
        self.assertEqual("/usr/libexec/faultd-core-handler" in files,
                         d_args["coredump"] == "enabled")
        init_scripts = [f for f in files if f.startswith("/etc/init.d/")]
        units = [f for f in files if f.endswith(".service")]
        if init == "sysv":
            self.assertEqual(init_scripts, ["/etc/init.d/S50faultd"])
            self.assertTrue(os.access(os.path.join(target, "etc/init.d/S50faultd"), os.X_OK))
            self.assertEqual(units, [])
        else:
            self.assertEqual(init_scripts, [])
            self.assertEqual(units, ["/usr/lib/systemd/system/faultd.service"])

    def test_busybox_init_with_default_options(self):
        k = self.model().configure([("BR2_INIT_BUSYBOX", "y"), ("BR2_PACKAGE_FAULTD", "y")])
        target, d_args = self.build(k, "sysv")
        expected = {"systemd": "disabled", "coredump": "enabled", "statsd": "enabled",
                    "logs": "enabled", "collectd": "disabled", "zstd": "disabled",
                    "stacktrace": "disabled", "sysvinit": "disabled"}
        self.assertEqual({o: d_args.get(o) for o in expected}, expected)
        self.check_target(target, "sysv", d_args)
        init = pu.read(os.path.join(target, "etc/init.d/S50faultd"))
        generated = pu.read(os.path.join(self.tmp, "build", "systemd", "faultd.init"))
        self.assertEqual(init, generated, "S50faultd is not the script the build generated")

    def test_systemd_with_every_option(self):
        k = self.model().configure([
            ("BR2_INIT_SYSTEMD", "y"), ("BR2_PACKAGE_ZSTD", "y"), ("BR2_PACKAGE_ELFUTILS", "y"),
            ("BR2_PACKAGE_FAULTD", "y"),
            ("BR2_PACKAGE_FAULTD_COREDUMP", "y"), ("BR2_PACKAGE_FAULTD_COLLECTD", "y"),
            ("BR2_PACKAGE_FAULTD_STATSD", "y"), ("BR2_PACKAGE_FAULTD_LOGS", "y")])
        self.assertEqual(k.value("BR2_PACKAGE_SYSTEMD"), "y")
        target, d_args = self.build(k, "systemd")
        for option in ("systemd", "coredump", "collectd", "statsd", "logs", "zstd", "stacktrace"):
            self.assertEqual(d_args[option], "enabled", option)
        self.check_target(target, "systemd", d_args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
