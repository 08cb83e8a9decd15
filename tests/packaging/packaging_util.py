# SPDX-License-Identifier: MIT
"""What the Yocto and Buildroot packaging tests share: the build's own facts and a real build.

The facts come from the repository, never from a copy in the tests: the options of meson.options
(name, type, choices), the project's version and license, and the dependencies meson.build asks
for and under which option. build_and_install() configures, builds and installs faultd with the
options a recipe passes, into a DESTDIR, as the distribution's build would.
"""
import hashlib
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.realpath(os.environ.get("SOURCE_ROOT") or os.path.join(HERE, "..", ".."))

# pkg-config modules and programs a meson.build asks for, and what provides them: the Yocto recipe
# (DEPENDS) and the Buildroot package (FAULTD_DEPENDENCIES). None: nothing to provide.
PROVIDERS = {
    "libuv": ("libuv", "libuv"),
    "json-c": ("json-c", "json-c"),
    "zlib": ("zlib", "zlib"),
    "libcurl": ("curl", "libcurl"),
    "libsystemd": ("systemd", "systemd"),
    "libmicrohttpd": ("libmicrohttpd", "libmicrohttpd"),
    "libzstd": ("zstd", "zstd"),
    "libdw": ("elfutils", "elfutils"),
    "libpcre2-8": ("libpcre2", "pcre2"),
    "scdoc": ("scdoc-native", "host-scdoc"),
    "threads": (None, None),
    # meson runs on it: python3native in meson.bbclass, host-python3 under host-meson.
    "python3": (None, None),
}

# Built-in meson options a recipe may set, and their valid values (None: any absolute path).
BUILTIN_OPTIONS = {
    "wrap_mode": {"default", "nofallback", "nodownload", "forcefallback", "nopromote"},
    "buildtype": {"plain", "debug", "debugoptimized", "release", "minsize", "custom"},
    "b_pie": {"true", "false"},
    "strip": {"true", "false"},
}

D_ARG_RE = re.compile(r"-D([A-Za-z_][\w.]*)=([^\s,\"'\\]+)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def rel(path):
    return os.path.relpath(path, SOURCE_ROOT)


class MesonOption:
    def __init__(self, name, type_, value, choices, line):
        self.name, self.type, self.value, self.choices, self.line = (name, type_, value,
                                                                      choices, line)


def meson_options():
    """The options of meson.options: {name: MesonOption}."""
    path = os.path.join(SOURCE_ROOT, "meson.options")
    text = read(path)
    options = {}
    for m in re.finditer(r"^option\(\s*'([^']+)'(.*?)(?=^option\(|\Z)", text, re.S | re.M):
        name, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        t = re.search(r"\btype\s*:\s*'(\w+)'", body)
        v = re.search(r"\bvalue\s*:\s*('[^']*'|true|false|\d+)", body)
        c = re.search(r"\bchoices\s*:\s*\[([^\]]*)\]", body)
        assert t, f"meson.options:{line}: option {name!r} has no type"
        value = v.group(1).strip("'") if v else None
        choices = re.findall(r"'([^']*)'", c.group(1)) if c else None
        options[name] = MesonOption(name, t.group(1), value, choices, line)
    assert options, "meson.options: no option found"
    return options


def project():
    """(version, license, meson_version requirement) from the project() call of meson.build."""
    text = read(os.path.join(SOURCE_ROOT, "meson.build"))
    start = re.search(r"^project\(", text, re.M).end()
    call = text[start:text.index("\n\n", start)]
    version = re.search(r"\bversion\s*:\s*'([^']+)'", call).group(1)
    license_ = re.search(r"\blicense\s*:\s*'([^']+)'", call).group(1)
    meson_req = re.search(r"\bmeson_version\s*:\s*'>=\s*([\d.]+)'", call).group(1)
    return version, license_, meson_req


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v))


def build_requirements():
    """What meson.build files (outside tests/) ask for, as (name, option, where):
    option is None when the requirement is unconditional. Lookups with required : false are
    left out: they only fill defaults that the recipes set explicitly."""
    found = []
    for root, dirs, files in os.walk(SOURCE_ROOT):
        top = os.path.relpath(root, SOURCE_ROOT).split(os.sep)[0]
        if top in ("tests", ".git", "packaging") or top.startswith("build"):
            dirs[:] = []
            continue
        if "meson.build" not in files:
            continue
        path = os.path.join(root, "meson.build")
        for lineno, line in enumerate(read(path).splitlines(), 1):
            for m in re.finditer(r"(?<![\w.])(dependency|find_program)\(\s*'([^']+)'(.*)", line):
                rest = m.group(3)
                if re.search(r"required\s*:\s*false", rest):
                    continue
                opt = re.search(r"required\s*:\s*get_option\('([^']+)'\)", rest)
                found.append((m.group(2), opt.group(1) if opt else None,
                              f"{rel(path)}:{lineno}"))
    return found


