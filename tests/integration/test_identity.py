# SPDX-License-Identifier: MIT
"""The device identity through the real faultd: a memfaultd device's memfault-device-info script,
found below sysroot and printing MEMFAULT_ keys, gives the same identity in faultctl status and
at the receiver; bad output and a device with no identity source are clear errors."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (HAVE_SYSMETRICS, PROJECT_KEY, DaemonTestCase, Receiver,  # noqa: E402
                     scaled)

# What memfaultd would send for this script: the hosted service's sets allow '+' everywhere but
# in the serial, and brackets in the software version.
MEMFAULT_IDENTITY = {
    "device_serial": "gw-mf-0001",
    "hardware_version": "evt+2",
    "software_type": "main",
    "software_version": "1.2.3+g1a2b [rc1]",
}
MEMFAULT_OUTPUT = ("MEMFAULT_DEVICE_ID=gw-mf-0001\n"
                   "MEMFAULT_HARDWARE_VERSION=evt+2\n"
                   "MEMFAULT_SOFTWARE_TYPE=main\n"
                   "MEMFAULT_SOFTWARE_VERSION=1.2.3+g1a2b [rc1]\n")


def put_device_info(d, output, where="usr/bin", extra=""):
    """Installs an executable memfault-device-info printing output in d's fake tree; returns its
    path there (as faultd names it)."""
    path = os.path.join(d.sysroot, where, "memfault-device-info")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + extra + "cat <<'EOF'\n" + output + "EOF\n")
    os.chmod(path, 0o755)
    return path


class IdentityTestCase(DaemonTestCase):
    def failed_start(self, d):
        """Starts d, which must refuse to run; returns its log."""
        d.start(wait=False)
        d.proc.wait(timeout=scaled(20))
        log = d.log()
        self.assertEqual(d.stop(), 1, log)
        return log


class MemfaultDeviceInfoTest(IdentityTestCase):
    def test_same_identity_in_status_and_at_the_receiver(self):
        rx = Receiver().start()
        self.addCleanup(rx.cleanup)
        config = rx.daemon_config(heartbeat_interval_seconds=3600)
        if HAVE_SYSMETRICS:
            config["sysmetrics"] = {"enabled": False}
        d = self.daemon(config=config)
        put_device_info(d, MEMFAULT_OUTPUT)
        self.assertNotIn("info_command", d.config.get("device", {}))
        d.start()

        status = d.status()
        self.assertEqual(status["identity"], MEMFAULT_IDENTITY)
        self.assertEqual(set(status["identity_sources"].values()), {"memfault-device-info"})

        self.ok(d, "request-metrics")
        self.ok(d, "sync")
        heartbeats = [e for e in rx.entries() if e["type"] == "linux-metric-report"]
        self.assertEqual(len(heartbeats), 1, rx.entries())
        self.assertEqual(heartbeats[0]["manifest"]["device"],
                         dict(MEMFAULT_IDENTITY, project_key=PROJECT_KEY))

    def test_faultd_keys_beside_memfault_keys_the_last_line_wins(self):
        d = self.daemon()
        put_device_info(d, "DEVICE_ID=faultd-name\n"
                           "MEMFAULT_DEVICE_ID=memfault-name\n"
                           "MEMFAULT_SOFTWARE_TYPE=memfault-type\n"
                           "SOFTWARE_TYPE=faultd-type\n")
        d.start()
        identity = d.status()["identity"]
        self.assertEqual(identity["device_serial"], "memfault-name")
        self.assertEqual(identity["software_type"], "faultd-type")
        # Not given: the fallbacks of the fake tree.
        self.assertEqual(identity["software_version"], "1.2.3")
        log = d.log()
        self.assertIn("line 2: MEMFAULT_DEVICE_ID given after DEVICE_ID, replacing the value "
                      "from line 1", log)
        self.assertIn("line 4: SOFTWARE_TYPE given after MEMFAULT_SOFTWARE_TYPE", log)

    def test_configuration_and_info_command_come_first(self):
        d = self.daemon(config={"device": {"serial": "from-config",
                                           "info_command": "echo HARDWARE_VERSION=from-cmd"}})
        marker = os.path.join(d.dir, "memfault-device-info-ran")
        put_device_info(d, MEMFAULT_OUTPUT, extra=f"touch '{marker}'\n")
        d.start()
        status = d.status()
        self.assertEqual(status["identity"]["device_serial"], "from-config")
        self.assertEqual(status["identity"]["hardware_version"], "from-cmd")
        self.assertEqual(status["identity_sources"]["hardware_version"], "device-info command")
        self.assertFalse(os.path.exists(marker))

    def test_bad_output_names_the_key_and_the_program(self):
        d = self.daemon()
        path = put_device_info(d, "MEMFAULT_DEVICE_ID=gw 1\n"
                                  "MEMFAULT_SOFTWARE_VERSION=release/1.0\n")
        log = self.failed_start(d)
        self.assertIn(f"memfault-device-info '{path}': line 1: invalid MEMFAULT_DEVICE_ID value "
                      '"gw 1": expected 1-128 characters of A-Z a-z 0-9 _ -', log)
        self.assertIn(f"memfault-device-info '{path}': line 2: invalid "
                      'MEMFAULT_SOFTWARE_VERSION value "release/1.0": expected 1-128 characters '
                      "of A-Z a-z 0-9 _ . : + - ( ) [ ] \\ and space (not /)", log)
        self.assertIn("Failed to determine the device identity", log)


class NoSourceTest(IdentityTestCase):
    def test_error_lists_every_source_tried(self):
        d = self.daemon()
        os.unlink(os.path.join(d.sysroot, "etc", "machine-id"))
        log = self.failed_start(d)
        self.assertIn("no device_serial: tried device.serial (not set), device.info_command "
                      "(not set), memfault-device-info (not found), /etc/machine-id (missing, "
                      'empty or "uninitialized"); set device.serial, or have a device-info '
                      "command print DEVICE_ID", log)

    def test_error_says_what_memfault_device_info_did(self):
        d = self.daemon()
        os.unlink(os.path.join(d.sysroot, "etc", "machine-id"))
        put_device_info(d, "MEMFAULT_HARDWARE_VERSION=h\n", where="sbin")
        log = self.failed_start(d)
        self.assertIn("no device_serial: tried device.serial (not set), device.info_command "
                      "(not set), memfault-device-info (gave no DEVICE_ID or MEMFAULT_DEVICE_ID), "
                      "/etc/machine-id", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
