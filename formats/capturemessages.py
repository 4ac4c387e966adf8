"""Dash/Bitcoin Core's ``-capturemessages`` folders, read and written.

Layout (Bitcoin Core src/net.cpp ``CaptureMessageToFile``, backported by
dashpay/dash PR #5766)::

    message_capture/<addr_port>/msgs_recv.dat    inbound
    message_capture/<addr_port>/msgs_sent.dat    outbound

where ``<addr_port>`` is the peer's ``ip:port`` with every ``:`` replaced
by ``_`` (``1.2.3.4_9999``, ``[2001_db8__1]_9999``), and each file is a
sequence of records to its end::

    size field
       8 timestamp, u64 LE, microseconds since the epoch (mockable time)
      12 command, ASCII, NUL-padded
       4 payload length, u32 LE
       n payload (no magic, no checksum)

Reading merges every file by time with a heap over one iterator per file,
so memory holds one record per file, whatever their sizes.  It never
leaves the folder it was given: Core makes no links there, so a symbolic
link (to a peer folder, a ``msgs_*.dat`` file, or ``message_capture``
itself) is refused with one line naming it and where it points, rather
than followed or skipped (a skipped peer would make a capture that looks
whole and is not); and only regular files are read (a FIFO would block
the import forever, a device has no end), opened with ``O_NOFOLLOW`` and
checked with ``fstat``.  Peers get ids
0, 1, … in folder-name order; connection type and pid are not recorded by
Core (``conn_type`` is ``"unknown"``, ``pid`` 0).  Files are appended to
across restarts and reconnections, and time is mockable, so a file's own
order is kept as written; the merge orders files against each other.
"""

from __future__ import annotations

import heapq
import os
import stat
import struct
from collections import OrderedDict
from pathlib import Path

from .errors import FormatError, TruncatedCapture
from .records import Gap, Message
from .v1 import MAX_SIZE, encode_command

RECORD_HEADER = struct.Struct("<Q12sI")
FILES = (("msgs_recv.dat", "in"), ("msgs_sent.dat", "out"))
UNKNOWN_CONN_TYPE = "unknown"
_CHUNK = 1 << 16


def folder_to_addr(name: str) -> str:
    """``[2001_db8__1]_9999`` -> ``[2001:db8::1]:9999`` (Core wrote ':' as '_').

    >>> folder_to_addr("1.2.3.4_9999"), folder_to_addr("[2001_db8__1]_9999")
    ('1.2.3.4:9999', '[2001:db8::1]:9999')
    """
    return name.replace("_", ":")


def addr_to_folder(addr: str) -> str:
    """The folder name Core would use; characters a path cannot hold become '_'.

    >>> addr_to_folder("[2001:db8::1]:9999")
    '[2001_db8__1]_9999'
    """
    name = "".join("_" if c in ":/\\\0" or not c.isprintable() else c for c in addr)
    if name in ("", ".", ".."):
        name = name.replace(".", "_") or "unknown"
    return name


def _refuse_link(path) -> None:
    """A ``FormatError`` when ``path`` is a symbolic link: nothing outside the folder is read."""
    if os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise FormatError(
            f"a symbolic link (to {target}): import reads only the folder it was given, and Core makes no links",
            path=str(path),
        )


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def find_capture_root(path) -> Path:
    """The ``message_capture`` folder: ``path`` itself or its child of that name."""
    path = Path(path)
    child = path / "message_capture"
    if os.path.lexists(child):
        _refuse_link(child)
        if child.is_dir():
            return child
    return path


def capture_folders(root: Path) -> list[tuple[str, Path]]:
    """[(peer address, folder)] holding at least one ``msgs_*.dat``, sorted by name.

    A link in the folder, or a ``msgs_*.dat`` that is a link or not a
    regular file, is a ``FormatError`` naming it.
    """
    found = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_symlink():
            _refuse_link(entry.path)
        if not entry.is_dir(follow_symlinks=False):
            continue
        present = False
        for name, _ in FILES:
            file = os.path.join(entry.path, name)
            try:
                mode = os.lstat(file).st_mode
            except FileNotFoundError:
                continue
            _refuse_link(file)
            if not stat.S_ISREG(mode):
                raise FormatError(
                    f"{_kind(mode)}, not a regular file: not a -capturemessages file", path=file
                )
            present = True
        if present:
            found.append((folder_to_addr(entry.name), Path(entry.path)))
    return found


