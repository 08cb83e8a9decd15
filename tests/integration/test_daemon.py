# SPDX-License-Identifier: MIT
"""The real faultd driven by the real faultctl: status, consent, reload, signals, bad clients."""
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (FAULTCTL, FAULTD, HAVE_SYSTEMD, SOURCE_ROOT, DaemonTestCase,  # noqa: E402
                     raw_request, scaled, wait_for)

NOBODY = (65534, 65534, [])


class StatusTest(DaemonTestCase):
    def test_status_answers_in_milliseconds_and_json_is_valid(self):
        d = self.daemon().start()
        times = []
        for _ in range(20):
            t0 = time.monotonic()
            r = d.ctl("status", json_output=True)
            times.append((time.monotonic() - t0) * 1000)
            self.assertEqual(r.returncode, 0, r.stderr)
            reply = json.loads(r.stdout)
        print(f"\nfaultctl status round trip: median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms (20 runs, process start included)", file=sys.stderr)
        self.assertTrue(reply["ok"])
        data = reply["data"]
        self.assertEqual(data["version"], "0.1.0")
        self.assertEqual(data["pid"], d.proc.pid)
        self.assertFalse(data["data_collection"])
        self.assertFalse(data["developer_mode"])
        self.assertEqual(data["identity"], {
            "device_serial": "0123456789abcdef0123456789abcdef",
            "hardware_version": data["identity"]["hardware_version"],
            "software_type": "testos",
            "software_version": "1.2.3",
        })
        self.assertEqual(data["identity_sources"]["device_serial"], "/etc/machine-id")
        self.assertIsInstance(data["plugins"], list)
        # Well within "milliseconds": the median includes starting faultctl itself.
        self.assertLess(statistics.median(times), scaled(500))

    def test_human_status(self):
        d = self.daemon(config={"device": {"serial": "gw-0042"}}).start()
        r = d.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("gw-0042", r.stdout)
        self.assertIn("data_collection: no", r.stdout)

    def test_show_config_redacts_the_project_key(self):
        d = self.daemon(config={"project_key": "s3cr3t-key"}).start()
        r = d.ctl("show-config", json_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("s3cr3t-key", r.stdout)
        data = json.loads(r.stdout)["data"]
        self.assertEqual(data["state_dir"]["value"], d.state_dir)
        self.assertTrue(data["state_dir"]["origin"].startswith(d.config_path + ":"))
        self.assertEqual(data["upload_interval_seconds"]["origin"], "default")

    def test_unknown_command(self):
        d = self.daemon().start()
        r = d.ctl("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("frobnicate", r.stderr)


class ConsentTest(DaemonTestCase):
    def test_consent_survives_restart(self):
        d = self.daemon().start()
        self.assertFalse(d.status()["data_collection"])
        r = d.ctl("enable-data-collection")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("enabled", r.stdout)
        self.assertTrue(d.status()["data_collection"])
        with open(os.path.join(d.state_dir, "runtime.conf")) as f:
            self.assertIn('"enable_data_collection": true', f.read())

        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertTrue(d.status()["data_collection"])
        origin = json.loads(d.ctl("show-config", json_output=True).stdout)["data"]
        self.assertIn("runtime.conf", origin["enable_data_collection"]["origin"])

        self.assertEqual(d.ctl("disable-data-collection").returncode, 0)
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertFalse(d.status()["data_collection"])

    def test_runtime_overrides_etc(self):
        d = self.daemon(config={"enable_data_collection": True}).start()
        self.assertTrue(d.status()["data_collection"])
        self.assertEqual(d.ctl("disable-data-collection").returncode, 0)
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertFalse(d.status()["data_collection"])

    def test_dev_mode(self):
        d = self.daemon().start()
        r = d.ctl("enable-dev-mode")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(d.status()["developer_mode"])
        r = d.ctl("enable-dev-mode")
        self.assertIn("already", r.stdout)
        self.assertEqual(d.ctl("disable-dev-mode").returncode, 0)
        self.assertFalse(d.status()["developer_mode"])

    def test_unwritable_state_dir_reports_error(self):
        d = self.daemon().start()
        # Root ignores permissions: a directory in runtime.conf's place makes the rename fail.
        os.mkdir(os.path.join(d.state_dir, "runtime.conf"))
        r = d.ctl("enable-data-collection")
        self.assertEqual(r.returncode, 1)
        self.assertIn("runtime.conf", r.stderr)
        self.assertFalse(d.status()["data_collection"])


class PrivilegeTest(DaemonTestCase):
    def test_unprivileged_user_may_read_but_not_change(self):
        d = self.daemon().start()
        r = d.ctl("status", as_user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        for cmd in ("enable-data-collection", "enable-dev-mode", "disable-data-collection"):
            r = d.ctl(cmd, as_user=NOBODY)
            self.assertEqual(r.returncode, 1, f"{cmd}: {r.stdout} {r.stderr}")
            self.assertIn("permission denied", r.stderr)
        status = d.status()
        self.assertFalse(status["data_collection"])
        self.assertFalse(status["developer_mode"])
        self.assertIn("uid 65534", d.log())

    def test_control_group_member_may_change(self):
        users_gid = 100  # "users", present on every Debian system
        d = self.daemon(config={"control_group": "users"}).start()
        r = d.ctl("enable-dev-mode", as_user=(65534, 65534, [users_gid]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(d.status()["developer_mode"])
        r = d.ctl("disable-dev-mode", as_user=NOBODY)
        self.assertEqual(r.returncode, 1)
        self.assertIn("users", r.stderr)

    def test_unknown_control_group_is_a_startup_error(self):
        d = self.daemon(config={"control_group": "no-such-group-xyz"})
        d.start(wait=False)
        code = d.proc.wait(timeout=10)
        d.stop()
        self.assertEqual(code, 1)
        self.assertIn("no-such-group-xyz", d.log())


class ReloadTest(DaemonTestCase):
    def test_sighup_applies_new_configuration(self):
        d = self.daemon(config={"device": {"serial": "before"}}).start()
        self.assertEqual(d.status()["identity"]["device_serial"], "before")
        d.config["device"] = {"serial": "after"}
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["identity"]["device_serial"] == "after", what="reload")
        status = d.status()
        self.assertEqual(status["reloads"], 1)
        self.assertEqual(status["last_reload"], "ok")

    def test_sighup_with_invalid_configuration_keeps_running_one(self):
        d = self.daemon(config={"device": {"serial": "good"}}).start()
        d.write_config('{"device": {"serial": "bad serial!"}, "upload_interval_seconds": "x"}')
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["reloads"] == 1, what="reload attempt")
        status = d.status()
        self.assertEqual(status["identity"]["device_serial"], "good")
        self.assertTrue(status["last_reload"].startswith("failed: "), status["last_reload"])
        log = d.log()
        self.assertIn("upload_interval_seconds", log)
        self.assertIn("keeping the running configuration", log)
        # The old control socket still works, and the daemon still stops cleanly.
        self.assertEqual(d.ctl("enable-dev-mode").returncode, 0)

    def test_info_command_runs_again_only_when_identity_inputs_change(self):
        d = self.daemon()
        counter = os.path.join(d.dir, "runs")
        d.config["device"] = {"info_command": f"echo run >> {counter}; echo DEVICE_ID=cmd-1"}
        d.write_config()
        d.start()

        def runs():
            with open(counter) as f:
                return f.read().count("run")

        self.assertEqual(runs(), 1)
        self.assertEqual(d.status()["identity"]["device_serial"], "cmd-1")
        self.assertEqual(d.status()["identity_sources"]["device_serial"], "device-info command")
        # A reload that changes nothing about identity does not block the loop on the command.
        d.config["log_level"] = "info"
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["reloads"] == 1, what="first reload")
        self.assertEqual(runs(), 1)
        d.config["device"]["info_command"] += "; true"
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["reloads"] == 2, what="second reload")
        self.assertEqual(d.status()["last_reload"], "ok")
        self.assertEqual(runs(), 2)

    def test_sighup_moves_control_socket(self):
        d = self.daemon().start()
        old = d.socket
        d.socket = os.path.join(d.dir, "moved.sock")
        d.config["control_socket"] = d.socket
        d.write_config()
        d.signal(signal.SIGHUP)
        # The file appears at bind(), a moment before listen(): wait for an answer.
        wait_for(lambda: d.ctl("status").returncode == 0, what="new socket")
        self.assertEqual(d.status()["last_reload"], "ok")
        self.assertFalse(os.path.exists(old))

    def test_dropin_applies(self):
        d = self.daemon(dropins={"50-serial.conf": '{"device": {"serial": "from-dropin"}}'})
        d.start()
        self.assertEqual(d.status()["identity"]["device_serial"], "from-dropin")


class BadClientTest(DaemonTestCase):
    def test_garbage_gets_error_reply(self):
        d = self.daemon().start()
        reply = json.loads(raw_request(d.socket, b"this is not json\n"))
        self.assertFalse(reply["ok"])
        self.assertEqual(reply["errno"], "EINVAL")
        reply = json.loads(raw_request(d.socket, b'{"command": 42}\n'))
        self.assertFalse(reply["ok"])
        reply = json.loads(raw_request(d.socket, b'{"command": "status"}', shutdown_write=True))
        self.assertTrue(reply["ok"])

    def test_overlong_request_is_refused(self):
        d = self.daemon().start()
        reply = raw_request(d.socket, b"{" + b" " * (200 * 1024))
        if reply:
            self.assertEqual(json.loads(reply)["errno"], "E2BIG")
        self.assertEqual(d.ctl("status").returncode, 0)

    def test_silent_and_vanishing_clients_do_not_block_others(self):
        d = self.daemon().start()
        silent = []
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket)
            silent.append(s)
        # Half a request, then gone.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.socket)
        s.sendall(b'{"command": "sta')
        s.close()
        t0 = time.monotonic()
        for _ in range(5):
            self.assertEqual(d.ctl("status").returncode, 0)
        self.assertLess(time.monotonic() - t0, scaled(5))
        # A silent client is answered with a timeout and dropped.
        silent[0].settimeout(15)
        data = silent[0].recv(4096)
        self.assertEqual(json.loads(data)["errno"], "ETIMEDOUT")
        for s in silent:
            s.close()

    def test_many_concurrent_clients(self):
        d = self.daemon().start()
        results = []

        def one():
            results.append(raw_request(d.socket, b'{"command": "status"}\n'))

        threads = [threading.Thread(target=one) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = sum(1 for r in results if r and json.loads(r)["ok"])
        self.assertEqual(ok, 50)


class LifecycleTest(DaemonTestCase):
    def test_sigterm_and_sigint_stop_cleanly(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            d = self.daemon().start()
            d.signal(signum)
            self.assertEqual(d.proc.wait(timeout=10), 0, d.log())
            self.assertEqual(d.stop(), 0)
            self.assertFalse(os.path.exists(d.socket))
            self.assertIn("Stopping", d.log())

    def test_second_instance_refuses_the_live_socket(self):
        d = self.daemon().start()
        r = subprocess.run([FAULTD, "--config", d.config_path], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn(d.socket, r.stderr)
        self.assertEqual(d.ctl("status").returncode, 0)

    def test_restart_after_kill_replaces_stale_socket(self):
        d = self.daemon().start()
        d.kill()
        self.assertTrue(os.path.exists(d.socket))
        d.start()
        self.assertEqual(d.ctl("status").returncode, 0)

    def test_help_asks_no_daemon(self):
        # faultctl answers help from its own table: a server that would answer is never asked.
        d = self.daemon()
        path = os.path.join(d.dir, "fake.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        server.settimeout(0.5)
        try:
            r = subprocess.run([FAULTCTL, "--socket", path, "help"], capture_output=True,
                               text=True, timeout=20)
            with self.assertRaises(socket.timeout):
                server.accept()
        finally:
            server.close()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("status", r.stdout)

    def test_faultctl_without_daemon(self):
        r = subprocess.run([FAULTCTL, "--socket", "/nonexistent/faultd.sock", "status"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn("/nonexistent/faultd.sock", r.stderr)

    @unittest.skipUnless(HAVE_SYSTEMD, "built without systemd")
    def test_service_manager_notifications(self):
        notify_path = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            d = self.daemon()
            notify_path = os.path.join(d.dir, "notify.sock")
            sock.bind(notify_path)
            sock.settimeout(10)
            d.env["NOTIFY_SOCKET"] = notify_path
            d.env["WATCHDOG_USEC"] = "200000"
            d.start()
            messages = []

            def until(text):
                while not any(text in m for m in messages):
                    messages.append(sock.recv(4096).decode())
                return True

            until("READY=1")
            until("STATUS=Running: data collection off")
            until("WATCHDOG=1")
            t0 = time.monotonic()
            count = sum(m.count("WATCHDOG=1") for m in messages)
            while sum(m.count("WATCHDOG=1") for m in messages) < count + 3:
                messages.append(sock.recv(4096).decode())
            # Pings at half the 200 ms interval: three take about 300 ms.
            self.assertLess(time.monotonic() - t0, 2.0)
            d.signal(signal.SIGHUP)
            until("RELOADING=1")
            d.signal(signal.SIGTERM)
            until("STOPPING=1")
            self.assertEqual(d.proc.wait(timeout=10), 0, d.log())
        finally:
            sock.close()


def faultctl_commands():
    """{name: usage} of the commands `faultctl --help` lists."""
    r = subprocess.run([FAULTCTL, "--help"], capture_output=True, text=True, timeout=20)
    block = r.stdout.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    commands = {}
    for line in block.splitlines():
        name, _, usage = line.strip().split("  ", 1)[0].partition(" ")
        commands[name] = usage
    return commands


class CommandArgumentsTest(DaemonTestCase):
    """A command's own arguments: -h/--help anywhere shows its help and does nothing; a word
    starting with '-' is an option, never data, unless it follows "--"."""

    def device(self):
        # Consent on, so that a crash or reading taken for data would be counted; a reboot
        # command that reboots nothing, should one run by mistake.
        return self.daemon(config={"enable_data_collection": True,
                                   "reboot_command": "true",
                                   "hours": {"checkpoint_interval_seconds": 1}}).start()

    def crashes(self, d):
        return d.status()["hours"]["operational_crashes"]

    def assert_help(self, r, name, usage):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "")
        first, _, rest = r.stdout.partition("\n")
        self.assertEqual(first, f"Usage: faultctl [OPTIONS] {name} {usage}".rstrip())
        self.assertIn("-h, --help", rest)
        # Each argument and option of the usage line is explained below it.
        for word in re.findall(r"--[\w-]+|[A-Z](?:[A-Z=:\[\]]*[A-Z])?", usage):
            self.assertIn(word, rest, f"{name}: {word} is not explained:\n{r.stdout}")

    def test_every_command_shows_its_help_without_faultd(self):
        commands = faultctl_commands()
        self.assertGreaterEqual(len(commands), 14)
        nothing = os.path.join(tempfile.mkdtemp(prefix="faultd-it-"), "nothing.sock")
        self.addCleanup(os.rmdir, os.path.dirname(nothing))
        for name, usage in commands.items():
            for where in ([], ["x=1", "--bogus"], ["--reason", "UserReset"]):
                for flag in ("-h", "--help"):
                    args = [name] + where + [flag]
                    with self.subTest(args=args):
                        r = subprocess.run([FAULTCTL, "--socket", nothing] + args,
                                           capture_output=True, text=True, timeout=20)
                        self.assert_help(r, name, usage)
        self.assertEqual(os.listdir(os.path.dirname(nothing)), [])

    def test_report_crash_help_counts_no_crash(self):
        d = self.device()
        usage = faultctl_commands()["report-crash"]
        for args in (["--help"], ["-h"], ["gatewayd", "--help"], ["gatewayd", "11", "-h"]):
            with self.subTest(args=args):
                self.assert_help(d.ctl("report-crash", *args), "report-crash", usage)
        self.assertEqual(self.crashes(d), 0)
        self.assertNotIn("Crash of", d.log())
        # The same faultd counts a crash reported for real.
        self.assertEqual(d.ctl("report-crash", "gatewayd", "11").returncode, 0)
        self.assertEqual(self.crashes(d), 1)

    def test_a_word_starting_with_a_dash_is_never_data(self):
        d = self.device()
        declared = os.path.join(d.state_dir, "reboot", "declared.json")
        spooled = d.status()["spool"]["entries"]
        cases = [
            (("report-crash", "--foo"), "unknown option '--foo'"),
            (("report-crash", "-x", "11"), "unknown option '-x'"),
            (("report-crash", "gatewayd", "-11"), "unknown option '-11'"),
            (("write-attributes", "--rogue=1"), "unknown option '--rogue'"),
            (("write-attributes", "ok=1", "-k=v"), "unknown option '-k'"),
            (("write-metric", "--rogue=1"), "unknown option '--rogue'"),
            (("status", "--verbose"), "unknown option '--verbose'"),
            (("reboot", "--reason", "--no-reboot"), "option '--reason' needs a value"),
            (("reboot", "--reason", "UserReset", "--no-reboot", "--now"),
             "unknown option '--now'"),
            (("trigger-coredump", "--sig", "ABRT"), "unknown option '--sig'"),
            (("request-metrics", "--help=1"), "option '--help' takes no value"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = d.ctl(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn(f"faultctl: {args[0]}: {message}; "
                              f"see 'faultctl {args[0]} --help'", r.stderr)
        status = d.status()
        self.assertEqual(status["hours"]["operational_crashes"], 0)
        self.assertEqual(status["hours"]["metrics"]["keys"], 0)
        self.assertEqual(status["spool"]["entries"], spooled)
        self.assertFalse(os.path.exists(declared))

        # What starts with a letter or '!' is data as before: negative values, custom reasons.
        self.assertEqual(d.ctl("write-metric", "temp=-3").returncode, 0)
        self.assertEqual(d.ctl("write-attributes", "rssi=-61").returncode, 0)
        r = d.ctl("reboot", "--reason", "!ModemHang", "--no-reboot")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(declared))

    def test_double_dash_lets_data_start_with_a_dash(self):
        d = self.device()
        r = d.ctl("report-crash", "--", "-weird-name", "6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Crash of -weird-name counted", r.stdout)
        self.assertEqual(self.crashes(d), 1)
        # After "--" even --help is data.
        r = d.ctl("report-crash", "--", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Crash of --help counted", r.stdout)
        self.assertEqual(self.crashes(d), 2)
        self.assertEqual(d.ctl("write-metric", "--", "-m=1:counter").returncode, 0)
        self.assertEqual(d.status()["hours"]["metrics"]["keys"], 1)


class CommandLineTest(DaemonTestCase):
    def run_faultd(self, *args):
        return subprocess.run([FAULTD] + list(args), capture_output=True, text=True, timeout=20)

    def test_check_config_lists_every_mistake(self):
        d = self.daemon()
        d.write_config('{\n'
                       '  "upload_interval_seconds": "abc",\n'
                       '  "heartbeat_intervl_seconds": 60,\n'
                       '  "device": {\n'
                       '    "serial": "has space"\n'
                       '  }\n'
                       '}\n')
        r = self.run_faultd("--config", d.config_path, "--check-config")
        self.assertEqual(r.returncode, 1)
        errors = [l for l in r.stderr.splitlines() if l.startswith(d.config_path + ":")]
        self.assertEqual(len(errors), 3, r.stderr)
        self.assertIn(f"{d.config_path}:2: upload_interval_seconds:", errors[0])
        self.assertIn('"abc"', errors[0])
        self.assertIn(f"{d.config_path}:3:", errors[1])
        self.assertIn("heartbeat_interval_seconds", errors[1])
        self.assertIn(f"{d.config_path}:5: device.serial:", errors[2])

    def test_check_config_valid(self):
        d = self.daemon(dropins={"20-empty.conf": "", "30-comments.conf": "// nothing yet\n"})
        r = self.run_faultd("--config", d.config_path, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid", r.stdout)

    def test_check_config_names_the_files_it_read(self):
        d = self.daemon(dropins={"20-a.conf": '{"upload_interval_seconds": 60}'})
        r = self.run_faultd("--config", d.config_path, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "Configuration is valid. Read, in order:")
        self.assertEqual([l.strip() for l in lines[1:]],
                         [d.config_path, os.path.join(d.config_path + ".d", "20-a.conf")])

    @unittest.skipIf(os.path.exists("/etc/faultd.conf") or os.path.exists("/etc/faultd.conf.d")
                     or os.path.exists("/var/lib/faultd/runtime.conf"),
                     "this machine has a configuration of faultd's")
    def test_check_config_says_when_it_read_nothing(self):
        r = self.run_faultd("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("No configuration file was read (/etc/faultd.conf does not exist); the "
                      "built-in defaults are valid.", r.stdout)
        self.assertNotIn("Configuration is valid", r.stdout)

    def test_log_level_overrides_the_configuration(self):
        d = self.daemon(config={"log_level": "warning"})
        d.start()
        d.stop()
        self.assertNotIn("debug:", d.log())
        with open(os.path.join(d.dir, "debug.log"), "w+") as err:
            p = subprocess.Popen([FAULTD, "--config", d.config_path, "--log-level", "debug"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            try:
                wait_for(lambda: subprocess.run([FAULTCTL, "--socket", d.socket, "status"],
                                                capture_output=True).returncode == 0,
                         what="faultd --log-level debug to answer")
            finally:
                p.terminate()
                p.wait(timeout=20)
            err.seek(0)
            self.assertIn("faultd: debug:", err.read())
        r = self.run_faultd("--log-level", "loud", "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("faultd: --log-level: 'loud' is not one of debug, info, notice, warning, "
                      "error.", r.stderr)

    def test_shipped_config_is_valid_and_changes_nothing(self):
        shipped = os.path.join(SOURCE_ROOT, "config", "faultd.conf")
        r = self.run_faultd("--config", shipped, "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            if line.strip().startswith('"') and not line.strip().endswith("{"):
                self.assertIn("// default", line)

    def test_missing_config_given_explicitly(self):
        r = self.run_faultd("--config", "/nonexistent/faultd.conf", "--check-config")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/faultd.conf", r.stderr)

    def test_print_config_shows_origins(self):
        d = self.daemon(dropins={"10-a.conf": '{"upload_interval_seconds": 60}'})
        r = self.run_faultd("--config", d.config_path, "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = next(l for l in r.stdout.splitlines() if '"upload_interval_seconds"' in l)
        self.assertIn("60", line)
        self.assertIn("10-a.conf:1", line)
        line = next(l for l in r.stdout.splitlines() if '"heartbeat_interval_seconds"' in l)
        self.assertIn("default", line)

    def test_documented_config_matches_schema(self):
        r = self.run_faultd("--print-default-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(SOURCE_ROOT, "config", "faultd.conf")) as f:
            self.assertEqual(f.read(), r.stdout,
                             "config/faultd.conf is stale: regenerate it with "
                             "`faultd --print-default-config > config/faultd.conf`")

    def test_help_version_usage(self):
        r = self.run_faultd("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--check-config", r.stdout)
        self.assertEqual(self.run_faultd("--version").stdout.strip().split()[:2],
                         ["faultd", "0.1.0"])
        self.assertEqual(self.run_faultd("--bogus").returncode, 2)
        self.assertEqual(self.run_faultd("extra").returncode, 2)
        r = subprocess.run([FAULTCTL, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("enable-data-collection", r.stdout)
        r = subprocess.run([FAULTCTL], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


class FaultctlTest(DaemonTestCase):
    """faultctl's own words: local help, one program name, errors as JSON, FAULTD_SOCKET."""

    def run_faultctl(self, *args, env=None):
        return subprocess.run([FAULTCTL] + list(args), capture_output=True, text=True,
                              timeout=20, env=env)

    def nowhere(self):
        nothing = os.path.join(tempfile.mkdtemp(prefix="faultd-it-"), "nothing.sock")
        self.addCleanup(os.rmdir, os.path.dirname(nothing))
        return nothing

    def test_help_is_local_and_lists_no_internal_command(self):
        nothing = self.nowhere()
        r = self.run_faultctl("--socket", nothing, "help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.run_faultctl("--help").stdout)
        self.assertNotIn("crash-reported", r.stdout)
        r = self.run_faultctl("--socket", nothing, "help", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.run_faultctl("status", "--help").stdout)
        r = self.run_faultctl("--socket", nothing, "--json", "help")
        self.assertEqual(r.returncode, 0, r.stderr)
        commands = {c["name"]: c for c in json.loads(r.stdout)["data"]["commands"]}
        self.assertTrue(commands["crash-reported"]["internal"])
        self.assertFalse(commands["status"]["internal"])
        self.assertTrue(commands["reboot"]["privileged"])
        r = self.run_faultctl("help", "crash-reported")
        self.assertEqual(r.returncode, 2)

    def test_a_mistyped_command_gets_a_suggestion(self):
        for typed, meant in (("stauts", "status"), ("rebot", "reboot"),
                             ("write-metrics", "write-metric"), ("hlep", "help")):
            with self.subTest(typed=typed):
                r = self.run_faultctl(typed)
                self.assertEqual(r.returncode, 2)
                self.assertIn(f"faultctl: unknown command '{typed}'; did you mean '{meant}'?",
                              r.stderr)
        r = self.run_faultctl("frobnicate")
        self.assertNotIn("did you mean", r.stderr)
        # The internal command is not offered, not even as a suggestion.
        self.assertNotIn("crash-reported", self.run_faultctl("crash-reportd").stderr)

    def test_messages_name_the_program_not_its_path(self):
        self.assertTrue(os.path.isabs(FAULTCTL) or os.sep in FAULTCTL, FAULTCTL)
        for args in (["--bogus"], ["--socket"], ["--timeout=x", "status"], ["-x"], [],
                     ["status", "--bogus"]):
            with self.subTest(args=args):
                r = self.run_faultctl(*args)
                self.assertEqual(r.returncode, 2)
                self.assertTrue(r.stderr.startswith("faultctl: "), r.stderr)
                self.assertNotIn(FAULTCTL, r.stderr)
        self.assertIn("unknown option '--bogus'", self.run_faultctl("--bogus").stderr)
        self.assertIn("option '--socket' needs a value", self.run_faultctl("--socket").stderr)

    def test_json_errors_go_to_stdout_with_the_exit_status(self):
        nothing = self.nowhere()
        cases = [
            (["--json", "--bogus"], 2, "unknown option"),
            (["--json", "stauts"], 2, "did you mean"),
            (["--json", "report-crash"], 2, "report-crash: expected"),
            (["--json", "--timeout", "0", "status"], 2, "--timeout"),
            (["--json"], 2, "no command"),
            (["--socket", nothing, "--json", "status"], 3, nothing),
        ]
        for args, status, text in cases:
            with self.subTest(args=args):
                r = self.run_faultctl(*args)
                self.assertEqual(r.returncode, status, r.stdout + r.stderr)
                self.assertEqual(r.stderr, "")
                reply = json.loads(r.stdout)
                self.assertIs(reply["ok"], False)
                self.assertEqual(reply["exit_status"], status)
                self.assertIn(text, reply["error"])
                self.assertIsInstance(reply["errno"], str)
        # A refusal of faultd's carries the exit status too.
        d = self.daemon().start()
        r = d.ctl("write-metric", "x=1", json_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["exit_status"], 1)

    def test_socket_from_the_environment(self):
        d = self.daemon().start()
        env = dict(os.environ, FAULTD_SOCKET=d.socket)
        r = self.run_faultctl("--json", "status", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["data"]["pid"], d.proc.pid)
        # --socket wins over the environment.
        env = dict(os.environ, FAULTD_SOCKET="/nonexistent/faultd.sock")
        self.assertEqual(self.run_faultctl("--socket", d.socket, "status", env=env).returncode, 0)
        r = self.run_faultctl("status", env=env)
        self.assertEqual(r.returncode, 3)
        self.assertIn("/nonexistent/faultd.sock", r.stderr)
        self.assertIn("FAULTD_SOCKET", self.run_faultctl("--help").stdout)


class Issue24DaemonTest(DaemonTestCase):
    """Commands that did too little, or said it badly."""

    def device(self):
        return self.daemon(config={"enable_data_collection": True,
                                   "reboot_command": "true"}).start()

    def test_report_crash_takes_signal_names(self):
        d = self.device()
        for n, signal_word in enumerate(("SEGV", "SIGSEGV", "sigabrt", "11", "Bus"), 1):
            with self.subTest(signal=signal_word):
                r = d.ctl("report-crash", "gatewayd", signal_word)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(d.status()["hours"]["operational_crashes"], n)
        for bad in ("SIGBOGUS", "0", "65", "SIG"):
            with self.subTest(signal=bad):
                r = d.ctl("report-crash", "gatewayd", bad)
                self.assertEqual(r.returncode, 2)
                self.assertIn("SIGNAL", r.stderr)
        self.assertEqual(d.status()["hours"]["operational_crashes"], 5)

    def test_a_write_metric_that_keeps_nothing_fails(self):
        d = self.device()
        r = d.ctl("write-metric", "operational_hours=5")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("nothing recorded", r.stderr)
        self.assertIn("reserved for faultd", r.stderr)
        self.assertEqual(d.status()["hours"]["metrics"]["keys"], 0)
        # One kept is a success that says what was not kept.
        r = d.ctl("write-metric", "operational_hours=5", "temp=3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Recorded 1 reading", r.stdout)

    def test_an_unknown_kind_is_named_with_the_kinds(self):
        d = self.device()
        r = d.ctl("write-metric", "x=1:bogus")
        self.assertEqual(r.returncode, 1)
        self.assertIn('KIND "bogus" is unknown', r.stderr)
        self.assertNotIn("finite number", r.stderr)
        for kind in ("counter (c)", "gauge (g)", "histogram (h, ms, timer, d)", "set (s)"):
            self.assertIn(kind, r.stderr)
        r = d.ctl("write-metric", "x=abc")
        self.assertIn("VALUE is not a finite number", r.stderr)
        # A set member may hold ':' and a kind after it.
        self.assertEqual(d.ctl("write-metric", "users=a:b:s").returncode, 0)
        self.assertIn("timer", d.ctl("write-metric", "--help").stdout)

    def test_a_declared_reboot_reason_is_shown_and_can_be_withdrawn(self):
        d = self.device()
        declared = os.path.join(d.state_dir, "reboot", "declared.json")
        self.assertIsNone(d.status()["reboot_declared"])
        self.assertIn("reboot declared: -", d.ctl("status").stdout)
        r = d.ctl("reboot", "--reason", "FirmwareUpdate", "--no-reboot")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.status()["reboot_declared"]["reason"], "FirmwareUpdate (0x0003)")
        self.assertFalse(d.status()["reboot_declared"]["unexpected"])
        self.assertIn("reboot declared: FirmwareUpdate (0x0003)", d.ctl("status").stdout)
        for args in (["--cancel", "--reason", "UserReset"], ["--cancel", "--no-reboot"],
                     ["--cancel=1"]):
            with self.subTest(args=args):
                self.assertEqual(d.ctl("reboot", *args).returncode, 2)
        self.assertTrue(os.path.exists(declared))
        r = d.ctl("reboot", "--cancel")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Withdrew FirmwareUpdate (0x0003)", r.stdout)
        self.assertFalse(os.path.exists(declared))
        self.assertIsNone(d.status()["reboot_declared"])
        r = d.ctl("reboot", "--cancel")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to withdraw", r.stdout)
        self.assertIn("withdrawn", d.log())

    def test_status_says_first_whether_all_is_well(self):
        d = self.device()
        lines = d.ctl("status").stdout.splitlines()
        self.assertRegex(lines[0], r"^faultd 0\.1\.0: collecting; no upload yet; "
                                   r"0 entries waiting; 0 dropped; all well$")
        self.assertRegex(lines[1], r"^next heartbeat: in \d+ (s|min)$")
        text = "\n".join(lines)
        # Numbers for people: no 17-digit floats, no exponents; exact in --json.
        self.assertNotRegex(text, r"\d\.\d{4,}|\de-\d")
        self.assertIsInstance(d.status()["hours"]["operational_hours"], float)
        # One notation for nothing: never an empty value.
        self.assertEqual([l for l in lines if re.match(r"^\s*[\w.-]+:\s*$", l)
                          and not l.endswith(":")], [])
        self.assertNotIn("(none)", text)
        self.assertNotIn("next_in_seconds", text)
        off = self.daemon().start()
        first = off.ctl("status").stdout.splitlines()[0]
        self.assertIn("not collecting", first)


if __name__ == "__main__":
    unittest.main(verbosity=2)
