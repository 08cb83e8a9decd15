#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Relays one guest TCP connection to HOST:PORT (QEMU's guestfwd "cmd:" runs it for each one).

QEMU gives the guest's connection to this process as its standard input and output (one
socket). A guestfwd rule to a character device instead would carry every guest connection of
the QEMU process over one host connection: after a guest reboot inside the same QEMU (a panic, a
watchdog reset) the new boot's TLS handshake would land in the middle of the old boot's session.
Standard library only; exits when either side has closed and everything read was written.
"""
import selectors
import socket
import sys


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    guest = socket.socket(fileno=0)
    server = socket.create_connection((host, port), timeout=10)
    server.settimeout(None)
    peers = {guest: server, server: guest}
    sel = selectors.DefaultSelector()
    for s in peers:
        sel.register(s, selectors.EVENT_READ)
    open_ends = 2
    while open_ends:
        for key, _ in sel.select():
            src = key.fileobj
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if data:
                try:
                    peers[src].sendall(data)
                    continue
                except OSError:
                    return
            # This side is done: pass the end of its stream on, keep relaying the other way.
            sel.unregister(src)
            open_ends -= 1
            try:
                peers[src].shutdown(socket.SHUT_WR)
            except OSError:
                pass


if __name__ == "__main__":
    try:
        main()
    except (OSError, KeyboardInterrupt):
        sys.exit(1)
