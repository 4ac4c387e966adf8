"""Read and write the live USDT semaphores of a running process.

A probe declared with a semaphore (Bitcoin Core v29's src/util/trace.h,
the stand-in's -DSTANDIN_SEMAPHORES builds) has its NT_STAPSDT note name
the link-time address of an unsigned short; a tracer that attaches with a
reference counter raises it, and must lower it again when it detaches.
These helpers read that counter from /proc/PID/mem, so a test can see what
a recorder left behind.

The binary is read through /proc/PID/exe, which works when the file was
deleted or replaced since, and for a process in another mount namespace.
Its load bias comes from /proc/PID/maps: the mapping of that file at file
offset 0 holds the first PT_LOAD segment.  Needs the right to ptrace the
process (root, or the same user without Yama restrictions).
"""

from __future__ import annotations

import os
import re
import struct

from p2pcap.capture.elfnotes import read_elf_info

PT_LOAD = 1


def first_load_segment(path: str) -> tuple[int, int]:
    """(p_vaddr, p_offset) of the PT_LOAD with the lowest p_vaddr (64-bit LE ELF)."""
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
            raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
        (phoff,) = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    loads = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr = struct.unpack_from("<IIQQ", table, i * phentsize)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset))
    if not loads:
        raise ValueError(f"{path}: no PT_LOAD segment")
    return min(loads)


_MAPS_LINE = re.compile(r"^([0-9a-f]+)-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ (\d+)")


def load_bias(pid: int) -> int:
    """What to add to a link-time address of the executable of PID."""
    exe = f"/proc/{pid}/exe"
    inode = os.stat(exe).st_ino
    starts = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            m = _MAPS_LINE.match(line)
            if m and int(m.group(2), 16) == 0 and int(m.group(3)) == inode:
                starts.append(int(m.group(1), 16))
    if not starts:
        raise LookupError(f"pid {pid}: its executable is not mapped at file offset 0")
    vaddr, offset = first_load_segment(exe)
    page = os.sysconf("SC_PAGE_SIZE")
    # The first segment is mapped from file offset 0 at bias + (vaddr - offset),
    # both rounded down to a page.
    return min(starts) - ((vaddr - offset) & ~(page - 1))


def semaphore_addresses(pid: int, provider: str = "net") -> dict[str, int]:
    """ "provider:name" -> runtime address of its semaphore (probes without one are left out)."""
    info = read_elf_info(f"/proc/{pid}/exe")
    bias = None
    found: dict[str, int] = {}
    for note in info.notes:
        if note.provider != provider or not note.semaphore:
            continue
        if bias is None:
            bias = load_bias(pid)
        found[f"{note.provider}:{note.name}"] = bias + note.semaphore
    return found


def semaphore_values(pid: int, provider: str = "net") -> dict[str, int]:
    """ "provider:name" -> the live value of each semaphore of the probes of PID."""
    values = {}
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for probe, address in semaphore_addresses(pid, provider).items():
            mem.seek(address)
            (values[probe],) = struct.unpack("<H", mem.read(2))
    return values


def write_semaphore(pid: int, probe: str, value: int) -> int:
    """Set the semaphore of "provider:name" in PID to value; returns the old value."""
    address = semaphore_addresses(pid, probe.split(":", 1)[0])[probe]
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        mem.seek(address)
        (old,) = struct.unpack("<H", mem.read(2))
        mem.seek(address)
        mem.write(struct.pack("<H", value))
    return old


_FIRED = re.compile(r"; (\d+) fired \((\d+) in \+ (\d+) out\); semaphore was 0 for (\d+)")


def fired_counts(node_out: str) -> tuple[int, int, int]:
    """(fired inbound, fired outbound, not fired) from a semaphore build's last line."""
    m = _FIRED.search(node_out)
    if not m:
        raise ValueError(f"no fired counts in {node_out!r}")
    return int(m.group(2)), int(m.group(3)), int(m.group(4))
