"""``python -m p2pcap``: the same as the ``p2pcap`` console script."""

from p2pcap.cli import main

main(prog_name="p2pcap")
