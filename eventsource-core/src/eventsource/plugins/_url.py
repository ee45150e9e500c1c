"""Backend URLs in the SQLAlchemy style, parsed once into a typed object.

``memory://``, ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``
(and ``sqlite://``), ``postgresql://user:pass@host:5432/db?pool_max=20``. A bare name such as
``memory`` means ``memory://``. Backend options travel as query parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, overload
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .._exceptions import InvalidBackendURLError
from .._options import OptionSpec

__all__ = ["BackendURL", "parse_url"]

T = TypeVar("T")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9.\-]*(\+[A-Za-z0-9_.\-]+)?$")


@dataclass(frozen=True, slots=True)
class BackendURL:
    """A parsed backend URL. ``database`` is everything after the host's slash, unquoted."""

    scheme: str
    driver: str | None = None
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    raw: str = ""

    def __str__(self) -> str:
        return self.render(hide_password=True)

    def render(self, *, hide_password: bool = True) -> str:
        """The URL as text; the password is masked unless ``hide_password`` is false."""
        scheme = self.scheme + (f"+{self.driver}" if self.driver else "")
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":" + ("***" if hide_password else quote(self.password, safe=""))
            auth += "@"
        host = self.host or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        if self.port is not None:
            host += f":{self.port}"
        path = f"/{quote(self.database, safe='/:')}" if self.database is not None else ""
        query = urlencode(list(self.options.items()), safe="/:,")
        return f"{scheme}://{auth}{host}{path}" + (f"?{query}" if query else "")

    @overload
    def option(
        self,
        name: str,
        convert: Callable[[str], T],
        default: T,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> T: ...
    @overload
    def option(
        self,
        name: str,
        convert: Callable[[str], T],
        default: None = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> T | None: ...

    def option(
        self,
        name: str,
        convert: Callable[[str], T],
        default: T | None = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> T | None:
        """The query option ``name`` converted with ``convert`` (``bool`` understands
        true/false/1/0/yes/no/on/off), or ``default``; a bad value raises
        :class:`InvalidBackendURLError` naming the option.

        With ``bool``, ``int``, ``float`` or ``str`` the value is checked as an
        :class:`OptionSpec` would: numbers within ``minimum`` / ``maximum`` (inclusive), floats
        finite. A whole table of options is better read with :func:`read_options`.
        """
        if convert in (bool, int, float, str):
            spec = OptionSpec(name, convert, default, minimum=minimum, maximum=maximum)
            value: T | None = spec.from_url(self)
            return value
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            converted = convert(raw)
        except (TypeError, ValueError):
            kind = getattr(convert, "__name__", "value")
            raise InvalidBackendURLError(
                f"option {name}={raw!r} in {self} is not a valid {kind}"
            ) from None
        if isinstance(converted, float) and not math.isfinite(converted):
            raise InvalidBackendURLError(f"option {name}={raw!r} in {self} must be finite")
        return converted

    def check_options(self, known: set[str] | frozenset[str]) -> None:
        """Raise :class:`InvalidBackendURLError` for an option not in ``known``."""
        unknown = sorted(set(self.options) - set(known))
        if unknown:
            raise InvalidBackendURLError(
                f"unknown option(s) {', '.join(unknown)} for {self.scheme}:// "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )


def parse_url(url: str) -> BackendURL:
    """Parse a backend URL (or a bare backend name) into a :class:`BackendURL`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidBackendURLError(f"a backend URL must be a non-empty string, got {url!r}")
    text = url.strip()
    if "://" not in text:
        if _SCHEME.match(text):
            text = f"{text}://"
        else:
            raise InvalidBackendURLError(
                f"{url!r} is not a backend URL: expected 'scheme://...' such as "
                "'sqlite:///events.db', 'postgresql://user@host/db' or 'memory://'"
            )
    scheme_part, _, rest = text.partition("://")
    if not _SCHEME.match(scheme_part):
        raise InvalidBackendURLError(f"{url!r} has an invalid scheme {scheme_part!r}")
    scheme, _, driver = scheme_part.lower().partition("+")
    try:
        split = urlsplit(f"x://{rest}")
        port = split.port
    except ValueError as exc:
        raise InvalidBackendURLError(f"{url!r} is not a valid URL: {exc}") from None
    if split.fragment:
        raise InvalidBackendURLError(f"{url!r}: a backend URL has no '#fragment'")
    options: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True, strict_parsing=False):
        if key in options:
            raise InvalidBackendURLError(f"{url!r}: option {key!r} is given twice")
        options[key] = value
    path = split.path
    database = unquote(path[1:]) if path.startswith("/") and len(path) > 1 else None
    parsed = BackendURL(
        scheme=scheme,
        driver=driver or None,
        username=unquote(split.username) if split.username is not None else None,
        password=unquote(split.password) if split.password is not None else None,
        host=_host_of(split.netloc, split.hostname),
        port=port,
        database=database,
        options=options,
        raw=url,
    )
    _refuse_nul(parsed)
    return parsed


def _refuse_nul(url: BackendURL) -> None:
    """No driver takes a NUL character in a name, path, credential or option (``%00``)."""
    parts = {
        "user name": url.username,
        "password": url.password,
        "host": url.host,
        "database or path": url.database,
        **{f"option {key!r}": f"{key}{value}" for key, value in url.options.items()},
    }
    for part, text in parts.items():
        if text is not None and "\x00" in text:
            raise InvalidBackendURLError(f"{url}: the {part} contains a NUL character (%00)")


def _host_of(netloc: str, hostname: str | None) -> str | None:
    """The host as written: urlsplit lowercases it, but ``memory://Name`` names a database."""
    if not hostname:
        return None
    written = netloc.rpartition("@")[2]
    written = written[1:].partition("]")[0] if written.startswith("[") else written.split(":")[0]
    return written if written.lower() == hostname else hostname
