"""The plugin registry: loads plugins in isolation and resolves backends by name or scheme,
and outbox publishers by name."""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import warnings
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from .._exceptions import BackendNotInstalledError, PluginConflictError, UnknownBackendError
from . import _hookspecs, _publishers
from ._specs import (
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
    PublisherSpec,
    SnapshotStoreSpec,
)

#: The spec class each role's hook must return.
_SPEC_TYPES: dict[str, type] = {
    "event_store": EventStoreSpec,
    "checkpoints": CheckpointRepositorySpec,
    "outbox": OutboxRepositorySpec,
    "dlq": DLQRepositorySpec,
    "snapshots": SnapshotStoreSpec,
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "KNOWN_BACKENDS",
    "PUBLISHER_ENTRY_POINT_GROUP",
    "BackendInfo",
    "BackendRegistry",
    "BackendSpec",
    "BrokenPlugin",
    "get_registry",
    "reset_registry",
    "resolve_lazy_class",
]

log = logging.getLogger("eventsource.plugins")

#: The entry-point group of backend plugins.
ENTRY_POINT_GROUP = "eventsource.backends"
#: The entry-point group of outbox publisher plugins.
PUBLISHER_ENTRY_POINT_GROUP = "eventsource.publishers"

#: Backends we ship, by every name or scheme that selects them: (distribution, pip extra).
KNOWN_BACKENDS: dict[str, tuple[str, str]] = {
    "sqlite": ("eventsource-sqlite", "sqlite"),
    "postgresql": ("eventsource-postgres", "postgresql"),
    "postgres": ("eventsource-postgres", "postgresql"),
}

#: Public class names that resolve lazily to a backend's classes, and the backend they need.
#: Only these names ever reach the registry: any other missing attribute of ``eventsource``,
#: ``eventsource.stores`` or ``eventsource.repositories`` is a plain AttributeError.
LAZY_CLASS_BACKENDS: dict[str, str] = {
    "SQLiteEventStore": "sqlite",
    "SQLiteCheckpointRepository": "sqlite",
    "SQLiteOutboxRepository": "sqlite",
    "SQLiteDLQRepository": "sqlite",
    "PostgreSQLEventStore": "postgresql",
    "PostgreSQLCheckpointRepository": "postgresql",
    "PostgreSQLOutboxRepository": "postgresql",
    "PostgreSQLDLQRepository": "postgresql",
    "SQLiteSnapshotStore": "sqlite",
    "PostgreSQLSnapshotStore": "postgresql",
}


@dataclass(frozen=True, slots=True)
class BrokenPlugin:
    """A plugin that failed to load or register, and why."""

    name: str
    distribution: str | None
    error: str


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """All roles of one backend, as registered by its plugin(s); ``snapshots`` is optional."""

    name: str
    event_store: EventStoreSpec
    checkpoints: CheckpointRepositorySpec | None
    outbox: OutboxRepositorySpec | None
    dlq: DLQRepositorySpec | None
    plugin: str
    snapshots: SnapshotStoreSpec | None = None

    def missing_roles(self) -> list[str]:
        """Required roles this backend does not provide (the optional snapshot store is not
        one of them)."""
        roles = {"checkpoints": self.checkpoints, "outbox": self.outbox, "dlq": self.dlq}
        return [role for role, spec in roles.items() if spec is None]


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """A line of ``eventsource backends``: one installed backend."""

    name: str
    schemes: tuple[str, ...]
    plugin: str
    distribution: str | None
    version: str | None
    capabilities: list[str]
    missing_roles: list[str] = field(default_factory=list)


_HOOKS = {
    "event_store": "eventsource_event_stores",
    "checkpoints": "eventsource_checkpoint_repositories",
    "outbox": "eventsource_outbox_repositories",
    "dlq": "eventsource_dlq_repositories",
    "snapshots": "eventsource_snapshot_stores",
}


