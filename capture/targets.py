"""What we record from: resolve --pid/--exe, check the probes, infer the network.

Everything here reads /proc and ELF files; nothing needs BCC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .elfnotes import read_elf_info
from .program import RecordError

NET_PROBES = ("inbound_message", "outbound_message")


@dataclass
class Target:
    exe: str
    pids: list[int] = field(default_factory=list)  # empty with --exe: every process
    build_id: str | None = None
    probes: list[str] = field(default_factory=list)
    network: str = "unknown"
    network_source: str = "not inferred"

    def describe(self) -> str:
        who = f"pid {', '.join(map(str, self.pids))}" if self.pids else "every process"
        return f"{who} ({self.exe})"

    def metadata(self) -> dict:
        return {
            "exe": self.exe,
            "pids": self.pids,
            "build_id": self.build_id,
            "probes": self.probes,
            "network": self.network,
            "network_source": self.network_source,
        }


def _exe_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except FileNotFoundError:
        raise RecordError(f"no process with pid {pid}") from None
    except PermissionError:
        hint = " (recording needs root)" if os.geteuid() != 0 else ""
        raise RecordError(f"pid {pid}: cannot read /proc/{pid}/exe: permission denied{hint}") from None


def _checked(exe: str) -> tuple[str | None, list[str]]:
    info = read_elf_info(exe)
    net = [name for provider, name in info.probes if provider == "net"]
    missing = [p for p in NET_PROBES if p not in net]
    if missing:
        raise RecordError(
            f"{exe} has no net:{missing[0]} probe: it was built without USDT support "
            f"(rebuild Dash Core with <sys/sdt.h> present, e.g. Debian's systemtap-sdt-dev; "
            f"'readelf -n {exe}' lists NT_STAPSDT notes when it has them)"
        )
    return info.build_id, [f"{provider}:{name}" for provider, name in info.probes]


def resolve(pids: list[int], exe: str | None) -> Target:
    """A checked Target for ``--pid`` (one or more) or ``--exe``."""
    if pids and exe:
        raise RecordError("give --pid or --exe, not both")
    if exe:
        path = str(Path(exe).resolve())
        if not os.path.isfile(path):
            raise RecordError(f"{exe}: no such file")
        build_id, probes = _checked(path)
        return Target(exe=path, build_id=build_id, probes=probes)
    if not pids:
        raise RecordError("give --pid PID or --exe PATH (e.g. --pid $(pidof dashd))")
    exes = {pid: _exe_of(pid) for pid in pids}
    first = exes[pids[0]]
    build_id, probes = _checked(first)
    for pid, path in exes.items():
        if path != first:
            _checked(path)
    network, source = infer_network(pids[0])
    return Target(exe=first, pids=list(pids), build_id=build_id, probes=probes,
                  network=network, network_source=source)


def infer_network(pid: int) -> tuple[str, str]:
    """The chain a dashd runs on, from its command line (spec §2.2 networks)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "unknown", "command line unreadable"
    found = None
    for raw in args[1:]:
        arg = raw.decode(errors="replace").lstrip("-")
        if arg in ("regtest", "regtest=1"):
            found = ("regtest", f"command line: -{arg}")
        elif arg in ("testnet", "testnet=1"):
            found = ("testnet", f"command line: -{arg}")
        elif arg.startswith("devnet="):
            found = ("devnet", f"command line: -{arg}")
        elif arg.startswith("chain="):
            value = arg.split("=", 1)[1]
            found = ({"main": "mainnet", "test": "testnet"}.get(value, value), f"command line: -{arg}")
    if found:
        return found
    return "mainnet", "assumed: no network option on the command line"
