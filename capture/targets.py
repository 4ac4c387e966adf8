"""What we record from: resolve --pid/--exe (or find dashd), check the probes,
infer the network.

Everything here reads /proc and ELF files; nothing needs BCC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.errors import P2pcapError

from .elfnotes import read_elf_info
from .program import RecordError
from .usdt import SEMAPHORE_HANDLING

NET_PROBES = ("inbound_message", "outbound_message")
DAEMON = "dashd"


@dataclass
class Target:
    exe: str  # as the user or /proc/PID/exe names it (in the node's mount namespace)
    pids: list[int] = field(default_factory=list)  # empty with --exe: every process
    build_id: str | None = None
    probes: list[str] = field(default_factory=list)
    semaphores: dict[str, bool] = field(default_factory=dict)  # "net:inbound_message" -> has one
    # --exe: the same build (build id) as other files, e.g. in containers:
    # a path to attach by for each, and the processes found running it.
    also: list[str] = field(default_factory=list)
    also_pids: list[int] = field(default_factory=list)
    network: str = "unknown"
    network_source: str = "not inferred"
    devnet_name: str | None = None
    found_by: str = ""  # how the target was chosen: "--pid", "--exe", "the only running dashd"

    def describe(self) -> str:
        who = f"pid {', '.join(map(str, self.pids))}" if self.pids else "every process"
        more = (
            f", and pid {', '.join(map(str, self.also_pids))} running the same build from another file"
            if self.also_pids
            else ""
        )
        return f"{who} ({self.exe}{more})"

    def semaphore_note(self) -> str | None:
        """How USDT semaphores are handled, for the listening line; None without any."""
        guarded = [probe for probe, has in self.semaphores.items() if has]
        if not guarded:
            return None
        return f"USDT semaphores of {', '.join(guarded)} {SEMAPHORE_HANDLING}"

    def metadata(self) -> dict:
        meta = {
            "exe": self.exe,
            "pids": self.pids,
            "build_id": self.build_id,
            "probes": self.probes,
            "semaphores": {
                probe: SEMAPHORE_HANDLING if has else "none" for probe, has in self.semaphores.items()
            },
            "network": self.network,
            "network_source": self.network_source,
            "found_by": self.found_by,
        }
        if self.devnet_name is not None:
            meta["devnet_name"] = self.devnet_name
        if self.also_pids:
            meta["same_build_pids"] = self.also_pids
        return meta


def _exe_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except FileNotFoundError:
        raise RecordError(f"no process with pid {pid}") from None
    except PermissionError:
        hint = " (recording needs root)" if os.geteuid() != 0 else ""
        raise RecordError(f"pid {pid}: cannot read /proc/{pid}/exe: permission denied{hint}") from None


def _checked(exe: str, shown: str | None = None) -> tuple[str | None, list[str], dict[str, bool]]:
    """(build id, probes, semaphores) of a binary that has both net:* probes.

    ``exe`` is the file to read (``/proc/PID/exe`` for a process: the
    kernel resolves it to the mapped file even in another mount namespace
    or once deleted); ``shown`` the name to put in messages.
    """
    shown = shown or exe
    info = read_elf_info(exe)
    net = [name for provider, name in info.probes if provider == "net"]
    missing = [p for p in NET_PROBES if p not in net]
    if missing:
        raise RecordError(
            f"{shown} has no net:{missing[0]} probe: it was built without USDT support "
            f"(rebuild Dash Core with <sys/sdt.h> present, e.g. Debian's systemtap-sdt-dev; "
            f"'readelf -n {shown}' lists NT_STAPSDT notes when it has them)"
        )
    semaphores = {
        f"net:{name}": any(n.semaphore for n in info.notes if n.provider == "net" and n.name == name)
        for name in NET_PROBES
    }
    return info.build_id, sorted({f"{provider}:{name}" for provider, name in info.probes}), semaphores


def _processes() -> list[tuple[int, os.stat_result]]:
    """(pid, stat of its executable) for every process we may look at."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), os.stat(f"/proc/{entry.name}/exe")))
            except OSError:
                continue
    return sorted(found, key=lambda item: item[0])


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def processes_of(exe: str) -> list[int]:
    """Running processes whose executable is the file ``exe`` (by inode, whatever path ran it)."""
    try:
        wanted = os.stat(exe)
    except OSError:
        return []
    return [pid for pid, st in _processes() if _same_file(st, wanted)]


