"""Real dashd regtest nodes started by the tests, each with ``-capturemessages``.

A :class:`Node` is one data directory and the processes that ran it (a
restart appends a pid); :meth:`Node.rpc` speaks JSON-RPC over HTTP with
the standard library, as ``dash-cli`` would.  The flags follow the
regtest recipe of the bundled Dash Core build's README: loopback only, no
DNS or fixed seeds, ``-capturemessages`` so that Core writes its own copy
of every message the recorder must also see.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from .recording import wait_for

RPC_USER, RPC_PASSWORD = "p2pcap", "realnode"
# src/rpc/protocol.h: RPC_IN_WARMUP (-28) while the node loads; the
# framework's test_node.py waits through it the same way.
RPC_IN_WARMUP = -28
START_TIMEOUT = 120  # s; a loaded 2-core machine takes a few
NODE_FLAGS = (
    "-regtest",
    "-listen=1",
    "-listenonion=0",
    "-dnsseed=0",
    "-fixedseeds=0",
    "-capturemessages",
    "-fallbackfee=0.0001",
    "-debug=net",  # debug.log names every message received: replay --to checks it
    "-printtoconsole=0",
    "-server=1",
    "-peertimeout=600",  # a loaded machine must not turn a slow peer into a disconnect
)


class RPCError(Exception):
    def __init__(self, method: str, error: dict):
        super().__init__(f"{method}: {error.get('message')} (code {error.get('code')})")
        self.code = error.get("code")


def free_port() -> int:
    """A loopback port nobody listens on now (others' tests share the machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One regtest dashd: its data directory, ports and processes.

    >>> # node = Node(dashd, tmp_path / "n0", "-v2transport=1"); node.start(); node.rpc("getblockcount")
    """

    def __init__(self, dashd: Path, datadir: Path, *flags: str):
        self.dashd, self.datadir, self.flags = Path(dashd), Path(datadir), flags
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.port, self.rpcport = free_port(), free_port()
        self.pids: list[int] = []
        self.proc: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.datadir.name

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def debug_log(self) -> Path:
        return self.datadir / "regtest" / "debug.log"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(self.dashd),
                f"-datadir={self.datadir}",
                f"-bind=127.0.0.1:{self.port}",
                f"-port={self.port}",
                f"-rpcport={self.rpcport}",
                f"-rpcuser={RPC_USER}",
                f"-rpcpassword={RPC_PASSWORD}",
                *NODE_FLAGS,
                *self.flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.pids.append(self.proc.pid)
        wait_for(self._ready, START_TIMEOUT, f"{self.name} to answer RPC")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"{self.name} exited {self.proc.returncode}: {self.proc.stderr.read().decode()}"
            )
        try:
            self.rpc("getblockcount")
            return True
        except (OSError, urllib.error.URLError):
            return False
        except RPCError as exc:
            if exc.code == RPC_IN_WARMUP:
                return False
            raise

    def stop(self, timeout: float = 120) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.rpc("stop")
        except (OSError, urllib.error.URLError, RPCError):
            self.proc.terminate()
        self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def rpc(self, method: str, *params, wallet: str | None = None, timeout: float = 120):
        """Call ``method`` and return its result, or raise RPCError."""
        url = f"http://127.0.0.1:{self.rpcport}/" + (f"wallet/{wallet}" if wallet else "")
        body = json.dumps({"jsonrpc": "1.0", "id": method, "method": method, "params": list(params)})
        auth = base64.b64encode(f"{RPC_USER}:{RPC_PASSWORD}".encode()).decode()
        request = urllib.request.Request(
            url, body.encode(), {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:  # Core answers errors with 500 and a JSON body
            answer = json.load(exc)
        if answer.get("error"):
            raise RPCError(method, answer["error"])
        return answer["result"]

    # -- what the scenarios need ---------------------------------------------

    def connect(self, other: Node, v2: bool) -> None:
        """An outbound connection to ``other``, v2 (BIP324) or v1, and wait for its handshake."""
        self.rpc("addnode", other.address, "onetry", v2)
        wait_for(lambda: self.peer(other) is not None, 60, f"{self.name} -> {other.name} connected")

    def peer(self, other: Node) -> dict | None:
        """This node's getpeerinfo entry for its connection to ``other`` (handshake done)."""
        for info in self.rpc("getpeerinfo"):
            if info["addr"] == other.address and info.get("version", 0):
                return info
        return None

    def disconnect(self, other: Node) -> None:
        self.rpc("disconnectnode", other.address)
        wait_for(lambda: self.peer(other) is None, 60, f"{self.name} -/- {other.name}")

    def tip(self) -> str:
        return self.rpc("getbestblockhash")


def sync_blocks(nodes, timeout: float = 120) -> None:
    wait_for(lambda: len({n.tip() for n in nodes}) == 1, timeout, "the nodes to agree on the tip")


def sync_mempools(nodes, timeout: float = 120) -> None:
    wait_for(
        lambda: len({frozenset(n.rpc("getrawmempool")) for n in nodes}) == 1, timeout, "mempools to agree"
    )
