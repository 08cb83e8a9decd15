# SPDX-License-Identifier: MIT
"""The man pages as built (docs/man/*.scd through scdoc) against the programs they describe: each
renders with man -l without any groff warning, and documents every option of faultd, faultctl and
faultd-core-handler, every faultctl command, and every configuration key with its type, range
and default as `faultd --print-default-config` prints them.

Environment (set by meson): MAN_PAGES (the built pages, separated by ':'), FAULTD, FAULTCTL,
CORE_HANDLER (empty when not built). Exits 77 (skipped) when no page was built (no scdoc).
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import FAULTCTL, FAULTD, SOURCE_ROOT  # noqa: E402

MAN_PAGES = [p for p in os.environ.get("MAN_PAGES", "").split(os.pathsep) if p]
CORE_HANDLER = os.environ.get("CORE_HANDLER", "")

# Section headings of the rendered text start in column 0; the terms of a list (an option, a
# command, a key) are indented by 7, their descriptions by 11.
HEADING = re.compile(r"^[A-Z][A-Z ]*$")
TERM_INDENT = " " * 7


def page(name):
    """The built page called name ("faultd.8"), or None."""
    for path in MAN_PAGES:
        if os.path.basename(path) == name:
            return path
    return None


def man(path, width, *options):
    env = dict(os.environ, MANWIDTH=str(width), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    return subprocess.run(["man", *options, "-l", path], capture_output=True, text=True,
                          env=env, timeout=60)


def plain(text):
    """Rendered text with typographic hyphens and quotes as the ASCII a user types."""
    for fancy, ascii_ in (("\u2010", "-"), ("\u2011", "-"), ("\u2212", "-"), ("\u2018", "'"),
                          ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(fancy, ascii_)
    return text


def sections(path):
    """{heading: [lines]} of the page rendered wide, without hyphenation or justification, so that
    a term stays on one line and every word whole."""
    r = man(path, 200, "--nh", "--nj")
    if r.returncode != 0:
        raise AssertionError(f"man -l {path} failed: {r.stderr}")
    result, current = {}, None
    for line in plain(r.stdout).splitlines()[1:-1]:  # without the header and footer lines
        if HEADING.match(line):
            current = line
            result[current] = []
        elif current:
            result[current].append(line)
    return result


def is_term(lines, i):
    """Whether lines[i] is the term of a list entry: at the term indentation, its description
    indented further on the next line (a paragraph's line is followed by a blank line or by a
    line indented as much)."""
    return (lines[i].startswith(TERM_INDENT) and not lines[i].startswith(TERM_INDENT + " ")
            and i + 1 < len(lines) and lines[i + 1].startswith(TERM_INDENT + "    ")
            and lines[i + 1].strip() != "")


def terms(lines):
    """The terms of a section's list entries, stripped."""
    return [lines[i].strip() for i in range(len(lines)) if is_term(lines, i)]