class BackendRegistry:
    """Plugins registered through pluggy, collected into named backends and publishers.

    Entry points in :data:`ENTRY_POINT_GROUP` (backends) and
    :data:`PUBLISHER_ENTRY_POINT_GROUP` (publishers) are loaded one at a time: one that fails
    to import or register is recorded in :attr:`broken` (name and error) and skipped, and the
    others still register. Two plugins claiming one name for a role, or one publisher name,
    raise :class:`PluginConflictError` naming both. The built-in publishers are registered
    from the start.
    """

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self.plugin_manager = pluggy.PluginManager(_hookspecs.PROJECT_NAME)
        self.plugin_manager.add_hookspecs(_hookspecs)
        self.broken: list[BrokenPlugin] = []
        self._distributions: dict[str, importlib.metadata.Distribution | None] = {}
        self._groups: dict[str, set[str]] = {}  # plugin name -> entry-point groups it came from
        self._loaded: set[tuple[str, str, str | None]] = set()  # (group, entry point, dist)
        self._warned: set[str] = set()
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self.register(_publishers, name=_publishers.PLUGIN_NAME)
        if load_entry_points:
            self.load_entry_points()

    # -- registration --------------------------------------------------------------------------

    def load_entry_points(self, group: str | None = None) -> None:
        """Load and register every plugin of ``group`` (by default of both groups, backends
        and publishers), isolating failures; an entry point already loaded is skipped."""
        groups = (ENTRY_POINT_GROUP, PUBLISHER_ENTRY_POINT_GROUP) if group is None else (group,)
        with self._lock:
            for each in groups:
                for entry_point in importlib.metadata.entry_points(group=each):
                    self._load_entry_point(entry_point, each)

    def _load_entry_point(self, entry_point: importlib.metadata.EntryPoint, group: str) -> None:
        dist = getattr(entry_point, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        key = (group, entry_point.name, dist_name)
        if key in self._loaded:
            return
        # Another distribution (or group) may use the same entry-point name: register it under
        # a qualified name so that a clash over a backend or publisher is reported naming both.
        candidates = (entry_point.name, f"{entry_point.name} ({dist_name})")
        name = next(
            (c for c in candidates if self.plugin_manager.get_plugin(c) is None),
            f"{entry_point.name} ({dist_name}, {group})",
        )
        try:
            plugin = entry_point.load()
            if self.plugin_manager.is_registered(plugin):  # one module declared in both groups
                name = self.plugin_manager.get_name(plugin) or name
            else:
                self.register(plugin, name=name)
        except Exception as exc:
            error = _describe(exc)
            log.warning("eventsource plugin %r (%s) failed to load: %s", name, dist_name, error)
            self._record_broken(BrokenPlugin(name, dist_name, error))
            return
        self._loaded.add(key)
        self._distributions[name] = dist
        self._groups.setdefault(name, set()).add(group)

    def _record_broken(self, broken: BrokenPlugin) -> None:
        if broken not in self.broken:
            self.broken.append(broken)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object (module or instance with hook implementations)."""
        with self._lock:
            self.plugin_manager.register(plugin, name=name)
            self._cache.clear()

    def unregister(self, name: str) -> None:
        """Remove the plugin registered as ``name``."""
        with self._lock:
            self.plugin_manager.unregister(name=name)
            self._cache.clear()

    # -- lookup --------------------------------------------------------------------------------

    def _collect(self, role: str) -> dict[str, Any]:
        with self._lock:
            cached = self._cache.get(role)
            if cached is not None:
                return cached
            found = self.collect_specs(
                _HOOKS[role],
                _SPEC_TYPES[role],
                lambda spec: spec.all_schemes if isinstance(spec, EventStoreSpec) else (spec.name,),
                f"{role} plugins for backend",
            )
            self._cache[role] = found
            return found

    def collect_specs(
        self,
        hook_name: str,
        spec_type: type,
        keys: Callable[[Any], Iterable[str]],
        what: str,
    ) -> dict[str, tuple[Any, str]]:
        """Every spec the plugins' ``hook_name`` implementations return, by key: ``(spec,
        plugin name)``.

        A plugin whose hook raises, or returns anything but ``spec_type`` instances, is
        recorded in :attr:`broken` and its specs for this hook are skipped. Two plugins
        claiming one key raise :class:`PluginConflictError` naming both (``what`` says what
        they claim, e.g. ``"dlq plugins for backend"``).
        """
        with self._lock:
            hook = getattr(self.plugin_manager.hook, hook_name)
            found: dict[str, tuple[Any, str]] = {}
            for impl in reversed(hook.get_hookimpls()):
                plugin_name = impl.plugin_name
                try:
                    specs = list(impl.function() or ())
                    for spec in specs:
                        if not isinstance(spec, spec_type):
                            raise _NotASpec(f"returned {spec!r}, not a {spec_type.__name__}")
                except Exception as exc:
                    reason = str(exc) if isinstance(exc, _NotASpec) else _describe(exc)
                    dist = self._distributions.get(plugin_name)
                    self._record_broken(
                        BrokenPlugin(
                            plugin_name,
                            dist.metadata["Name"] if dist is not None else None,
                            f"{hook_name}: {reason}",
                        )
                    )
                    continue
                for spec in specs:
                    for key in keys(spec):
                        owner = found.get(key)
                        if owner is not None and owner[1] != plugin_name:
                            raise PluginConflictError(
                                f"Conflicting {what} {key!r}: "
                                f"{owner[1]!r} and {plugin_name!r} both register it"
                            )
                        found[key] = (spec, plugin_name)
            return found

    def publisher_specs(self) -> dict[str, PublisherSpec]:
        """Every registered outbox publisher (built-in and from plugins), by name.

        A plugin whose publishers are only declared in the backend entry-point group (how
        0.1 documented it) is still found, with a :class:`DeprecationWarning`.
        """
        with self._lock:
            found = self._cache.get("publishers")
            if found is None:
                found = self.collect_specs(
                    "eventsource_publishers",
                    PublisherSpec,
                    lambda spec: (spec.name,),
                    "publisher plugins for",
                )
                self._cache["publishers"] = found
                self._warn_of_publishers_found_as_backends(found)
            return {key: spec for key, (spec, _) in found.items()}

    def _warn_of_publishers_found_as_backends(self, found: dict[str, Any]) -> None:
        for plugin_name in sorted({plugin for _, plugin in found.values()}):
            groups = self._groups.get(plugin_name, set())
            if ENTRY_POINT_GROUP not in groups or PUBLISHER_ENTRY_POINT_GROUP in groups:
                continue
            if plugin_name in self._warned:
                continue
            self._warned.add(plugin_name)
            dist = self._distributions.get(plugin_name)
            of = f" ({dist.metadata['Name']})" if dist is not None else ""
            warnings.warn(
                f"publisher plugin {plugin_name!r}{of} is declared in the "
                f"{ENTRY_POINT_GROUP!r} entry-point group only; declare it in "
                f"{PUBLISHER_ENTRY_POINT_GROUP!r} (publishers found through the backend group "
                "will not be in the next release)",
                DeprecationWarning,
                stacklevel=4,
            )

    def event_store_specs(self) -> dict[str, EventStoreSpec]:
        """Every registered event store, by name and scheme."""
        return {key: spec for key, (spec, _) in self._collect("event_store").items()}

    def backend_names(self) -> list[str]:
        """Names of the installed backends (not their extra schemes)."""
        return sorted({spec.name for spec, _ in self._collect("event_store").values()})

    def get_backend(self, name_or_scheme: str) -> BackendSpec:
        """The backend registered for a name or URL scheme.

        Raises :class:`BackendNotInstalledError` for a backend we ship that is not installed
        and :class:`UnknownBackendError` for any other unknown name; both list what is installed.
        """
        key = name_or_scheme.lower()
        stores = self._collect("event_store")
        if key not in stores:
            raise self.unknown_backend_error(key)
        store_spec, plugin_name = stores[key]
        name = store_spec.name

        def role(role_name: str) -> Any:
            entry = self._collect(role_name).get(name)
            return None if entry is None else entry[0]

        return BackendSpec(
            name,
            store_spec,
            role("checkpoints"),
            role("outbox"),
            role("dlq"),
            plugin_name,
            role("snapshots"),
        )

    def backend_of_store(self, store: object) -> BackendSpec | None:
        """The backend whose event store class ``store`` is (or subclasses, nearest first)."""
        by_class = {spec.store_class: spec for spec, _ in self._collect("event_store").values()}
        for cls in type(store).__mro__:
            spec = by_class.get(cls)
            if spec is not None:
                return self.get_backend(spec.name)
        return None

    def unknown_backend_error(self, key: str) -> UnknownBackendError:
        """The error for a name nothing serves, naming what is installed and the fix."""
        installed = self.backend_names()
        listing = ", ".join(installed) or "none"
        broken = [
            b
            for b in self.broken
            if b.name == key or KNOWN_BACKENDS.get(key, ("",))[0] == (b.distribution or "")
        ]
        if key in KNOWN_BACKENDS:
            dist, extra = KNOWN_BACKENDS[key]
            pip = f'pip install "eventsource-core[{extra}]"'
            why = (
                f"its plugin failed to load ({broken[0].error})"
                if broken
                else f"{dist} is not installed"
            )
            return BackendNotInstalledError(
                f"backend {key!r} is not available: {why}. Install it with: {pip} "
                f"(from a clone of the repository, before the packages are on PyPI: "
                f"pip install ./{dist}; see the README's Install section) "
                f"(installed backends: {listing})",
                name=key,
                installed=installed,
                pip_command=pip,
            )
        return UnknownBackendError(
            f"unknown backend {key!r}; installed: {listing}. Backends we ship: "
            + ", ".join(
                f'{k} (pip install "eventsource-core[{v[1]}]")'
                for k, v in KNOWN_BACKENDS.items()
                if k != "postgres"
            ),
            name=key,
            installed=installed,
        )

    def find_class(self, class_name: str) -> type | None:
        """A store or repository class registered by any plugin under this class name."""
        for role in _HOOKS:
            for spec, _ in self._collect(role).values():
                cls = (
                    spec.store_class if isinstance(spec, EventStoreSpec) else spec.repository_class
                )
                if cls.__name__ == class_name:
                    return cls
        return None

    def resolve_class(self, class_name: str) -> type:
        """Like :meth:`find_class`, but raises the not-installed error for our backends' names."""
        cls = self.find_class(class_name)
        if cls is not None:
            return cls
        backend = LAZY_CLASS_BACKENDS.get(class_name)
        if backend is None:
            raise AttributeError(class_name)
        raise self.unknown_backend_error(backend)

    def installed(self) -> list[BackendInfo]:
        """One :class:`BackendInfo` per installed backend, by name."""
        infos = []
        for name in self.backend_names():
            spec = self.get_backend(name)
            dist = self._distributions.get(spec.plugin)
            infos.append(
                BackendInfo(
                    name=name,
                    schemes=spec.event_store.all_schemes,
                    plugin=spec.plugin,
                    distribution=dist.metadata["Name"] if dist is not None else None,
                    version=dist.version if dist is not None else None,
                    capabilities=spec.event_store.capabilities.enabled(),
                    missing_roles=spec.missing_roles(),
                )
            )
        return infos


class _NotASpec(Exception):
    """A hook returned something that is not a spec of its kind."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_registry: BackendRegistry | None = None
_registry_lock = threading.Lock()


def get_registry() -> BackendRegistry:
    """The process-wide registry, loading entry points on first use."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = BackendRegistry()
        return _registry


def reset_registry(registry: BackendRegistry | None = None) -> None:
    """Replace (or drop, to reload on next use) the process-wide registry; for tests."""
    global _registry
    with _registry_lock:
        _registry = registry


def resolve_lazy_class(
    module: str, name: str, names: Collection[str] = tuple(LAZY_CLASS_BACKENDS)
) -> type:
    """The backend class ``name`` of ``module``'s lazy names (a module ``__getattr__``).

    ``name`` must be one of ``names`` (a subset of :data:`LAZY_CLASS_BACKENDS`); any other
    name raises a plain :class:`AttributeError` without loading a plugin, so ``hasattr`` on
    an unknown name imports no driver. A known name whose backend is missing raises
    :class:`BackendNotInstalledError` (an ImportError) with the pip command.
    """
    if name not in names:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return get_registry().resolve_class(name)
