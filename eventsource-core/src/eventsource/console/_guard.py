"""The write guard: a read-only console refuses every write; one started with writes allowed
takes a write only with its token (``X-Console-Token`` header, ``token`` form field, or the
cookie the unlock form sets) and only from its own pages (same ``Origin``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from starlette.requests import Request

__all__ = ["COOKIE", "refusal", "token_matches"]

#: The cookie the unlock form sets (HttpOnly, SameSite=Strict).
COOKIE = "es_console_token"


def token_matches(expected: str, given: object) -> bool:
    """True when ``given`` is the token (compared in constant time)."""
    return isinstance(given, str) and secrets.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode()
    )


def refusal(
    request: Request, form: Mapping[str, object], *, allow_writes: bool, token: str
) -> str | None:
    """Why this request may not write (answered with 403), or None when it may."""
    if not allow_writes:
        return "this console is read-only: start it with --allow-writes to write"
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return "a write from another site's page is refused"
    for given in (
        request.headers.get("x-console-token"),
        form.get("token"),
        request.cookies.get(COOKIE),
    ):
        if given and token_matches(token, given):
            return None
    return "this write needs the console's token (printed when it started)"
