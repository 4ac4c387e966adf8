"""The recorder's limits, set once here and passed to the BPF program as -D.

The event layout itself lives in ``p2p_messages.bpf.c``; ``events.py``
mirrors it with ``struct`` for speed and checks the header size against it.
"""

ADDR_MAX = 256  # peer address string; Core documents 68, hostnames can be longer
CONN_MAX = 32  # connection type; longest today is "outbound-full-relay" (19)
CMD_MAX = 32  # command; Core's are at most 12 characters
CHUNK_SIZE = 32768  # payload bytes per ring-buffer event (power of two)
MAX_PAYLOAD = 3 * 1024 * 1024  # Dash MAX_PROTOCOL_MESSAGE_LENGTH (src/net.h)
MAX_CHUNKS = MAX_PAYLOAD // CHUNK_SIZE  # 96: the verifier-bounded chunk loop
DEFAULT_RINGBUF_BYTES = 64 * 1024 * 1024  # ~20 full-size blocks of headroom