def _open_regular(path: Path, identity=None):
    """``(file, (device, inode))`` of a regular file reached without a link;
    ``identity`` (from the first open) must match when it is opened again."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        _refuse_link(path)
        raise FormatError(f"cannot read: {exc.strerror}", path=str(path)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (identity is not None and identity != (st.st_dev, st.st_ino)):
        os.close(fd)
        what = (
            "replaced while it was read"
            if stat.S_ISREG(st.st_mode)
            else f"{_kind(st.st_mode)}, not a regular file"
        )
        raise FormatError(what, path=str(path))
    return os.fdopen(fd, "rb"), (st.st_dev, st.st_ino)


class _FilePool:
    """Open files for reading, at most ``max_open`` at a time (least recently
    used closed first): a node that ran for weeks leaves one folder per
    inbound connection, more than a process may hold open."""

    def __init__(self, max_open: int = 128):
        self.max_open = max_open
        self._open: OrderedDict[Path, object] = OrderedDict()
        self._identity: dict = {}  # path -> (device, inode) of its first open

    def get(self, path: Path):
        """(file, fresh): ``fresh`` means it was (re)opened and must be positioned.

        Opened again, it must be the same file as the first time: a file
        swapped for another (or a FIFO) meanwhile is a ``FormatError``.
        """
        f = self._open.pop(path, None)
        fresh = f is None
        if fresh:
            if len(self._open) >= self.max_open:
                self._open.popitem(last=False)[1].close()
            f, self._identity[path] = _open_regular(path, self._identity.get(path))
        self._open[path] = f
        return f, fresh

    def release(self, path: Path) -> None:
        f = self._open.pop(path, None)
        if f is not None:
            f.close()

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()


def read_file(
    path: Path, *, peer_id: int, peer_addr: str, direction: str, pool: _FilePool | None = None, on_torn=None
):
    """The messages of one ``msgs_*.dat`` file, in file order.

    Raises FormatError (file, offset, field) for a record that cannot be
    what Core wrote.  A record cut short (a node killed mid-write) raises
    TruncatedCapture, or, given ``on_torn``, is passed to it and ends the
    file: every record before it is kept.
    """
    name = str(path)
    own = pool is None
    pool = pool or _FilePool(1)
    offset = 0
    try:
        while True:
            f, fresh = pool.get(path)
            if fresh:
                f.seek(offset)
            head = f.read(RECORD_HEADER.size)
            if not head:
                return
            if len(head) < RECORD_HEADER.size:
                _torn(
                    TruncatedCapture(
                        f"record header cut short ({len(head)} of {RECORD_HEADER.size} bytes)",
                        path=name,
                        offset=offset,
                    ),
                    on_torn,
                )
                return
            ts_us, raw, length = RECORD_HEADER.unpack(head)
            command = _command(raw, name, offset)
            if length > MAX_SIZE:
                raise FormatError(
                    f"payload length: {length} bytes is more than any message "
                    f"(limit {MAX_SIZE}); not a -capturemessages file?",
                    path=name,
                    offset=offset + 20,
                )
            payload = f.read(length)
            if len(payload) < length:
                _torn(
                    TruncatedCapture(
                        f"payload of {command!r} cut short ({len(payload)} of {length} bytes)",
                        path=name,
                        offset=offset + RECORD_HEADER.size,
                    ),
                    on_torn,
                )
                return
            offset += RECORD_HEADER.size + length
            yield Message(
                ts_us * 1000, 0, peer_id, peer_addr, UNKNOWN_CONN_TYPE, direction, command, length, payload
            )
    finally:
        if own:
            pool.close()
        else:
            pool.release(path)


def _torn(err: TruncatedCapture, on_torn) -> None:
    if on_torn is None:
        raise err
    on_torn(err)


def _command(raw: bytes, path: str, offset: int) -> str:
    name, _, rest = raw.partition(b"\0")
    if rest.strip(b"\0") or not name or not all(0x20 <= b <= 0x7E for b in name):
        raise FormatError(
            f"command: {raw!r} is not a NUL-padded ASCII command; not a -capturemessages file?",
            path=path,
            offset=offset + 8,
        )
    return name.decode("ascii")


def read_capture_dir(path, *, max_open: int = 128, on_torn=None):
    """Every message under a ``-capturemessages`` folder, merged by time.

    ``path`` is the ``message_capture`` folder or the folder holding it;
    ``on_torn`` as for ``read_file``.
    """
    root = find_capture_root(path)
    if not root.is_dir():
        raise FormatError("not a folder", path=str(path))
    folders = capture_folders(root)
    if not folders:
        raise FormatError(
            "no <addr_port>/msgs_recv.dat or msgs_sent.dat found: not a -capturemessages folder",
            path=str(root),
        )
    return _merged(folders, max_open, on_torn)


def _merged(folders, max_open, on_torn):
    pool = _FilePool(max_open)
    streams = []
    for peer_id, (addr, folder) in enumerate(folders):
        for filename, direction in FILES:
            file = folder / filename
            if os.path.lexists(file):  # checked a regular file by capture_folders, and at each open
                streams.append(
                    read_file(
                        file, peer_id=peer_id, peer_addr=addr, direction=direction, pool=pool, on_torn=on_torn
                    )
                )
    try:
        yield from heapq.merge(*streams, key=lambda m: m.ts_ns)
    finally:
        for stream in streams:
            stream.close()
        pool.close()


def encode_record(msg: Message) -> bytes:
    """One ``msgs_*.dat`` record for a message (its captured bytes)."""
    return (
        RECORD_HEADER.pack(msg.ts_ns // 1000, encode_command(msg.command, strict=False), len(msg.payload))
        + msg.payload
    )


class CaptureMessagesWriter:
    """Write messages into a ``-capturemessages`` folder, one sub-folder per
    peer address (peers sharing an address share a folder, as in Core).

    Files are opened in append mode like Core's, and at most ``max_open`` at
    a time (least recently used closed first), so thousands of peers need no
    more file descriptors.  A message kept only in part is written as
    captured (``partial`` counts them); the format has no place for gap
    records, so they are counted in ``gaps_skipped`` and not written.
    """

    def __init__(self, root, *, max_open: int = 64):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_open = max_open
        self._open: OrderedDict[Path, object] = OrderedDict()
        self.messages = 0
        self.partial = 0
        self.gaps_skipped = 0
        self.folders: set[str] = set()

    def write(self, msg) -> None:
        if type(msg) is Gap:
            self.gaps_skipped += 1
            return
        folder = addr_to_folder(msg.peer_addr)
        name = "msgs_recv.dat" if msg.direction == "in" else "msgs_sent.dat"
        path = self.root / folder / name
        f = self._open.pop(path, None)
        if f is None:
            if len(self._open) >= self.max_open:
                self._open.popitem(last=False)[1].close()
            path.parent.mkdir(exist_ok=True)
            f = open(path, "ab")
        self._open[path] = f
        f.write(encode_record(msg))
        self.folders.add(folder)
        self.messages += 1
        if msg.partial:
            self.partial += 1

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()

    def __enter__(self) -> CaptureMessagesWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
