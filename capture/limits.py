"""The recorder's limits, set once here and passed to the BPF program as -D.

The record layouts live in ``p2p_messages.bpf.c``; ``events.py`` mirrors
them with ``struct`` for speed.
"""

ADDR_MAX = 256  # peer address string; Core documents 68, hostnames can be longer
CONN_MAX = 32  # connection type; longest today is "outbound-full-relay" (19)
CMD_MAX = 32  # command; Core's are at most 12 characters (CMessageHeader::COMMAND_SIZE)
CHUNK_SIZE = 32768  # payload bytes per ring-buffer record (power of two)
MAX_PAYLOAD = 3 * 1024 * 1024  # Dash MAX_PROTOCOL_MESSAGE_LENGTH (src/net.h)
MAX_CHUNKS = MAX_PAYLOAD // CHUNK_SIZE  # 96 for a whole 3 MiB message
# Chunks copied per run of the tail-called copy_chunks program.  Linux 5.10
# allows 32 tail calls per probe hit (MAX_TAIL_CALL_CNT; 33 from 5.17), and
# the first chunk travels in the EV_MESSAGE record; 4 needs 24 calls.  More
# per call means fewer calls but a longer program for the verifier.
CHUNKS_PER_CALL = 4
TAIL_CALLS = -(-(MAX_CHUNKS - 1) // CHUNKS_PER_CALL)
assert TAIL_CALLS <= 32, "a 3 MiB message would need more tail calls than Linux 5.10 allows"
PEER_SLOTS = 4096  # per-CPU peer cache slots, indexed by peer id (power of two)
# 64 MiB: ~3 s of 100,000 small messages/s, or ~130 ms of 500 MB/s, while
# the consumer is held up (a rotation, a slow disk).
DEFAULT_RINGBUF_BYTES = 64 * 1024 * 1024
