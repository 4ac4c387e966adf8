"""One table of exit statuses, the same in every command (p2pcap/errors.py).

0 success (and "same" for diff), 1 a result that says no (different,
damaged input found), 2 usage errors and trouble (diff(1)'s convention),
130 interrupted by Ctrl-C, after what was printed is flushed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from .analysis.captures import sample_messages, write_capture
from .conftest import p2pcap_cmd


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exit")
    good = write_capture(folder / "good.cap", sample_messages(), block_size=1024)
    other = write_capture(folder / "other.cap", sample_messages()[:-3], block_size=1024)
    damaged = folder / "damaged.cap"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a block body: its checksum fails
    damaged.write_bytes(bytes(data))
    text = folder / "text.cap"
    text.write_text("not a capture\n")
    # still being written (no footer): --follow waits for more; 5 s apart: replay waits too
    growing = write_capture(folder / "growing.cap", sample_messages(), close=False)
    slow = write_capture(folder / "slow.cap", sample_messages(), step=5_000_000_000)
    return {
        "good": good,
        "other": other,
        "damaged": damaged,
        "text": text,
        "growing": growing,
        "slow": slow,
        "out": folder / "out",
    }


# (command line, the status it must end with); {good}, {damaged}... are the files above.
TABLE = [
    (["show", "{good}"], 0),
    (["show", "{damaged}"], 1),
    (["show", "{text}"], 2),
    (["show", "{good}", "--since", "yesterday"], 2),
    (["show", "{good}", "--bogus-flag"], 2),
    (["show", "{good}", "--type", "ping", "--peer", "99"], 0),  # valid, matches nothing
    (["stats", "{good}"], 0),
    (["stats", "{damaged}", "--scan"], 1),
    (["stats", "{text}"], 2),
    (["check", "{good}"], 0),
    (["check", "{damaged}"], 1),
    (["check", "{text}"], 2),
    (["diff", "{good}", "{good}"], 0),
    (["diff", "{good}", "{other}"], 1),
    (["diff", "{good}", "{damaged}"], 2),
    (["diff", "{good}", "{text}"], 2),
    (["filter", "{good}", "-o", "{out}.f.cap", "--type", "ping"], 0),
    (["filter", "{damaged}", "-o", "{out}.g.cap"], 1),
    (["filter", "{good}", "-o", "{good}"], 2),
    (["merge", "{good}", "{other}", "-o", "{out}.m.cap"], 0),
    (["merge", "{good}", "{text}", "-o", "{out}.n.cap"], 2),
    (["anonymize", "{good}", "-o", "{out}.a.cap"], 0),
    (["repair", "{damaged}", "-o", "{out}.r.cap"], 0),
    (["repair", "{text}", "-o", "{out}.s.cap"], 2),
    (["export", "{good}", "-o", "{out}.jsonl"], 0),
    (["export", "{damaged}", "-o", "{out}.d.jsonl"], 1),
    (["export", "{good}", "-o", "{out}.unknown-suffix"], 2),
    (["replay", "{good}", "--no-pacing"], 0),
    (["replay", "{good}", "--to", "127.0.0.1:1"], 2),
    (["import", "/nonexistent-folder", "-o", "{out}.i.cap"], 2),
    (["record", "-o", "{out}.rec", "--duration", "-1"], 2),
    (["doctor", "--exe", "{text}"], 1),  # the target has no probes: a "no"
]


@pytest.mark.parametrize("args,status", TABLE, ids=[" ".join(a) for a, _ in TABLE])
def test_the_exit_status_table(files, args, status):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    done = subprocess.run(p2pcap_cmd(*argv), capture_output=True, text=True, timeout=120)
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "{slow}"],
        ["show", "{growing}", "--follow"],
    ],
    ids=["replay", "show --follow"],
)
def test_ctrl_c_is_130_after_what_was_printed(files, args):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    proc = subprocess.Popen(p2pcap_cmd(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # it is running, and has printed
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert first and "Traceback" not in err and "Aborted" not in err