def _mount_namespace(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/mnt").st_ino
    except OSError:
        return None


def same_build(exe: str, build_id: str | None) -> dict[tuple[int, int], list[int]]:
    """Container processes running another file of the same build, by that file's (dev, inode).

    A container runs dashd from its image's own copy: uprobes on the host
    file do not reach it, but it is the same build (build id), so ``--exe``
    records it too, through ``/proc/PID/exe``.  Only processes in another
    mount namespace count: a second copy on this host is a choice the user
    made with the path.
    """
    if not build_id:
        return {}
    wanted = os.stat(exe)
    ours = _mount_namespace("self")
    verdict: dict[tuple[int, int], bool] = {}
    found: dict[tuple[int, int], list[int]] = {}
    for pid, st in _processes():
        key = (st.st_dev, st.st_ino)
        if _same_file(st, wanted) or _mount_namespace(pid) in (ours, None):
            continue
        if key not in verdict:
            try:
                verdict[key] = read_elf_info(f"/proc/{pid}/exe").build_id == build_id
            except P2pcapError:
                verdict[key] = False
        if verdict[key]:
            found.setdefault(key, []).append(pid)
    return found


def find_daemons(name: str = DAEMON) -> list[int]:
    """Running processes whose executable is called ``name``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry.name}/exe")
            except OSError:
                continue
            if os.path.basename(exe.removesuffix(" (deleted)")) == name:
                found.append(int(entry.name))
    return sorted(found)


def resolve(pids: list[int], exe: str | None) -> Target:
    """A checked Target for ``--pid`` (one or more), ``--exe``, or neither (find dashd)."""
    if pids and exe:
        raise RecordError("give --pid or --exe, not both")
    if exe:
        path = str(Path(exe).resolve())
        if not os.path.isfile(path):
            raise RecordError(f"{exe}: no such file")
        build_id, probes, semaphores = _checked(path)
        target = Target(exe=path, build_id=build_id, probes=probes, semaphores=semaphores, found_by="--exe")
        for pids_of_file in same_build(path, build_id).values():
            target.also.append(f"/proc/{pids_of_file[0]}/exe")
            target.also_pids.extend(pids_of_file)
        running = processes_of(path) or sorted(target.also_pids)
        if running:
            network, source, devnet = infer_network(running[0])
            target.network, target.devnet_name = network, devnet
            target.network_source = f"pid {running[0]}, running at start: {source}"
        else:
            target.network_source = "no process of it was running at start"
        return target
    found_by = "--pid"
    if not pids:
        daemons = find_daemons()
        if not daemons:
            raise RecordError(f"no running {DAEMON} found: give --pid PID or --exe PATH")
        if len(daemons) > 1:
            listed = ", ".join(map(str, daemons))
            raise RecordError(
                f"several {DAEMON} processes are running (pids {listed}): pick one with "
                f"--pid, or record them all with --exe PATH"
            )
        pids, found_by = daemons, f"the only running {DAEMON}"
    exes = {pid: _exe_of(pid) for pid in pids}
    first = exes[pids[0]]
    build_id, probes, semaphores = _checked(f"/proc/{pids[0]}/exe", first)
    for pid, path in exes.items():
        if pid != pids[0]:
            _, _, more = _checked(f"/proc/{pid}/exe", path)
            semaphores = {probe: has or more[probe] for probe, has in semaphores.items()}
    network, source, devnet = infer_network(pids[0])
    return Target(
        exe=first,
        pids=list(pids),
        build_id=build_id,
        probes=probes,
        semaphores=semaphores,
        network=network,
        network_source=source,
        devnet_name=devnet,
        found_by=found_by,
    )


# -- the network ---------------------------------------------------------------
# Dash Core (src/chainparamsbase.cpp, ArgsManager::GetChainName): -regtest,
# -testnet, -devnet=<name> or -chain=<main|test|regtest|devnet>; the command
# line overrides the configuration file (-conf, default dash.conf in the
# data directory, -datadir, default ~/.dashcore); settings inside a [section]
# of the file apply to one network only and cannot choose it.
_CHAIN_NAMES = {"main": "mainnet", "test": "testnet", "regtest": "regtest", "devnet": "devnet"}


def _network_setting(settings: list[tuple[str, str]]) -> tuple[str, str, str | None] | None:
    """(network, the setting that chose it, devnet name) from name/value pairs, last wins."""
    found = None
    for name, value in settings:
        negated = name.startswith("no")
        key = name[2:] if negated else name
        on = not negated and value.lower() not in ("0", "false")
        spelled = f"{name}={value}" if value != "" else name
        if key in ("regtest", "testnet"):
            if on:
                found = (key, spelled, None)
            elif found and found[0] == key:
                found = None
        elif key == "devnet" and on:
            found = ("devnet", spelled, value or None)
        elif key == "chain" and value:
            found = (_CHAIN_NAMES.get(value, value), spelled, None)
    return found


def _read_config(path: Path) -> list[tuple[str, str]]:
    settings = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                break  # network sections follow: they cannot choose the network
            if "=" in line:
                name, value = line.split("=", 1)
                settings.append((name.strip(), value.strip()))
            elif line:
                settings.append((line, ""))
    return settings


def _home_of(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        for item in environ:
            if item.startswith(b"HOME="):
                return item[5:].decode(errors="replace")
    except OSError:
        pass
    try:
        import pwd

        return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_dir
    except (OSError, KeyError):
        return None


def infer_network(pid: int) -> tuple[str, str, str | None]:
    """(network, how it was inferred, devnet name) for a running dashd.

    >>> infer_network(os.getpid())[0] in ("mainnet", "testnet", "regtest", "devnet")  # doctest: +SKIP
    True
    """
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return "unknown", "the command line of the process is unreadable", None
    return network_of_command([raw.decode(errors="replace") for raw in args], cwd, lambda: _home_of(pid))


def network_of_command(args: list[str], cwd: str, home) -> tuple[str, str, str | None]:
    """(network, how it was inferred, devnet name) for dashd run with ``args``
    (without argv[0]) in ``cwd``; ``home()`` gives the home folder if needed.

    >>> network_of_command(["-regtest", "-datadir=/tmp/n0"], "/", lambda: None)
    ('regtest', 'command line: -regtest', None)
    """
    options = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1:
            name, _, value = arg.lstrip("-").partition("=")
            options.append((name, value))
    found = _network_setting(options)
    if found:
        return found[0], f"command line: -{found[1]}", found[2]
    values = dict(options)
    datadir = values.get("datadir")
    if datadir is None:
        folder = home()
        datadir = os.path.join(folder, ".dashcore") if folder else None
    conf = values.get("conf", "dash.conf")
    if os.path.isabs(conf):
        conf_path = Path(conf)
    elif datadir is not None:
        conf_path = Path(cwd, datadir, conf)  # -conf is relative to the data directory
    else:
        conf_path = None
    if conf_path is not None and conf_path.is_file():
        try:
            found = _network_setting(_read_config(conf_path))
        except OSError:
            found = None
        if found:
            return found[0], f"configuration file {conf_path}: {found[1]}", found[2]
        return "mainnet", f"default: no network option on the command line or in {conf_path}", None
    return "mainnet", "default: no network option on the command line, no configuration file", None
