# SPDX-License-Identifier: MIT
"""The lines that ended a boot (docs/logs.md, "The lines that ended a boot"): after an unexpected
reboot the log file that holds the last lines of the boot before is closed and committed at once,
in a file of its own, beside the linux-reboot entry, whether faultd had them in its file in
progress (syslog) or reads what is left of them from the journal. No line is lost or repeated,
and the cid chain holds."""
import os
import re
import ssl
import sys
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import HAVE_SYSTEMD, wait_for  # noqa: E402
import test_logs  # noqa: E402
from test_logs import JOURNAL_REMOTE, LogsTestCase, chained, log_files, seqs  # noqa: E402


def reboots(rx):
    return [e for e in rx.entries() if e["type"] == "linux-reboot"]


class EndedBootSyslogTest(LogsTestCase):
    send_udp = test_logs.SyslogTest.send_udp

    def test_the_last_lines_of_a_boot_cut_short_go_at_the_next_start(self):
        # A day-long file age: only the boot's end closes the file.
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_file_age_seconds": 86400})
        d.start()
        self.send_udp(d, [f"<14>app: before seq={i}".encode() for i in range(30)])
        self.wait_kept(d, "syslog", 30)
        self.wait_flushed(d)
        d.kill()
        d.new_boot()
        d.start()
        # Committed at the start, before any line of this boot or a sync.
        wait_for(lambda: self.logs(d)["files_committed"] == 1, timeout=20,
                 what=f"the ended boot's file committed: {self.logs(d)}\n{d.log()}")
        self.assertEqual(self.logs(d)["file"]["lines"], 0)
        self.send_udp(d, [f"<14>app: after seq={i}".encode() for i in range(5)])
        self.wait_kept(d, "syslog", 5)
        self.ok(d, "sync")
        files = chained(log_files(self.rx))
        self.assertEqual(len(files), 2, files)
        self.assertEqual(seqs([line["data"]["MESSAGE"] for line in files[0]["lines"]],
                              "before"), list(range(30)))
        self.assertEqual(seqs([line["data"]["MESSAGE"] for line in files[1]["lines"]],
                              "after"), list(range(5)))
        [reboot] = reboots(self.rx)
        self.assertEqual(reboot["manifest"]["metadata"]["reason"], 0x8000, reboot)
        # The receiver's page of the reboot shows the boot's last lines, not the next boot's.
        page = self.page(f"/entries/{reboot['uuid']}")
        self.assertIn("Log lines before the boot ended", page)
        shown = re.findall(r"before seq=(\d+)", page)
        self.assertEqual(shown, [str(i) for i in range(10, 30)], page)
        self.assertNotIn("after seq=", page)

    def page(self, path):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(self.rx.url + path, context=ctx, timeout=10) as r:
            return r.read().decode()

    def test_a_restart_in_the_same_boot_goes_on_with_the_file(self):
        d = self.device({"syslog_listen": "udp:127.0.0.1:0", "max_file_age_seconds": 86400})
        d.start()
        self.send_udp(d, [f"<14>app: before seq={i}".encode() for i in range(10)])
        self.wait_kept(d, "syslog", 10)
        self.wait_flushed(d)
        d.kill()
        d.start()
        self.send_udp(d, [f"<14>app: before seq={i}".encode() for i in range(10, 15)])
        self.wait_kept(d, "syslog", 5)
        self.assertEqual(self.logs(d)["files_committed"], 0)
        self.assertEqual(self.logs(d)["file"]["lines"], 15)


@unittest.skipUnless(HAVE_SYSTEMD and JOURNAL_REMOTE, "no libsystemd or systemd-journal-remote")
class EndedBootJournalTest(LogsTestCase):
    journal_dir = test_logs.JournalTest.journal_dir
    write_journal = test_logs.JournalTest.write_journal

    def test_the_journal_gives_what_faultd_had_not_read_of_the_boot_before(self):
        # No flush but at a stop or a rotation: a kill loses what the last one did not save.
        d = self.device({"journal": "on", "max_file_age_seconds": 86400,
                         "flush_interval_seconds": 3600})
        old = d.new_boot()
        self.write_journal(d, 0, 20, boot=old)
        d.start()
        self.wait_kept(d, "journal", 20)
        self.assertEqual(d.stop(), 0)
        # The boot went on after faultd stopped, then ended; the journal kept its last lines.
        self.write_journal(d, 20, 30, boot=old)
        new = d.new_boot(str(uuid.uuid4()))
        self.write_journal(d, 0, 5, name="now.journal", boot=new, message="now seq={i}")
        d.start()
        self.wait_kept(d, "journal", 15)
        wait_for(lambda: self.logs(d)["files_committed"] == 1, timeout=20,
                 what=f"the ended boot's file committed: {self.logs(d)}")
        # Killed before any flush of this boot's lines: the closed file's saved position is
        # its own last line, so this boot's first line is read again, not lost.
        d.kill()
        d.start()
        self.wait_kept(d, "journal", 5)
        self.ok(d, "sync")
        files = chained(log_files(self.rx))
        self.assertEqual(len(files), 2, files)
        self.assertEqual(seqs([ln["data"]["MESSAGE"] for ln in files[0]["lines"]], "journal"),
                         list(range(30)))
        self.assertEqual(seqs([ln["data"]["MESSAGE"] for ln in files[1]["lines"]], "now"),
                         list(range(5)))

if __name__ == "__main__":
    unittest.main()
