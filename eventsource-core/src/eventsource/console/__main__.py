"""``python -m eventsource.console [OPTIONS]``: the same as ``eventsource console [OPTIONS]``
(the CLI's command parses the options, reports errors and gives the exit code)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``eventsource console`` with ``argv`` (default ``sys.argv[1:]``); its exit code."""
    from ..cli import main as cli

    return cli(["console", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
