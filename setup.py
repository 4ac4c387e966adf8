"""The compiled part of p2pcap; everything else is in pyproject.toml.

setuptools 66 (Debian 12's) reads extension modules only from here.
``formats/_blockwalk.c`` walks a block body in C for ``show -n``'s rows
and ``diff``'s fingerprints, and ``formats/_payloadjson.c`` writes the
decoded JSON of the commonest payloads for ``show --json``; the
ordinary install builds both (gcc and python3-dev are set-up packages:
scripts/hostsetup.py), and p2pcap runs the same without them, slower, with
identical output (``P2PCAP_GENERAL=1`` forces those paths; docs/BENCHMARKS.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(name, [source], depends=["formats/_accel.h"], extra_compile_args=["-O2", "-Wall"])
        for name, source in (
            ("p2pcap.formats._blockwalk", "formats/_blockwalk.c"),
            ("p2pcap.formats._payloadjson", "formats/_payloadjson.c"),
        )
    ]
)