def run(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def help_options(text):
    """The options of a --help text as man page terms: "-c, --config FILE", "--json"."""
    options = []
    for line in text.splitlines():
        m = re.match(r"^ {2,6}(?:(-\w), )?(--[\w-]+)(?: ([A-Z]+))?(?:\s|$)", line)
        if m:
            short, long_, arg = m.groups()
            options.append((f"{short}, " if short else "") + long_ + (f" {arg}" if arg else ""))
    return options


def faultctl_commands():
    """[(name, usage)] of the commands `faultctl --help` lists."""
    text = run(FAULTCTL, "--help")
    block = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    commands = []
    for line in block.splitlines():
        head = re.split(r"\s{2,}", line.strip())[0]
        name, _, usage = head.partition(" ")
        commands.append((name, usage))
    return commands


def default_config_keys():
    """[(key, type line)] of every key `faultd --print-default-config` documents, in order:
    "upload.max_batch_bytes", "integer, 4096..1073741824, default: 10485760"."""
    keys, section, type_line = [], None, None
    for line in run(FAULTD, "--print-default-config").splitlines():
        text = line.strip()
        m = re.match(r'^// "(\w+)": \{$', text)
        if m:
            section = m.group(1)
            continue
        if text == "// },":
            section = None
            continue
        m = re.match(r"^// type: (.*)$", text)
        if m:
            type_line = m.group(1)
            continue
        m = re.match(r'^// "(\w+)": ', text)
        if m:
            if type_line is None:
                raise AssertionError(f"no type line before {text}")
            keys.append((f"{section}.{m.group(1)}" if section else m.group(1), type_line))
            type_line = None
    return keys


class RenderTest(unittest.TestCase):
    def test_every_page_is_built(self):
        expected = {"faultd.8", "faultctl.1", "faultd.conf.5"}
        if CORE_HANDLER:
            expected.add("faultd-core-handler.8")
        self.assertEqual({os.path.basename(p) for p in MAN_PAGES}, expected)

    def test_pages_render_without_warnings(self):
        for path in MAN_PAGES:
            with self.subTest(page=os.path.basename(path)):
                # "w": every groff warning ("all" leaves out those about macros).
                r = man(path, 80, "--warnings=w")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                name, section = os.path.basename(path).rsplit(".", 1)
                header = plain(r.stdout).splitlines()[0]
                self.assertTrue(header.startswith(f"{name}({section})"), header)
                self.assertTrue(header.rstrip().endswith(f"{name}({section})"), header)

    def test_name_and_synopsis(self):
        for path in MAN_PAGES:
            name = os.path.basename(path).rsplit(".", 1)[0]
            with self.subTest(page=name):
                s = sections(path)
                self.assertEqual(list(s)[:3], ["NAME", "SYNOPSIS", "DESCRIPTION"])
                summary = " ".join(line.strip() for line in s["NAME"] if line.strip())
                self.assertRegex(summary, rf"^{re.escape(name)} - \w")
                self.assertTrue(any(line.strip() for line in s["SYNOPSIS"]))
                self.assertIn("SEE ALSO", s)


class FaultdPageTest(unittest.TestCase):
    def setUp(self):
        path = page("faultd.8")
        if not path:
            self.fail("faultd.8 was not built")
        self.page = sections(path)
        self.help = run(FAULTD, "--help")

    def test_every_option(self):
        options = help_options(self.help)
        self.assertIn("--log-target TARGET", options)
        self.assertGreaterEqual(len(options), 7)
        documented = terms(self.page["OPTIONS"])
        for option in options:
            with self.subTest(option=option):
                self.assertIn(option, documented)
        self.assertEqual(len(documented), len(options), "options the program does not have")

    def test_log_targets(self):
        targets = re.search(r"--log-target TARGET\s+log to (.*?), whatever", self.help,
                            re.S).group(1)
        targets = re.split(r",\s*|\s+or\s+", targets)
        text = " ".join(self.page["OPTIONS"])
        description = text.split("--log-target TARGET", 1)[1]
        for target in targets:
            with self.subTest(target=target):
                self.assertRegex(description, rf"\b{target}\b")

    def test_signals_and_exit_status(self):
        signals = set(re.findall(r"SIG[A-Z]+", self.help))
        self.assertGreaterEqual(signals, {"SIGTERM", "SIGINT", "SIGHUP"})
        documented = " ".join(terms(self.page["SIGNALS"]))
        for name in signals:
            with self.subTest(signal=name):
                self.assertIn(name, documented)
        statuses = re.findall(r"(\d) [a-z]", self.help.split("Exit status:", 1)[1])
        self.assertEqual(sorted(terms(self.page["EXIT STATUS"])), sorted(statuses))

    def test_files(self):
        files = " ".join(terms(self.page["FILES"]))
        for needle in ("faultd.conf", "faultd.conf.d/", "runtime.conf", "faultd.sock",
                       "/lib/faultd/"):
            with self.subTest(file=needle):
                self.assertIn(needle, files)


class FaultctlPageTest(unittest.TestCase):
    def setUp(self):
        path = page("faultctl.1")
        if not path:
            self.fail("faultctl.1 was not built")
        self.page = sections(path)
        self.help = run(FAULTCTL, "--help")

    def test_every_command(self):
        commands = faultctl_commands()
        self.assertIn(("trigger-coredump", "[--signal NAME]"), commands)
        documented = []
        for term in terms(self.page["COMMANDS"]):
            documented += term.split(", ")
        for name, usage in commands:
            with self.subTest(command=name):
                self.assertIn(f"{name} {usage}".strip(), documented)
        self.assertEqual(len(documented), len(commands), "commands faultctl does not have")

    def test_every_option(self):
        options = help_options(self.help)
        self.assertIn("--socket PATH", options)
        documented = terms(self.page["OPTIONS"])
        for option in options:
            with self.subTest(option=option):
                self.assertIn(option, documented)
        self.assertEqual(len(documented), len(options), "options faultctl does not have")

    def test_exit_status(self):
        statuses = re.findall(r"^  (\d)  ", self.help.split("Exit status:", 1)[1], re.M)
        self.assertEqual(statuses, ["0", "1", "2", "3"])
        self.assertEqual(terms(self.page["EXIT STATUS"]), statuses)

    def test_reboot_reasons_are_those_faultd_accepts(self):
        # The table of libcollector/store/reboot.c, as the reason names faultd parses.
        source = os.path.join(SOURCE_ROOT, "libcollector", "store", "reboot.c")
        with open(source) as f:
            table = dict(re.findall(r'\{ (0x[0-9A-F]{4}), "(\w+)" \}', f.read()))
        self.assertIn("0x8008", table)
        text = "\n".join(self.page["COMMANDS"])
        listed = dict(re.findall(r"\b(0x[0-9A-F]{4})  (\w+)", text))
        self.assertEqual(listed, table)

    def test_privileged_commands_are_said_to_be(self):
        description = {}
        current = None
        lines = self.page["COMMANDS"]
        for i, line in enumerate(lines):
            if is_term(lines, i):
                current = line.strip()
                description[current] = ""
            elif current:
                description[current] += line
        for line in self.help.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines():
            name = line.split()[0]
            term = next(t for t in description if name in [p.split()[0] for p in t.split(", ")])
            with self.subTest(command=name):
                self.assertEqual("(privileged)" in line, "(privileged)" in description[term],
                                 description[term])


class ConfPageTest(unittest.TestCase):
    def setUp(self):
        path = page("faultd.conf.5")
        if not path:
            self.fail("faultd.conf.5 was not built")
        self.page = sections(path)

    def documented(self):
        """{key: type line} of the page's SETTINGS."""
        result = {}
        for term in terms(self.page["SETTINGS"]):
            m = re.match(r"^([a-z_]+(?:\.[a-z_]+)?) \((.*)\)$", term)
            if m:
                result[m.group(1)] = m.group(2)
        return result

    def test_every_key_with_its_type_range_and_default(self):
        keys = default_config_keys()
        self.assertGreaterEqual(len(keys), 40)
        self.assertIn(("log_target", 'string, one of "auto", "journal", "syslog", "stderr", '
                       'default: "auto"'), keys)
        documented = self.documented()
        for key, type_line in keys:
            with self.subTest(key=key):
                self.assertIn(key, documented, "key missing from faultd.conf(5)")
                self.assertEqual(documented[key], type_line)

    def test_no_key_the_program_does_not_have(self):
        keys = dict(default_config_keys())
        sections_built = {k.split(".")[0] for k in keys if "." in k}
        for key in self.documented():
            section = key.split(".")[0] if "." in key else None
            if section and section not in sections_built:
                continue  # a plugin left out of this build
            with self.subTest(key=key):
                self.assertIn(key, keys)


@unittest.skipUnless(CORE_HANDLER, "faultd-core-handler is not built")
class CoreHandlerPageTest(unittest.TestCase):
    def setUp(self):
        path = page("faultd-core-handler.8")
        if not path:
            self.fail("faultd-core-handler.8 was not built")
        self.page = sections(path)
        self.help = run(CORE_HANDLER, "--help")

    def test_every_option(self):
        options = help_options(self.help)
        self.assertIn("--output FILE", options)
        self.assertIn("--compression KIND", options)
        documented = terms(self.page["OPTIONS"])
        for option in options:
            with self.subTest(option=option):
                self.assertIn(option, documented)
        self.assertEqual(len(documented), len(options), "options the handler does not have")

    def test_every_argument(self):
        usage = re.search(r"^Usage: faultd-core-handler \[OPTIONS\] (.*)$", self.help, re.M)
        arguments = usage.group(1).split()
        self.assertEqual(len(arguments), 6)
        documented = []
        for term in terms(self.page["ARGUMENTS"]):
            documented += term.split(", ")
        self.assertEqual(documented, arguments)

    def test_core_pattern(self):
        pattern = re.search(r"kernel\.core_pattern = (\|\S+ .*)$", self.help, re.M).group(1)
        text = "\n".join(self.page["DESCRIPTION"])
        self.assertIn(pattern.replace(" %P", " [-c CONFIG] %P"), text)


if __name__ == "__main__":
    if not MAN_PAGES:
        print("test_manpages: no man page was built (scdoc not found); skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
