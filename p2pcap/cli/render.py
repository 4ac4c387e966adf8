"""Turn records into ``show``'s output: table rows, JSON lines, trees, hex dumps.

Presentation only.  Decoding happens in the caller (``filters.Selection``),
once per shown record, with the version negotiated on that peer-session; a
JSON line has the shape ``formats.jsonl.message_object`` gives every export.
A table row fits the terminal (``page_width``), and is never cut when
piped or with ``-w``; ``-v`` adds the whole decoded tree and ``--hex`` a
hex dump under it, like ``tshark -V -x``.  Every string that comes from
the capture -- commands, addresses, connection types, decoded text such as
a user agent -- goes through ``printable`` before it is shown: a capture
may come from a stranger (p2pcap/terminal.py).  Times are shown as
tshark's ``-t`` shows them (``TIME_FORMATS``).
"""

from __future__ import annotations

import functools
import json
import time

import orjson

from p2pcap.analysis.decoding import payload_writers
from p2pcap.analysis.summary import summarize
from p2pcap.formats.accelerators import general_only
from p2pcap.formats.jsonl import NOT_DECODED, gap_object, message_object
from p2pcap.formats.records import Gap, Message
from p2pcap.terminal import page_width, page_width_now, printable, set_page_width  # noqa: F401 (re-exported)
from p2pcap.units import iso

WIDTH = 80  # the page when nothing says otherwise
INDENT = "    "
PAGE = object()  # fit(): the width of the page, whatever it is for this run


def clock(ts_ns: int) -> str:
    """UTC time of day with microseconds, like tcpdump's default."""
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return f"{_clock_second(seconds)}.{ns // 1000:06d}"


@functools.lru_cache(maxsize=256)
def _clock_second(seconds: int) -> str:
    # Consecutive records share their second: format it once.
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


@functools.lru_cache(maxsize=256)
def _local_second(seconds: int, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(seconds))


# tshark's -t letters: u/ud UTC (the default), a/ad local time, r seconds
# since the first message shown, d seconds since the one before it.
TIME_FORMATS = {
    "u": "time (UTC)",
    "ud": "date and time (UTC)",
    "a": "time (local)",
    "ad": "date and time (local)",
    "r": "since first (s)",
    "d": "since prev. (s)",
}
_TIME_WIDTH = {"u": 15, "a": 15, "ud": 26, "ad": 26, "r": 15, "d": 15}  # the column, header included


class Times:
    """A record's time as ``-t FORMAT`` shows it.

    >>> t = Times("r"); t(1_000_000_000).strip(), t(3_500_000_000).strip()
    ('0.000000', '2.500000')
    >>> Times("d")(5), Times("u")(1_700_000_000_000_000_000)
    ('       0.000000', '22:13:20.000000')
    """

    def __init__(self, fmt: str = "u"):
        if fmt not in TIME_FORMATS:
            raise ValueError(f"time format {fmt!r}: expected one of {', '.join(TIME_FORMATS)}")
        self.fmt = fmt
        self.width = _TIME_WIDTH[fmt]
        self.title = f"{TIME_FORMATS[fmt]:{self.width}}"
        self._first = self._previous = None

    def __call__(self, ts_ns: int) -> str:
        fmt = self.fmt
        if fmt == "u":
            return clock(ts_ns)
        seconds, ns = divmod(ts_ns, 1_000_000_000)
        if fmt in ("ud", "a", "ad"):
            pattern = "%H:%M:%S" if fmt == "a" else "%Y-%m-%d %H:%M:%S"
            day = _clock_day(seconds) if fmt == "ud" else _local_second(seconds, pattern)
            return f"{day}.{ns // 1000:06d}"
        base = self._first if fmt == "r" else self._previous
        if self._first is None:
            self._first = ts_ns
            base = ts_ns
        self._previous = ts_ns
        return f"{_seconds(ts_ns - (ts_ns if base is None else base)):>15}"


