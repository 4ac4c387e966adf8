"""The recorder: BPF program, BCC loader, recording loop (``p2pcap.capture``)."""

from p2pcap.folders import require_name

require_name(__name__, "p2pcap.capture")
