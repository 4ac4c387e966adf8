"""Writing outputs without losing what was there (docs/DESIGN.md, "Trust").

Every command that writes a file or a folder goes through here, so the
rules hold in one place:

- An output that is an input under any name -- the same path, a symlink, a
  hard link, a bind mount, ``/proc/self/fd/N`` -- is refused before anything
  is written (``refuse_overwriting``: same device and inode, as ``cp`` and
  GNU ``sort -o`` check).
- A file is written beside its target under a temporary name and renamed
  over it only when complete and on disk (``atomic_file``: fsync, then
  ``rename``, then fsync of the folder), so a write that fails -- a full
  disk, an error in the middle, Ctrl-C -- leaves whatever was at that path
  exactly as it was.  The rename replaces a symlink at the path, never the
  file it points to: nothing is written through a link.
- A path that is not a regular file -- a device, a FIFO -- is written
  directly (``/dev/null``, ``>(gzip > x)``) and never removed.  p2pcap
  removes only what it created itself: its own temporary names.
- A folder output is made under a temporary name and renamed into place
  when whole (``atomic_folder``); files added to an existing folder are
  staged under temporary names and all renamed at the end, or all removed
  (``StagedFiles``).

This module is a leaf: any layer may import it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import tempfile
from pathlib import Path

from p2pcap.errors import ArgumentError, PathError

TEMP_SUFFIX = ".p2pcap-tmp"  # every temporary name p2pcap makes ends so (readers skip them)


def _identity(path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of what ``path`` names (links followed), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def is_stdio(path) -> bool:
    return path is None or str(path) == "-"


def same_file(a, b) -> bool:
    """True when writing ``b`` would overwrite ``a``: the same file under any name.

    >>> same_file(__file__, __file__), same_file(__file__, "/nonexistent")
    (True, False)
    """
    if is_stdio(a) or is_stdio(b):
        return False
    ida = _identity(a)
    return ida is not None and ida == _identity(b)


def refuse_overwriting(inputs, output) -> None:
    """An ``ArgumentError`` when ``output`` is one of ``inputs`` under any name.

    A folder output is refused too when an input lies inside it (a dataset
    written over the captures it is made from).

    >>> refuse_overwriting([__file__], os.path.join(os.path.dirname(__file__), ".", os.path.basename(__file__)))
    Traceback (most recent call last):
    p2pcap.errors.ArgumentError: ...: the output must not be the input
    """
    inputs = [p for p in inputs if not is_stdio(p)]
    if is_stdio(output) or not inputs:
        return
    which = "one of the inputs" if len(inputs) > 1 else "the input"
    if any(same_file(src, output) for src in inputs):
        raise ArgumentError(None, f"{output}: the output must not be {which}")
    out = _identity(output)
    if out is not None and os.path.isdir(output):
        for src in inputs:
            for parent in Path(os.path.abspath(src)).parents:
                if _identity(parent) == out:
                    raise ArgumentError(None, f"{output}: the output folder holds {which}")


def _special(path) -> bool:
    """True for an existing path that is not a regular file or a folder: a device, a FIFO, a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _mode_for(path) -> int:
    """The permissions a new file at ``path`` gets: an existing regular file's
    own (as ``sed -i`` keeps them), else what ``open()`` would give."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is atomic
    finally:
        os.close(fd)


def _temp_beside(path, *, folder: bool = False) -> str:
    parent = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    if folder:
        return tempfile.mkdtemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=parent)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=parent)  # O_EXCL, 0600
    os.close(fd)
    return name


@contextlib.contextmanager
def atomic_path(path, *, action: str = "cannot write"):
    """A temporary path beside ``path`` to write a file at, for a library that
    wants a name (pyarrow's writers): renamed over ``path`` when the block
    ends normally, removed on any error.  See ``atomic_file``.

    >>> import tempfile; d = tempfile.mkdtemp(); target = os.path.join(d, "out.bin")
    >>> with atomic_path(target) as temp:
    ...     _ = open(temp, "wb").write(b"x")
    >>> open(target, "rb").read(), os.listdir(d)
    (b'x', ['out.bin'])
    """
    with _named_errors(path, action):
        perm = _mode_for(path)
        temp = _temp_beside(path)
    try:
        yield temp  # errors of the caller's own work pass through as they are
        with _named_errors(path, action):
            fd = os.open(temp, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, perm)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        temp = None
        _fsync_folder(os.path.dirname(os.path.abspath(path)))
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)  # ours: made by mkstemp


@contextlib.contextmanager
def atomic_file(
    path,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    action: str = "cannot write",
):
    """Open ``path`` for writing so that a failure leaves it as it was.

    Yields a file object on a temporary file in the same folder; when the
    block ends normally the file is flushed, synced and renamed over
    ``path``.  On any exception the temporary file is removed and ``path``
    is untouched.  A device or FIFO at ``path`` is opened and written
    directly instead (it cannot be replaced, and is never removed).
    Errors of the system are a ``PathError`` naming ``path``.

    >>> import tempfile; d = tempfile.mkdtemp(); target = os.path.join(d, "out.txt")
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("whole")
    >>> open(target).read()
    'whole'
    >>> with atomic_file(target, "w") as f:
    ...     _ = f.write("half")
    ...     raise RuntimeError("interrupted")
    Traceback (most recent call last):
    RuntimeError: interrupted
    >>> open(target).read(), sorted(os.listdir(d))
    ('whole', ['out.txt'])
    """
    if mode not in ("w", "wb"):
        raise ValueError("atomic_file writes a new file: mode 'w' or 'wb'")
    if _special(path):
        with _named_errors(path, action):
            f = open(path, mode, encoding=encoding, newline=newline)  # noqa: SIM115
        try:
            yield f
        finally:
            with _named_errors(path, action):
                f.close()
        return
    with atomic_path(path, action=action) as temp:
        with _named_errors(path, action):
            raw = open(temp, "wb", buffering=0)  # noqa: SIM115
        f = (
            raw
            if mode == "wb"
            else io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding or "utf-8", newline=newline)
        )
        try:
            yield f
            with _named_errors(path, action):
                f.flush()
        finally:
            with contextlib.suppress(OSError):
                f.close()  # flushed above on success; on failure the file is dropped anyway


@contextlib.contextmanager
def _named_errors(path, action: str = "cannot write"):
    try:
        yield
    except PathError:
        raise
    except OSError as exc:
        raise PathError.of(path, action, exc) from None


@contextlib.contextmanager
def atomic_folder(path):
    """Make a new folder at ``path``: yields a temporary folder beside it,
    renamed to ``path`` when the block ends normally, removed on any error.

    ``path`` must not exist, or be an empty folder (which is then replaced).

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> with atomic_folder(os.path.join(d, "out")) as tmp:
    ...     _ = open(os.path.join(tmp, "a"), "w").write("x")
    >>> os.listdir(os.path.join(d, "out"))
    ['a']
    """
    if os.path.lexists(path) and not (
        os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)
    ):
        raise PathError(f"{path}: cannot write: it exists and is not an empty folder", path)
    with _named_errors(path):
        temp = _temp_beside(path, folder=True)
    try:
        yield Path(temp)
        with _named_errors(path):
            os.replace(temp, path)  # an empty folder at path is replaced (rename(2))
        temp = None
        _fsync_folder(os.path.dirname(os.path.abspath(path)))
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)  # ours: made by mkdtemp above


def _place(temp: Path, final: Path) -> None:
    """Rename ``temp`` to ``final`` without replacing a file that appeared meanwhile."""
    try:
        os.link(temp, final)  # fails with EEXIST instead of replacing
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(final):  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "File exists", str(final)) from None
        os.rename(temp, final)
        return
    os.unlink(temp)


class StagedFiles:
    """Files added to an existing folder all at once, or not at all.

    ``path(name)`` gives a temporary path for the file that will be
    ``name`` (relative to ``root``; missing folders are made and
    remembered); ``commit()`` renames every staged file into place,
    refusing to replace a file that exists; ``abort()`` removes the
    temporary files and the folders it made.  As a context manager it
    commits on success and aborts on error.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> with StagedFiles(d) as staged:
    ...     _ = open(staged.path("day=1/part-0.parquet"), "w").write("x")
    >>> os.listdir(os.path.join(d, "day=1"))
    ['part-0.parquet']
    """

    def __init__(self, root):
        self.root = Path(root)
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)
        self._made: list[Path] = []  # folders made here, parents first
        self._finals: set[Path] = set()

    def path(self, name) -> Path:
        final = self.root / name
        if os.path.lexists(final) or final in self._finals:
            raise PathError(f"{final}: cannot write: it exists", final)
        self._make_parents(final.parent)
        temp = final.with_name(f".{final.name}.{len(self._staged)}{TEMP_SUFFIX}")
        self._staged.append((temp, final))
        self._finals.add(final)  # a set: thousands of files (a dataset's days) stay linear
        return temp

    def _make_parents(self, folder: Path) -> None:
        missing = []
        while not folder.exists() and folder != self.root:
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            try:
                made.mkdir()
            except OSError as exc:
                raise PathError.of(made, "cannot write", exc) from None
            self._made.append(made)

    def commit(self) -> None:
        for _temp, final in self._staged:
            if os.path.lexists(final):
                raise PathError(f"{final}: cannot write: it appeared while writing", final)
        done = []
        try:
            for temp, final in self._staged:
                _place(temp, final)
                done.append(final)
        except OSError as exc:
            for final in done:
                with contextlib.suppress(OSError):
                    os.unlink(final)  # ours: linked above
            self.abort()
            raise PathError.of(self.root, "cannot write", exc) from None
        for folder in {final.parent for _, final in self._staged}:
            _fsync_folder(folder)
        self._staged = []
        self._made = []
        self._finals = set()

    def abort(self) -> None:
        for temp, _ in self._staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: never anything p2pcap did not make
        self._staged = []
        self._made = []
        self._finals = set()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


__all__ = [
    "TEMP_SUFFIX",
    "StagedFiles",
    "atomic_file",
    "atomic_folder",
    "atomic_path",
    "is_stdio",
    "refuse_overwriting",
    "same_file",
]
