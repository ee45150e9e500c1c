"""The plugin registry with real entry points, lazy backend names, open_backend and Backend."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import eventsource
import eventsource.repositories
import eventsource.stores
from eventsource import (
    BackendNotInstalledError,
    ConfigurationError,
    MemoryEventStore,
    PluginConflictError,
    StorageUnavailableError,
    UnknownBackendError,
    open_backend,
    parse_url,
)
from eventsource.memory import plugin as memory_plugin
from eventsource.plugins import DEFAULT_URL, resolve_url
from eventsource.runtime import available_publishers, get_publisher
from eventsource.spi import (
    ENTRY_POINT_GROUP,
    PUBLISHER_ENTRY_POINT_GROUP,
    BackendRegistry,
    BrokenPlugin,
    EventStoreSpec,
    hookimpl,
    reset_registry,
)

GOOD_PLUGIN = '''
from dataclasses import replace

from eventsource.memory import MemoryEventStore, plugin as _memory
from eventsource.spi import EventStoreSpec, hookimpl


class {cls}(MemoryEventStore):
    """A memory store under another name."""


@hookimpl
def eventsource_event_stores():
    return [EventStoreSpec(name="{backend}", store_class={cls},
                           from_url=lambda url: {cls}(), schemes=("{backend}x",))]


@hookimpl
def eventsource_checkpoint_repositories():
    return [replace(_memory.eventsource_checkpoint_repositories()[0], name="{backend}")]


@hookimpl
def eventsource_outbox_repositories():
    return [replace(_memory.eventsource_outbox_repositories()[0], name="{backend}")]


@hookimpl
def eventsource_dlq_repositories():
    return [replace(_memory.eventsource_dlq_repositories()[0], name="{backend}")]
'''


class FakeSite:
    """A sys.path entry holding throwaway distributions with eventsource entry points."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def add(
        self,
        dist: str,
        version: str,
        entry_name: str,
        module: str,
        source: str,
        groups: tuple[str, ...] = ("eventsource.backends",),
    ) -> None:
        """Write ``module.py`` and a ``dist-version.dist-info`` declaring the entry point in
        each of ``groups`` (a second ``add`` for one distribution adds to its entry points)."""
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        points = info / "entry_points.txt"
        before = points.read_text() if points.exists() else ""
        sections = "".join(f"[{group}]\n{entry_name} = {module}\n" for group in groups)
        points.write_text(before + sections)
        self.modules.append(module)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = FakeSite(tmp_path)
    yield fake
    for module in fake.modules:
        sys.modules.pop(module, None)


def good(backend: str, cls: str) -> str:
    return GOOD_PLUGIN.format(backend=backend, cls=cls)


# -- entry points ---------------------------------------------------------------------------------


def test_broken_entry_point_is_reported_and_the_others_register(site: FakeSite) -> None:
    site.add("ct-plug-good", "1.2.3", "ctgood", "ct_plug_good", good("ctgood", "CtGoodStore"))
    site.add("ct-plug-broken", "0.1", "ctbroken", "ct_plug_broken", "raise RuntimeError('boom')")
    site.add("ct-plug-missing", "0.1", "ctmissing", "ct_plug_nonexistent_module", "")
    (site.root / "ct_plug_nonexistent_module.py").unlink()

    registry = BackendRegistry()

    assert {"memory", "ctgood"} <= set(registry.backend_names())
    broken = {b.name: b for b in registry.broken}
    assert broken["ctbroken"] == BrokenPlugin("ctbroken", "ct-plug-broken", "RuntimeError: boom")
    assert broken["ctmissing"].distribution == "ct-plug-missing"
    assert broken["ctmissing"].error.startswith("ModuleNotFoundError")
    info = {i.name: i for i in registry.installed()}["ctgood"]
    assert (info.distribution, info.version, info.plugin) == ("ct-plug-good", "1.2.3", "ctgood")
    assert info.schemes == ("ctgood", "ctgoodx")
    assert registry.get_backend("ctgoodx").name == "ctgood"
    assert registry.get_backend("memory").event_store.store_class is MemoryEventStore


