"""Every error p2pcap raises on bad input, and where each kind is defined.

This module imports nothing, so every layer can raise under one base::

    P2pcapError                     bad input of any kind: one line, exit status 1
    ├── ArgumentError               a value given to the API (or a flag) is not usable
    ├── PathError                   the system refused a user's path (OSError, path named)
    ├── FormatError                 p2pcap.formats: a capture file is not as written
    │   ├── BadMagic                    not a p2pcap capture
    │   ├── UnsupportedVersion          a format major version this reader does not know
    │   ├── TruncatedCapture            the file ends inside a block (a torn tail)
    │   └── CorruptBlock                a checksum or a length does not match
    ├── DecodeError                 p2pcap.decoders: a payload does not parse
    ├── RecordError                 p2pcap.capture: recording cannot start or went wrong
    │   ├── ProbeError                  a target's USDT probes cannot be read or attached
    │   └── NotAnElf                    a target binary is not an ELF file
    └── AnalysisError               p2pcap.analysis: a capture cannot answer the question
        ├── ReplayError                 sending a capture to a node failed
        └── DatasetError                a Parquet dataset folder is not one p2pcap wrote

The CLI prints any ``P2pcapError`` as one line and exits 1; anything else is
a bug and keeps its traceback.  An ``ArgumentError`` names the argument by
its API name (``network``); the CLI names the flag instead (``--network``).
"""


class P2pcapError(Exception):
    """Base for user-facing errors: bad files, bad payloads, bad targets."""


class ArgumentError(P2pcapError, ValueError):
    """A value given by the caller cannot be used.

    ``problem`` may hold ``{arg}`` where the argument's name belongs; it is
    filled with ``argument`` here and with the flag's name by the CLI.

    >>> str(ArgumentError("network", "expected one of mainnet, testnet", value="foo"))
    "network 'foo': expected one of mainnet, testnet"
    >>> ArgumentError("network", "run.cap: not recorded: give {arg}").named("--network")
    'run.cap: not recorded: give --network'
    """

    _NO_VALUE = object()

    def __init__(self, argument: str | None, problem: str, *, value=_NO_VALUE):
        self.argument = argument
        self.problem = problem
        self.value = value
        super().__init__(self.named(argument))

    def named(self, name: str | None) -> str:
        """The message with the argument called ``name`` (a flag, say)."""
        if "{arg}" in self.problem:
            return self.problem.replace("{arg}", name or "it")
        head = name or ""
        if self.value is not self._NO_VALUE:
            head = f"{head} {self.value!r}" if head else repr(self.value)
        return f"{head}: {self.problem}" if head else self.problem


class PathError(P2pcapError, OSError):
    """An OSError on a path the user gave, as one line naming the path.

    >>> str(PathError.of("/no/such/dir/x.cap", "cannot write", FileNotFoundError(2, "No such file or directory")))
    '/no/such/dir/x.cap: cannot write: No such file or directory'
    """

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return self.args[0]

    @classmethod
    def of(cls, path, action: str, exc: OSError) -> "PathError":
        return cls(f"{path}: {action}: {exc.strerror or exc}", path)
