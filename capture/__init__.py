"""The recorder: the BPF program, its BCC loader and the recording loop.

The front door is ``record_to_file`` (``p2pcap record``): target, probes,
ring buffer and capture files in one call.  Nothing here imports
``p2pcap.analysis`` or ``p2pcap.decoders``, and only this package imports
``bcc`` (when a recording starts, not at import).
"""

from p2pcap.folders import require_name

require_name(__name__, "p2pcap.capture")


def record_to_file(output, **options):
    """Record a running node into ``output`` until stopped (``session.record_to_file``)."""
    from .session import record_to_file as record

    return record(output, **options)
