"""A record's peer address taken apart: the one place that splits ``host:port``.

Dash Core passes the peer's ``CNetAddr::ToStringAddrPort()`` to the
tracepoints (src/net.cpp): ``1.2.3.4:9999``, ``[2001:db8::1]:9999``, or an
onion/I2P name with its port.  Filters, diff, anonymize, the pcapng export
and replay's ``--to`` all need the host and the port apart.
"""

from __future__ import annotations


def split_host_port(addr: str) -> tuple[str, str | None, bool]:
    """(host, port text or None, bracketed) of an address.

    >>> split_host_port("1.2.3.4:9999"), split_host_port("[2001:db8::1]:9999")
    (('1.2.3.4', '9999', False), ('2001:db8::1', '9999', True))
    >>> split_host_port("2001:db8::1"), split_host_port("seed.example.org")
    (('2001:db8::1', None, False), ('seed.example.org', None, False))
    """
    if addr.startswith("[") and "]" in addr:
        end = addr.index("]")
        rest = addr[end + 1 :]
        return addr[1:end], (rest[1:] if rest.startswith(":") else None), True
    if addr.count(":") == 1:
        host, port = addr.split(":")
        return host, port, False
    return addr, None, False


def join_host_port(host: str, port: str | None, bracketed: bool) -> str:
    """The inverse of ``split_host_port``.

    >>> join_host_port(*split_host_port("[::1]:19899")), join_host_port("x", None, False)
    ('[::1]:19899', 'x')
    """
    text = f"[{host}]" if bracketed else host
    return text if port is None else f"{text}:{port}"
