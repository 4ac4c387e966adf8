"""A ``Flow`` as one self-contained HTML page: the SVG, a style sheet, a script
and the decoded messages, all inline, so the page opens offline.

Zoom with the buttons or Ctrl+wheel; hovering an arrow shows its decoded
message beside the diagram and lights up the arrows it is paired with.
``#hover=SEQ`` in the address hovers arrow SEQ on load (the tests read the
result with a headless browser's ``--dump-dom``).

>>> from p2pcap.analysis.flow import Arrow, Flow, Lane
>>> f = Flow([Lane(1, 3, "a", "inbound")], "node", [Arrow(0, 0, 0, "in", "ping", 8, detail='{"nonce": 5}')])
>>> page = flow_html(f)
>>> page.startswith("<!doctype html>"), "nonce" in page, "http" in page.split("<svg")[0]
(True, True, False)
"""

from __future__ import annotations

import html
import json

from p2pcap.analysis.flow import Flow
from p2pcap.analysis.flow_svg import flow_svg
from p2pcap.terminal import printable
from p2pcap.units import iso

_STYLE = """
body { margin: 0; font: 13px ui-monospace, Menlo, Consolas, monospace; color: #222; }
#bar { position: sticky; top: 0; background: #f4f4f4; border-bottom: 1px solid #ccc; padding: 6px 10px; z-index: 2; }
#bar button { font: inherit; margin-right: 4px; }
#main { display: flex; align-items: flex-start; }
#view { overflow: auto; flex: 1 1 auto; }
#tip { position: sticky; top: 40px; width: 34em; max-height: calc(100vh - 60px); overflow: auto; margin: 8px;
       padding: 8px; border: 1px solid #ccc; background: #fffdf5; white-space: pre-wrap; flex: 0 0 auto; }
g.msg { cursor: pointer; }
g.msg.hot line { stroke-width: 3; }
g.msg.hot text { font-weight: bold; }
path.link.hot { stroke-width: 3; opacity: 1; }
"""

# Plain DOM, no library: zoom scales the SVG's size (its viewBox stays);
# hover fills #tip from the JSON below and marks the paired arrows.
_SCRIPT = """
(function () {
  var details = JSON.parse(document.getElementById("details").textContent);
  var svg = document.querySelector("svg.p2pcap-flow");
  var tip = document.getElementById("tip");
  var w0 = +svg.getAttribute("width"), h0 = +svg.getAttribute("height"), zoom = 1;
  function setZoom(z) {
    zoom = Math.min(8, Math.max(0.1, z));
    svg.setAttribute("width", Math.round(w0 * zoom));
    svg.setAttribute("height", Math.round(h0 * zoom));
    document.getElementById("zoom").textContent = Math.round(zoom * 100) + "%";
  }
  document.getElementById("in").onclick = function () { setZoom(zoom * 1.25); };
  document.getElementById("out").onclick = function () { setZoom(zoom / 1.25); };
  document.getElementById("fit").onclick = function () {
    setZoom(document.getElementById("view").clientWidth / w0);
  };
  document.getElementById("reset").onclick = function () { setZoom(1); };
  document.getElementById("view").addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    setZoom(zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1));
  }, { passive: false });
  function hover(g) {
    document.querySelectorAll(".hot").forEach(function (x) { x.classList.remove("hot"); });
    g.classList.add("hot");
    var id = g.id, d = details[g.getAttribute("data-seq")] || {};
    var lines = [d.head || id];
    document.querySelectorAll('path.link[data-req="' + id + '"], path.link[data-ans="' + id + '"]').forEach(
      function (p) {
        p.classList.add("hot");
        var other = p.getAttribute("data-req") === id ? p.getAttribute("data-ans") : p.getAttribute("data-req");
        var o = document.getElementById(other);
        if (o) o.classList.add("hot");
        lines.push(p.getAttribute("data-rule") + " " + p.getAttribute("data-status") + " in " +
                   (p.getAttribute("data-wait-ns") / 1e6).toFixed(3) + " ms (" + other + ")");
      });
    if (d.mark) lines.push(d.mark);
    lines.push("", d.detail || "(no decoded message)");
    tip.textContent = lines.join("\\n");
  }
  document.querySelectorAll("g.msg").forEach(function (g) {
    g.addEventListener("mouseenter", function () { hover(g); });
  });
  var m = /hover=(\\d+)/.exec(location.hash);
  if (m && document.getElementById("m" + m[1])) hover(document.getElementById("m" + m[1]));
})();
"""


def _script_json(obj) -> str:
    """JSON safe inside <script>: no ``</`` can close the element."""
    return json.dumps(obj, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def flow_html(flow: Flow) -> str:
    """The page as a string (UTF-8 when written)."""
    details = {}
    for a in flow.arrows:
        label = a.command if a.count == 1 else f"{a.count} messages"
        head = f"{iso(a.ts_ns)} {a.direction} peer {flow.lanes[a.lane].peer_id} {printable(label)}"
        detail = a.detail if a.count == 1 else a.summary
        details[str(a.seq)] = {"head": head, "detail": detail, "mark": a.mark}
    title = html.escape(f"p2pcap flow: {', '.join(f'peer {lane.peer_id}' for lane in flow.lanes)}")
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        '<div id=bar><button id=out title="zoom out">&minus;</button><button id=in title="zoom in">+</button>'
        "<button id=fit>fit</button><button id=reset>100%</button> <span id=zoom>100%</span>"
        " &nbsp; hover an arrow for its decoded message; Ctrl+wheel zooms</div>\n"
        f"<div id=main><div id=view>\n{flow_svg(flow)}\n</div><div id=tip>hover an arrow</div></div>\n"
        f'<script type="application/json" id="details">{_script_json(details)}</script>\n'
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )
