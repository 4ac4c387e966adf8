"""One version parser for kernel releases and BCC versions (capture/versions.py)."""

from __future__ import annotations

from p2pcap.capture import program, versions


def test_releases_and_bcc_versions_parse():
    assert versions.parse("5.10.0-46-amd64") == (5, 10, 0)
    assert versions.parse("6.12.118+deb13-amd64") == (6, 12, 118)
    assert versions.parse("6.18.44-fc-v973") == (6, 18, 44)
    assert versions.parse("v0.26.0") == (0, 26, 0)
    assert versions.parse("0.18") == (0, 18)
    assert versions.parse("custom-kernel") is None


def test_kernel_at_least_and_the_preemptible_boundary():
    assert versions.kernel_at_least((6, 5), "6.18.44-fc-v973")
    assert not versions.kernel_at_least((6, 5), "6.1.0-57-amd64")
    assert not versions.kernel_at_least((5, 8), "garbage")
    # uprobe programs may be preempted from Linux 6.0 (p2p_messages.bpf.c, PREEMPTIBLE)
    assert [
        program.preemptible_probes(r) for r in ("5.10.0-46-amd64", "5.19.17", "6.0.0", "6.1.0-57-amd64")
    ] == [False, False, True, True]
