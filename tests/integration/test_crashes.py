# SPDX-License-Identifier: MIT
"""Crashes as faultd-core-handler reports them: reports left in the crash log, the handler's
"crash-reported" poke, the hours ledger and the coredump plugin's counts in the heartbeat at the
real receiver, and nothing without consent. The coredump plugin's core_pattern, on the fake tree
only: set only while data collection is on and only when the handler is there to run.
`faultctl trigger-coredump`, which crashes a child for real."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import (FAKE_CORE_PATTERN, FAKE_CORE_PIPE_LIMIT, FAULTCTL, HAVE_COREDUMP,  # noqa: E402
                     DaemonTestCase, Receiver, wait_for)

HANDLER_ARGS = " %P %I %s %t %u %g"
NOBODY = (65534, 65534, [])


def write_report(d, process, pid, signo, core="stored", entry="", time_ms=None):
    """A crash report as lc_crash_log_append() (libcollector/store/crashlog.c) leaves it: one JSON
    object in <state_dir>/crashes/<time_ms, 20 digits>-<pid>.json, renamed into place."""
    time_ms = time_ms if time_ms is not None else int(time.time() * 1000)
    directory = os.path.join(d.state_dir, "crashes")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    name = "%020d-%d.json" % (time_ms, pid)
    report = {"process": process, "pid": pid, "signal": signo, "time_ms": time_ms, "core": core,
              "entry": entry}
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(report, f, separators=(",", ":"))
    os.rename(tmp, os.path.join(directory, name))


def waiting_reports(d):
    try:
        return sorted(n for n in os.listdir(os.path.join(d.state_dir, "crashes"))
                      if not n.startswith("."))
    except FileNotFoundError:
        return []


def heartbeats(rx):
    return [e["manifest"]["metadata"] for e in rx.entries()
            if e["type"] == "linux-metric-report"]


class CrashTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.rx = Receiver().start()
        self.addCleanup(self.rx.cleanup)

    def device(self, plugin=True, **config):
        base = {"heartbeat_interval_seconds": 3600,
                "hours": {"checkpoint_interval_seconds": 1}}
        if plugin and HAVE_COREDUMP:
            base["coredump"] = {"enabled": True}
        base.update(config)
        return self.daemon(config=self.rx.daemon_config(**base))

    def poke(self, d):
        reply = d.request("crash-reported")
        self.assertTrue(reply["ok"], f"{reply}\n{d.log()}")
        return reply["data"]

    def crashes(self, d):
        """The coredump plugin's crash counts."""
        return d.plugin_status("coredump")["crashes"]


