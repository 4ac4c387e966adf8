"""The decode/build entry points over the registry.

Parsing runs on an in-memory stream so a failure can report the byte offset
where it stopped (construct's errors carry only a path, issue #728).
"""

from __future__ import annotations

import io

from construct import (
    Computed,
    Construct,
    ConstructError,
    Container,
    EnumIntegerString,
    FocusedSeq,
    ListContainer,
    Select,
    StreamError,
    TerminatedError,
)

from .errors import DecodeError
from .fastpaths import FAST
from .limits import BOUND, MAX_PROTOCOL_MESSAGE_LENGTH, Bounded
from .primitives import Trailing
from .script import NETWORKS as _NETWORKS
from .script import network_prefixes
from .structs import BUILD_ERRORS, Struct, build_plain
from .vectors import Vector
from .versions import PROTOCOL_VERSION

# Builtin errors a few construct classes leak on hostile input (e.g. enum
# lookups); they are decode errors all the same.
_LEAKS = (ValueError, KeyError, IndexError, OverflowError, UnicodeError)


_MESSAGES: dict = {}


def _messages() -> dict:
    if not _MESSAGES:
        from .registry import MESSAGES  # first use pays the import of every family

        _MESSAGES.update(MESSAGES)
    return _MESSAGES


def known_commands() -> frozenset[str]:
    return frozenset(_messages())


def definition(command: str):
    """The construct for ``command``, or None when the command is unknown."""
    return _messages().get(command)


def _context(version: int | None, network: str | None = None) -> Container:
    # What construct's parse_stream makes, without its attribute writes.
    network_prefixes(network)  # an unknown network name is the caller's mistake: ValueError
    context = Container(
        version=version or PROTOCOL_VERSION,
        network=network,
        _parsing=True,
        _building=False,
        _sizing=False,
        # No decoder reads ``this._root``; left unset, the message's own
        # Struct context would be its own _root, a cycle holding every
        # parsed field until the cycle collector ran: a 2 MB block's
        # decoded dict outlived its message (issue 22, measured with
        # tests/decoders/worstcase.py).
        _root=None,
    )
    context["_params"] = context
    return context


def check_length(command: str, payload) -> None:
    """Refuse a payload longer than any Dash Core message (3 MiB).

    net.cpp drops a connection whose message header announces more than
    MAX_PROTOCOL_MESSAGE_LENGTH, so such a payload never came from the
    network; decoding it would cost in proportion to whatever its maker
    chose.  Known and unknown commands alike.

    >>> check_length("qbsigs", bytes(3 * 1024 * 1024 + 1))
    Traceback (most recent call last):
    p2pcap.decoders.errors.DecodeError: qbsigs: payload of 3145729 bytes is above MAX_PROTOCOL_MESSAGE_LENGTH (3145728, src/net.h) at offset 3145728
    """
    size = len(payload)
    if size > MAX_PROTOCOL_MESSAGE_LENGTH:
        raise DecodeError(
            command,
            f"payload of {size} bytes is above {MAX_PROTOCOL_MESSAGE_LENGTH}",
            offset=int(MAX_PROTOCOL_MESSAGE_LENGTH),
        )


def decode(command: str, payload: bytes, version: int | None = None, network: str | None = None) -> dict:
    """Decode one payload into plain JSON-ready data.

    >>> decode("verack", b"")
    {}
    >>> decode("nosuchcmd", b"\\x01")
    {'unknown': True, 'raw': '01'}

    A payload above Dash's 3 MiB message limit is a DecodeError
    (``check_length``), and so is a count above the limit Core sets for its
    field (``inv`` of more than MAX_INV_SZ entries ...): the cost of a
    decode is bounded by Core's own rules, whatever the input claims.

    ``version`` is the protocol version negotiated with the peer (the lower
    of the two ``version`` messages); layouts that changed over time use it.
    ``network`` is the capture's chain, "mainnet", "testnet", "devnet" or
    "regtest" (None: mainnet); it picks the address prefixes of scripts and
    ProTx keys (script.py).  Any other name raises ValueError.
    """
    check_length(command, payload)
    fast = FAST.get(command)
    if fast is not None and (network is None or network in _NETWORKS):
        # the version the construct's context would hold (_context)
        obj = fast(payload, version or PROTOCOL_VERSION, network)
        if obj is not None:
            return obj
    context = _context(version, network)
    struct = _messages().get(command)
    if struct is None:
        return {"unknown": True, "raw": bytes(payload).hex()}
    stream = io.BytesIO(payload)
    try:
        obj = struct._parsereport(stream, context, "(parsing)")
    except ConstructError as exc:
        raise _error(command, exc, stream) from None
    except _LEAKS as exc:
        raise DecodeError(command, f"{type(exc).__name__}: {exc}", offset=stream.tell()) from None
    finally:
        _release(context)
    return to_plain(obj)


