#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the elfcore fuzz target: small synthetic cores of x86_64, aarch64
and arm with the notes the kernel writes (NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV,
NT_FILE, NT_FPREGSET) in their real sizes, and a few damaged ones. Deterministic: running it
again rewrites the same bytes.

    python3 tests/fuzz/make-seeds.py tests/fuzz/corpus/elfcore
"""
import os
import struct
import sys

EM_ARM, EM_X86_64, EM_AARCH64 = 40, 62, 183
PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494C45

ARCHS = {
    # name: (class, machine, prstatus size, pid offset, pr_reg offset, word, sp index, pc index,
    #        prpsinfo size, fpregset size)
    "x86_64": (64, EM_X86_64, 336, 32, 112, 8, 19, 16, 136, 512),
    "aarch64": (64, EM_AARCH64, 392, 32, 112, 8, 31, 32, 136, 528),
    "arm": (32, EM_ARM, 148, 24, 72, 4, 13, 15, 124, 116),
}


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    return struct.pack("<III", len(n), len(desc), ntype) + pad4(n) + pad4(desc)


def word(w, v):
    return struct.pack("<I" if w == 4 else "<Q", v)


def prstatus(arch, tid, sig, sp, pc):
    cls, _, size, pid_at, reg_at, w, sp_i, pc_i, _, _ = ARCHS[arch]
    d = bytearray(size)
    struct.pack_into("<iii", d, 0, sig, 0, 0)
    struct.pack_into("<h", d, 12, sig)
    struct.pack_into("<iiii", d, pid_at, tid, 1, tid, tid)
    nregs = (size - 4 - reg_at) // w
    for r in range(nregs):
        d[reg_at + r * w:reg_at + (r + 1) * w] = word(w, 0x1000 * (r + 1))
    d[reg_at + sp_i * w:reg_at + (sp_i + 1) * w] = word(w, sp)
    d[reg_at + pc_i * w:reg_at + (pc_i + 1) * w] = word(w, pc)
    return bytes(d)


def prpsinfo(arch, pid, fname):
    size = ARCHS[arch][8]
    d = bytearray(size)
    d[0:4] = b"\0R\0\0"
    if size == 136:
        struct.pack_into("<IIiiii", d, 16, 1000, 1000, pid, 1, pid, pid)
        d[40:40 + len(fname)] = fname
        d[56:56 + 9] = b"./sensord"
    else:
        struct.pack_into("<HHiiii", d, 8, 1000, 1000, pid, 1, pid, pid)
        d[28:28 + len(fname)] = fname
        d[44:44 + 9] = b"./sensord"
    return bytes(d)


def auxv(w, entries):
    return b"".join(word(w, t) + word(w, v) for t, v in entries + [(0, 0)])


def nt_file(w, page, maps):
    d = word(w, len(maps)) + word(w, page)
    for start, end, off, _ in maps:
        d += word(w, start) + word(w, end) + word(w, off)
    return d + b"".join(name.encode() + b"\0" for *_, name in maps)


def core(arch, threads=2, loads=2, extra_notes=b"", phnum=None):
    cls, machine, *_ = ARCHS[arch]
    w = cls // 8
    ehsize, phentsize = (64, 56) if cls == 64 else (52, 32)
    base = 0x7ffd0000 if cls == 64 else 0xbefd0000
    notes = b""
    for t in range(threads):
        notes += note("CORE", NT_PRSTATUS, prstatus(arch, 500 + t, 11 if t == 0 else 0,
                                                    base + 0x800 + t * 0x100, 0x10400 + t))
        if t == 0:
            notes += note("CORE", NT_PRPSINFO, prpsinfo(arch, 500, b"sensord"))
            notes += note("CORE", NT_SIGINFO, struct.pack("<iii", 11, 1, 0) + bytes(
                128 - 12))
            notes += note("CORE", NT_AUXV, auxv(w, [(33, 0x7000), (6, 4096), (3, 0x10034),
                                                    (4, phentsize), (5, 9), (7, 0x40000),
                                                    (9, 0x10400)]))
            notes += note("CORE", NT_FILE, nt_file(w, 4096, [
                (0x10000, 0x11000, 0, "/usr/bin/sensord"),
                (0x11000, 0x12000, 1, "/usr/bin/sensord"),
                (0x40000, 0x60000, 0, "/lib/ld-linux.so"),
            ]))
        notes += note("CORE", NT_FPREGSET, bytes(ARCHS[arch][9]))
    notes += extra_notes
    n = 1 + loads
    notes_at = ehsize + n * phentsize
    data_at = (notes_at + len(notes) + 255) & ~255
    ehdr = bytearray(ehsize)
    ehdr[0:7] = b"\x7fELF" + bytes([1 if cls == 32 else 2, 1, 1])
    if cls == 64:
        struct.pack_into("<HHIQQQIHHHHHH", ehdr, 16, 4, machine, 1, 0, ehsize, 0, 0, ehsize,
                         phentsize, n if phnum is None else phnum, 0, 0, 0)
    else:
        struct.pack_into("<HHIIIIIHHHHHH", ehdr, 16, 4, machine, 1, 0, ehsize, 0, 0, ehsize,
                         phentsize, n if phnum is None else phnum, 0, 0, 0)

    def phdr(ptype, off, vaddr, filesz, memsz, flags, align):
        if cls == 64:
            return struct.pack("<IIQQQQQQ", ptype, flags, off, vaddr, 0, filesz, memsz, align)
        return struct.pack("<IIIIIIII", ptype, off, vaddr, 0, filesz, memsz, flags, align)

    phdrs = phdr(PT_NOTE, notes_at, 0, len(notes), 0, 0, 4)
    for i in range(loads):
        phdrs += phdr(PT_LOAD, data_at + i * 256, base + i * 0x1000, 256 if i == 0 else 0,
                      0x1000, 6, 4096)
    out = bytes(ehdr) + phdrs + notes
    out += bytes(data_at - len(out))
    out += bytes((i * 37) & 0xff for i in range(256))
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "elfcore")
    os.makedirs(outdir, exist_ok=True)
    seeds = {
        "x86_64.core": core("x86_64"),
        "aarch64.core": core("aarch64"),
        "arm.core": core("arm", threads=3),
        "x86_64-one-thread.core": core("x86_64", threads=1, loads=1),
    }
    # Damaged ones: a path into each refusal to start the fuzzer from.
    good = seeds["x86_64.core"]
    seeds["x86_64-truncated.core"] = good[:900]
    seeds["x86_64-phnum-xnum.core"] = core("x86_64", phnum=0xFFFF)
    huge = note("CORE", NT_FILE, word(8, 0xAAAAAAAAAAAAAAAB) + word(8, 4096) + bytes(48))
    seeds["x86_64-nt-file-huge-count.core"] = core("x86_64", threads=1, extra_notes=huge)
    bad = struct.pack("<III", 5, 0xFFFFFFFF, 1) + b"CORE\0\0\0\0"
    seeds["x86_64-descsz-huge.core"] = core("x86_64", threads=1, extra_notes=bad)
    seeds["arm-big-endian.core"] = core("arm")[:5] + b"\x02" + core("arm")[6:]
    for name, data in sorted(seeds.items()):
        assert len(data) < 8192, (name, len(data))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
