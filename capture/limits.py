"""The recorder's limits, set once here and passed to the BPF program as -D.

The record layouts live in ``p2p_messages.bpf.c``; ``events.py`` mirrors
them with ``struct`` for speed.
"""

ADDR_MAX = 256  # peer address string; Core documents 68, hostnames can be longer
CONN_MAX = 32  # connection type; longest today is "outbound-full-relay" (19)
CMD_MAX = 32  # command; Core's are at most 12 characters (CMessageHeader::COMMAND_SIZE)
CHUNK_SIZE = 32768  # payload bytes per ring-buffer record (power of two)
MAX_PAYLOAD = 3 * 1024 * 1024  # Dash MAX_PROTOCOL_MESSAGE_LENGTH (src/net.h)
MAX_CHUNKS = MAX_PAYLOAD // CHUNK_SIZE  # 96: the verifier-bounded chunk loop
PEER_SLOTS = 4096  # per-CPU peer cache slots, indexed by peer id (power of two)
# 64 MiB: ~3 s of 100,000 small messages/s, or ~130 ms of 500 MB/s, while
# the consumer is held up (a rotation, a slow disk).
DEFAULT_RINGBUF_BYTES = 64 * 1024 * 1024
