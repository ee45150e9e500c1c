"""The certification report: what one run of the kit against a URL passed, failed and skipped.

Plain data (no pytest), built from the JSON the kit's run writes, and written back as JSON by
``eventsource conformance --json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "CertificationReport",
    "KitFailure",
    "KitSkip",
    "KitTest",
    "Outcome",
    "ReportBuilder",
    "SkipKind",
    "fix_hint",
    "skip_kind",
]

#: Why a test was skipped: a capability the backend does not declare, a role it does not
#: provide, or a fixture the storage cannot give (a missing store, a raw row writer).
SkipKind = Literal["capability", "role", "fixture"]

#: A kit test's outcome (an xfail is a deviation the author declared; a strict xfail that
#: passed is a failure).
Outcome = Literal["passed", "failed", "skipped", "xfailed", "xpassed"]

_CAPABILITY = re.compile(r"does not declare capability '(\w+)'")
_ROLE = re.compile(r"without the (\w+) role|provides no (snapshot) store")


def skip_kind(reason: str) -> tuple[SkipKind, str | None]:
    """The kind of a kit skip reason, and the capability or role it names."""
    if found := _CAPABILITY.search(reason):
        return "capability", found.group(1)
    if found := _ROLE.search(reason):
        return "role", "snapshots" if found.group(2) else found.group(1)
    return "fixture", None


def fix_hint(docstring: str | None) -> str:
    """The ``Fix:`` paragraph of a kit test's docstring, on one line ('' without one)."""
    if not docstring or "Fix:" not in docstring:
        return ""
    hint = docstring.split("Fix:", 1)[1]
    return " ".join(hint.split())


@dataclass(frozen=True, slots=True)
class KitTest:
    """One kit test's result: its name (with parameters), kit class and outcome."""

    name: str
    kit_class: str
    outcome: Outcome
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class KitFailure:
    """A failed kit test: what went wrong (``message``; ``detail``: the end of pytest's
    report), ``where`` (``file:line: statement`` of the kit) and the kit's fix hint."""

    name: str
    kit_class: str
    message: str
    hint: str
    detail: str = ""
    where: str = ""


@dataclass(frozen=True, slots=True)
class KitSkip:
    """A skipped kit test, with the reason and what it lacks (capability, role, fixture)."""

    name: str
    kit_class: str
    reason: str
    kind: SkipKind
    lacks: str | None = None


@dataclass(frozen=True, slots=True)
class CertificationReport:
    """One run of the conformance kit against a backend URL.

    ``certified`` is true when at least one test ran and none failed (an xfail is not a
    failure; an unexpected xpass of a strict xfail is).
    """

    url: str
    backend: str
    capabilities: tuple[str, ...]
    tests: tuple[KitTest, ...]
    failures: tuple[KitFailure, ...] = ()
    skips: tuple[KitSkip, ...] = ()
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    selection: str | None = None

    @property
    def certified(self) -> bool:
        """No failure, no error, and at least one test passed."""
        return not self.failures and not self.errors and self.count("passed") > 0

    def count(self, outcome: str) -> int:
        """How many tests had ``outcome`` (``passed``, ``failed``, ``skipped``, ...)."""
        return sum(1 for test in self.tests if test.outcome == outcome)

    def by_class(self) -> dict[str, dict[str, int]]:
        """Per kit class, the count of each outcome (classes in the kit's order of first test)."""
        table: dict[str, dict[str, int]] = {}
        for test in self.tests:
            row = table.setdefault(test.kit_class, {"passed": 0, "failed": 0, "skipped": 0})
            row[test.outcome] = row.get(test.outcome, 0) + 1
        return table

    def skipped_capabilities(self) -> dict[str, int]:
        """Per capability the backend does not declare, how many tests it skipped."""
        counts: dict[str, int] = {}
        for skip in self.skips:
            if skip.kind == "capability" and skip.lacks:
                counts[skip.lacks] = counts.get(skip.lacks, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``--json`` prints)."""
        data = asdict(self)
        data["certified"] = self.certified
        data["counts"] = {
            outcome: self.count(outcome)
            for outcome in ("passed", "failed", "skipped", "xfailed", "xpassed")
        }
        data["by_class"] = self.by_class()
        data["skipped_capabilities"] = self.skipped_capabilities()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CertificationReport:
        """The report :meth:`to_dict` gave (derived keys are ignored)."""
        return cls(
            url=str(data["url"]),
            backend=str(data["backend"]),
            capabilities=tuple(data.get("capabilities", ())),
            tests=tuple(KitTest(**t) for t in data.get("tests", ())),
            failures=tuple(KitFailure(**f) for f in data.get("failures", ())),
            skips=tuple(KitSkip(**s) for s in data.get("skips", ())),
            errors=tuple(data.get("errors", ())),
            seconds=float(data.get("seconds", 0.0)),
            selection=data.get("selection"),
        )


@dataclass(slots=True)
class ReportBuilder:
    """Collects the results of a run, test by test (used inside the kit's run)."""

    url: str
    backend: str
    capabilities: tuple[str, ...]
    selection: str | None = None
    tests: list[KitTest] = field(default_factory=list)
    failures: list[KitFailure] = field(default_factory=list)
    skips: list[KitSkip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def build(self, seconds: float, extra_errors: Iterable[str] = ()) -> CertificationReport:
        """The finished report."""
        return CertificationReport(
            url=self.url,
            backend=self.backend,
            capabilities=self.capabilities,
            tests=tuple(self.tests),
            failures=tuple(self.failures),
            skips=tuple(self.skips),
            errors=(*self.errors, *extra_errors),
            seconds=round(seconds, 3),
            selection=self.selection,
        )