class CrashReportTest(CrashTestCase):
    def test_reported_crashes_reach_the_ledger_and_the_heartbeat(self):
        d = self.device().start()
        entry = str(uuid.uuid4())
        write_report(d, "gatewayd", 4242, 11, "stored", entry)
        write_report(d, "gatewayd", 4250, 11, "rate-limited")
        write_report(d, "modemd", 77, 6, "failed")
        data = self.poke(d)
        self.assertEqual((data["counted"], data["discarded"]), (3, 0), data)
        self.assertEqual(data["message"], "Counted 3 crashes.")
        self.assertEqual(waiting_reports(d), [])

        self.assertEqual(d.status()["hours"]["operational_crashes"], 3)
        log = d.log()
        self.assertIn(f"Process gatewayd[4242] crashed with SIGSEGV; core: stored (entry {entry}).",
                      log)
        self.assertIn("Process gatewayd[4250] crashed with SIGSEGV; core: rate-limited.", log)
        self.assertIn("Process modemd[77] crashed with SIGABRT; core: failed.", log)
        if HAVE_COREDUMP:
            c = self.crashes(d)
            self.assertEqual(c["total"], 3)
            self.assertEqual(c["processes"], {"gatewayd": 2, "modemd": 1})
            self.assertEqual(c["other"], 0)

        # A poke with nothing waiting counts nothing more.
        self.assertEqual(self.poke(d)["counted"], 0)
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        beats = heartbeats(self.rx)
        self.assertEqual(len(beats), 1, beats)
        m = beats[0]["metrics"]
        # The hours, with the 3 crashes, come with the heartbeat that ends the interval.
        self.assertEqual(m["operational_crashes"], 0)
        self.assertEqual(d.status()["hours"]["operational_crashes"], 3)
        if HAVE_COREDUMP:
            self.assertEqual(m["coredump/crashes/gatewayd"], 2)
            self.assertEqual(m["coredump/crashes/modemd"], 1)

    def test_reports_left_while_faultd_was_down_are_counted_at_start(self):
        d = self.device()
        write_report(d, "faultd", 999, 11)
        d.start()
        wait_for(lambda: d.status()["hours"]["operational_crashes"] == 1,
                 what="the crash left before the start to be counted")
        self.assertEqual(waiting_reports(d), [])
        if HAVE_COREDUMP:
            self.assertEqual(self.crashes(d)["processes"], {"faultd": 1})

    def test_a_malformed_report_is_removed_and_the_rest_counted(self):
        d = self.device().start()
        directory = os.path.join(d.state_dir, "crashes")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "%020d-%d.json" % (1, 1)), "w") as f:
            f.write('{"process": "x", "pid": 1}')
        write_report(d, "gatewayd", 5, 11)
        self.assertEqual(self.poke(d)["counted"], 1)
        self.assertEqual(waiting_reports(d), [])
        self.assertIn("is not readable", d.log())
        self.assertEqual(d.status()["hours"]["operational_crashes"], 1)

    def test_the_poke_is_privileged(self):
        d = self.device().start()
        write_report(d, "gatewayd", 5, 11)
        script = ("import json, socket, sys; s = socket.socket(socket.AF_UNIX); "
                  "s.connect(sys.argv[1]); s.sendall(b'{\"command\": \"crash-reported\"}\\n'); "
                  "print(s.makefile().read())")
        uid, gid, _ = NOBODY
        r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                            "--", sys.executable, "-c", script, d.socket],
                           capture_output=True, text=True, timeout=20)
        reply = json.loads(r.stdout)
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["errno"], "EPERM")
        self.assertEqual(len(waiting_reports(d)), 1)
        self.assertEqual(d.status()["hours"]["operational_crashes"], 0)

    def test_without_consent_nothing_is_recorded(self):
        d = self.device(enable_data_collection=False).start()
        write_report(d, "gatewayd", 4242, 11)
        data = self.poke(d)
        self.assertEqual((data["counted"], data["discarded"]), (0, 1), data)
        # Drained all the same: a report never waits for consent given later.
        self.assertEqual(waiting_reports(d), [])
        self.assertEqual(d.status()["hours"]["operational_crashes"], 0)
        self.assertIn("Process gatewayd[4242] crashed with SIGSEGV; not counted: data "
                      "collection is disabled.", d.log())
        if HAVE_COREDUMP:
            self.assertEqual(self.crashes(d)["total"], 0)

        self.ok(d, "enable-data-collection")
        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        for md in heartbeats(self.rx):
            self.assertEqual(md["metrics"]["operational_crashes"], 0, md)
            self.assertFalse([k for k in md["metrics"] if k.startswith("coredump/")], md)


