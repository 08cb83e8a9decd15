#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Programs link only the code they run (docs/architecture.md): nm shows no libuv, libcurl,
libmicrohttpd, control server or uploader in faultctl and faultd-core-handler. faultd is checked
to hold what they must not, so that a broken nm cannot pass. Arguments: faultd, faultctl and
faultd-core-handler (absent when built without the coredump plugin)."""
import subprocess
import sys

# Prefixes of symbols a program must not hold, defined or undefined.
FORBIDDEN = {
    "faultctl": ("uv_", "curl_", "MHD_", "lc_control_new", "lc_control_start", "lc_uploader_",
                 "lc_spool_", "lc_heartbeat_", "lc_core_run", "lc_core_new"),
    "faultd-core-handler": ("uv_", "curl_", "MHD_", "lc_control_new", "lc_control_start",
                            "lc_uploader_", "lc_heartbeat_", "lc_core_run", "lc_plugin_host_"),
}


def symbols(path):
    r = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
    dynamic_defined = r.stdout if r.returncode == 0 else ""
    r = subprocess.run(["nm", path], capture_output=True, text=True, check=True)
    u = subprocess.run(["nm", "-u", path], capture_output=True, text=True, check=True)
    names = set()
    for line in (r.stdout + u.stdout + dynamic_defined).splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1].split("@")[0])
    return names


def main():
    faultd, faultctl = sys.argv[1], sys.argv[2]
    handler = sys.argv[3] if len(sys.argv) > 3 else None
    failures, checked = [], 0
    held = symbols(faultd)
    for must in ("uv_run", "lc_control_new", "lc_uploader_new"):
        checked += 1
        if must not in held:
            failures.append(f"faultd: no {must}: nm reads nothing useful here")
    for name, path in (("faultctl", faultctl), ("faultd-core-handler", handler)):
        if path is None:
            continue
        found = sorted(s for s in symbols(path) if s.startswith(FORBIDDEN[name]))
        checked += 1
        if found:
            failures.append(f"{name} holds {len(found)} symbols it must not: "
                            + ", ".join(found[:20]))
    for f in failures:
        print("FAIL:", f)
    print(f"linked: {checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
