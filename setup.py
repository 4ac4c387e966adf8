"""The compiled part of p2pcap; everything else is in pyproject.toml.

setuptools 66 (Debian 12's) reads extension modules only from here.
``formats/_blockwalk.c`` walks a block body in C for ``show -n``'s rows
and ``diff``'s fingerprints; the ordinary install builds it (gcc and python3-dev are set-up packages:
scripts/hostsetup.py), and p2pcap runs the same without it, slower, with
identical output (``P2PCAP_GENERAL=1`` forces that path; docs/BENCHMARKS.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("p2pcap.formats._blockwalk", ["formats/_blockwalk.c"], extra_compile_args=["-O2", "-Wall"]),
    ]
)