@unittest.skipUnless(HAVE_COREDUMP, "built without the coredump plugin")
class CorePatternTest(CrashTestCase):
    def test_the_harness_never_lets_a_daemon_take_core_pattern(self):
        d = self.device(plugin=False).start()
        states = {p["name"]: p["state"] for p in d.status()["plugins"]}
        self.assertEqual(states["coredump"], "disabled")
        self.assertEqual(d.sysctl("core_pattern"), FAKE_CORE_PATTERN)
        self.assertEqual(d.sysctl("core_pipe_limit"), FAKE_CORE_PIPE_LIMIT)

    def test_the_plugin_sets_the_fake_tree_and_a_reload_that_disables_it_gives_it_back(self):
        d = self.device().start()
        st = d.plugin_status("coredump")
        pattern = d.sysctl("core_pattern")
        self.assertEqual(pattern, st["expected"])
        self.assertTrue(st["core_pattern"]["ours"], st)
        self.assertTrue(pattern.startswith("|/"), pattern)
        self.assertIn("/faultd-core-handler -c " + d.config_path + HANDLER_ARGS, pattern)
        self.assertEqual(d.sysctl("core_pipe_limit"), "16")

        # Something else takes it: reported at the next check, not taken back.
        d.config["coredump"] = {"enabled": True, "check_interval_seconds": 1}
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["reloads"] == 1, what="the reload")
        theirs = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h"
        d.set_sysctl("core_pattern", theirs)
        wait_for(lambda: not d.plugin_status("coredump")["core_pattern"]["ours"], timeout=5,
                 what="the check to notice")
        self.assertEqual(d.plugin_status("coredump")["core_pattern"]["value"], theirs)
        time.sleep(1.5)
        self.assertEqual(d.sysctl("core_pattern"), theirs)
        self.assertEqual(d.log().count("kernel.core_pattern was changed to"), 1, d.log())

        # A reload takes it back; one that disables the plugin gives back what was there first.
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.sysctl("core_pattern") == pattern, what="core_pattern taken back")
        d.config["coredump"] = {"enabled": False}
        d.write_config()
        d.signal(signal.SIGHUP)
        # Both are given back, core_pattern first; the fake tree's files are plain files,
        # rewritten in place, so the second may still be being written when the first is seen.
        wait_for(lambda: (d.sysctl("core_pattern"), d.sysctl("core_pipe_limit"))
                 == (theirs, FAKE_CORE_PIPE_LIMIT),
                 what="core_pattern and core_pipe_limit given back\n" + d.log())

    def assert_untouched(self, d):
        self.assertEqual((d.sysctl("core_pattern"), d.sysctl("core_pipe_limit")),
                         (FAKE_CORE_PATTERN, FAKE_CORE_PIPE_LIMIT), d.log())
        self.assertFalse(os.path.exists(os.path.join(d.state_dir, "coredump-kernel.json")))

    def assert_refused(self, d, why):
        """core_pattern left alone, and the log and `faultctl status` say why."""
        self.assert_untouched(d)
        sentence = (f"Not setting kernel.core_pattern: its handler {d.core_handler} "
                    f"(coredump.handler under sysroot {d.sysroot}) {why}, so the kernel could "
                    "not start it and every core would be lost. Install faultd-core-handler "
                    "there as an executable file, or set coredump.handler")
        self.assertIn(sentence, d.log())
        entry = d.plugin("coredump")
        self.assertEqual(entry["state"], "running", entry)
        self.assertIn(sentence, entry.get("message", ""), entry)
        self.assertFalse(entry["status"]["core_pattern"]["ours"], entry)

    def test_a_missing_handler_is_never_named_in_core_pattern(self):
        d = self.device()
        os.unlink(d.core_handler)
        d.start()
        self.assert_refused(d, "does not exist")

        # Installed, then a reload: taken, and the message is gone.
        d.install_core_handler()
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.sysctl("core_pattern") != FAKE_CORE_PATTERN, what="the reload")
        entry = d.plugin("coredump")
        self.assertEqual(d.sysctl("core_pattern"), entry["status"]["expected"])
        self.assertNotIn("message", entry)

    def test_a_handler_that_cannot_run_is_never_named_in_core_pattern(self):
        d = self.device()
        os.chmod(d.core_handler, 0o644)
        d.start()
        self.assert_refused(d, "is not executable (mode 0644)")

    def test_core_pattern_is_held_only_while_data_collection_is_on(self):
        d = self.device(enable_data_collection=False).start()
        self.assert_untouched(d)
        self.assertIn("Data collection is off", d.plugin("coredump").get("message", ""))

        self.ok(d, "enable-data-collection")
        st = d.plugin_status("coredump")
        self.assertEqual(d.sysctl("core_pattern"), st["expected"])
        self.assertTrue(st["core_pattern"]["ours"], st)
        self.assertEqual(d.sysctl("core_pipe_limit"), "16")
        self.assertNotIn("message", d.plugin("coredump"))

        self.ok(d, "disable-data-collection")
        self.assert_untouched(d)
        self.assertIn('Data collection is off: kernel.core_pattern is "core" again.', d.log())
        self.assertIn("Data collection is off", d.plugin("coredump").get("message", ""))
        # Not a foreign change to warn about.
        self.assertNotIn("kernel.core_pattern was changed to", d.log())

        # Consent kept off across a restart: still left alone.
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assert_untouched(d)

    def test_a_normal_stop_leaves_core_pattern_to_the_handler(self):
        d = self.device().start()
        pattern = d.sysctl("core_pattern")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.sysctl("core_pattern"), pattern)
        d.start()
        self.assertTrue(d.plugin_status("coredump")["core_pattern"]["ours"])
        self.assertIn("kernel.core_pattern set to", d.log())  # the first start only
        self.assertEqual(d.log().count("kernel.core_pattern set to"), 1)


