#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Yocto layer (packaging/yocto/meta-faultd) against the build.

bitbake is not available here, so the recipe is read by a small evaluator that knows the
statements the recipe uses (=, ?=, ??=, +=, :append, flags, overrides, ${VAR}, ${@...}) and the
parts of OE-core's classes and bitbake.conf that decide what gets built and where it goes
(meson.bbclass's options, PACKAGECONFIG, the systemd and update-rc.d classes, default FILES).
For a distro with systemd, one with SysV init, and every PACKAGECONFIG at once, faultd is
configured with exactly the options do_configure would pass, built, installed into a DESTDIR and
split into packages as do_package would; every installed file must land in a package
("installed-vs-shipped"), the unit and init script must exist, and what the unit, init script
and sysctl.d file start must be shipped in ${PN}.
"""
import fnmatch
import glob
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import packaging_util as pu  # noqa: E402

LAYER = os.path.join(pu.SOURCE_ROOT, "packaging", "yocto", "meta-faultd")
RECIPES = glob.glob(os.path.join(LAYER, "recipes-*", "faultd", "faultd_*.bb"))
RECIPE = RECIPES[0] if len(RECIPES) == 1 else None
LAYER_CONF = os.path.join(LAYER, "conf", "layer.conf")

# Release series and the meson they ship, for those too old for faultd's meson_version.
OLD_SERIES_MESON = {"dunfell": "0.53", "hardknott": "0.57", "honister": "0.58",
                    "kirkstone": "0.61", "langdale": "0.63"}
KNOWN_SERIES = {"dunfell", "hardknott", "honister", "kirkstone", "langdale", "mickledore",
                "nanbield", "scarthgap", "styhead", "walnascar", "whinlatter", "wrynose",
                "blacksail"}

# bitbake.conf (OE-core master): the layout and the default FILES of each package.
BITBAKE_CONF = {
    "base_prefix": "",
    "prefix": "/usr",
    "exec_prefix": "${prefix}",
    "root_prefix": "${@bb.utils.contains('DISTRO_FEATURES', 'usrmerge', '${exec_prefix}', "
                   "'${base_prefix}', d)}",
    "base_bindir": "${root_prefix}/bin",
    "base_sbindir": "${root_prefix}/sbin",
    "base_libdir": "${root_prefix}/lib",
    "nonarch_base_libdir": "${root_prefix}/lib",
    "sysconfdir": "${base_prefix}/etc",
    "servicedir": "${base_prefix}/srv",
    "sharedstatedir": "${base_prefix}/com",
    "localstatedir": "${base_prefix}/var",
    "runtimedir": "${base_prefix}/run",
    "datadir": "${prefix}/share",
    "infodir": "${datadir}/info",
    "mandir": "${datadir}/man",
    "docdir": "${datadir}/doc",
    "systemd_unitdir": "${nonarch_base_libdir}/systemd",
    "systemd_system_unitdir": "${nonarch_base_libdir}/systemd/system",
    "nonarch_libdir": "${exec_prefix}/lib",
    "systemd_user_unitdir": "${nonarch_libdir}/systemd/user",
    "bindir": "${exec_prefix}/bin",
    "sbindir": "${exec_prefix}/sbin",
    "libdir": "${exec_prefix}/lib",
    "libexecdir": "${exec_prefix}/libexec",
    "includedir": "${exec_prefix}/include",
    "SOLIBS": ".so.*",
    "SOLIBSDEV": ".so",
    "BPN": "${PN}",
    "FILE_DIRNAME": "${@os.path.dirname(d.getVar('FILE'))}",
    "PACKAGE_BEFORE_PN": "",
    "PACKAGES": "${PN}-src ${PN}-dbg ${PN}-staticdev ${PN}-dev ${PN}-doc ${PN}-locale "
                "${PACKAGE_BEFORE_PN} ${PN}",
    "FILES:${PN}": "${bindir}/* ${sbindir}/* ${libexecdir}/* ${libdir}/lib*${SOLIBS} "
                   "${sysconfdir} ${sharedstatedir} ${localstatedir} "
                   "${base_bindir}/* ${base_sbindir}/* ${base_libdir}/*${SOLIBS} "
                   "${base_prefix}/lib/udev ${prefix}/lib/udev ${base_libdir}/udev "
                   "${libdir}/udev ${datadir}/${BPN} ${libdir}/${BPN}/* ${datadir}/pixmaps "
                   "${datadir}/applications ${datadir}/idl ${datadir}/omf ${datadir}/sounds "
                   "${libdir}/bonobo/servers",
    "FILES:${PN}-doc": "${docdir} ${mandir} ${infodir} ${datadir}/gtk-doc "
                       "${datadir}/gnome/help",
    "FILES:${PN}-dev": "${includedir} ${base_libdir}/lib*${SOLIBSDEV} ${libdir}/lib*${SOLIBSDEV} "
                       "${libdir}/*.la ${libdir}/*.o ${libdir}/pkgconfig ${datadir}/pkgconfig "
                       "${datadir}/aclocal ${base_libdir}/*.o ${libdir}/${BPN}/*.la "
                       "${base_libdir}/*.la ${libdir}/cmake ${datadir}/cmake",
    "FILES:${PN}-staticdev": "${libdir}/*.a ${base_libdir}/*.a ${libdir}/${BPN}/*.a",
    "FILES:${PN}-dbg": "/usr/lib/debug /usr/lib/debug-static /usr/src/debug",
    "FILES:${PN}-locale": "${datadir}/locale",
}

# What the classes the recipe inherits set, as far as it matters here.
CLASSES = {
    "meson": [("EXTRA_OEMESON", ":append", " ${PACKAGECONFIG_CONFARGS}"),
              ("CONFIGURE_FILES", "=", "meson.build"),
              ("MESON_BUILDTYPE", "?=", "plain")],
    "pkgconfig": [],
    "systemd": [("SYSTEMD_PACKAGES", "?=", "${PN}"), ("SYSTEMD_AUTO_ENABLE", "??=", "enable")],
    "update-rc.d": [("INITSCRIPT_PARAMS", "?=", "defaults"),
                    ("INIT_D_DIR", "=", "${sysconfdir}/init.d")],
    "bash-completion": [("PACKAGES", "+=", "${PN}-bash-completion"),
                        ("FILES:${PN}-bash-completion", "=",
                         "${datadir}/bash-completion ${sysconfdir}/bash_completion.d")],
    "externalsrc": [("EXTERNALSRC_SYMLINKS", "?=", "oe-workdir:${WORKDIR} oe-logs:${T}")],
}

ASSIGN_RE = re.compile(r"^(?P<var>[\w${}:.\-+/]+?)(?:\[(?P<flag>[\w\-]+)\])?\s*"
                       r"(?P<op>\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*\"(?P<val>.*)\"\s*$")


class _Utils:
    @staticmethod
    def contains(var, checkvalues, truevalue, falsevalue, d):
        have = set((d.getVar(var) or "").split())
        return truevalue if set(checkvalues.split()) <= have else falsevalue

    @staticmethod
    def filter(var, checkvalues, d):
        have = set((d.getVar(var) or "").split())
        return " ".join(v for v in checkvalues.split() if v in have)


class _Bb:
    utils = _Utils


class Recipe:
    """A recipe's variables after parsing, for one DISTRO_FEATURES, as bitbake would see them."""

    def __init__(self, path, distro_features, packageconfig=None):
        self.path = path
        self.vars = {}
        self.weak = {}
        self.flags = {}
        self.deferred = []
        self.origin = {}
        self.inherits = []
        self.errors = []
        pn, pv = os.path.basename(path)[:-3].split("_", 1)
        self._set("PN", pn)
        self._set("PV", pv)
        for k, v in BITBAKE_CONF.items():
            self._set(k, v)
        self._set("FILE", path)
        self._set("DISTRO_FEATURES", distro_features)
        self._parse()
        if packageconfig is not None:
            self.vars["PACKAGECONFIG"] = packageconfig
        self._finalize()

    # --- parsing ---------------------------------------------------------------------------

    def _set(self, name, value, where=None):
        self.vars[self._name(name)] = value
        if where:
            self.origin[self._name(name)] = where

    def _name(self, name):
        return re.sub(r"\$\{PN\}", self.vars.get("PN", "${PN}"), name)

    def _statement(self, var, op, value, flag=None, where=None):
        name = self._name(var)
        parts = name.split(":")
        if parts[-1] in ("append", "prepend", "remove") and flag is None:
            self.deferred.append((":".join(parts[:-1]), parts[-1], value, where))
            return
        if flag is not None:
            self.flags[(name, flag)] = (value, where)
            return
        current = self.vars.get(name)
        if op == "=":
            new = value
        elif op == ":=":
            new = self.expand(value)
        elif op == "?=":
            new = value if current is None else current
        elif op == "??=":
            self.weak[name] = value
            if where:
                self.origin.setdefault(name, where)
            return
        elif op in ("+=", "=+"):
            base = current if current is not None else self.weak.get(name, "")
            new = f"{base} {value}" if op == "+=" else f"{value} {base}"
        elif op in (".=", "=."):
            base = current or ""
            new = base + value if op == ".=" else value + base
        self.vars[name] = new
        if where and op != "?=":
            self.origin[name] = where

    def _parse(self):
        lines = pu.read(self.path).split("\n")
        i = 0
        while i < len(lines):
            start = i + 1
            line = lines[i]
            while line.endswith("\\"):
                i += 1
                line = line[:-1] + lines[i]
            i += 1
            stripped = line.strip()
            where = f"{pu.rel(self.path)}:{start}"
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("inherit "):
                for cls in stripped.split()[1:]:
                    self.inherits.append(cls)
                    if cls not in CLASSES:
                        self.errors.append(f"{where}: class {cls!r} is not modelled by the test")
                        continue
                    for var, op, value in CLASSES[cls]:
                        if op.startswith(":"):
                            var, op = var + op, "="
                        self._statement(var, op, value)
                continue
            m = ASSIGN_RE.match(stripped)
            if not m:
                self.errors.append(f"{where}: statement not understood by the test: {stripped}")
                continue
            self._statement(m.group("var"), m.group("op"), m.group("val"), m.group("flag"),
                            where)

    def _finalize(self):
        for name, value in self.weak.items():
            self.vars.setdefault(name, value)
        for name, kind, value, where in self.deferred:
            cur = self.vars.get(name, "")
            if kind == "append":
                self.vars[name] = cur + value
            elif kind == "prepend":
                self.vars[name] = value + cur
            else:
                drop = set(self.expand(value).split())
                self.vars[name] = " ".join(w for w in self.expand(cur).split() if w not in drop)
        # base.bbclass: PACKAGECONFIG selects each flag's enable or disable arguments and adds
        # its build dependencies.
        enabled = set(self.getVar("PACKAGECONFIG").split())
        known = {f for (n, f) in self.flags if n == "PACKAGECONFIG"}
        for unknown in sorted(enabled - known):
            self.errors.append(f"PACKAGECONFIG has {unknown!r}, which has no PACKAGECONFIG[...]")
        confargs, depends = [], []
        for (name, flag), (value, _) in sorted(self.flags.items()):
            if name != "PACKAGECONFIG":
                continue
            fields = (self.expand(value).split(",") + [""] * 6)[:6]
            confargs.append(fields[0] if flag in enabled else fields[1])
            if flag in enabled:
                depends.append(fields[2])
        self.vars["PACKAGECONFIG_CONFARGS"] = " ".join(confargs)
        self.vars["DEPENDS"] = " ".join([self.vars.get("DEPENDS", "")] + depends)
        if "update-rc.d" in self.inherits:
            for var in ("INITSCRIPT_NAME", "INITSCRIPT_PARAMS"):
                if var not in self.vars:
                    self.errors.append(f"update-rc.d is inherited but {var} is not set")

    # --- expansion -------------------------------------------------------------------------

    def getVar(self, name, expand=True):
        value = self.vars.get(name)
        if value is None:
            return None
        return self.expand(value) if expand else value

    def expand(self, s, depth=0):
        if depth > 20:
            raise AssertionError(f"recursive expansion: {s}")
        out, i = [], 0
        while i < len(s):
            if s.startswith("${", i):
                j, level = i + 2, 1
                while j < len(s) and level:
                    level += {"{": 1, "}": -1}.get(s[j], 0)
                    j += 1
                inner = s[i + 2:j - 1]
                if inner.startswith("@"):
                    code = self.expand(inner[1:], depth + 1)
                    out.append(str(eval(code, {"d": self, "bb": _Bb, "os": os})))
                elif inner in self.vars:
                    out.append(self.expand(self.vars[inner], depth + 1))
                else:
                    out.append("${" + inner + "}")
                i = j
            else:
                out.append(s[i])
                i += 1
        return "".join(out)

    def where(self, name):
        return self.origin.get(name, pu.rel(self.path))

    # --- what do_configure and do_package do -----------------------------------------------

    def noprefix(self, var):
        return self.getVar(var).replace(self.getVar("prefix") + "/", "", 1)

    def meson_setup_args(self):
        """MESONOPTS of meson.bbclass, then EXTRA_OEMESON (which ends with
        PACKAGECONFIG_CONFARGS)."""
        opts = ["--prefix", self.getVar("prefix"), "--buildtype", self.getVar("MESON_BUILDTYPE")]
        for opt in ("bindir", "sbindir", "datadir", "libdir", "libexecdir", "includedir",
                    "mandir", "infodir"):
            opts += [f"--{opt}", self.noprefix(opt)]
        for opt in ("sysconfdir", "localstatedir", "sharedstatedir"):
            opts += [f"--{opt}", self.getVar(opt)]
        opts += ["--wrap-mode", "nodownload"]
        return opts + self.getVar("EXTRA_OEMESON").split()

    def has_feature(self, feature):
        return feature in self.getVar("DISTRO_FEATURES").split()

    def remove_init_dirs(self, destdir):
        """do_install's postfuncs from systemd.bbclass (RMINITDIR)."""
        if not self.has_feature("systemd"):
            shutil.rmtree(os.path.join(destdir, self.getVar("systemd_unitdir").lstrip("/")),
                          ignore_errors=True)
        elif not self.has_feature("sysvinit"):
            unitdir = os.path.join(destdir, self.getVar("systemd_system_unitdir").lstrip("/"))
            if os.path.isdir(unitdir) and os.listdir(unitdir):
                shutil.rmtree(os.path.join(destdir, self.getVar("INIT_D_DIR").lstrip("/")),
                              ignore_errors=True)

    def split_packages(self, destdir):
        """populate_packages: each package in PACKAGES order takes what its FILES match and no
        earlier package took. Returns ({package: set of paths}, errors)."""
        errors = []
        pn = self.getVar("PN")
        files = {p: self.getVar(f"FILES:{p}") or "" for p in self.getVar("PACKAGES").split()}
        if self.has_feature("systemd") and "systemd" in self.inherits:
            for pkg in self.getVar("SYSTEMD_PACKAGES").split():
                for service in (self.getVar(f"SYSTEMD_SERVICE:{pkg}") or "").split():
                    path = os.path.join(self.getVar("systemd_system_unitdir"), service)
                    if not os.path.lexists(os.path.join(destdir, path.lstrip("/"))):
                        errors.append(f"{self.where(f'SYSTEMD_SERVICE:{pkg}')}: {service} is not "
                                      f"installed in {os.path.dirname(path)} (systemd.bbclass "
                                      f"stops with \"Didn't find service unit\")")
                    files[pkg] += " " + path
        installed = pu.installed_files(destdir)
        taken, packages = set(), {}
        for pkg, patterns in files.items():
            packages[pkg] = set()
            for pattern in patterns.split():
                if "${" in pattern:
                    errors.append(f"FILES:{pkg}: {pattern!r} is not expanded")
                    continue
                for match in glob.glob(os.path.join(destdir, pattern.lstrip("/"))):
                    p = "/" + os.path.relpath(match, destdir)
                    under = [f for f in installed if f == p or f.startswith(p.rstrip("/") + "/")]
                    for f in under:
                        if f not in taken:
                            taken.add(f)
                            packages[pkg].add(f)
        for f in sorted(installed - taken):
            errors.append(f"{f} is installed but in no package (installed-vs-shipped): add it to "
                          f"FILES:{pn} at {self.where(f'FILES:{pn}')}")
        return packages, errors


class YoctoRecipeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert RECIPE, f"expected one faultd_<version>.bb in {LAYER}/recipes-*/faultd/, " \
            f"found {RECIPES}"

    def assertNoErrors(self, errors):
        self.assertFalse(errors, "\n" + "\n".join(errors))

    def recipe(self, features="systemd usrmerge", packageconfig=None):
        r = Recipe(RECIPE, features, packageconfig)
        self.assertNoErrors(r.errors)
        chosen = r.getVar("PACKAGECONFIG").split()
        if "manpages" in chosen and not shutil.which("scdoc"):
            print("test_yocto: scdoc is not installed, PACKAGECONFIG manpages left out",
                  file=sys.stderr)
            r = Recipe(RECIPE, features, " ".join(c for c in chosen if c != "manpages"))
        return r

    def test_version_is_the_projects(self):
        version, _, _ = pu.project()
        r = self.recipe()
        self.assertEqual(r.getVar("PV"), version,
                         f"{pu.rel(RECIPE)}: PV (from the file name) differs from meson.build's "
                         f"project version {version}: rename the recipe")

    def test_license_and_its_checksum(self):
        _, license_, _ = pu.project()
        r = self.recipe()
        self.assertEqual(r.getVar("LICENSE"), license_, f"{r.where('LICENSE')}: LICENSE")
        chk = r.getVar("LIC_FILES_CHKSUM")
        self.assertTrue(chk, f"{pu.rel(RECIPE)}: no LIC_FILES_CHKSUM")
        self.assertNoErrors(pu.license_checksum_errors(chk, r.getVar("EXTERNALSRC"),
                                                       r.where("LIC_FILES_CHKSUM")))

    def test_source_is_this_repository_and_nothing_is_fetched(self):
        r = self.recipe()
        self.assertIn("externalsrc", r.inherits)
        src = r.getVar("EXTERNALSRC")
        self.assertTrue(src.startswith("/"), f"{r.where('EXTERNALSRC')}: EXTERNALSRC must be "
                        f"absolute, is {src!r}")
        self.assertEqual(os.path.realpath(src), pu.SOURCE_ROOT,
                         f"{r.where('EXTERNALSRC')}: EXTERNALSRC is not the repository's top")
        self.assertEqual(r.getVar("EXTERNALSRC_SYMLINKS"), "",
                         f"{r.where('EXTERNALSRC_SYMLINKS')}: externalsrc would put symlinks "
                         "into the repository")
        for f in r.getVar("CONFIGURE_FILES").split():
            self.assertTrue(os.path.exists(os.path.join(src, f)),
                            f"{r.where('CONFIGURE_FILES')}: CONFIGURE_FILES names {f}, which "
                            "the source does not have")
        uris = (r.getVar("SRC_URI") or "").split()
        for uri in uris:
            self.assertTrue(uri.startswith("file://"),
                            f"{r.where('SRC_URI')}: {uri} would be fetched at build time")
        for lineno, line in enumerate(pu.read(RECIPE).splitlines(), 1):
            if not line.lstrip().startswith("#"):
                for url in re.findall(r"\b[a-z][\w+.-]*://\S*", line):
                    self.assertTrue(url.startswith("file://"),
                                    f"{pu.rel(RECIPE)}:{lineno}: {url} is a remote location")

    def test_layer_conf(self):
        text = pu.read(LAYER_CONF)
        where = pu.rel(LAYER_CONF)

        def value(var):
            m = re.search(rf"^{re.escape(var)}\s*(?:\+|\.|\?)?=\s*\"([^\"]*)\"", text, re.M)
            self.assertIsNotNone(m, f"{where}: {var} is not set")
            return m.group(1)

        self.assertIn("faultd", value("BBFILE_COLLECTIONS").split())
        pattern = value("BBFILE_PATTERN_faultd").replace("${LAYERDIR}", LAYER)
        self.assertRegex(RECIPE, pattern, f"{where}: BBFILE_PATTERN_faultd")
        self.assertRegex(value("BBFILE_PRIORITY_faultd"), r"^\d+$")
        self.assertIn("core", value("LAYERDEPENDS_faultd").split())
        globs = value("BBFILES").replace("${LAYERDIR}", LAYER).split()
        self.assertTrue(any(fnmatch.fnmatch(RECIPE, g) for g in globs),
                        f"{where}: BBFILES does not match {pu.rel(RECIPE)}")
        series = value("LAYERSERIES_COMPAT_faultd").split()
        self.assertTrue(series, f"{where}: LAYERSERIES_COMPAT_faultd is empty")
        _, _, meson_req = pu.project()
        for s in series:
            self.assertIn(s, KNOWN_SERIES, f"{where}: {s!r} is not a Yocto release series")
            if s in OLD_SERIES_MESON:
                self.assertGreaterEqual(
                    pu.version_tuple(OLD_SERIES_MESON[s]), pu.version_tuple(meson_req),
                    f"{where}: {s} ships meson {OLD_SERIES_MESON[s]}, faultd needs {meson_req}")

    def test_packageconfig_maps_feature_options(self):
        options = pu.meson_options()
        r = self.recipe()
        flags = {f: v for (n, f), v in r.flags.items() if n == "PACKAGECONFIG"}
        for needed in ("systemd", "coredump", "collectd", "statsd", "logs"):
            self.assertIn(needed, flags, f"{pu.rel(RECIPE)}: no PACKAGECONFIG[{needed}]")
        for flag, (value, where) in flags.items():
            on, off = (value.split(",") + [""])[:2]
            m_on = pu.D_ARG_RE.fullmatch(on.split()[0]) if on else None
            m_off = pu.D_ARG_RE.fullmatch(off.split()[0]) if off else None
            self.assertTrue(m_on and m_off and m_on.group(1) == m_off.group(1),
                            f"{where}: PACKAGECONFIG[{flag}] must enable and disable one "
                            "meson option")
            opt = options.get(m_on.group(1))
            self.assertTrue(opt and opt.type == "feature",
                            f"{where}: {m_on.group(1)} is not a feature option of meson.options")
            self.assertEqual((m_on.group(2), m_off.group(2)), ("enabled", "disabled"), where)

    def test_every_meson_argument_is_a_valid_option(self):
        options = pu.meson_options()
        errors = []
        for lineno, name, value in pu.d_args_of_file(RECIPE):
            why = pu.check_meson_arg(name, re.sub(r"\$\{\w+\}", "/x", value), options)
            if why:
                errors.append(f"{pu.rel(RECIPE)}:{lineno}: -D{name}={value}: {why}")
        self.assertNoErrors(errors)

    def check_configuration(self, r):
        """What holds for the options of one evaluation before anything is built."""
        options = pu.meson_options()
        args = r.meson_setup_args()
        where = r.where("EXTRA_OEMESON")
        for a in args:
            self.assertNotIn("${", a, f"{where}: {a!r} is not expanded")
        d_args = pu.effective_d_args(args)
        for name, value in d_args.items():
            self.assertIsNone(pu.check_meson_arg(name, value, options), f"{where}: -D{name}")
        # A feature left on auto turns on whatever the sysroot happens to have.
        for opt in options.values():
            if opt.type == "feature" and opt.value == "auto":
                self.assertIn(opt.name, d_args, f"{where}: the auto feature {opt.name!r} is not "
                              "set: map it in EXTRA_OEMESON or a PACKAGECONFIG")
        depends = set(r.getVar("DEPENDS").split())
        for name, option, src in pu.build_requirements():
            self.assertIn(name, pu.PROVIDERS, f"{src}: the build needs {name!r}, which the "
                          "tests cannot map to a recipe: add it to PROVIDERS and the recipe")
            provider = pu.PROVIDERS[name][0]
            if provider and (option is None or d_args.get(option) == "enabled"):
                when = f" with -D{option}=enabled" if option else ""
                self.assertIn(provider, depends,
                              f"{src} needs {name!r}{when}; {r.where('DEPENDS')}: DEPENDS or "
                              f"the PACKAGECONFIG lacks {provider}")
        return args

    def build(self, r):
        tmp = tempfile.mkdtemp(prefix="faultd-yocto-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        args = self.check_configuration(r)
        destdir = os.path.join(tmp, "image")
        pu.build_and_install(args, os.path.join(tmp, "build"), destdir)
        r.remove_init_dirs(destdir)
        packages, errors = r.split_packages(destdir)
        self.assertNoErrors(errors)
        return destdir, packages

    def check_packages(self, r, destdir, packages):
        pn = r.getVar("PN")
        main = packages[pn]
        for f in ("faultd", "faultctl"):
            self.assertTrue(any(os.path.basename(p) == f for p in main), f"{f} not in {pn}")
        for conf in r.getVar(f"CONFFILES:{pn}").split():
            self.assertIn(conf, main, f"{r.where(f'CONFFILES:{pn}')}: {conf} is not in {pn}")
        for p, lineno, target in pu.runtime_references(destdir, main):
            self.assertIn(target, main, f"{p}:{lineno} starts {target}, which {pn} lacks")
        mandir = r.getVar("mandir") + "/"
        for p in main:
            self.assertFalse(p.startswith(mandir), f"{p}: a man page in {pn}, not {pn}-doc")
        completions = r.getVar("datadir") + "/bash-completion/"
        for p in main:
            self.assertFalse(p.startswith(completions), f"{p}: not in {pn}-bash-completion")
        initscript = os.path.join(r.getVar("INIT_D_DIR"), r.getVar("INITSCRIPT_NAME"))
        if r.has_feature("sysvinit"):
            full = os.path.join(destdir, initscript.lstrip("/"))
            self.assertIn(initscript, main, f"{r.where('INITSCRIPT_NAME')}: with sysvinit, "
                          f"update-rc.d needs {initscript} in {pn}")
            self.assertTrue(os.access(full, os.X_OK), f"{initscript} is not executable")
        else:
            self.assertNotIn(initscript, main, "an init script without sysvinit")
        unit = os.path.join(r.getVar("systemd_system_unitdir"),
                            r.getVar(f"SYSTEMD_SERVICE:{pn}"))
        if r.has_feature("systemd"):
            self.assertIn(unit, main)
        else:
            self.assertNotIn(unit, main)
        # The sysctl.d and tmpfiles.d files are systemd's directories, not ${sysconfdir}'s.
        for p in main:
            if "/sysctl.d/" in p or "/tmpfiles.d/" in p:
                self.assertTrue(p.startswith(r.getVar("nonarch_libdir") + "/"), p)

    def test_systemd_distro(self):
        r = self.recipe("systemd usrmerge")
        d_args = pu.effective_d_args(r.meson_setup_args())
        self.assertEqual(d_args.get("systemd"), "enabled")
        self.assertEqual(d_args.get("sysvinit"), "disabled")
        destdir, packages = self.build(r)
        self.check_packages(r, destdir, packages)
        self.assertFalse(os.path.exists(os.path.join(destdir, "etc", "init.d")))

    def test_sysvinit_distro(self):
        r = self.recipe("sysvinit")
        d_args = pu.effective_d_args(r.meson_setup_args())
        self.assertEqual(d_args.get("systemd"), "disabled")
        self.assertEqual(d_args.get("sysvinit"), "enabled")
        destdir, packages = self.build(r)
        self.check_packages(r, destdir, packages)

    def test_every_packageconfig(self):
        flags = sorted({f for (n, f) in Recipe(RECIPE, "").flags if n == "PACKAGECONFIG"})
        r = self.recipe("systemd sysvinit usrmerge", " ".join(flags))
        flags = r.getVar("PACKAGECONFIG").split()
        d_args = pu.effective_d_args(r.meson_setup_args())
        for flag in ("systemd", "coredump", "collectd", "statsd", "logs"):
            self.assertEqual(d_args.get(flag), "enabled", flag)
        destdir, packages = self.build(r)
        self.check_packages(r, destdir, packages)
        pn = r.getVar("PN")
        if "manpages" in flags:
            self.assertTrue(packages[f"{pn}-doc"], "PACKAGECONFIG manpages installed no page")
            for p in packages[f"{pn}-doc"]:
                self.assertTrue(p.startswith(r.getVar("mandir") + "/man"), p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
