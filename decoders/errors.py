"""Typed decode errors: what failed, in which command, at which byte.

construct's errors carry a field path but no offset (construct issue #728);
``decode`` adds the command and the stream position where parsing stopped.
"""

from p2pcap.errors import EXIT_NO, P2pcapError


class DecodeError(P2pcapError):
    """A payload that does not match its command's layout.

    ``command`` is the P2P command, ``path`` construct's field path, with
    the index of a vector's element (for example ``(parsing) -> inv -> [3]
    -> hash``), ``offset`` the byte offset in the payload where parsing
    stopped.
    """

    exit_status = EXIT_NO  # damaged input found

    def __init__(self, command: str, reason: str, *, path: str = "", offset: int | None = None):
        self.command = command
        self.reason = reason
        self.path = path
        self.offset = offset
        where = f" at offset {offset}" if offset is not None else ""
        field = f" in {path}" if path else ""
        super().__init__(f"{command}: {reason}{field}{where}")
