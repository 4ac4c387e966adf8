"""USDT probes without BCC's USDT contexts: argument reads and semaphores our own way.

BCC's ``USDT`` class raises a probe's semaphore by writing into the
target's memory (``/proc/PID/mem``), so it needs a pid (``--exe`` on a
semaphore build is refused), lowers it again from a destructor that a
crash or ``os._exit`` never runs, and opens the binary by the path text
of ``/proc/PID/exe``, which does not exist for a node in a container or
whose binary was replaced on disk.  So p2pcap reads the probe notes
itself (``elfnotes``) and:

- generates one small BPF entry point per probe site that reads the six
  arguments as the note's operands say (``-8@%rax``, ``8@192(%rsp)``,
  ``8@$0``, the x86-64 forms <sys/sdt.h> emits) and hands them to the
  shared body in ``p2p_messages.bpf.c``;
- attaches each entry point with libbcc's ``bpf_attach_uprobe`` and the
  site's ``ref_ctr_offset``: the kernel itself then raises the semaphore
  in every process the uprobe applies to -- one pid, or every process
  mapping the file, including ones started later -- and lowers it when the
  uprobe goes, which happens when its last descriptor closes, however the
  recorder ends (Linux 4.20, "uprobes: Support SDT markers having
  reference count (semaphore)").  BCC's Python binding declares that
  function with six arguments and so cannot pass the seventh;
- opens the binary through ``/proc/PID/exe``, which the kernel resolves to
  the mapped file itself, in whatever mount namespace, deleted or not.
"""

from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass

from .elfnotes import ProbeNote
from .errors import ProbeError

# probe name -> (C entry-point prefix, inbound flag passed to the body)
PROBES = {"inbound_message": ("trace_inbound", 1), "outbound_message": ("trace_outbound", 0)}
ARGUMENTS = 6  # Dash Core src/net.cpp: peer id, addr, conn type, command, size, payload
# How a probe's semaphore is handled, as record's header, its listening
# line and doctor say it.
SEMAPHORE_HANDLING = "raised by the kernel while recording (uprobe reference counter)"


# x86-64 register names as gas writes them -> the kernel's struct pt_regs field.
_REGISTERS: dict[str, str] = {"rip": "ip"}
for _r in "abcd":
    _REGISTERS.update({f"r{_r}x": f"{_r}x", f"e{_r}x": f"{_r}x", f"{_r}x": f"{_r}x", f"{_r}l": f"{_r}x"})
for _r in ("si", "di", "bp", "sp"):
    _REGISTERS.update({f"r{_r}": _r, f"e{_r}": _r, _r: _r, f"{_r}l": _r})
for _n in range(8, 16):
    _REGISTERS.update({f"r{_n}": f"r{_n}", f"r{_n}d": f"r{_n}", f"r{_n}w": f"r{_n}", f"r{_n}b": f"r{_n}"})

_SPEC = re.compile(r"(-?)(1|2|4|8)@(.+)")
_MEMORY = re.compile(r"(-?(?:0x[0-9a-fA-F]+|\d+))?\(%(\w+)\)")
_IMMEDIATE = re.compile(r"\$(-?(?:0x[0-9a-fA-F]+|\d+))")


@dataclass(frozen=True)
class Argument:
    """One probe argument: where it is and how wide."""

    size: int  # bytes: 1, 2, 4 or 8
    signed: bool
    register: str | None = None  # pt_regs field; with ``offset`` for a memory operand
    offset: int | None = None  # memory operand: at register + offset
    constant: int | None = None

    def c_expression(self, scratch: str) -> tuple[str, str]:
        """(statements, expression) reading this argument into a u64 in C."""
        bits = self.size * 8
        kind = "s" if self.signed else "u"
        if self.constant is not None:
            return "", f"(u64){self.constant}ll"
        if self.offset is None:
            return "", f"(u64)({kind}64)({kind}{bits})ctx->{self.register}"
        read = (
            f"{kind}{bits} {scratch} = 0; "
            f"bpf_probe_read_user(&{scratch}, {self.size}, (void *)(ctx->{self.register} + ({self.offset})));"
        )
        return read, f"(u64)({kind}64){scratch}"