@functools.lru_cache(maxsize=256)
def _clock_day(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def _seconds(delta_ns: int) -> str:
    sign = "-" if delta_ns < 0 else ""
    whole, ns = divmod(abs(delta_ns), 1_000_000_000)
    return f"{sign}{whole}.{ns // 1000:06d}"


def fit(text: str, width=PAGE) -> str:
    """``text`` cut to ``width`` columns (the page's by default; None: whole),
    ending in ``…`` when cut."""
    if width is PAGE:
        width = page_width_now()
    if width is None or len(text) <= width:
        return text
    return text[: width - 1].removesuffix("…") + "…"  # one mark where a cut hash meets the cut


class Renderer:
    """One output style; ``render`` returns the text for one record (maybe several lines).

    >>> r = Renderer(json_lines=False, hex_payload=False, color=False)
    >>> ping = Message(1_700_000_000_000_000_000, 1, 3, "x:1", "inbound", "in", "ping", 8, bytes(8))
    >>> r.render(ping, {"nonce": 0}, None)
    '22:13:20.000000 in      3 ping                8  nonce 0'
    """

    def __init__(
        self,
        *,
        json_lines: bool = False,
        hex_payload: bool = False,
        color: bool = False,
        verbose: bool = False,
        times: str = "u",
    ):
        self.json_lines = json_lines
        self.hex_payload = hex_payload
        self.color = color
        self.verbose = verbose
        self.times = Times(times)
        # JSON lines from parts (MessageLines), unless the general path is asked for.
        self._lines = None if general_only() else MessageLines(hex_payload)

    def payload_line(self, msg: Message, version, network) -> str | None:
        """A JSON line (``--json``) of a message whose decoded JSON is written
        from its payload, without decoding it into a dict (``MessageLines``), or None."""
        return None if self._lines is None else self._lines.payload_line(msg, version, network)

    def header(self) -> str | None:
        if self.json_lines:
            return None
        return f"{self.times.title} {'dir':3} {'peer':>5} {'command':12} {'size':>8}  info"

    def render(self, record, decoded=None, error=None, version=None) -> str:
        """Text for one record; ``version`` is (protocol version, how it is known) when decoded."""
        if type(record) is Gap:
            return self._gap(record)
        if self.json_lines:
            if self._lines is not None:
                line = self._lines.line(record, decoded, error, version)
                if line is not None:
                    return line
            return json_line(
                message_object(
                    record,
                    iso(record.ts_ns),
                    decoded=decoded,
                    error=error,
                    version=version,
                    payload_hex=self.hex_payload,
                    kind=False,
                )
            )
        lines = [self._row(record, decoded, error)]
        if self.verbose:
            protocol = f"  protocol {version[0]} ({version[1]})" if version is not None else ""
            lines.append(
                f"{INDENT}pid {record.pid}  peer {record.peer_id} {printable(record.peer_addr)} "
                f"({printable(record.conn_type)})  {iso(record.ts_ns)}{protocol}"
            )
            if record.flags:
                lines.append(f"{INDENT}flags 0x{record.flags:02x}")
            if error:
                lines.append(f"{INDENT}! {printable(error, backslash=False)}")
            elif decoded is not None:
                lines.extend(tree(decoded, 1))
        if self.hex_payload:
            lines.extend(hexdump(record.payload))
        return "\n".join(lines)

    def _row(self, msg: Message, decoded, error) -> str:
        info = printable(f"! {error}" if error else summarize(msg.command, decoded), backslash=not error)
        size = str(msg.msg_size) if not msg.partial else f"{msg.captured_len}/{msg.msg_size}"
        command = printable(msg.command)
        row = fit(
            f"{self.times(msg.ts_ns)} {msg.direction:3} {msg.peer_id:>5} {command:12} {size:>8}  {info}".rstrip()
        )
        if self.color:
            import click

            row = click.style(row, fg="red" if error else ("cyan" if msg.direction == "in" else None))
        return row

    def _gap(self, gap: Gap) -> str:
        if self.json_lines:
            return json_line(gap_object(gap, iso(gap.ts_ns), kind=False))
        row = fit(
            f"{self.times(gap.ts_ns)} --- GAP: {gap.lost_messages} messages "
            f"({gap.lost_bytes} bytes) lost, {gap.reason_name}" + (f", pid {gap.pid}" if gap.pid else "")
        )
        if self.color:
            import click

            row = click.style(row, fg="yellow", bold=True)
        return row


class MessageLines:
    """``show --json``'s message lines, put together from parts.

    A line is ``json_line(message_object(msg, ..., kind=False))``, byte for
    byte, without building the dict: the part naming the peer-session and
    command is serialised once per peer-session and command, the numbers
    are formatted in place, and only the decoded payload goes through
    orjson.  ``line`` returns None for a message whose parts orjson refuses
    (an integer beyond 64 bits, a string with stray surrogates): the caller
    then takes the general path, whose stdlib fallback decides what is
    printed.  ``tests/analysis/test_fast_output.py`` holds the two to the
    same bytes.

    >>> msg = Message(1_700_000_000_000_000_001, 1, 3, "x:1", "inbound", "in", "ping", 8, bytes(8))
    >>> MessageLines(False).line(msg, {"nonce": 0}, None, (70238, "assumed")) == json_line(
    ...     message_object(msg, iso(msg.ts_ns), decoded={"nonce": 0}, version=(70238, "assumed"),
    ...                    payload_hex=False, kind=False))
    True
    """

    def __init__(self, payload_hex: bool):
        self.payload_hex = payload_hex
        self._middles: dict = {}
        self._writers = None  # command -> the C writer of its decoded JSON; made on first use
        self._writers_network = None
        self._assumed_version = None

    def _middle(self, key) -> str | None:
        pid, peer_id, addr, conn_type, direction, command = key
        try:
            text = orjson.dumps(
                {
                    "pid": pid,
                    "peer_id": peer_id,
                    "peer_addr": addr,
                    "conn_type": conn_type,
                    "direction": direction,
                    "command": command,
                }
            ).decode()[1:-1]  # the members, without the braces
        except orjson.JSONEncodeError:
            text = None
        if len(self._middles) >= 4096:  # a capture of many peer-sessions: bounded all the same
            self._middles.clear()
        self._middles[key] = text
        return text

    def payload_line(self, msg: Message, version, network) -> str | None:
        """The line of a message whose decoded JSON a C writer makes straight
        from the payload (formats/_payloadjson.c: inventories, tx, ping and
        pong, clsig, isdlock, qsigshare, qsigsesann, dsq);
        None: take the general way (``Selection.decoded``).  ``network`` is
        the capture's, as ``decode`` takes it."""
        writers = self._writers
        if writers is None or self._writers_network != network:
            self._writers, self._assumed_version = payload_writers(network)
            writers = self._writers
            self._writers_network = network
        write = writers.get(msg.command)
        if write is None or len(msg.payload) < msg.msg_size:
            return None
        number = version[0] if version is not None else None
        if not number:  # decode() reads with PROTOCOL_VERSION when none is known (decoders/decode.py)
            number = self._assumed_version
        elif type(number) is not int:
            return None
        text = write(msg.payload, number)
        return None if text is None else self.line(msg, NOT_DECODED, None, version, decoded_json=text)

    def line(
        self, msg: Message, decoded=NOT_DECODED, error=None, version=None, *, decoded_json=None
    ) -> str | None:
        key = (msg.pid, msg.peer_id, msg.peer_addr, msg.conn_type, msg.direction, msg.command)
        middle = self._middles.get(key, False)
        if middle is False:
            middle = self._middle(key)
        if middle is None:
            return None
        ts = msg.ts_ns
        line = (
            f'{{"ts_ns":{ts},"time":"{iso(ts)}",{middle},"msg_size":{msg.msg_size},'
            f'"captured_len":{len(msg.payload)},"flags":{msg.flags}'
        )
        if version is not None:
            number, source = version
            if type(number) is not int or source not in _VERSION_SOURCES:
                return None
            line += f',"protocol_version":{number},"protocol_version_source":"{source}"'
        if decoded_json is not None:
            line += f',"decoded":{decoded_json},"error":null'
        elif decoded is not NOT_DECODED:
            try:
                line += f',"decoded":{orjson.dumps(decoded, option=orjson.OPT_NON_STR_KEYS).decode()}'
                line += ',"error":null' if error is None else f',"error":{orjson.dumps(error).decode()}'
            except orjson.JSONEncodeError:
                return None
        if self.payload_hex:
            line += f',"payload_hex":"{msg.payload.hex()}"'
        return line + "}"


_VERSION_SOURCES = frozenset(("negotiated", "assumed", "given"))


def json_line(obj: dict) -> str:
    """One compact JSON line.  orjson is ~10x faster than the stdlib here and
    JSON output is most of ``show --json``'s time; what orjson refuses
    (integers beyond 64 bits) goes through the stdlib, same text."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        if text.isascii() or _utf8(text):
            return text
        # Bytes that were not UTF-8 (kept as surrogate escapes): \udcXX escapes,
        # which json.loads gives back as the same string, byte for byte.
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def tree(value, depth: int = 0) -> list[str]:
    """The decoded dict as indented ``key: value`` lines, lists as ``[i]``.

    >>> tree({"inv": [{"type": 1, "hash": "ab"}], "n": 2})
    ['inv: (1 item)', '    [0]', '        type: 1', '        hash: ab', 'n: 2']
    """
    pad = INDENT * depth
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{printable(key)}:{_count(item)}")
                lines.extend(tree(item, depth + 1))
            else:
                lines.append(f"{pad}{printable(key)}: {_scalar(item)}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}[{i}]")
                lines.extend(tree(item, depth + 1))
            else:
                lines.append(f"{pad}[{i}] {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _count(item) -> str:
    if isinstance(item, list):
        return f" ({len(item)} item{'s' if len(item) != 1 else ''})"
    return ""


def _scalar(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    return printable(value)  # decoded text (a user agent, a name) is the peer's


def hexdump(payload: bytes, width: int = 16) -> list[str]:
    """``tcpdump -X``-style lines: offset, hex in two groups of 8, ASCII.

    >>> hexdump(b"ping")
    ['    0000  70 69 6e 67                                       ping']
    """
    lines = []
    for off in range(0, len(payload), width):
        chunk = payload[off : off + width]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{INDENT}{off:04x}  {left:<23}  {right:<23}  {text}")
    return lines