def machine_core_pattern():
    with open("/proc/sys/kernel/core_pattern") as f:
        return f.read().rstrip("\n")


class TriggerCoredumpTest(unittest.TestCase):
    """Crashes a real child. The machine's core_pattern is left as it is: the child runs in a
    temporary directory with RLIMIT_CORE 0, so a file pattern writes nothing anywhere."""

    def setUp(self):
        if machine_core_pattern().startswith("|"):
            self.skipTest("this machine pipes cores into a program: the crash would reach it")
        self.cwd = tempfile.mkdtemp(prefix="faultd-trigger-")
        self.addCleanup(shutil.rmtree, self.cwd, ignore_errors=True)

    def trigger(self, *args):
        # No faultd anywhere: the command must not need one.
        return subprocess.run(
            [FAULTCTL, "--socket", os.path.join(self.cwd, "no-faultd.sock"), "trigger-coredump"]
            + list(args),
            capture_output=True, text=True, timeout=60, cwd=self.cwd,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))

    def test_each_signal_kills_the_child_for_real(self):
        for name in ("SEGV", "ABRT", "BUS", "FPE", "ILL"):
            with self.subTest(signal=name):
                r = self.trigger("--signal", name)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertRegex(r.stdout, rf"^Child \d+ crashed with SIG{name}; no core was "
                                           r"dumped \(RLIMIT_CORE is 0")
                self.assertIn(f"core_pattern: {machine_core_pattern()}).", r.stdout)
                self.assertIn("warning: core_pattern does not pipe into faultd-core-handler",
                              r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])

    def test_default_is_segv_and_json_tells_the_outcome(self):
        r = self.trigger()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("crashed with SIGSEGV", r.stdout)
        r = subprocess.run(
            [FAULTCTL, "--json", "trigger-coredump", "--signal=sigabrt"], capture_output=True,
            text=True, timeout=60, cwd=self.cwd,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        self.assertEqual(r.returncode, 0, r.stderr)
        reply = json.loads(r.stdout)
        self.assertTrue(reply["ok"])
        self.assertEqual(reply["data"]["signal"], "SIGABRT")
        self.assertFalse(reply["data"]["core_dumped"])
        self.assertFalse(reply["data"]["pipes_into_faultd"])
        self.assertEqual(reply["data"]["core_pattern"], machine_core_pattern())
        self.assertEqual(os.listdir(self.cwd), [])

    def test_bad_arguments_are_usage_errors(self):
        for args in (["--signal", "KILL"], ["--signal"], ["--frobnicate"]):
            with self.subTest(args=args):
                r = self.trigger(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn("trigger-coredump", r.stderr)

    def test_listed_in_help(self):
        r = subprocess.run([FAULTCTL, "--help"], capture_output=True, text=True, timeout=10)
        lines = [line for line in r.stdout.splitlines() if "trigger-coredump" in line]
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertIn("--signal", lines[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