def parse_argument(spec: str) -> Argument:
    """One ``[-]SIZE@OPERAND`` of a probe note.

    >>> parse_argument("8@192(%rsp)")
    Argument(size=8, signed=False, register='sp', offset=192, constant=None)
    >>> parse_argument("-4@%eax").register
    'ax'
    """
    found = _SPEC.fullmatch(spec)
    if not found:
        raise ProbeError(f"probe argument {spec!r}: not of the form [-]SIZE@OPERAND")
    signed, size, operand = found[1] == "-", int(found[2]), found[3]
    if operand.startswith("%"):
        register = _REGISTERS.get(operand[1:])
        if register is None:
            raise ProbeError(f"probe argument {spec!r}: unknown register {operand}")
        return Argument(size, signed, register=register)
    memory = _MEMORY.fullmatch(operand)
    if memory:
        register = _REGISTERS.get(memory[2])
        if register is None or register == "ip":
            raise ProbeError(f"probe argument {spec!r}: unsupported base register %{memory[2]}")
        return Argument(size, signed, register=register, offset=int(memory[1] or "0", 0))
    immediate = _IMMEDIATE.fullmatch(operand)
    if immediate:
        return Argument(size, signed, constant=int(immediate[1], 0))
    raise ProbeError(
        f"probe argument {spec!r}: operand {operand!r} is not supported "
        f"(x86-64 register, offset(register) or $constant)"
    )


@dataclass(frozen=True)
class Site:
    """One place in a binary where a net:* probe fires."""

    probe: str  # "inbound_message" or "outbound_message"
    fn_name: str  # its BPF entry point
    offset: int  # file offset of the probe's instruction
    semaphore: int  # file offset of its semaphore; 0: none
    arguments: tuple[Argument, ...]


def sites(notes: list[ProbeNote], binary: str, tag: int = 0) -> list[Site]:
    """The net:* probe sites of one binary, with entry-point names unique per ``tag``."""
    found = []
    for note in notes:
        if note.provider != "net" or note.name not in PROBES:
            continue
        args = note.argument_list
        if len(args) != ARGUMENTS:
            raise ProbeError(
                f"{binary}: net:{note.name} has {len(args)} arguments, dashd's has "
                f"{ARGUMENTS} (peer id, address, connection type, command, size, payload)"
            )
        if not note.pc_offset:
            raise ProbeError(f"{binary}: net:{note.name} at 0x{note.pc:x} is in no loaded segment")
        if note.semaphore and not note.semaphore_offset:
            raise ProbeError(
                f"{binary}: net:{note.name}'s semaphore at 0x{note.semaphore:x} is in no loaded segment"
            )
        index = sum(1 for s in found if s.probe == note.name)
        prefix = PROBES[note.name][0]
        found.append(
            Site(
                note.name,
                f"{prefix}_{tag}_{index}",
                note.pc_offset,
                note.semaphore_offset,
                tuple(parse_argument(a) for a in args),
            )
        )
    return found


def entry_points(all_sites: list[Site]) -> str:
    """C source of one entry point per site, each calling ``trace_probe``."""
    out = []
    for site in all_sites:
        lines = [f"int {site.fn_name}(struct pt_regs *ctx)", "{"]
        values = []
        for i, arg in enumerate(site.arguments):
            statements, expression = arg.c_expression(f"raw{i}")
            if statements:
                lines.append(f"    {statements}")
            lines.append(f"    u64 a{i} = {expression};")
            values.append(f"a{i}")
        inbound = PROBES[site.probe][1]
        lines.append(f"    return trace_probe(ctx, {', '.join(values)}, {inbound});")
        lines.append("}")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


_libbcc = None


def _attach_fn():
    """libbcc's bpf_attach_uprobe, declared with all seven parameters.

    A CDLL of our own: setting argtypes on bcc.libbcc's function object
    would change them under BCC itself.
    """
    global _libbcc
    if _libbcc is None:
        _libbcc = ctypes.CDLL("libbcc.so.0", use_errno=True)
        fn = _libbcc.bpf_attach_uprobe
        fn.restype = ctypes.c_int
        fn.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_uint64,
            ctypes.c_int,
            ctypes.c_uint32,
        ]
    return _libbcc.bpf_attach_uprobe


def attach(bpf, site: Site, path: str, pid: int) -> None:
    """Attach ``site``'s entry point to ``path`` (for ``pid``, or -1: every process).

    The uprobe's descriptor goes into BCC's own table, so ``bpf.cleanup()``
    detaches it like one BCC attached.
    """
    from bcc import BPF

    fn = bpf.load_func(site.fn_name, BPF.KPROBE)
    ev_name = f"p2pcap_{os.getpid()}_{site.fn_name}_{pid if pid >= 0 else 'all'}".encode()
    fd = _attach_fn()(fn.fd, 0, ev_name, path.encode(), site.offset, pid, site.semaphore)
    if fd < 0:
        err = ctypes.get_errno()
        what = " and raise its semaphore" if site.semaphore else ""
        who = f"pid {pid}" if pid >= 0 else "every process"
        raise ProbeError(
            f"cannot attach to net:{site.probe}{what} in {path} ({who}): "
            f"{os.strerror(err) if err else 'libbcc refused'}"
        )
    bpf._add_uprobe_fd(ev_name, fd)  # BCC's cleanup closes it (every BCC since 0.10 has this)
