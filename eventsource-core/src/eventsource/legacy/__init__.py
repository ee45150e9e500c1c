"""Converting databases written by eventsource-py 0.5.0 (``eventsource upgrade URL``).

A store opened on such a database raises :class:`~eventsource.LegacySchemaError` and changes
nothing; :func:`upgrade` (or the command) converts it in place, resumably and verified. See
``docs/migrating-from-eventsource-py.md``.
"""

from ._converter import LEGACY_TABLES, LEGACY_VERSION, LegacyState
from ._upgrade import UpgradeProgress, UpgradeReport, upgrade

__all__ = [
    "LEGACY_TABLES",
    "LEGACY_VERSION",
    "LegacyState",
    "UpgradeProgress",
    "UpgradeReport",
    "upgrade",
]