def _release(context: Container) -> None:
    # The context refers to itself (_params): left so, every decode would be
    # garbage only the cycle collector frees, and `show --json` spent a fifth
    # of its time in it.
    context.pop("_params", None)


def decode_partial(
    command: str, payload: bytes, version: int | None = None, network: str | None = None
) -> dict:
    """Decode the start of a payload that was cut short (a snap length).

    For a record whose ``captured_len`` is below its ``msg_size``: the
    message's fields are read in wire order until the bytes run out, and the
    result holds those that were read whole, ``"partial": True`` and
    ``"error"``, the DecodeError text saying where reading stopped (None if
    the captured bytes held every field).  A vector at the cut keeps the
    elements read whole (a block keeps its first transactions).  Nothing is
    guessed: fields after the last captured byte are left out, and so is a
    field that ends at it but holds a part read only "if bytes remain"
    (Trailing), whose value the missing bytes could change; nothing that
    needs the whole payload (its ``hash``, a txid) is computed.  Bytes that
    break the layout before the cut raise DecodeError, as in ``decode``.

    >>> cut = bytes.fromhex("02" "01000000") + bytes(32) + b"\\x01\\x00"  # 2 announced, 1 whole
    >>> [entry["type_name"] for entry in decode_partial("inv", cut)["inv"]]
    ['MSG_TX']

    ``version`` and ``network`` are ``decode``'s, and so are the limits
    (``check_length`` and every count's).
    """
    check_length(command, payload)
    root = _context(version, network)
    struct = _messages().get(command)
    if struct is None:
        return {"unknown": True, "raw": bytes(payload).hex(), "partial": True, "error": None}
    fields, bound = _fields_of(struct)
    if fields is None:  # not a field list: all or nothing
        try:
            return {**decode(command, payload, version, network), "partial": True, "error": None}
        except DecodeError as exc:
            return {"partial": True, "error": str(exc)}
    stream = io.BytesIO(payload)
    if bound is not None:  # the message is a transaction or a block: its size limit
        setattr(stream, BOUND, (bound.limit, bound.limit, bound.what))
    context = fields.child_context(root, stream)
    end = len(payload)
    result: dict = {}
    error = None
    try:
        for name, sc, suffix in fields._fields:
            path = "(parsing)" + suffix
            start = stream.tell()
            if start == end and type(sc) is not Computed:
                if name is not None:
                    error = DecodeError(command, "the captured bytes end here", path=path, offset=start)
                break
            try:
                value = sc._parsereport(stream, context, path)
            except StreamError as exc:
                error = _error(command, exc, stream)
                if name is not None and isinstance(sc, Vector):
                    stream.seek(start)
                    result[name] = sc.parse_prefix(stream, context, path)
                break
            if stream.tell() == end and _reads_to_end(sc):
                error = DecodeError(
                    command, "the captured bytes end in an optional part", path=path, offset=end
                )
                break
            if name is not None:
                result[name] = context[name] = value
        if bound is not None:
            bound.check_size(stream.tell(), "(parsing)")
    except ConstructError as exc:
        raise _error(command, exc, stream) from None
    except _LEAKS as exc:
        raise DecodeError(command, f"{type(exc).__name__}: {exc}", offset=stream.tell()) from None
    finally:
        _release(root)
    return {**result, "partial": True, "error": None if error is None else str(error)}


