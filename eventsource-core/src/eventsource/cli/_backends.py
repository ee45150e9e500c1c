"""``eventsource backends``: installed backends and broken plugins."""

from __future__ import annotations

from typing import Any

import typer

from .._exceptions import PluginConflictError
from ._command import command
from ._context import Context
from ._safe_text import safe_text

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``backends`` command."""
    command(
        app,
        "backends",
        url=False,
        help="list installed backends and broken plugins",
        description="List installed backends with their versions, URL schemes and "
        "capabilities, and plugins that failed to load with their errors.",
    )(run)


async def run(ctx: Context) -> int:
    """List backends; a broken plugin is reported, never fatal."""
    from ..plugins._manager import get_registry

    registry = get_registry()
    conflict = None
    try:
        infos = registry.installed()
    except PluginConflictError as exc:
        infos, conflict = [], str(exc)
    broken = list(dict.fromkeys(registry.broken))
    if ctx.json:
        data: dict[str, Any] = {
            "backends": [
                {
                    "name": i.name,
                    "schemes": list(i.schemes),
                    "plugin": i.plugin,
                    "distribution": i.distribution,
                    "version": i.version,
                    "capabilities": i.capabilities,
                    "missing_roles": i.missing_roles,
                }
                for i in infos
            ],
            "broken": [
                {"name": b.name, "distribution": b.distribution, "error": b.error} for b in broken
            ],
            "conflict": conflict,
        }
        ctx.emit_json(data)
    else:
        ctx.out("Installed backends:")
        rows = [
            [
                i.name,
                f"{i.distribution or i.plugin} {i.version or ''}".strip(),
                ", ".join(f"{s}://" for s in i.schemes),
                ", ".join(i.capabilities) or "-",
            ]
            + ([f"missing: {', '.join(i.missing_roles)}"] if i.missing_roles else [""])
            for i in infos
        ]
        if rows:
            ctx.table(rows, ["NAME", "DISTRIBUTION", "SCHEMES", "CAPABILITIES", ""])
        else:
            ctx.out("  (none)")
        if broken:
            ctx.out()
            ctx.out("Broken plugins (skipped):")
            for b in broken:
                where = safe_text(b.distribution or "unknown distribution")
                ctx.out(f"  {safe_text(b.name)} ({where}): {safe_text(b.error)}")
        if conflict:
            ctx.out()
            ctx.out(f"Conflict: {safe_text(conflict)}")
    return 1 if conflict else 0
