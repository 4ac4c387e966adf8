"""Every error p2pcap raises on bad input, and where each kind is defined.

This module imports nothing, so every layer can raise under one base::

    P2pcapError                     bad input of any kind: one line             exit
    ├── ArgumentError               a value given to the API (or a flag) is not usable  2
    ├── PathError                   the system refused a user's path (OSError, path named)  2
    ├── FormatError                 p2pcap.formats: a capture file is not as written  1
    │   ├── BadMagic                    not a p2pcap capture                          2
    │   ├── UnsupportedVersion          a format major version this reader does not know  2
    │   ├── TruncatedCapture            the file ends inside a block (a torn tail)    1
    │   └── CorruptBlock                a checksum or a length does not match         1
    ├── DecodeError                 p2pcap.decoders: a payload does not parse         1
    ├── RecordError                 p2pcap.capture: recording cannot start or went wrong  2
    │   ├── ProbeError                  a target's USDT probes cannot be read or attached  2
    │   └── NotAnElf                    a target binary is not an ELF file            2
    └── AnalysisError               p2pcap.analysis: a capture cannot answer the question  2
        ├── ReplayError                 sending a capture to a node failed            2
        └── DatasetError                a Parquet dataset folder is not one p2pcap wrote  2

The CLI prints any ``P2pcapError`` as one line and exits with its class's
``exit_status``, from the one table every command shares (docs/ANALYSIS.md,
"Exit status"): 0 success (and "same" for diff), 1 a result that says no
(different, damaged input found), 2 usage errors and trouble (diff(1)'s
convention), 130 interrupted.  Anything else is a bug and keeps its
traceback.  An ``ArgumentError`` names the argument by its API name
(``network``); the CLI names the flag instead (``--network``).
"""

# The exit statuses (docs/ANALYSIS.md, "Exit status").
EXIT_OK = 0
EXIT_NO = 1  # different, damaged input found
EXIT_TROUBLE = 2  # usage errors and trouble, as diff(1)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


class P2pcapError(Exception):
    """Base for user-facing errors: bad files, bad payloads, bad targets.

    ``exit_status`` is the command's exit status when this error ends it:
    trouble unless a subclass says the input itself was found damaged.
    """

    exit_status = EXIT_TROUBLE


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
