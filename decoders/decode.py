"""The decode/build entry points over the registry.

Parsing runs on an in-memory stream so a failure can report the byte offset
where it stopped (construct's errors carry only a path, issue #728).
"""

from __future__ import annotations

import io

from construct import ConstructError, EnumIntegerString, TerminatedError

from .errors import DecodeError
from .versions import PROTOCOL_VERSION


def _messages() -> dict:
    from .registry import MESSAGES  # first use pays the import of every family

    return MESSAGES


def known_commands() -> frozenset[str]:
    return frozenset(_messages())


def definition(command: str):
    """The construct for ``command``, or None when the command is unknown."""
    return _messages().get(command)


def decode(command: str, payload: bytes, version: int | None = None) -> dict:
    """Decode one payload into plain JSON-ready data.

    >>> decode("verack", b"")
    {}
    >>> decode("nosuchcmd", b"\\x01")
    {'unknown': True, 'raw': '01'}

    ``version`` is the protocol version negotiated with the peer (the lower
    of the two ``version`` messages); layouts that changed over time use it.
    """
    struct = _messages().get(command)
    if struct is None:
        return {"unknown": True, "raw": bytes(payload).hex()}
    stream = io.BytesIO(payload)
    try:
        obj = struct.parse_stream(stream, version=version or PROTOCOL_VERSION)
    except TerminatedError as exc:
        # Terminated read one byte to find the payload had more.
        raise DecodeError(command, _reason(exc), path=exc.path or "", offset=stream.tell() - 1) from None
    except ConstructError as exc:
        raise DecodeError(command, _reason(exc), path=exc.path or "", offset=stream.tell()) from None
    except (ValueError, KeyError, IndexError, OverflowError, UnicodeError) as exc:
        # A few construct classes leak builtin errors on hostile input
        # (e.g. enum lookups); they are decode errors all the same.
        raise DecodeError(command, f"{type(exc).__name__}: {exc}", offset=stream.tell()) from None
    return to_plain(obj)


def build(command: str, obj: dict, version: int | None = None) -> bytes:
    """Serialise a decoded dict back to payload bytes (the inverse of decode)."""
    struct = _messages().get(command)
    if struct is None:
        if obj.get("unknown"):
            return bytes.fromhex(obj["raw"])
        raise DecodeError(command, "no definition to build with")
    try:
        return struct.build(obj, version=version or PROTOCOL_VERSION)
    except ConstructError as exc:
        raise DecodeError(command, f"cannot build: {_reason(exc)}", path=exc.path or "") from None


def _reason(exc: ConstructError) -> str:
    # construct prefixes the message with its path; keep only the reason.
    text = str(exc)
    if exc.path and text.startswith(f"Error in path {exc.path}"):
        text = text[len(f"Error in path {exc.path}") :].lstrip("\n ")
    return text.splitlines()[0] if text else type(exc).__name__


def to_plain(obj):
    """Containers to dicts, enums to names, bytes to hex; drop ``_`` keys."""
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, EnumIntegerString):
        return str(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    return obj
