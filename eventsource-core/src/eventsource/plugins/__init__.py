"""Backends by name: backend URLs, :func:`open_backend` and the :class:`Backend` it returns.

User API only. What a backend or publisher plugin is written with (the hook markers, the
specs, the capability flags, option tables, the entry-point groups and the registry) is in
:mod:`eventsource.spi`.
"""

from ._backend import DEFAULT_URL, ENV_VAR, Backend, open_backend, resolve_url
from ._url import BackendURL, parse_url

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "Backend",
    "BackendURL",
    "open_backend",
    "parse_url",
    "resolve_url",
]