def check_meson_arg(name, value, options):
    """None when -Dname=value is valid for meson.options or a known built-in, else why not."""
    if name in options:
        opt = options[name]
        if opt.type == "feature":
            ok = value in ("enabled", "disabled", "auto")
        elif opt.type == "boolean":
            ok = value in ("true", "false")
        elif opt.type == "combo":
            ok = value in (opt.choices or [])
        elif opt.type == "string":
            # Every string option of faultd is a directory: absolute, or empty for the default.
            ok = value == "" or value.startswith("/")
        else:
            ok = True
        return None if ok else f"{value!r} is not a valid value of {opt.type} option {name!r}"
    if name in BUILTIN_OPTIONS:
        valid = BUILTIN_OPTIONS[name]
        return None if value in valid else f"{value!r} is not a valid value of {name!r}"
    return f"no option {name!r} in meson.options (nor a built-in option the tests know)"


def d_args_of_file(path):
    """Every -Dname=value written in a file, as (line number, name, value)."""
    found = []
    for lineno, line in enumerate(read(path).splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for m in D_ARG_RE.finditer(line):
            found.append((lineno, m.group(1), m.group(2)))
    return found


def effective_d_args(args):
    """{name: value} of -Dname=value arguments, the last one of a name winning, as in meson."""
    result = {}
    for a in args:
        m = re.fullmatch(r"-D([A-Za-z_][\w.]*)=(.*)", a)
        if m:
            result[m.group(1)] = m.group(2)
    return result


def license_checksum_errors(lic_files_chksum, srcdir, where):
    """Checks LIC_FILES_CHKSUM entries the way OE's insane class does: md5 of the whole file or
    of lines beginline..endline, newlines included."""
    errors = []
    for entry in lic_files_chksum.split():
        if not entry.startswith("file://"):
            errors.append(f"{where}: {entry!r} is not a file:// entry")
            continue
        path, *params = entry[len("file://"):].split(";")
        params = dict(p.split("=", 1) for p in params)
        full = os.path.join(srcdir, path)
        if not os.path.isfile(full):
            errors.append(f"{where}: {path} does not exist in the source tree")
            continue
        begin, end = int(params.get("beginline", 0)), int(params.get("endline", 0))
        md5 = hashlib.md5()
        with open(full, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if lineno >= begin and (not end or lineno <= end):
                    md5.update(line)
        if md5.hexdigest() != params.get("md5"):
            errors.append(f"{where}: md5 of {path} (lines {begin or 1}-{end or 'end'}) is "
                          f"{md5.hexdigest()}, the recipe says {params.get('md5')}")
    return errors


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kwargs)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                             + "\n".join(proc.stdout.splitlines()[-40:]))
    return proc.stdout


def build_and_install(setup_args, builddir, destdir):
    """meson setup with setup_args, ninja, meson install into destdir. Returns the installed
    paths ("/usr/sbin/faultd", ...): files and symbolic links, not directories."""
    meson = shutil.which("meson")
    assert meson, "meson is not installed"
    run([meson, "setup", *setup_args, SOURCE_ROOT, builddir])
    run([shutil.which("ninja") or "ninja", "-C", builddir])
    run([meson, "install", "-C", builddir, "--no-rebuild", "--destdir", destdir])
    return installed_files(destdir)


def installed_files(destdir):
    found = set()
    for root, dirs, files in os.walk(destdir):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            found.add("/" + os.path.relpath(os.path.join(root, name), destdir))
    return found


def runtime_references(destdir, paths):
    """faultd's programs that installed files start by absolute path, as (file, line, path):
    the unit's Exec lines, the init script's DAEMON and the handler in kernel.core_pattern. Each
    must be shipped too, else the packaging lost a path the build baked in."""
    refs = []
    for p in sorted(paths):
        full = os.path.join(destdir, p.lstrip("/"))
        if os.path.islink(full) or not os.path.isfile(full):
            continue
        try:
            text = read(full)
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            patterns = []
            if p.endswith(".service"):
                patterns.append(r"^Exec\w*=[-@:+!]*(/\S+)")
            if "/init.d/" in p:
                patterns.append(r"^DAEMON=\$\{DAEMON:-(/[^}]+)\}")
            if "/sysctl.d/" in p:
                patterns.append(r"^kernel\.core_pattern\s*=\s*\|(/\S+)")
            for pattern in patterns:
                m = re.match(pattern, line)
                if m and os.path.basename(m.group(1)).startswith(("faultd", "faultctl")):
                    refs.append((p, lineno, m.group(1)))
    return refs
