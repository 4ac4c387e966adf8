"""``stats``' text: the tables ``p2pcap stats`` prints from a ``Stats`` result."""

from __future__ import annotations

from p2pcap.analysis.stats import Stats, clock_text
from p2pcap.formats import Counts
from p2pcap.formats.records import GAP_REASONS
from p2pcap.units import NS, utc_text


def human(n: float | None, unit: str = "B") -> str:
    """``1234`` -> ``"1.2 kB"`` (SI prefixes, like capinfos).

    >>> human(999), human(1234), human(5_600_000)
    ('999 B', '1.2 kB', '5.6 MB')
    """
    if n is None:
        return "-"
    for prefix in ("", "k", "M", "G", "T"):
        if abs(n) < 1000 or prefix == "T":
            return f"{n:.0f} {prefix}{unit}" if not prefix else f"{n:.1f} {prefix}{unit}"
        n /= 1000
    return ""  # not reached


def _rate(x) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def stats_lines(st: Stats) -> list[str]:
    """The ``stats`` table: fits the terminal (long addresses are cut there;
    piped, with ``-w`` or in ``--json`` they are whole)."""
    from p2pcap.cli.render import clock, fit
    from p2pcap.terminal import printable

    idx = st.index
    md = st.metadata if isinstance(st.metadata, dict) else {}
    totals = st.direction_totals()
    size = f"{human(st.file_size)}, " if st.file_size is not None else ""
    source = "from the footer index" if st.source == "footer" else "scanned"
    lines = [fit(f"file        {st.file} ({size}{source})")]
    if st.filter:
        lines.append(fit(f"filter      {printable(st.filter)} (the counts below are of what it selects)"))
    if not st.checked:
        lines.append("unchecked   counts as the footer states them; --scan or check reads the blocks")
    target = md.get("target") if isinstance(md.get("target"), dict) else {}
    pids = sorted({p.pid for p in idx.peers})
    lines.append(
        fit(
            f"network     {printable(md.get('network', '-'))}   pid {', '.join(map(str, pids)) or '-'}   "
            f"host {printable(md.get('host', '-'))}"
        )
    )
    if target.get("exe"):
        lines.append(fit(f"target      {printable(target['exe'])}"))
    lines.append(fit(f"clock sync  {clock_text(md.get('clock'))}"))
    lines += [
        f"first       {utc_text(st.first_ns)}",
        f"last        {utc_text(st.last_ns)}",
        f"duration    {st.duration_s:.6f} s",
    ]
    i, o = totals["in"], totals["out"]
    lines.append(
        fit(
            f"messages    {idx.messages} (in {i.messages}, out {o.messages}), "
            f"{human(idx.msg_bytes)} (in {human(i.bytes)}, out {human(o.bytes)})"
        )
    )
    if idx.captured_bytes != idx.msg_bytes:
        lines.append(f"captured    {human(idx.captured_bytes)} of payload (snap length or faults)")
    lines.append(f"rate        {_rate(st.rate(idx.messages))} msg/s, {human(st.rate(idx.msg_bytes))}/s")
    if idx.gap_records:
        lines.append(
            f"lost        {idx.lost_messages} messages, {human(idx.lost_bytes)} "
            f"({idx.gap_records} gap record{'s' if idx.gap_records != 1 else ''})"
        )
        for x in idx.losses:
            lines.append(
                fit(
                    f"            {GAP_REASONS.get(x.reason, x.reason)}: {x.lost_messages} "
                    f"messages, {human(x.lost_bytes)}, pid {x.pid}, from {clock(x.first_ns)}"
                    + (f" for {(x.last_ns - x.first_ns) / NS:.1f} s" if x.last_ns > x.first_ns else "")
                )
            )
    else:
        lines.append("lost        none")
    if st.torn_tail:
        lines.append(fit(f"torn tail   {st.torn_tail}"))
    for d in st.damaged:
        lines.append(fit(f"damaged     {d}"))
    lines += [
        "",
        f"{'command':14} {'in':>8} {'bytes':>10} {'out':>8} {'bytes':>10} {'msg/s':>9} {'share':>7}",
    ]
    for name, dirs in sorted(idx.commands.items(), key=lambda kv: -sum(c.messages for c in kv[1].values())):
        ci, co = dirs.get("in", Counts()), dirs.get("out", Counts())
        n = ci.messages + co.messages
        share = f"{100 * n / idx.messages:.1f}%" if idx.messages else "-"
        lines.append(
            f"{printable(name):14} {ci.messages:>8} {human(ci.bytes):>10} {co.messages:>8} "
            f"{human(co.bytes):>10} {_rate(st.rate(n)):>9} {share:>7}"
        )
    lines.append(
        f"{'total':14} {i.messages:>8} {human(i.bytes):>10} {o.messages:>8} "
        f"{human(o.bytes):>10} {_rate(st.rate(idx.messages)):>9}"
    )
    lines += ["", *peer_lines(idx.peers)]
    if st.biggest:
        lines += ["", f"biggest     {'time (UTC)':15} {'dir':3} {'peer':>5} {'command':12} {'size':>10}"]
        for m in st.biggest:
            size = human(m["msg_size"]) + ("" if m["captured_len"] == m["msg_size"] else " (cut)")
            lines.append(
                f"            {clock(m['ts_ns'])} {m['direction']:3} {m['peer_id']:>5} "
                f"{printable(m['command']):12} {size:>10}"
            )
    return lines


def peer_lines(peers) -> list[str]:
    """One row per peer-session: id, address, connection type, messages, bytes."""
    from p2pcap.cli.render import fit, page_width_now
    from p2pcap.terminal import printable

    several = len({p.pid for p in peers}) > 1
    labels = [f"{p.pid}:{p.peer_id}" if several else str(p.peer_id) for p in peers]
    addrs = [printable(p.addr) for p in peers]
    types = [printable(p.conn_type) for p in peers]
    w = max([4, *map(len, labels)])
    page = page_width_now()
    if page is None:  # piped or -w: every address whole
        aw, tw = max([12, *map(len, addrs)]), max([20, *map(len, types)])
    else:
        tw = 20
        aw = max(12, page - (w + tw + 7 + 7 + 9 + 5))
    lines = [f"{'peer':>{w}} {'address':{aw}} {'conn type':{tw}} {'in':>7} {'out':>7} {'bytes':>9}"]
    for label, addr, conn_type, p in zip(labels, addrs, types, peers):
        lines.append(
            f"{label:>{w}} {fit(addr, aw):{aw}} {fit(conn_type, tw):{tw}} {p.messages_in:>7} "
            f"{p.messages_out:>7} {human(p.bytes_in + p.bytes_out):>9}"
        )
    return lines


# -- --plot ---------------------------------------------------------------------