def test_loading_entry_points_twice_registers_nothing_twice(site: FakeSite) -> None:
    site.add("ct-plug-good", "1.0", "ctgood", "ct_plug_good", good("ctgood", "CtGoodStore"))
    registry = BackendRegistry()
    before = registry.plugin_manager.list_name_plugin()
    registry.load_entry_points()
    assert registry.plugin_manager.list_name_plugin() == before
    assert len(registry.broken) == len({(b.name, b.error) for b in registry.broken})


def test_hook_that_raises_is_reported_as_broken(site: FakeSite) -> None:
    site.add(
        "ct-plug-raises",
        "0.1",
        "ctraises",
        "ct_plug_raises",
        """
        from eventsource.spi import hookimpl

        @hookimpl
        def eventsource_event_stores():
            raise LookupError("no driver")
        """,
    )
    registry = BackendRegistry()
    assert "memory" in registry.backend_names()
    names = [b for b in registry.broken if b.name == "ctraises"]
    assert names == [
        BrokenPlugin(
            "ctraises", "ct-plug-raises", "eventsource_event_stores: LookupError: no driver"
        )
    ]
    registry.backend_names()  # a second lookup does not report it twice
    assert len([b for b in registry.broken if b.name == "ctraises"]) == 1


def test_plugin_with_a_bad_hook_signature_is_reported(site: FakeSite) -> None:
    site.add(
        "ct-plug-badsig",
        "0.1",
        "ctbadsig",
        "ct_plug_badsig",
        """
        from eventsource.spi import hookimpl

        @hookimpl
        def eventsource_event_stores(unexpected_argument):
            return []
        """,
    )
    registry = BackendRegistry()
    broken = {b.name: b for b in registry.broken}
    assert "ctbadsig" in broken and "unexpected_argument" in broken["ctbadsig"].error
    assert "memory" in registry.backend_names()


def test_hook_returning_something_other_than_specs_is_reported_as_broken(
    site: FakeSite,
) -> None:
    """A plugin whose hook returns objects that are not specs of its role is recorded as
    broken and skipped; it does not break the lookup of every other backend."""
    site.add(
        "ct-plug-junk",
        "0.1",
        "ctjunk",
        "ct_plug_junk",
        """
        from eventsource.spi import hookimpl

        @hookimpl
        def eventsource_event_stores():
            return ["not a spec"]

        @hookimpl
        def eventsource_dlq_repositories():
            return [object()]
        """,
    )
    registry = BackendRegistry()
    assert "memory" in registry.backend_names()
    assert registry.get_backend("memory").dlq is not None
    errors = sorted(b.error for b in registry.broken if b.name == "ctjunk")
    assert len(errors) == 2, errors
    assert errors[0].startswith("eventsource_dlq_repositories: returned")
    assert "DLQRepositorySpec" in errors[0]
    assert errors[1].startswith("eventsource_event_stores: returned 'not a spec'")
    assert all(b.distribution == "ct-plug-junk" for b in registry.broken if b.name == "ctjunk")


def test_two_distributions_claiming_one_backend_conflict_naming_both(site: FakeSite) -> None:
    site.add("ct-plug-a", "1.0", "ctclash_a", "ct_plug_a", good("ctclash", "CtStoreA"))
    site.add("ct-plug-b", "1.0", "ctclash_b", "ct_plug_b", good("ctclash", "CtStoreB"))
    registry = BackendRegistry()
    with pytest.raises(PluginConflictError) as caught:
        registry.get_backend("ctclash")
    assert "'ctclash_a'" in str(caught.value) and "'ctclash_b'" in str(caught.value)
    assert "'ctclash'" in str(caught.value)


def test_same_entry_point_name_in_two_distributions_is_not_silently_dropped(
    site: FakeSite,
) -> None:
    site.add("ct-plug-a", "1.0", "ctsame", "ct_plug_a", good("ctsame", "CtStoreA"))
    site.add("ct-plug-b", "1.0", "ctsame", "ct_plug_b", good("ctsame", "CtStoreB"))
    registry = BackendRegistry()
    with pytest.raises(PluginConflictError) as caught:
        registry.get_backend("ctsame")
    message = str(caught.value)
    assert "ct-plug-a" in message or "ct-plug-b" in message
    assert message.count("'ctsame") == 3  # the backend and both plugin names


# -- publisher plugins through their own entry-point group ---------------------------------------

