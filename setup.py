"""The compiled part of p2pcap; everything else is in pyproject.toml.

setuptools 66 (Debian 12's) reads extension modules only from here.
``formats/_listing.c`` renders ``show -n``'s rows of a block in C; the
ordinary install builds it (gcc and python3-dev are set-up packages:
scripts/hostsetup.py), and p2pcap runs the same without it, slower, with
identical output (``P2PCAP_GENERAL=1`` forces that path; docs/BENCHMARKS.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("p2pcap.formats._listing", ["formats/_listing.c"], extra_compile_args=["-O2", "-Wall"]),
    ]
)
