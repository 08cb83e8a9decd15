# SPDX-License-Identifier: MIT
"""Headless Chromium for the tests of the receiver's pages, and a small DOM to read what it
rendered.

Chromium runs with a profile of its own in a temporary folder, trusts only the receiver's server
key (by its SPKI hash), resolves no host name but the loopback ones, and is killed with its whole
process group whatever happens. Debian's package is `chromium`; as root it needs --no-sandbox.
"""
import base64
import hashlib
import html.parser
import os
import shutil
import signal
import subprocess
import tempfile

CHROMIUM_NAMES = ("chromium", "chromium-browser")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def chromium_path():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def spki_hash(pem_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate, as Chromium's
    --ignore-certificate-errors-spki-list takes it."""
    r = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-pubkey"],
                       capture_output=True, text=True, timeout=30, check=True)
    body = "".join(line for line in r.stdout.splitlines() if not line.startswith("-----"))
    return base64.b64encode(hashlib.sha256(base64.b64decode(body)).digest()).decode()


class Browser:
    """One headless Chromium run per call; close() removes the profile."""

    def __init__(self, server_pem=None, timeout=90):
        self.path = chromium_path()
        if self.path is None:
            raise RuntimeError("chromium is not installed (Debian package chromium)")
        self.profile = tempfile.mkdtemp(prefix="faultd-chromium-")
        self.spki = spki_hash(server_pem) if server_pem else None
        self.timeout = timeout

    def close(self):
        shutil.rmtree(self.profile, ignore_errors=True)

    def _run(self, url, extra, size):
        args = [self.path, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--force-device-scale-factor=1", f"--user-data-dir={self.profile}",
                f"--window-size={size[0]},{size[1]}",
                # Offline: a page that needed anything but the receiver would show it.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
        if self.spki:
            args.append(f"--ignore-certificate-errors-spki-list={self.spki}")
        args += list(extra) + [url]
        env = dict(os.environ, HOME=self.profile)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env=env)
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(proc)
            proc.communicate()
            raise AssertionError(f"chromium did not finish {url} within {self.timeout} s")
        except BaseException:
            self._kill_group(proc)
            proc.communicate()
            raise
        finally:
            # Its helper processes (zygote, GPU, network service) share its process group.
            self._kill_group(proc)
        if proc.returncode != 0:
            raise AssertionError(f"chromium exited with {proc.returncode} on {url}:\n"
                                 + err.decode(errors="replace")[-3000:])
        return out, err

    @staticmethod
    def _kill_group(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def dom(self, url, size=(1200, 900)):
        """The DOM Chromium built for url, serialized, as text."""
        out, _ = self._run(url, ["--dump-dom"], size)
        return out.decode("utf-8", errors="replace")

    def screenshot(self, url, path, size=(1200, 900)):
        """A PNG of url's first size[1] pixels at size[0] pixels wide, written to path."""
        if os.path.exists(path):
            os.unlink(path)
        self._run(url, [f"--screenshot={path}"], size)
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                raise AssertionError(f"{path}: not a PNG")
        return path


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def find_all(self, tag=None, cls=None, **attrs):
        """Descendants with that tag, class and attributes (data_x for data-x)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.walk()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and all(n.attrs.get(k) == v for k, v in wanted.items())]

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        if not found:
            raise AssertionError(f"no <{tag or '*'}> with class {cls} and {attrs} in "
                                 f"{self.text()[:2000]!r}")
        return found[0]

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


class _Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_dom(text):
    """A Node tree of serialized HTML (as --dump-dom gives it)."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root