_READS_TO_END: dict[int, bool] = {}


def _reads_to_end(construct: Construct) -> bool:
    """Whether a Trailing (or construct's Optional) sits anywhere inside."""
    known = _READS_TO_END.get(id(construct))
    if known is None:
        _READS_TO_END[id(construct)] = False  # a cycle adds nothing
        names = ("subcon", "element", "thensubcon", "elsesubcon")
        children = [getattr(construct, name, None) for name in names]
        children += list(getattr(construct, "subcons", ()))
        known = isinstance(construct, (Trailing, Select)) or any(
            isinstance(c, Construct) and _reads_to_end(c) for c in children
        )
        _READS_TO_END[id(construct)] = known
    return known


def _fields_of(construct: Construct) -> tuple[Struct | None, Bounded | None]:
    """The field list under a message's wrappers (hash, txid, FocusedSeq), if
    any, and the size limit (Bounded) among those wrappers, if any."""
    bound = None
    for _ in range(10):
        if isinstance(construct, Struct):
            return construct, bound
        if isinstance(construct, Bounded) and bound is None:
            bound = construct
        if isinstance(construct, FocusedSeq):
            construct = construct._subcons[construct.parsebuildfrom]
        elif isinstance(getattr(construct, "subcon", None), Construct):
            construct = construct.subcon
        else:
            return None, None
    return None, None


def build(command: str, obj: dict, version: int | None = None) -> bytes:
    """Serialise a decoded dict back to payload bytes (the inverse of decode).

    >>> build("ping", {"nonce": 1}).hex()
    '0100000000000000'

    Counts above their Core limits are refused as in ``decode``, and so is
    a result longer than Dash's 3 MiB message limit.
    """
    struct = _messages().get(command)
    if struct is None:
        if isinstance(obj, dict) and obj.get("unknown"):
            try:
                payload = bytes.fromhex(obj.get("raw"))
            except BUILD_ERRORS:
                raise DecodeError(command, "cannot build: raw is not hex", path="raw") from None
            check_length(command, payload)
            return payload
        raise DecodeError(command, "no definition to build with")
    try:
        payload = build_plain(struct, obj, version=version or PROTOCOL_VERSION)
    except ConstructError as exc:
        raise DecodeError(command, f"cannot build: {_reason(exc)}", path=exc.path or "") from None
    except BUILD_ERRORS as exc:
        # only a definition that is not a Struct gets here (Struct names the field)
        reason = f"cannot build: {type(exc).__name__}: {exc}"
        raise DecodeError(command, reason, path="(building)") from None
    check_length(command, payload)
    return payload


def _error(command: str, exc: ConstructError, stream) -> DecodeError:
    # Terminated read one byte to find the payload had more.
    offset = stream.tell() - 1 if isinstance(exc, TerminatedError) else stream.tell()
    return DecodeError(command, _reason(exc), path=exc.path or "", offset=offset)


def _reason(exc: ConstructError) -> str:
    # construct prefixes the message with its path; keep only the reason.
    text = str(exc)
    if exc.path and text.startswith(f"Error in path {exc.path}"):
        text = text[len(f"Error in path {exc.path}") :].lstrip("\n ")
    return text.splitlines()[0] if text else type(exc).__name__


_SCALARS = frozenset((int, str, bool, float, type(None)))


def to_plain(obj):
    """Make parsed data JSON-ready: Containers to dicts, enums to names, bytes to hex.

    Our ``Struct`` and vector parsers already return plain ``dict``,
    ``list``, ``str``, ``int``, ``bool`` and ``None`` (structs.py), so a
    ``dict`` or ``list`` is returned as it is and decoding pays nothing
    here; what construct's own classes return (``Container`` with its
    ``_io`` and other ``_`` keys, ``ListContainer``, bytes) is converted.

    >>> to_plain(Container(a=b"\\x01", _io=None))
    {'a': '01'}
    """
    kind = type(obj)
    if kind is dict or kind is list or kind in _SCALARS:
        return obj
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(obj, (list, tuple, ListContainer)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, EnumIntegerString):
        return str(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    return obj
