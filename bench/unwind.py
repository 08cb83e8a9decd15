#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: the on-device stack trace (faultd-core-handler --stacktrace) of 10, 100 and 1000
threads.

    python3 bench/unwind.py [--threads 10,100,1000] [--repeat 5] [--build DIR]
                            [--time-limit-ms 60000] [--keep]

It builds faultd-core-handler and tests/crash/threads without sanitizers (meson
buildtype=release in build-bench-unwind unless --build is given). For each thread count it runs
threads COUNT (each thread parked 12 frames deep in functions of 64 and 128 bytes of locals,
16 frames with libc's, then the main thread crashes with SIGSEGV) with RLIMIT_CORE unlimited so
that the kernel writes its core into a temporary directory (the machine's core_pattern must be
"core", which this script only reads), trims it with the handler (--output --compression none, a
fake /proc as tests/integration/test_coredump.py makes it), and unwinds the trimmed core --repeat
times. The handler prints the child's wall time (fork to exit, as the parent measures it),
peak RSS (ru_maxrss from wait4) and the trace's size; the medians are printed as a markdown
table. With the default time limit of 2 s a thread count whose unwinding runs longer comes back
cut (the child stops starting threads at three quarters of the limit): --time-limit-ms sets the
limit in the handler's configuration (default here 60000, to measure the whole cost).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import coredump_util as cu  # noqa: E402

LINE_RE = re.compile(r"unwound: (\d+) threads, (\d+) modules( \(truncated by the limits\))?, "
                     r"child (\d+) us, peak RSS (\d+) KiB, trace (\d+) bytes")
CAPTURE_RE = re.compile(r"Capture done: the handler's peak RSS (\d+) KiB")


def build(build_dir):
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        subprocess.run(["meson", "setup", build_dir, "-Dbuildtype=release", "-Db_sanitize=none",
                        "-Dstacktrace=enabled", "-Dtests=enabled"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build_dir, "daemon/faultd-core-handler",
                    "tests/crash/threads"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return (os.path.join(build_dir, "daemon", "faultd-core-handler"),
            os.path.join(build_dir, "tests", "crash", "threads"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--build", default=None)
    ap.add_argument("--time-limit-ms", type=int, default=60000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    with open("/proc/sys/kernel/core_pattern") as f:
        if f.read().strip() != "core":
            sys.exit("bench/unwind: kernel.core_pattern is not \"core\": the kernel would not "
                     "write the core here")
    build_dir = args.build or os.path.join(ROOT, "build-bench-unwind")
    handler, threads = build(os.path.abspath(build_dir))
    work = tempfile.mkdtemp(prefix="faultd-bench-unwind-")
    rows = []
    try:
        conf = os.path.join(work, "unwind.conf")
        with open(conf, "w") as f:
            json.dump({"log_target": "stderr",
                       "coredump": {"stacktrace_time_limit_ms": args.time_limit_ms}}, f)
        for count in [int(n) for n in args.threads.split(",")]:
            case = os.path.join(work, str(count))
            root = os.path.join(case, "root")
            os.makedirs(os.path.join(root, "etc"))
            info, core, _ = cu.kernel_core(threads, str(count), case, root, timeout=120)
            if core is None:
                sys.exit("bench/unwind: no core was written")
            trim_conf = os.path.join(case, "trim.conf")
            with open(trim_conf, "w") as f:
                json.dump({"state_dir": os.path.join(case, "state"), "log_target": "stderr",
                           "sysroot": root}, f)
            trimmed = os.path.join(case, "trimmed.core")
            with open(core, "rb") as f:
                subprocess.run([handler, "-c", trim_conf, "--output", trimmed, "--compression",
                                "none", str(info["pid"]), str(info["crasher"]), "11", "0", "0",
                                "0"], stdin=f, check=True, capture_output=True)
            runs = []
            for _ in range(args.repeat):
                r = subprocess.run([handler, "-c", conf, "--stacktrace", trimmed],
                                   capture_output=True, text=True)
                m = LINE_RE.search(r.stderr)
                if r.returncode != 0 or not m:
                    sys.exit(f"bench/unwind: {count} threads: {r.stderr}")
                runs.append(m)
            # The whole capture as the kernel would start it: trim into memory, unwind, decide,
            # store; the handler logs its own peak RSS (getrusage) and its child's.
            cap_conf = os.path.join(case, "capture.conf")
            with open(cap_conf, "w") as f:
                json.dump({"state_dir": os.path.join(case, "cap-state"), "log_target": "stderr",
                           "log_level": "debug", "sysroot": root,
                           "enable_data_collection": True,
                           "device": {"serial": "bench", "hardware_version": "bench",
                                      "software_type": "bench", "software_version": "1"},
                           "coredump": {"rate_limit_count": 10000, "loop_count": 64,
                                        "stacktrace_time_limit_ms": args.time_limit_ms}}, f)
            peaks = []
            for _ in range(args.repeat):
                with open(core, "rb") as f:
                    r = subprocess.run([handler, "-c", cap_conf, str(info["pid"]),
                                        str(info["crasher"]), "11", "0", "0", "0"], stdin=f,
                                       capture_output=True, text=True)
                m = CAPTURE_RE.search(r.stderr)
                if r.returncode != 0 or not m:
                    sys.exit(f"bench/unwind: capture of {count} threads: {r.stderr}")
                peaks.append(int(m.group(1)))
                if os.environ.get("BENCH_DEBUG"):
                    print(r.stderr, file=sys.stderr)
            rows.append({
                "handler_kib": statistics.median(peaks),
                "threads": count,
                "core": os.path.getsize(core),
                "trimmed": os.path.getsize(trimmed),
                "unwound": int(runs[0].group(1)),
                "truncated": bool(runs[0].group(3)),
                "wall_ms": statistics.median(int(m.group(4)) for m in runs) / 1000,
                "rss_kib": statistics.median(int(m.group(5)) for m in runs),
                "trace": int(runs[0].group(6)),
            })
            os.unlink(core)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}", file=sys.stderr)

    print(f"| threads | core (MiB) | trimmed (MiB) | threads unwound | child wall (ms, median of "
          f"{args.repeat}) | child peak RSS (MiB) | trace (bytes) | handler peak RSS (MiB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['threads']} | {r['core'] / 2**20:.0f} | {r['trimmed'] / 2**20:.1f} | "
              f"{r['unwound']}{' (cut)' if r['truncated'] else ''} | {r['wall_ms']:.1f} | "
              f"{r['rss_kib'] / 1024:.1f} | {r['trace']} | {r['handler_kib'] / 1024:.1f} |")


if __name__ == "__main__":
    main()
