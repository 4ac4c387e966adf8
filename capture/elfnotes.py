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

from p2pcap.errors import P2pcapError

NT_GNU_BUILD_ID = 3
NT_STAPSDT = 3
SHT_NOTE = 7


class NotAnElf(P2pcapError):
    pass


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
            shoff, = struct.unpack_from("<Q", ident, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", ident, 0x3A)
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            info = ElfInfo()
            for i in range(shnum):
                sh_type, = struct.unpack_from("<I", table, i * shentsize + 4)
                if sh_type != SHT_NOTE:
                    continue
                offset, size = struct.unpack_from("<QQ", table, i * shentsize + 0x18)
                f.seek(offset)
                _parse_notes(f.read(size), info)
            return info
    except OSError as exc:
        raise P2pcapError(f"{path}: cannot read: {exc.strerror}") from None
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
            pc, _base, semaphore = struct.unpack_from("<QQQ", desc)
            strings = desc[24:].split(b"\0")
            if len(strings) >= 2:
                provider, name = (s.decode(errors="replace") for s in strings[:2])
                arguments = strings[2].decode(errors="replace") if len(strings) > 2 else ""
                info.probes.append((provider, name))
                info.notes.append(ProbeNote(provider, name, pc, semaphore, arguments))
        elif name == b"GNU" and ntype == NT_GNU_BUILD_ID:
            info.build_id = desc.hex()
