"""``python -m eventsource.console --url URL [--host H] [--port N] [--allow-writes]``."""

from __future__ import annotations

import argparse
import os
import sys

from .._exceptions import EventSourceError
from ..plugins._backend import resolve_url
from ._settings import ConsoleSettings

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    """The console's command line."""
    p = argparse.ArgumentParser(
        prog="eventsource console",
        description="Serve a local web console over a store (read-only unless --allow-writes).",
    )
    p.add_argument("--url", help="the store's URL (default: $EVENTSOURCE_URL)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8642, help="port (8642; 0 picks a free one)")
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="allow DLQ replay/resolve and outbox retry, each with the token printed at start-up",
    )
    p.add_argument(
        "--projection",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a projection to replay DLQ entries into (repeatable)",
    )
    p.add_argument(
        "--sample-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often lag and throughput are sampled for the charts (5)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the console; 1 with one line on stderr when it cannot start."""
    args = parser().parse_args(argv)
    try:
        from . import serve

        settings = ConsoleSettings(
            resolve_url(args.url, os.environ),
            host=args.host,
            port=args.port,
            allow_writes=args.allow_writes,
            projections=tuple(args.projection),
            sample_interval=args.sample_interval,
            sample_window=max(600.0, args.sample_interval),
        )
        serve(settings)
    except ImportError as exc:
        print(
            f"eventsource console: {exc}; install it with: pip install 'eventsource-core[console]'",
            file=sys.stderr,
        )
        return 1
    except (EventSourceError, OSError) as exc:
        print(f"eventsource console: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
