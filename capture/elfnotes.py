"""Read the ELF notes that matter to recording: USDT probes and build id.

What ``readelf -n`` shows: SystemTap probe descriptors (NT_STAPSDT, owner
"stapsdt", in ``.note.stapsdt``) name each probe's provider and name; the
GNU build id (NT_GNU_BUILD_ID, owner "GNU") identifies the binary.  Parsed
here so ``record`` can say "this binary has no net:* probes" before BCC
gives a vaguer error, and ``doctor`` can show each probe's argument count
and semaphore.  64-bit little-endian ELF only (what dashd ships as on
x86-64 and arm64).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.errors import PathError

from .errors import NotAnElf

NT_GNU_BUILD_ID = 3
NT_STAPSDT = 3
SHT_NOTE = 7


# One argument of a probe as <sys/sdt.h> writes it: "[-]SIZE@OPERAND", the
# operand in the assembler's syntax; arm64's "[sp, 8]" holds a space.
_ARGUMENT = re.compile(r"\S*\[[^\]]*\]|\S+")


@dataclass(frozen=True)
class ProbeNote:
    """One NT_STAPSDT descriptor."""

    provider: str
    name: str
    pc: int
    semaphore: int  # link-time address of the probe's semaphore; 0: it has none
    arguments: str  # e.g. "-8@%rax 8@%rcx"
    # File offsets, what a uprobe is attached by (0: not in a loaded segment).
    pc_offset: int = 0
    semaphore_offset: int = 0  # 0: no semaphore

    @property
    def argument_list(self) -> list[str]:
        return _ARGUMENT.findall(self.arguments)

    @property
    def argument_count(self) -> int:
        return len(_ARGUMENT.findall(self.arguments))


@dataclass
class ElfInfo:
    probes: list[tuple[str, str]] = field(default_factory=list)  # (provider, name)
    build_id: str | None = None
    notes: list[ProbeNote] = field(default_factory=list)  # the same probes, in full

    def has_probe(self, provider: str, name: str) -> bool:
        return (provider, name) in self.probes


def read_elf_info(path: str | Path) -> ElfInfo:
    """Probes and build id of an ELF file.

    >>> info = read_elf_info("/proc/self/exe")  # doctest: +SKIP
    >>> info.has_probe("net", "inbound_message")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            ident = f.read(64)
            if ident[:4] != b"\x7fELF":
                raise NotAnElf(f"{path}: not an ELF executable")
            if ident[4] != 2 or ident[5] != 1:
                raise NotAnElf(f"{path}: only 64-bit little-endian ELF is supported")
            phoff, shoff = struct.unpack_from("<QQ", ident, 0x20)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", ident, 0x36)
            f.seek(phoff)
            segments = _load_segments(f.read(phentsize * phnum), phentsize, phnum)
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            sections = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
            names = b""
            if shstrndx < shnum:
                f.seek(sections[shstrndx][4])
                names = f.read(sections[shstrndx][5])
            info = ElfInfo()
            base = None  # where .stapsdt.base really is: prelink moves it
            for sh_name, sh_type, _flags, addr, offset, size in sections:
                if names[sh_name:].split(b"\0", 1)[0] == b".stapsdt.base":
                    base = addr
                if sh_type == SHT_NOTE:
                    f.seek(offset)
                    _parse_notes(f.read(size), info)
            info.notes = [_located(note, base, segments) for note in info.notes]
            return info
    except OSError as exc:
        raise PathError.of(path, "cannot read", exc) from None
    except struct.error:
        raise NotAnElf(f"{path}: truncated ELF headers") from None


def _parse_notes(data: bytes, info: ElfInfo) -> None:
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        pos += 12
        name = data[pos : pos + namesz].rstrip(b"\0")
        pos += (namesz + 3) & ~3
        desc = data[pos : pos + descsz]
        pos += (descsz + 3) & ~3
        if name == b"stapsdt" and ntype == NT_STAPSDT and len(desc) >= 24:
            # pc, base, semaphore (3 x u64), then provider\0 name\0 args\0
            pc, note_base, semaphore = struct.unpack_from("<QQQ", desc)
            strings = desc[24:].split(b"\0")
            if len(strings) >= 2:
                provider, name = (s.decode(errors="replace") for s in strings[:2])
                arguments = strings[2].decode(errors="replace") if len(strings) > 2 else ""
                info.probes.append((provider, name))
                info.notes.append(
                    ProbeNote(provider, name, pc, semaphore, arguments, pc_offset=note_base)
                )  # the note's base, until _located
        elif name == b"GNU" and ntype == NT_GNU_BUILD_ID:
            info.build_id = desc.hex()


PT_LOAD = 1


def _load_segments(table: bytes, entsize: int, count: int) -> list[tuple[int, int, int]]:
    """(p_vaddr, p_offset, p_filesz) of each PT_LOAD program header."""
    segments = []
    for i in range(count):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", table, i * entsize
        )
        if p_type == PT_LOAD:
            segments.append((p_vaddr, p_offset, p_filesz))
    return segments


def file_offset(vaddr: int, segments: list[tuple[int, int, int]]) -> int:
    """Where a link-time address lies in the file (0 if in no loaded segment)."""
    for p_vaddr, p_offset, p_filesz in segments:
        if p_vaddr <= vaddr < p_vaddr + p_filesz:
            return vaddr - p_vaddr + p_offset
    return 0


def _located(note: ProbeNote, base: int | None, segments) -> ProbeNote:
    """Adjust a note for prelinking and add its file offsets.

    <sys/sdt.h> records the link-time address of ``.stapsdt.base`` in every
    note; if the section now lies elsewhere (prelink), the probe and its
    semaphore moved by the same amount (systemtap's sdt.h, the note layout).
    """
    shift = 0 if base is None else base - note.pc_offset
    pc = note.pc + shift
    semaphore = note.semaphore + shift if note.semaphore else 0
    return ProbeNote(
        note.provider,
        note.name,
        pc,
        semaphore,
        note.arguments,
        pc_offset=file_offset(pc, segments),
        semaphore_offset=file_offset(semaphore, segments) if semaphore else 0,
    )
