#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The layers of docs/architecture.md, checked on the real build: for every library of
libcollector (and the plugins'), a scratch file compiled with that library's own compile command
includes one header of each layer. It must compile for the layer itself and the layers below it,
and fail for every layer above. Arguments: the build directory and the source root."""
import json
import os
import shlex
import subprocess
import sys
import tempfile

# layer: (a header it holds, the layers below it)
LAYERS = {
    "base": ("log.h", []),
    "config": ("config.h", ["base"]),
    "control": ("control.h", ["base"]),
    "store": ("spool.h", ["base", "config"]),
    "ledger": ("heartbeat.h", ["base"]),
    "upload": ("uploader.h", ["base", "config", "store"]),
    "plugin": ("plugin.h", ["base", "config", "store"]),
    "runtime": ("core.h", ["base", "config", "control", "store", "ledger", "upload", "plugin"]),
}
# The libraries built, and the layer each compiles as. Plugins see the plugin API.
LIBRARIES = {
    "libcollector/liblc-base.a": "base",
    "libcollector/liblc-config.a": "config",
    "libcollector/liblc-control.a": "control",
    "libcollector/liblc-store.a": "store",
    "libcollector/liblc-ledger.a": "ledger",
    "libcollector/liblc-upload.a": "upload",
    "libcollector/liblc-runtime.a": "runtime",
    "plugins/libplugins.a": "plugin",
}


def scratch_command(entry, scratch):
    """entry's compiler command with the source replaced by scratch, checking syntax only."""
    args = shlex.split(entry["command"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MQ", "-MF", "-c"):
            skip = True
            continue
        if a == "-MD":
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-x", "c", scratch]


def main():
    build = sys.argv[1]
    with open(os.path.join(build, "compile_commands.json")) as f:
        commands = json.load(f)
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for lib, layer in LIBRARIES.items():
            entry = next((c for c in commands if c["output"].startswith(lib + ".p/")), None)
            if entry is None:
                failures.append(f"{lib}: not in compile_commands.json")
                continue
            allowed = {layer, *LAYERS[layer][1]}
            for other, (header, _) in LAYERS.items():
                scratch = os.path.join(tmp, f"{layer}-includes-{other}.c")
                with open(scratch, "w") as f:
                    f.write(f'#include "{header}"\nint lc_scratch_{layer}_{other};\n')
                r = subprocess.run(scratch_command(entry, scratch), cwd=entry["directory"],
                                   capture_output=True, text=True)
                checked += 1
                if other in allowed and r.returncode != 0:
                    failures.append(f"{layer} cannot include {header} of {other}, a layer it "
                                    f"may use:\n{r.stderr}")
                elif other not in allowed and r.returncode == 0:
                    failures.append(f"{layer} can include {header} of {other}, a layer above "
                                    f"it or beside it")
                elif other not in allowed and "No such file" not in r.stderr:
                    failures.append(f"{layer} including {header}: failed, but not for want of "
                                    f"the header:\n{r.stderr}")
    for f in failures:
        print("FAIL:", f)
    print(f"layers: {checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
