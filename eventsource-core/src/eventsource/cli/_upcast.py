"""``eventsource events upcast --dry-run``: how many stored events each upcaster chain
touches, per stored event type and version, and which would fail (docs/evolution.md).

The upcasters are the application's: those its modules register when imported
(``--import MODULE``, repeatable, into ``default_registry``), a registry it names
(``--registry MODULE:ATTR``), and every installed plugin's (hook ``eventsource_upcasters``).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._command import command
from ._context import Context
from ._exit_codes import EXIT_ERROR, EXIT_USAGE

if TYPE_CHECKING:
    from ..events import EventRegistry
    from ..upcasting import UpcastChainUse

__all__ = ["register"]

HEADERS = ["TYPE", "VERSION", "EVENTS", "CHAIN", "RESULT"]


def register(app: typer.Typer) -> None:
    """Add ``upcast`` to the ``events`` group."""
    from ._events import group

    command(
        group,
        "upcast",
        help="report what the upcaster chains touch (--dry-run)",
        description="Count the stored events each upcaster chain touches, per stored event "
        "type and version, where each chain ends, and which events no chain can decode (a "
        "missing link). Reads only counts: no payload, no upcaster, nothing written. Exits 1 "
        "when some events would fail.",
    )(run_upcast)


def _import(name: str) -> Any:
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise typer.BadParameter(f"cannot import {name!r}: {exc}", param_hint="--import") from None


def _registry(spec: str | None, modules: list[str]) -> EventRegistry:
    """The registry to report on: ``spec``'s, else ``default_registry`` after ``modules``
    are imported; the installed plugins' upcasters added to it."""
    from ..events import EventRegistry, default_registry
    from ..upcasting import register_plugin_upcasters

    for name in modules:
        _import(name)
    registry = default_registry
    if spec is not None:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise typer.BadParameter(f"{spec!r} is not MODULE:ATTR", param_hint="--registry")
        target: Any = _import(module_name)
        for part in attr.split("."):
            target = getattr(target, part, None)
        if callable(target) and not isinstance(target, EventRegistry):
            target = target()
        if not isinstance(target, EventRegistry):
            raise typer.BadParameter(
                f"{spec!r} is not an EventRegistry (or a function returning one)",
                param_hint="--registry",
            )
        registry = target
    register_plugin_upcasters(registry)
    return registry


def _chain(use: UpcastChainUse) -> str:
    if not use.steps:
        return "-"
    parts = [f"{use.event_type} {use.event_version}"]
    parts += [f"{s.to_type} {s.to_version}" for s in use.steps]
    return " -> ".join(parts)


async def run_upcast(
    ctx: Context,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="report only (the one mode: the store is never rewritten, chains apply on read)",
        ),
    ] = False,
    modules: Annotated[
        list[str] | None,
        typer.Option("--import", metavar="MODULE", help="import a module that registers upcasters"),
    ] = None,
    registry_spec: Annotated[
        str | None,
        typer.Option("--registry", metavar="MODULE:ATTR", help="the EventRegistry to report on"),
    ] = None,
) -> int:
    """Report the stored events each upcaster chain touches."""
    from ..upcasting import upcast_dry_run

    if not dry_run:
        return ctx.error(
            "give --dry-run: upcasters apply on read and the store keeps the bytes it was "
            "given, so there is nothing to rewrite; --dry-run reports what they touch",
            "usage",
            EXIT_USAGE,
        )
    registry = _registry(registry_spec, modules or [])
    async with ctx.backend() as backend:
        uses = await upcast_dry_run(backend.events, registry)
    failing = sum(u.events for u in uses if not u.ok)
    if ctx.json:
        ctx.emit_json(
            [
                {
                    "event_type": u.event_type,
                    "event_version": u.event_version,
                    "events": u.events,
                    "steps": [[s.event_type, s.from_version] for s in u.steps],
                    "to_type": u.to_type,
                    "to_version": u.to_version,
                    "error": u.error,
                }
                for u in uses
            ]
        )
    elif not uses:
        ctx.out("no stored event goes through an upcaster")
    else:
        rows = [
            (u.event_type, u.event_version, u.events, _chain(u), "ok" if u.ok else u.error)
            for u in uses
        ]
        ctx.table(rows, HEADERS)
    if failing:
        ctx.err(f"{failing} stored event(s) cannot be decoded by their chain")
        return EXIT_ERROR
    return 0