PUBLISHER_PLUGIN = """
from eventsource.spi import PublisherSpec, hookimpl

published = []


async def publish(entry):
    published.append(entry)


@hookimpl
def eventsource_publishers():
    return [PublisherSpec("{name}", lambda **options: publish, "collects entries")]
"""


async def test_a_publisher_plugin_installed_through_its_entry_point_is_found_by_name(
    site: FakeSite,
) -> None:
    site.add(
        "ct-pub-good",
        "2.0",
        "ctpub",
        "ct_pub_good",
        PUBLISHER_PLUGIN.format(name="ctcollect"),
        groups=(PUBLISHER_ENTRY_POINT_GROUP,),
    )
    registry = BackendRegistry()
    assert "ctcollect" in available_publishers(registry)
    publish = get_publisher("ctcollect", registry=registry)
    await publish("an entry")  # type: ignore[arg-type]
    assert sys.modules["ct_pub_good"].published == ["an entry"]
    assert "ctpub" not in registry.backend_names()  # a publisher plugin is no backend
    assert not [b for b in registry.broken if b.distribution == "ct-pub-good"]
    assert {"log", "null"} <= set(available_publishers(registry))


def test_a_broken_publisher_entry_point_is_reported_and_the_others_still_work(
    site: FakeSite,
) -> None:
    groups = (PUBLISHER_ENTRY_POINT_GROUP,)
    site.add(
        "ct-pub-bad", "0.1", "ctpubbad", "ct_pub_bad", "raise LookupError('no broker')", groups
    )
    site.add(
        "ct-pub-ok", "0.1", "ctpubok", "ct_pub_ok", PUBLISHER_PLUGIN.format(name="ctok"), groups
    )
    registry = BackendRegistry()
    broken = {b.name: b for b in registry.broken}
    assert broken["ctpubbad"] == BrokenPlugin("ctpubbad", "ct-pub-bad", "LookupError: no broker")
    assert "ctok" in available_publishers(registry)


def test_a_publisher_declared_as_a_backend_plugin_still_works_with_a_deprecation_warning(
    site: FakeSite,
) -> None:
    """How 0.1's docs said to install a publisher (an ``eventsource.backends`` entry point)
    keeps working for one release, with a DeprecationWarning naming the plugin, once."""
    site.add("ct-pub-old", "0.1", "ctpubold", "ct_pub_old", PUBLISHER_PLUGIN.format(name="ctold"))
    registry = BackendRegistry()
    with pytest.warns(DeprecationWarning, match=r"'ctpubold' \(ct-pub-old\).*eventsource\.pub"):
        assert "ctold" in available_publishers(registry)
    assert get_publisher("ctold", registry=registry) is not None  # warned once (else an error)


def test_one_module_in_both_groups_registers_once_and_serves_both_roles(site: FakeSite) -> None:
    source = good("ctboth", "CtBothStore") + PUBLISHER_PLUGIN.format(name="ctboth-pub")
    groups = (ENTRY_POINT_GROUP, PUBLISHER_ENTRY_POINT_GROUP)
    site.add("ct-both", "1.0", "ctboth", "ct_both", source, groups)
    registry = BackendRegistry()
    assert registry.get_backend("ctboth").plugin == "ctboth"
    assert "ctboth-pub" in available_publishers(registry)  # no DeprecationWarning: declared
    names = [name for name, _ in registry.plugin_manager.list_name_plugin()]
    assert names.count("ctboth") == 1 and not [n for n in names if n.startswith("ctboth (")]
    assert not [b for b in registry.broken if b.distribution == "ct-both"]


def test_one_entry_point_name_in_both_groups_for_two_modules_registers_both(
    site: FakeSite,
) -> None:
    site.add("ct-pair", "1.0", "ctpair", "ct_pair_backend", good("ctpair", "CtPairStore"))
    publisher = PUBLISHER_PLUGIN.format(name="ctpair-pub")
    site.add("ct-pair", "1.0", "ctpair", "ct_pair_pub", publisher, (PUBLISHER_ENTRY_POINT_GROUP,))
    registry = BackendRegistry()
    assert registry.get_backend("ctpair").name == "ctpair"
    assert "ctpair-pub" in available_publishers(registry)
    registry.load_entry_points()  # loading again registers nothing twice
    names = [name for name, _ in registry.plugin_manager.list_name_plugin()]
    assert sorted(n for n in names if n.startswith("ctpair")) == ["ctpair", "ctpair (ct-pair)"]


