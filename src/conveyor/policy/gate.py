"""The one scan gate: configured severities and every secret fail, unless allowlisted in date.

Reports keep every finding; the gate only decides which of them block the release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from conveyor.findings import Finding, Severity, severity_rank
from conveyor.policy.allowlist import AllowEntry, Allowlist

Status = Literal["fail", "allowed", "expired", "pass"]
STATUSES_WORST_FIRST: tuple[Status, ...] = ("fail", "expired", "allowed", "pass")
DEFAULT_FAIL_ON: tuple[Severity, ...] = ("CRITICAL", "HIGH")


@dataclass(frozen=True)
class Decision:
    """One finding and what the gate made of it (and which entry, if one matched)."""

    finding: Finding
    status: Status
    entry: AllowEntry | None = None

    @property
    def blocking(self) -> bool:
        return self.status in ("fail", "expired")


@dataclass(frozen=True)
class GateResult:
    """Every decision, most severe first, plus allowlist entries past their date."""

    decisions: tuple[Decision, ...]
    expired_entries: tuple[AllowEntry, ...]

    @property
    def passed(self) -> bool:
        return not self.expired_entries and not any(d.blocking for d in self.decisions)

    @property
    def blocking(self) -> list[Decision]:
        return [d for d in self.decisions if d.blocking]

    def counts(self) -> dict[str, int]:
        """How many findings per status (fail/expired/allowed/pass)."""
        return dict(Counter(d.status for d in self.decisions))

    def reason(self) -> str:
        """One line saying why the gate failed (empty when it passed)."""
        parts = []
        blocking = self.blocking
        if blocking:
            kinds = Counter(
                "secret" if d.finding.kind == "secret" else d.finding.severity for d in blocking
            )
            detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            parts.append(f"{len(blocking)} blocking finding(s) ({detail})")
        if self.expired_entries:
            labels = "; ".join(e.label for e in self.expired_entries)
            parts.append(f"expired allowlist entries: {labels}")
        return "; ".join(parts)


def blocks(finding: Finding, fail_on: Iterable[Severity]) -> bool:
    """Every secret blocks; otherwise the configured severities do."""
    return finding.kind == "secret" or finding.severity in set(fail_on)


def evaluate(
    findings: Sequence[Finding],
    allowlist: Allowlist,
    *,
    fail_on: Iterable[Severity] = DEFAULT_FAIL_ON,
    today: date | None = None,
) -> GateResult:
    """Decide each finding: pass (below the bar), allowed, expired (entry out of date), fail."""
    day = today or date.today()
    severities = tuple(fail_on)
    decisions = []
    for finding in findings:
        entry = allowlist.match(finding)
        if entry is not None:
            status: Status = "expired" if entry.expired(day) else "allowed"
        elif blocks(finding, severities):
            status = "fail"
        else:
            status = "pass"
        decisions.append(Decision(finding, status, entry))
    order = {status: rank for rank, status in enumerate(STATUSES_WORST_FIRST)}
    decisions.sort(
        key=lambda d: (order[d.status], severity_rank(d.finding.severity), d.finding.location)
    )
    return GateResult(decisions=tuple(decisions), expired_entries=tuple(allowlist.expired(day)))
