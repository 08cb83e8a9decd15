# SPDX-License-Identifier: MIT
"""The bash completion of faultctl (daemon/faultctl.bash-completion), in a real bash without the
bash-completion package: the words bash would pass (COMP_WORDS, split at COMP_WORDBREAKS as bash
splits them), the completion function called, COMPREPLY read back. What it offers is checked
against the real faultctl (its --help and its error messages) and the tables faultd parses, so a
command or value added there without its completion fails here.

Environment (set by meson): FAULTCTL, SOURCE_ROOT, COMPLETION (the completion file).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import FAULTCTL, SOURCE_ROOT  # noqa: E402

COMPLETION = os.environ.get("COMPLETION",
                            os.path.join(SOURCE_ROOT, "daemon", "faultctl.bash-completion"))
BASH = shutil.which("bash") or "/bin/bash"
# bash's default COMP_WORDBREAKS.
WORDBREAKS = "\"'><=;|&(:"

# Sources the completion into a bash started without any startup file, puts the words given as
# arguments into COMP_WORDS as bash would, calls the function `complete -p faultctl` names, and
# prints COMPREPLY one item per line.
DRIVER = r'''
source "$COMPLETION" || exit 90
declare -F _init_completion >/dev/null && exit 91   # must work without bash-completion
spec=$(complete -p faultctl) || exit 92
func=${spec#*-F }
func=${func%% *}
COMP_WORDBREAKS=$WORDBREAKS
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$LINE
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9
"$func" faultctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def split_words(line, wordbreaks):
    """COMP_WORDS for a command line with the cursor at its end: words split at white space, and
    runs of COMP_WORDBREAKS characters as words of their own; an empty last word after a space."""
    words = []
    for chunk in re.split(r"([ \t]+)", line):
        if not chunk or chunk.isspace():
            continue
        pattern = "([" + re.escape(wordbreaks) + "]+)" if wordbreaks else None
        words += [w for w in (re.split(pattern, chunk) if pattern else [chunk]) if w]
    if line.endswith((" ", "\t")) or not words:
        words.append("")
    return words


def complete(line, wordbreaks=WORDBREAKS):
    """What the completion offers for line (the cursor at its end)."""
    words = split_words(line, wordbreaks)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir(),
           "COMPLETION": COMPLETION, "WORDBREAKS": wordbreaks, "LINE": line, "LC_ALL": "C"}
    r = subprocess.run([BASH, "--norc", "--noprofile", "-c", DRIVER, "driver", *words],
                       capture_output=True, text=True, env=env, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"bash exited {r.returncode} for {words}: {r.stderr}")
    if r.stderr:
        raise AssertionError(f"bash wrote to stderr for {words}: {r.stderr}")
    return [item for item in r.stdout.split("\n") if item]


def faultctl_help():
    r = subprocess.run([FAULTCTL, "--help"], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return r.stdout


def help_commands():
    """{name: usage} of the commands `faultctl --help` lists."""
    block = faultctl_help().split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    commands = {}
    for line in block.splitlines():
        name, _, usage = re.split(r"\s{2,}", line.strip())[0].partition(" ")
        commands[name] = usage
    return commands


class CommandTest(unittest.TestCase):
    def test_empty_offers_every_command(self):
        commands = help_commands()
        self.assertGreaterEqual(len(commands), 14)
        offered = complete("faultctl ")
        self.assertEqual(len(offered), len(set(offered)))
        self.assertEqual(set(offered), set(commands))

    def test_prefix_filters(self):
        commands = help_commands()
        for prefix in ("s", "dis", "re", "write-", "trigger"):
            with self.subTest(prefix=prefix):
                expected = {c for c in commands if c.startswith(prefix)}
                self.assertTrue(expected)
                self.assertEqual(set(complete("faultctl " + prefix)), expected)
        self.assertEqual(complete("faultctl stat"), ["status"])
        self.assertEqual(complete("faultctl nosuch"), [])

    def test_options_before_the_command(self):
        options = set(re.findall(r"^ {2,6}(?:-\w, )?(--[\w-]+)",
                                 faultctl_help().split("\nOptions:\n", 1)[1], re.M))
        self.assertIn("--socket", options)
        self.assertEqual(set(complete("faultctl --")), options)
        self.assertEqual(complete("faultctl --js"), ["--json"])

    def test_command_after_options_and_their_values(self):
        expected = {"reboot", "report-crash", "report-failure", "report-sync-success",
                    "report-sync-failure", "request-metrics"}
        for line in ("faultctl --json --timeout 5 re", "faultctl --socket run/x.sock re",
                     "faultctl --socket=run/x.sock --timeout=2.5 re", "faultctl -- re"):
            with self.subTest(line=line):
                self.assertEqual(set(complete(line)), expected)

    def test_nothing_after_a_command_without_arguments(self):
        for name, usage in help_commands().items():
            if usage:
                continue
            with self.subTest(command=name):
                self.assertEqual(complete(f"faultctl {name} "), [])
                self.assertEqual(complete(f"faultctl {name} --"), ["--help"])

    def test_the_options_of_each_command(self):
        # Every option a command's usage names is offered after it.
        for name, usage in help_commands().items():
            options = set(re.findall(r"--[\w-]+", usage))
            if not options:
                continue
            with self.subTest(command=name):
                self.assertEqual(set(complete(f"faultctl {name} ")), options)
                self.assertEqual(set(complete(f"faultctl {name} --")), options | {"--help"})

    def test_every_command_takes_help(self):
        # faultctl COMMAND --help shows the command's help, whatever the command.
        for name in help_commands():
            with self.subTest(command=name):
                r = subprocess.run([FAULTCTL, name, "--help"], capture_output=True, text=True,
                                   timeout=10)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("--help", complete(f"faultctl {name} -"))
                self.assertEqual(complete(f"faultctl {name} --h"), ["--help"])
        # Not as an option's value, nor after "--", where every word is data.
        self.assertEqual(complete("faultctl reboot --reason -"), [])
        self.assertEqual(complete("faultctl trigger-coredump --signal -"), [])
        self.assertEqual(complete("faultctl report-crash -- -"), [])
        self.assertEqual(complete("faultctl write-metric -- --h"), [])


class ValueTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="faultd-completion-")
        self.addCleanup(shutil.rmtree, self.dir)

    def test_socket_completes_files(self):
        for name in ("faultd.sock", "faultd-test.sock", "other"):
            open(os.path.join(self.dir, name), "w").close()
        os.mkdir(os.path.join(self.dir, "run"))
        prefix = os.path.join(self.dir, "fa")
        expected = {os.path.join(self.dir, n) for n in ("faultd.sock", "faultd-test.sock")}
        self.assertEqual(set(complete(f"faultctl --socket {prefix}")), expected)
        self.assertEqual(set(complete(f"faultctl --socket={prefix}")), expected)
        self.assertEqual(complete(f"faultctl --socket {self.dir}/r"),
                         [os.path.join(self.dir, "run")])
        # Then the command.
        self.assertEqual(complete(f"faultctl --socket {prefix} sy"), ["sync"])

    def test_timeout_value_is_not_a_command(self):
        self.assertEqual(complete("faultctl --timeout "), [])
        self.assertEqual(complete("faultctl --timeout="), [])

    def test_reboot_reasons_are_those_faultd_accepts(self):
        with open(os.path.join(SOURCE_ROOT, "libcollector", "store", "reboot.c")) as f:
            names = re.findall(r'\{ 0x[0-9A-F]{4}, "(\w+)" \}', f.read())
        self.assertIn("FirmwareUpdate", names)
        self.assertEqual(sorted(complete("faultctl reboot --reason ")), sorted(names))
        self.assertEqual(set(complete("faultctl reboot --reason Firm")),
                         {"FirmwareUpdate", "FirmwareUpdateError"})
        self.assertEqual(complete("faultctl reboot --reason=Kern"), ["KernelPanic"])
        self.assertEqual(complete("faultctl reboot --no-reboot --reason Pow"), ["PowerOnReset"])
        self.assertEqual(complete("faultctl reboot --reason !Mod"), [])

    def test_reboot_options_not_repeated(self):
        self.assertEqual(complete("faultctl reboot --reason FirmwareUpdate "), ["--no-reboot"])
        self.assertEqual(complete("faultctl reboot --no-reboot --"), ["--reason", "--help"])
        self.assertEqual(complete("faultctl reboot --reason=KernelPanic --no-reboot "), [])

    def test_trigger_coredump_signals_are_those_faultctl_accepts(self):
        # faultctl names the signals it takes when given another.
        r = subprocess.run([FAULTCTL, "trigger-coredump", "--signal", "KILL"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        accepted = re.search(r"expected (.*), got", r.stderr).group(1)
        accepted = re.split(r",\s*|\s+or\s+", accepted)
        self.assertIn("SEGV", accepted)
        self.assertEqual(sorted(complete("faultctl trigger-coredump --signal ")),
                         sorted(accepted))
        self.assertEqual(complete("faultctl trigger-coredump --signal B"), ["BUS"])
        self.assertEqual(complete("faultctl trigger-coredump --signal=F"), ["FPE"])
        self.assertEqual(complete("faultctl --json trigger-coredump --signal=AB"), ["ABRT"])
        self.assertEqual(complete("faultctl trigger-coredump --signal SEGV "), [])

    def test_report_crash_signal_numbers(self):
        self.assertEqual(complete("faultctl report-crash "), [])  # PROCESS: free text
        expected = {str(int(getattr(signal, "SIG" + n))) for n in ("SEGV", "ABRT", "BUS", "FPE",
                                                                   "ILL")}
        self.assertEqual(set(complete("faultctl report-crash gatewayd ")), expected)
        self.assertEqual(complete("faultctl report-crash gatewayd 11 "), [])
        # "--" is not the PROCESS: the word after it is.
        self.assertEqual(complete("faultctl report-crash -- "), [])
        self.assertEqual(set(complete("faultctl report-crash -- -weird ")), expected)

    def test_report_crash_signal_names(self):
        # faultctl takes names too (SEGV, SIGSEGV, any case): offered once a letter is typed.
        self.assertEqual(set(complete("faultctl report-crash gatewayd S")), {"SEGV"})
        self.assertEqual(set(complete("faultctl report-crash gatewayd SIG")),
                         {"SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL"})
        self.assertEqual(complete("faultctl report-crash gatewayd ab"), ["ABRT"])
        self.assertEqual(complete("faultctl report-crash gatewayd SEGV "), [])

    def test_write_metric_offers_every_kind_faultctl_names(self):
        r = subprocess.run([FAULTCTL, "write-metric", "--help"], capture_output=True, text=True,
                           timeout=10)
        named = set(re.findall(r"\b(counter|gauge|histogram|set|timer|ms|[cghds])\b",
                               r.stdout.split("KIND", 1)[1]))
        self.assertIn("timer", named)
        self.assertEqual(set(complete("faultctl write-metric temp=21.5:")), named)

    def test_reboot_cancel_goes_alone(self):
        self.assertEqual(complete("faultctl reboot --c"), ["--cancel"])
        self.assertEqual(complete("faultctl reboot --cancel "), [])
        self.assertEqual(set(complete("faultctl reboot --reason UserReset ")), {"--no-reboot"})

    def test_help_takes_a_command(self):
        self.assertEqual(complete("faultctl help stat"), ["status"])
        self.assertEqual(complete("faultctl help status "), [])

    def test_write_metric_kinds(self):
        with open(os.path.join(SOURCE_ROOT, "libcollector", "ledger", "metrics.c")) as f:
            source = f.read()
        accepted = set(re.findall(r'\[LC_METRIC_\w+\] = "(\w+)"', source))
        accepted |= set(re.findall(r'\{ "(\w+)", LC_METRIC_\w+ \}', source))
        self.assertGreaterEqual(accepted, {"counter", "gauge", "histogram", "set", "ms"})
        offered = complete("faultctl write-metric temp=21.5:")
        self.assertGreaterEqual(set(offered), {"counter", "gauge", "histogram", "set"})
        self.assertLessEqual(set(offered), accepted)
        self.assertEqual(complete("faultctl write-metric temp=21.5:co"), ["counter"])
        self.assertEqual(complete("faultctl write-metric a=1:counter users=alice:s"), ["set", "s"])
        self.assertEqual(complete("faultctl write-metric temp="), [])
        self.assertEqual(complete("faultctl write-attributes zip="), [])


class WordBreakTest(unittest.TestCase):
    """With '=' and ':' not among COMP_WORDBREAKS the word comes whole, and so must the reply."""

    def test_whole_words(self):
        breaks = "\"'><;|&("
        self.assertEqual(complete("faultctl reboot --reason=Kern", breaks),
                         ["--reason=KernelPanic"])
        self.assertEqual(complete("faultctl trigger-coredump --signal=IL", breaks),
                         ["--signal=ILL"])
        self.assertEqual(complete("faultctl write-metric jobs=3:cou", breaks),
                         ["jobs=3:counter"])
        self.assertEqual(set(complete("faultctl --socket=run/x.sock re", breaks)),
                         {"reboot", "report-crash", "report-failure", "report-sync-success",
                          "report-sync-failure", "request-metrics"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