# -- conflicts and unknown names without entry points ---------------------------------------------


class _OtherMemory:
    """A second plugin object claiming the name 'memory'."""

    @hookimpl
    def eventsource_event_stores(self) -> list[EventStoreSpec]:
        return [
            EventStoreSpec(
                name="memory", store_class=MemoryEventStore, from_url=lambda u: MemoryEventStore()
            )
        ]


def test_register_conflict_names_both_plugins() -> None:
    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory-plugin")
    registry.register(_OtherMemory(), name="other-plugin")
    with pytest.raises(PluginConflictError) as caught:
        registry.get_backend("memory")
    assert "'memory-plugin'" in str(caught.value) and "'other-plugin'" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    registry.unregister("other-plugin")
    assert registry.get_backend("memory").plugin == "memory-plugin"


def test_unknown_backend_lists_installed_ones() -> None:
    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    with pytest.raises(UnknownBackendError) as caught:
        registry.get_backend("cassandra")
    error = caught.value
    assert not isinstance(error, BackendNotInstalledError)
    assert str(error).startswith("unknown backend 'cassandra'; installed: memory.")
    assert 'sqlite (pip install "eventsource-core[sqlite]")' in str(error)
    assert error.backend == "cassandra" and error.installed == ["memory"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("postgres", "postgresql")],
)
def test_known_but_uninstalled_backend_names_the_pip_command(name: str, extra: str) -> None:
    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    with pytest.raises(BackendNotInstalledError) as caught:
        registry.get_backend(name)
    error = caught.value
    pip = f'pip install "eventsource-core[{extra}]"'
    assert error.pip_command == pip
    assert pip in str(error) and "is not installed" in str(error)
    assert "(installed backends: memory)" in str(error)
    assert isinstance(error, ImportError) and isinstance(error, UnknownBackendError)


def test_known_backend_whose_plugin_broke_says_why() -> None:
    registry = BackendRegistry(load_entry_points=False)
    registry.broken.append(
        BrokenPlugin("sqlite", "eventsource-sqlite", "ModuleNotFoundError: aiosqlite")
    )
    with pytest.raises(BackendNotInstalledError, match=r"failed to load \(ModuleNotFoundError"):
        registry.get_backend("sqlite")


def test_lookup_is_case_insensitive() -> None:
    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    assert registry.get_backend("MEMORY").name == "memory"


# -- lazy names -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("memory_only_registry")
@pytest.mark.parametrize(
    ("module", "name", "extra"),
    [
        (eventsource, "SQLiteEventStore", "sqlite"),
        (eventsource, "PostgreSQLEventStore", "postgresql"),
        (eventsource.repositories, "SQLiteCheckpointRepository", "sqlite"),
        (eventsource.repositories, "SQLiteOutboxRepository", "sqlite"),
        (eventsource.repositories, "PostgreSQLDLQRepository", "postgresql"),
    ],
)
def test_lazy_backend_name_when_absent(module: object, name: str, extra: str) -> None:
    with pytest.raises(BackendNotInstalledError, match=rf"eventsource-core\[{extra}\]"):
        getattr(module, name)


@pytest.mark.usefixtures("memory_only_registry")
def test_from_import_of_an_absent_backend_raises_import_error() -> None:
    with pytest.raises(ImportError, match=r'pip install "eventsource-core\[sqlite\]"'):
        from eventsource import SQLiteEventStore  # noqa: F401
    with pytest.raises(ImportError, match="sqlite"):
        from eventsource.repositories import SQLiteCheckpointRepository  # noqa: F401


@pytest.mark.usefixtures("memory_only_registry")
def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = eventsource.NoSuchThing
    with pytest.raises(ImportError):
        from eventsource import NoSuchThing  # type: ignore[attr-defined]  # noqa: F401
    assert not hasattr(eventsource, "NoSuchThing")


def test_known_lazy_names_resolve_through_the_registry(
    memory_only_registry: BackendRegistry,
) -> None:
    class SQLiteEventStore(MemoryEventStore):
        """A class registered under a known lazy name by another plugin."""

    class Plugin:
        @hookimpl
        def eventsource_event_stores(self) -> list[EventStoreSpec]:
            return [EventStoreSpec("fakelite", SQLiteEventStore, lambda url: SQLiteEventStore())]

    memory_only_registry.register(Plugin(), name="fakelite")
    assert eventsource.SQLiteEventStore is SQLiteEventStore
    assert eventsource.stores.SQLiteEventStore is SQLiteEventStore
    assert eventsource.repositories.MemoryCheckpointRepository.__name__ == (
        "MemoryCheckpointRepository"
    )


