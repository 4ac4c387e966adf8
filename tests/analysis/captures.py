"""Captures for the analysis tests (show, stats, diff, filter, merge, anonymize).

Two kinds: small ones written with the real ``CaptureWriter`` (fast, any
shape, gaps included), and ones recorded from the stand-in node through real
uprobes (``recorded``), made once per run: the sample session
(samples/regtest-session.msgs) and a variant of it with known differences.
"""

from __future__ import annotations

import struct
from pathlib import Path

from p2pcap.formats import CaptureWriter, Gap, Message

from ..capture.live import record_standin, write_messages

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "regtest-session.msgs"
T0 = 1_700_000_000_000_000_000  # 2023-11-14 22:13:20 UTC
STEP = 100_000_000  # 0.1 s between messages


def sample_messages() -> list[tuple]:
    """(direction, peer_id, addr, conn_type, command, payload) of the sample session."""
    out = []
    for line in SAMPLE.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        direction, peer, addr, conn, command, payload = line.split("\t")
        out.append((direction, int(peer), addr, conn, command, bytes.fromhex(payload)))
    return out


def write_capture(
    path: Path,
    messages,
    *,
    pid: int = 4242,
    t0: int = T0,
    step: int = STEP,
    gaps=(),
    metadata=None,
    close: bool = True,
    block_size: int = 1 << 20,
) -> Path:
    """Write ``messages`` (as ``sample_messages``) at ``t0 + i * step``; ``gaps``
    are (index, lost_messages): a Gap written before message ``index``."""
    gaps = dict(gaps)
    w = CaptureWriter(
        path, {"network": "regtest", "host": "builder.example", **(metadata or {})}, block_size=block_size
    )
    for i, (direction, peer, addr, conn, command, payload) in enumerate(messages):
        ts = t0 + i * step
        if i in gaps:
            w.write(Gap(ts, pid, 1, gaps[i], 100 * gaps[i]))
        w.write(Message(ts, pid, peer, addr, conn, direction, command, len(payload), payload))
    if close:
        w.close()
    else:
        w.flush()
    return path


# -- variants with known differences --------------------------------------------
def without(messages, command: str) -> list:
    """The first ``command`` message left out."""
    i = next(k for k, m in enumerate(messages) if m[4] == command)
    return messages[:i] + messages[i + 1 :]


def clsig_height(messages, height: int) -> list:
    """The clsig's height changed (a changed field)."""
    out = []
    for m in messages:
        if m[4] == "clsig":
            m = (*m[:5], struct.pack("<i", height) + m[5][4:])
        out.append(m)
    return out


def swapped(messages, command: str) -> list:
    """The first two ``command`` messages swapped (reordered)."""
    i, j = [k for k, m in enumerate(messages) if m[4] == command][:2]
    out = list(messages)
    out[i], out[j] = out[j], out[i]
    return out


def renumbered(messages, old: int, new: int) -> list:
    """Peer ``old`` is peer ``new`` (same address, another id)."""
    return [(m[0], new if m[1] == old else m[1], *m[2:]) for m in messages]


def readdressed(messages, peer: int, addr: str) -> list:
    return [(m[0], m[1], addr if m[1] == peer else m[2], *m[3:]) for m in messages]


def ping_nonces(messages, nonce: int) -> list:
    """Every ping/pong with another nonce: a difference diff must ignore."""
    return [(*m[:5], struct.pack("<Q", nonce)) if m[4] in ("ping", "pong") else m for m in messages]


# -- recorded through the stand-in node ------------------------------------------
_recorded: dict = {}


def recorded(tmp_path_factory, standin: Path) -> dict:
    """``{"base": path, "variant": path, "messages": [...], "variant_messages": [...]}``.

    The variant lacks the ``isdlock``, has the clsig at height 202, and
    calls peer 2 peer 9; its pings carry other nonces.
    """
    if not _recorded:
        folder = tmp_path_factory.mktemp("analysis-recorded")
        base = sample_messages()
        variant = ping_nonces(renumbered(clsig_height(without(base, "isdlock"), 202), 2, 9), 77)
        for name, messages in (("base", base), ("variant", variant)):
            msgs = folder / f"{name}.msgs"
            write_messages(msgs, messages)
            capture = folder / f"{name}.cap"
            recorder, _ = record_standin(standin, msgs, capture)
            assert recorder.returncode == 0, recorder.stderr
            assert recorder.stderr.strip().endswith(", 0 lost"), recorder.stderr
            _recorded[name] = capture
        _recorded["messages"] = base
        _recorded["variant_messages"] = variant
    return _recorded
