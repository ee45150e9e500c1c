"""``eventsource info`` and ``eventsource init``."""

from __future__ import annotations

import typer

from ._command import command
from ._context import Context

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``info`` and ``init`` commands."""
    command(
        app,
        "info",
        help="show the backend, its URL and what it holds",
        description="Show the backend, its URL (password masked), the global position and "
        "counts of checkpoints, outbox and DLQ entries.",
    )(run_info)
    command(
        app,
        "init",
        help="create the schema (idempotent)",
        description="Create the tables of all four roles if they do not exist. Safe to rerun.",
    )(run_init)


async def run_info(ctx: Context) -> int:
    """Print what the backend holds."""
    async with ctx.backend() as backend:
        position = await backend.events.get_global_position()
        checkpoints = await backend.checkpoints.get_all_checkpoints()
        outbox = await backend.outbox.get_stats()
        dlq = await backend.dlq.get_failure_stats()
    data = {
        "backend": backend.name,
        "url": str(backend.url),
        "capabilities": backend.capabilities.enabled(),
        "global_position": position,
        "checkpoints": len(checkpoints),
        "outbox": outbox.to_dict(),
        "dlq": dlq.to_dict(),
    }
    if ctx.json:
        ctx.emit_json(data)
        return 0
    ctx.fields(
        [
            ("backend", backend.name),
            ("url", backend.url),
            ("capabilities", ", ".join(backend.capabilities.enabled()) or "-"),
            ("global position", position),
            ("checkpoints", len(checkpoints)),
            (
                "outbox",
                f"{outbox.pending_count} pending ({outbox.claimed_count} claimed), "
                f"{outbox.published_count} published, {outbox.failed_count} failed",
            ),
            (
                "dlq",
                f"{dlq.total_failed} failed, {dlq.total_retrying} retrying, "
                f"{dlq.total_resolved} resolved",
            ),
        ]
    )
    return 0


async def run_init(ctx: Context) -> int:
    """Create the schema."""
    async with ctx.backend(create=True) as backend:
        position = await backend.events.get_global_position()
    if ctx.json:
        ctx.emit_json({"backend": backend.name, "url": str(backend.url), "ready": True})
    else:
        ctx.out(f"Schema ready: {backend.url} ({backend.name}, global position {position})")
    return 0
