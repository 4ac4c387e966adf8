"""The layers import one way (docs/DESIGN.md, "The data path").

Two checks: a static allow-list, per layer, of what its modules may import
(every ``import`` statement, also those inside functions, read with ``ast``),
and fresh interpreters that import one layer and list what came with it.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
# p2pcap's leaves: modules that import nothing of p2pcap, so any layer may.
LEAVES = {"p2pcap.errors", "p2pcap.units", "p2pcap.folders", "p2pcap.outputs", "p2pcap.terminal"}

# layer -> (its folder, the p2pcap packages it may import, the third-party top-level names it may import)
LAYERS = {
    "decoders": (ROOT / "decoders", {"p2pcap.decoders"}, {"construct", "dash_hash"}),
    "formats": (ROOT / "formats", {"p2pcap.formats"}, {"zstandard", "zlib_ng", "pyarrow"}),
    "capture": (ROOT / "capture", {"p2pcap.capture", "p2pcap.formats"}, {"bcc", "prometheus_client"}),
    "analysis": (
        ROOT / "p2pcap" / "analysis",
        {"p2pcap.analysis", "p2pcap.formats", "p2pcap.decoders"},
        {"orjson", "matplotlib", "duckdb", "pyspark"},
    ),
    "cli": (ROOT / "p2pcap" / "cli", {"p2pcap"}, {"click", "orjson", "rich"}),
}


def imports_of(path: Path, package: str) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module)
    return names


def layer_modules(layer: str):
    folder, _, _ = LAYERS[layer]
    package = {
        "decoders": "p2pcap.decoders",
        "formats": "p2pcap.formats",
        "capture": "p2pcap.capture",
        "analysis": "p2pcap.analysis",
        "cli": "p2pcap.cli",
    }[layer]
    for path in sorted(folder.glob("*.py")):
        yield path, package


def allowed(name: str, own: set, third_party: set) -> bool:
    top = name.split(".")[0]
    if top in STDLIB or name in LEAVES:
        return True
    if top == "p2pcap":
        return any(name == p or name.startswith(p + ".") for p in own)
    return top in third_party


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_what_it_may(layer):
    _, own, third_party = LAYERS[layer]
    bad = []
    for path, package in layer_modules(layer):
        for name in sorted(imports_of(path, package)):
            if not allowed(name, own, third_party):
                bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert bad == [], "imports outside the layer's allow-list:\n" + "\n".join(bad)


def test_the_allow_list_reads_the_layers():
    # The check above is only as good as its reading: it must see the imports there are.
    seen = imports_of(ROOT / "p2pcap" / "cli" / "__init__.py", "p2pcap.cli")
    assert "click" in seen and "p2pcap.errors" in seen
    assert "p2pcap.decoders.primitives" in imports_of(ROOT / "decoders" / "mnlist.py", "p2pcap.decoders")
    assert not allowed("click", *LAYERS["analysis"][1:]) and not allowed(
        "p2pcap.decoders", *LAYERS["capture"][1:]
    )


def test_only_the_cli_imports_click():
    users = sorted(
        str(p.relative_to(ROOT))
        for p in ROOT.glob("[!.]*/**/*.py")
        if "tests" not in p.parts
        and "build" not in p.parts
        and "benchmarks" not in p.parts
        and not p.is_relative_to(ROOT / "p2pcap" / "cli")
        and not p.parent.is_symlink()
        and "click" in {n.split(".")[0] for n in imports_of(p, "x")}
    )
    assert users == []


# -- what importing one layer loads -------------------------------------------------
PROBE = (
    "import json, sys; import {module}; "
    "print(json.dumps(sorted(m for m in sys.modules if m in ('bcc', 'click') or m.startswith('p2pcap'))))"
)


def loaded(module: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("p2pcap.decoders", ("p2pcap.formats", "p2pcap.capture", "p2pcap.analysis", "bcc", "click")),
        ("p2pcap.formats", ("p2pcap.decoders", "p2pcap.capture", "p2pcap.analysis", "bcc", "click")),
        ("p2pcap.analysis.pipeline", ("p2pcap.capture", "p2pcap.cli", "bcc", "click")),
        ("p2pcap.cli", ("p2pcap.capture", "bcc")),
        ("p2pcap.capture", ("p2pcap.decoders", "p2pcap.analysis", "bcc", "click")),
        ("p2pcap.capture.targets", ("p2pcap.decoders", "p2pcap.analysis", "bcc")),
    ],
)
def test_layers_do_not_reach_across(module, forbidden):
    modules = loaded(module)
    assert module in modules
    bad = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert bad == [], f"{module} imported {bad}"


def test_show_path_needs_no_bcc():
    modules = loaded("p2pcap.cli.show")
    assert "bcc" not in modules and not any(m.startswith("p2pcap.capture") for m in modules)


# -- the mapped folders ---------------------------------------------------------------
@pytest.mark.parametrize("folder", ["capture", "decoders", "formats"])
def test_a_mapped_folder_refuses_its_bare_name(folder):
    # From the repository root ``import formats`` finds the folder itself; it
    # would be a second copy of p2pcap.formats whose classes are not p2pcap's.
    proc = subprocess.run(
        [sys.executable, "-c", f"import {folder}"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ImportError: '{folder}' is p2pcap.{folder}: import it by that name "
        f"(the bare name would load a second copy of the package)"
    )


def test_python_m_p2pcap_runs_from_a_plain_checkout(tmp_path):
    # A copy of the tree, not installed: its own p2pcap (cwd first on sys.path)
    # must run, with capture/, decoders/ and formats/ reached through p2pcap/.
    copy = tmp_path / "checkout"
    for name in ("p2pcap", "capture", "decoders", "formats"):
        shutil.copytree(ROOT / name, copy / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    probe = (
        "import p2pcap, p2pcap.formats, p2pcap.cli; print(p2pcap.__file__); print(p2pcap.formats.__file__)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=copy, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [
        str(copy / "p2pcap" / "__init__.py"),
        str(copy / "p2pcap" / "formats" / "__init__.py"),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "p2pcap", "show", str(ROOT / "samples" / "regtest-session.cap"), "-c", "2"],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and len(run.stdout.splitlines()) == 3, run.stderr
