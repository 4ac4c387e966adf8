"""``flow``: the sequence diagram, parsed back (SVG, HTML) and opened in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from p2pcap.analysis.conversations import capture_pairs
from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.flow import capture_flow
from p2pcap.analysis.flow_html import flow_html
from p2pcap.analysis.flow_svg import flow_svg
from p2pcap.analysis.flow_text import flow_lines
from p2pcap.cli import main
from p2pcap.formats import open_capture

from . import conversation as c
from .captures import ROOT

SVG = "{http://www.w3.org/2000/svg}"
SAMPLE = ROOT / "samples" / "regtest-session.cap"


def parse_svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def arrows(svg):
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == "msg"]


def links(svg):
    return {
        (p.get("data-req"), p.get("data-ans"), p.get("data-rule"))
        for p in svg.iter(f"{SVG}path")
        if p.get("class") == "link"
    }


def messages_of(path, peers):
    with open_capture(path) as r:
        return [m for m in r.records() if getattr(m, "peer_id", None) in peers]


def test_svg_has_every_message_and_pair():
    flow = capture_flow(SAMPLE, ["0", "1"])
    svg = parse_svg(flow_svg(flow))
    drawn = arrows(svg)
    expected = messages_of(SAMPLE, {0, 1})
    assert [(g.get("data-dir"), g.get("data-cmd")) for g in drawn] == [
        (m.direction, m.command) for m in expected
    ]
    lanes = {g.get("data-lane"): g for g in svg.iter(f"{SVG}g") if g.get("class") == "lane"}
    assert set(lanes) == {"-1", "0", "1"}  # the node and two peers
    # Each link joins the arrows of a pair that `pairs` finds (seq numbers are the same reading order).
    found = []
    capture_pairs(SAMPLE, RecordFilter(peers=("0", "1")), on_pair=found.append)
    want = {(f"m{p.request_seq}", f"m{p.answer_seq}", p.rule) for p in found if p.status == "answered"}
    want |= {
        (f"m{p.announce_seq}", f"m{p.request_seq}", "inv")
        for p in found
        if p.announce_seq is not None and p.request_seq is not None
    }
    assert links(svg) == want and len(want) == 8
    by_id = {g.get("id"): g for g in drawn}
    for req, ans, rule in links(svg):
        if rule == "ping":
            assert (by_id[req].get("data-cmd"), by_id[ans].get("data-cmd")) == ("ping", "pong")


def test_marks_unanswered_losses_and_pauses(tmp_path):
    m = c.message
    records = [
        m(0, "out", 1, "ping", c.nonce(1)),
        m(5, "in", 1, "pong", c.nonce(1)),
        m(10, "out", 1, "getdata", c.inv((c.MSG_TX, c.h(4)))),  # never answered
        c.gap(20, 3),
        m(30, "in", 1, "inv", c.inv((c.MSG_TX, c.h(5)))),
        m(60_030, "in", 1, "inv", c.inv((c.MSG_TX, c.h(6)))),  # a minute later
        m(60_031, "in", 2, "ping", c.nonce(9)),  # another peer: not drawn
    ]
    path = c.write(tmp_path / "marks.cap", records)
    flow = capture_flow(path, ["1"])
    svg = parse_svg(flow_svg(flow))
    assert len(arrows(svg)) == 5
    (unanswered,) = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "unanswered"]
    assert unanswered.get("data-req") == "m2" and "unanswered" in "".join(unanswered.itertext())
    marks = {
        g.get("data-kind"): "".join(g.itertext()) for g in svg.iter(f"{SVG}g") if g.get("class") == "mark"
    }
    assert "3 messages lost" in marks["loss"] and marks["pause"].startswith("60.0 s later")
    text = "\n".join(flow_lines(flow))
    assert "3 messages lost" in text and "answers" in text and "!! getdata unanswered" in text


def test_html_is_self_contained_and_holds_the_decoded_messages():
    flow = capture_flow(SAMPLE, ["0"])
    page = flow_html(flow)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing loaded from anywhere
    svg = parse_svg(page[page.index("<svg") : page.index("</svg>") + 6])
    assert len(arrows(svg)) == len(messages_of(SAMPLE, {0}))
    details = json.loads(
        re.search(r'<script type="application/json" id="details">(.*?)</script>', page, re.S).group(1)
    )
    ping = next(g for g in arrows(svg) if g.get("data-cmd") == "ping")
    assert json.loads(details[ping.get("data-seq")]["detail"]) == {"nonce": 0x1122334455667788}


def test_summarised_when_long(tmp_path):
    m = c.message
    records = [
        m(i * 50, "in" if i % 3 else "out", 1 + i % 2, "inv", c.inv((c.MSG_TX, c.h(i)))) for i in range(600)
    ]
    path = c.write(tmp_path / "long.cap", records)
    flow = capture_flow(path, ["1", "2"], max_arrows=20)
    assert flow.summarised and len(flow.arrows) <= 20 and not flow.links
    assert sum(a.count for a in flow.arrows) == 600 == flow.messages
    svg = parse_svg(flow_svg(flow))
    assert sum(int(g.get("data-count")) for g in arrows(svg)) == 600


def test_cli(tmp_path):
    out = tmp_path / "f.svg"
    result = CliRunner().invoke(main, ["flow", str(SAMPLE), "--peer", "0", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(arrows(parse_svg(out.read_text()))) == len(messages_of(SAMPLE, {0}))
    text = CliRunner().invoke(main, ["flow", str(SAMPLE), "--peer", "1", "--type", "ping,pong"])
    assert text.exit_code == 0 and text.stdout.count("|") >= 4 and "answers" in text.stdout
    every = CliRunner().invoke(main, ["flow", str(SAMPLE), "--format", "svg"])  # no --peer: all of them
    assert every.exit_code == 0 and len(arrows(parse_svg(every.stdout))) == len(
        messages_of(SAMPLE, {0, 1, 2})
    )
    assert (
        CliRunner()
        .invoke(main, ["flow", str(SAMPLE), "--peer", "0", "-o", str(tmp_path / "f.png")])
        .exit_code
        == 2
    )


def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/hostsetup.py TEST installs it)")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def run_chromium(tmp_path, *args):
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_chromium_shows_the_diagram(tmp_path):
    from PIL import Image

    page = tmp_path / "flow.html"
    page.write_text(flow_html(capture_flow(SAMPLE, ["0", "1"])), encoding="utf-8")
    shot = tmp_path / "flow.png"
    run = run_chromium(tmp_path, "--window-size=1200,800", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), run.stderr
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 800)
    colours = image.getcolors(1 << 20)
    inbound_blue = sum(
        n for n, rgb in colours if abs(rgb[0] - 0x1F) < 30 and abs(rgb[1] - 0x5F) < 30 and rgb[2] > 0x9F
    )
    assert inbound_blue > 300  # the inbound arrows and their labels are drawn
    # Hovering an arrow shows its decoded message (the page hovers #hover=N on load).
    ping = next(
        g
        for g in arrows(
            parse_svg(page.read_text()[page.read_text().index("<svg") :].split("</svg>")[0] + "</svg>")
        )
        if g.get("data-cmd") == "ping"
    )
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri() + f"#hover={ping.get('data-seq')}")
    tip = re.search(r'<div id="tip">(.*?)</div>', dom.stdout, re.S)
    assert tip and '"nonce": 1234605616436508552' in tip.group(1) and "ping answered in" in tip.group(1)