def test_other_plugin_classes_are_not_lazy_names(site: FakeSite, restore_registry: None) -> None:
    site.add("ct-plug-lazy", "1.0", "ctlazy", "ct_plug_lazy", good("ctlazy", "CtLazyEventStore"))
    registry = BackendRegistry()
    reset_registry(registry)
    assert registry.find_class("CtLazyEventStore") is not None  # the registry holds it ...
    for module in (eventsource, eventsource.stores, eventsource.repositories):
        with pytest.raises(AttributeError, match="has no attribute 'CtLazyEventStore'"):
            _ = module.CtLazyEventStore  # ... but only the names we ship are lazy
    with pytest.raises(AttributeError):
        _ = eventsource.stores.SQLiteCheckpointRepository  # a repository is not a store


def test_unknown_names_load_no_plugin(restore_registry: None) -> None:
    reset_registry(None)  # a registry would load every entry point on first use
    for module in (eventsource, eventsource.stores, eventsource.repositories):
        assert not hasattr(module, "nope")
        assert not hasattr(module, "__wrapped__")
    from eventsource.plugins import _manager

    assert _manager._registry is None


def test_hasattr_of_an_unknown_name_imports_no_driver() -> None:
    """In a fresh interpreter: ``hasattr(eventsource, "nope")`` imports no backend or driver."""
    code = textwrap.dedent(
        """
        import sys
        import eventsource, eventsource.stores, eventsource.repositories
        from eventsource.plugins import _manager
        for module in (eventsource, eventsource.stores, eventsource.repositories):
            assert not hasattr(module, "nope")
        loaded = sorted(
            m for m in ("asyncpg", "aiosqlite", "eventsource_sqlite", "eventsource_postgres")
            if m in sys.modules
        )
        print(loaded, _manager._registry)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] None"


def test_installed_sqlite_backend_resolves_lazily() -> None:
    registry = BackendRegistry()
    if "sqlite" not in registry.backend_names():
        pytest.skip("the sqlite backend is not installed in this environment")
    import eventsource_sqlite

    cls = eventsource.SQLiteEventStore
    assert cls.__module__.startswith(eventsource_sqlite.__name__)
    repo = eventsource.repositories.SQLiteCheckpointRepository
    assert repo.__module__.startswith(eventsource_sqlite.__name__)


# -- open_backend ---------------------------------------------------------------------------------


def test_open_backend_reads_eventsource_url_from_env() -> None:
    backend = open_backend(env={"EVENTSOURCE_URL": "memory://from-env"})
    assert backend.name == "memory" and backend.url.host == "from-env"
    explicit = open_backend("memory://explicit", env={"EVENTSOURCE_URL": "memory://from-env"})
    assert explicit.url.host == "explicit"


def test_open_backend_default_is_the_embedded_sqlite_url() -> None:
    assert DEFAULT_URL == "sqlite:///events.db"
    assert resolve_url(None, env={}) == parse_url(DEFAULT_URL)
    assert resolve_url(None, env={"EVENTSOURCE_URL": ""}) == parse_url(DEFAULT_URL)
    assert resolve_url(None, env={"EVENTSOURCE_URL": "memory://x"}).host == "x"


@pytest.mark.usefixtures("memory_only_registry")
def test_open_backend_default_without_sqlite_names_the_fix() -> None:
    with pytest.raises(BackendNotInstalledError, match=r"eventsource-core\[sqlite\]"):
        open_backend(env={})


def test_open_backend_reads_os_environ_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSOURCE_URL", "memory://late")
    assert open_backend().url.host == "late"


def test_open_backend_with_a_private_registry() -> None:
    registry = BackendRegistry(load_entry_points=False)
    with pytest.raises(UnknownBackendError, match="installed: none"):
        open_backend("memory://", registry=registry)
    registry.register(memory_plugin, name="memory")
    assert open_backend("memory://", registry=registry).name == "memory"


def test_open_backend_bad_url_and_bad_option() -> None:
    from eventsource import InvalidBackendURLError

    with pytest.raises(InvalidBackendURLError):
        open_backend("not a url")
    with pytest.raises(InvalidBackendURLError, match="unknown option"):
        open_backend("memory://?pool_max=3")


# -- Backend lifecycle ----------------------------------------------------------------------------


async def test_roles_before_open_raise_and_close_is_idempotent() -> None:
    backend = open_backend("memory://")
    assert not backend.is_open
    for role in ("events", "checkpoints", "outbox", "dlq"):
        with pytest.raises(StorageUnavailableError, match=f"not open.*backend.{role}"):
            getattr(backend, role)
    async with backend as opened:
        assert opened is backend and backend.is_open
        assert backend.events.__class__ is MemoryEventStore
        assert await backend.checkpoints.get_all_checkpoints() == []
        assert (await backend.outbox.get_stats()).pending_count == 0
        assert (await backend.dlq.get_failure_stats()).total_failed == 0
        assert await backend.open() is backend  # opening twice is harmless
    assert not backend.is_open
    with pytest.raises(StorageUnavailableError):
        _ = backend.outbox
    await backend.close()
    await backend.close()
    async with backend:  # reopen after close
        assert backend.is_open
    assert "memory" in repr(backend) and "closed" in repr(backend)


async def test_roles_share_one_database() -> None:
    from uuid import uuid4

    from ._model import CtOrder

    async with open_backend("memory://") as backend:
        order = CtOrder(uuid4())
        order.place("ann")
        await backend.events.append_events(
            order.aggregate_id, "CtOrder", order.uncommitted_events, 0, outbox=True
        )
        assert (await backend.outbox.get_stats()).pending_count == 1
        event = order.uncommitted_events[0]
        await backend.checkpoints.update_checkpoint("p", event.event_id, event.event_type)
        assert await backend.checkpoints.get_position("p") == 1


def test_backend_missing_roles_is_a_configuration_error() -> None:
    class OnlyStore:
        @hookimpl
        def eventsource_event_stores(self) -> list[EventStoreSpec]:
            return [
                EventStoreSpec(
                    name="half", store_class=MemoryEventStore, from_url=lambda u: MemoryEventStore()
                )
            ]

    registry = BackendRegistry(load_entry_points=False)
    registry.register(OnlyStore(), name="half-plugin")
    with pytest.raises(ConfigurationError, match=r"'half-plugin'.*checkpoints, outbox, dlq"):
        open_backend("half://", registry=registry)
    assert registry.installed()[0].missing_roles == ["checkpoints", "outbox", "dlq"]


async def test_failed_open_closes_the_store() -> None:
    closed: list[bool] = []

    class FailingStore(MemoryEventStore):
        async def initialize(self) -> None:
            raise StorageUnavailableError("disk on fire")

        async def close(self) -> None:
            closed.append(True)

    class FailingPlugin:
        @hookimpl
        def eventsource_event_stores(self) -> list[EventStoreSpec]:
            return [
                EventStoreSpec(
                    name="failing", store_class=FailingStore, from_url=lambda u: FailingStore()
                )
            ]

    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    registry.register(FailingPlugin(), name="failing")
    # Borrow the memory repositories under the name 'failing'.
    registry.unregister("memory")

    class Repos:
        @hookimpl
        def eventsource_checkpoint_repositories(self):  # type: ignore[no-untyped-def]
            spec = memory_plugin.eventsource_checkpoint_repositories()[0]
            return [type(spec)("failing", spec.repository_class, spec.factory)]

        @hookimpl
        def eventsource_outbox_repositories(self):  # type: ignore[no-untyped-def]
            spec = memory_plugin.eventsource_outbox_repositories()[0]
            return [type(spec)("failing", spec.repository_class, spec.factory)]

        @hookimpl
        def eventsource_dlq_repositories(self):  # type: ignore[no-untyped-def]
            spec = memory_plugin.eventsource_dlq_repositories()[0]
            return [type(spec)("failing", spec.repository_class, spec.factory)]

    registry.register(Repos(), name="repos")
    backend = open_backend("failing://", registry=registry)
    with pytest.raises(StorageUnavailableError, match="disk on fire"):
        await backend.open()
    assert closed == [True] and not backend.is_open
