"""What the commands that draw (``stats --plot``, ``propagation --plot``) share.

matplotlib is an optional dependency (``p2pcap[plot]``), loaded only here,
with its file-only backend; a figure that cannot be written is one line
naming the path.
"""

from __future__ import annotations

import os

from p2pcap.errors import ArgumentError, PathError
from p2pcap.outputs import atomic_file


def pyplot():
    """matplotlib.pyplot with the Agg backend, or a one-line error saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ArgumentError("plot", "{arg} needs matplotlib: pip install 'p2pcap[plot]'") from None
    return plt


def save(plt, fig, out_path) -> None:
    """Write ``fig`` to ``out_path`` (format from the suffix) and free it."""
    fig.tight_layout()
    fmt = os.path.splitext(str(out_path))[1][1:].lower() or None  # the temporary name has another suffix
    try:
        with atomic_file(out_path, "wb", action="cannot write the plot") as f:
            fig.savefig(f, format=fmt)
    except PathError:
        raise
    except OSError as exc:
        raise PathError.of(out_path, "cannot write the plot", exc) from None
    except ValueError as exc:  # matplotlib: a suffix it has no writer for
        raise PathError(f"{out_path}: cannot write the plot: {exc}", out_path) from None
    finally:
        plt.close(fig)
