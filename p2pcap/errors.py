"""The one base class for every error p2pcap raises on bad input.

The CLI turns any ``P2pcapError`` into a one-line message and exit status 1
(see ``p2pcap.cli``); anything else is a bug and keeps its traceback.
"""


class P2pcapError(Exception):
    """Base for user-facing errors: bad files, bad payloads, bad targets."""
