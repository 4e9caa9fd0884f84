"""The security gate: a bandit finding or safety advisory fails unless ignored with a reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from conveyor.config import Reason
from conveyor.policy.freshness import Freshness
from conveyor.tools.bandit import BanditFinding
from conveyor.tools.safety import SafetyVulnerability


@dataclass(frozen=True)
class Advisory:
    """A finding from any security tool, in one shape for the gate and the reports."""

    source: str
    id: str
    subject: str
    severity: str
    summary: str
    url: str = ""
    aliases: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    confidence: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Every name an ignore entry may use for this finding."""
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Verdict:
    """An advisory and, when the ignore list covers it, the reason given there."""

    advisory: Advisory
    ignored_because: str | None = None


@dataclass(frozen=True)
class AdvisoryGate:
    """The gate's outcome: every verdict, plus ignore entries that matched nothing."""

    verdicts: tuple[Verdict, ...]
    unused_ignores: tuple[str, ...]

    @property
    def failing(self) -> list[Advisory]:
        return [v.advisory for v in self.verdicts if v.ignored_because is None]

    @property
    def passed(self) -> bool:
        return not self.failing


STALE_DATA_HINT = (
    "update the data (`uv lock --upgrade-package safety-db`, or a newer DB directory), check "
    "online (remove safety-db), or accept it on purpose with a reason: "
    '[tool.conveyor.security] accept-stale-data = { reason = "..." }'
)


@dataclass(frozen=True)
class AdvisoryData:
    """Where safety's advisories came from, how old they are, and whether that is accepted.

    A check against old data is a check of the past: older than the configured age, it fails
    unless the configuration accepts it with a reason.
    """

    source: str
    freshness: Freshness | None  # None: safety fetched the data online and gives no date
    accepted_because: str | None = None

    @property
    def blocking(self) -> bool:
        return self.freshness is not None and self.freshness.stale and not self.accepted_because

    @property
    def line(self) -> str:
        """e.g. 'advisory data: safety-db package, 2021-07-01 (1242 days old; max 45): ...'."""
        if self.freshness is None:
            return f"advisory data: {self.source} (safety does not report the data's date)"
        text = f"advisory data: {self.source}, {self.freshness.describe()}"
        if not self.freshness.stale:
            return text
        if self.accepted_because:
            return f"{text}: older than max-data-age, accepted: {self.accepted_because}"
        return f"{text}: older than max-data-age"


def judge_data(source: str, freshness: Freshness | None, accept: Reason | None) -> AdvisoryData:
    """The advisory data's verdict: stale data is accepted only with a configured reason."""
    stale = freshness is not None and freshness.stale
    return AdvisoryData(source, freshness, accept.reason if stale and accept else None)


def from_bandit(findings: Iterable[BanditFinding]) -> list[Advisory]:
    """bandit findings as advisories (ignore key: the test id `B602`, or `B602:path/to/file.py`)."""
    return [
        Advisory(
            source="bandit",
            id=f.test_id,
            subject=f"{f.filename}:{f.line}",
            severity=f.severity,
            summary=f"{f.test_name}: {f.text}",
            url=f.more_info,
            aliases=(f"{f.test_id}:{f.filename}",),
            file=f.filename,
            line=f.line,
            confidence=f.confidence,
        )
        for f in findings
    ]


def from_safety(vulnerabilities: Iterable[SafetyVulnerability]) -> list[Advisory]:
    """safety advisories (ignore key: the vulnerability id or the CVE)."""
    return [
        Advisory(
            source="safety",
            id=v.vulnerability_id,
            subject=f"{v.package} {v.version}",
            severity="",
            summary=v.advisory,
            url=v.more_info,
            aliases=(v.cve,) if v.cve else (),
        )
        for v in vulnerabilities
    ]


Level = Literal["LOW", "MEDIUM", "HIGH"]
LEVELS: tuple[Level, ...] = ("LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class BanditThreshold:
    """A bandit finding fails at this severity and this confidence or above."""

    severity: Level = "MEDIUM"
    confidence: Level = "MEDIUM"

    def below(self, advisory: Advisory) -> str | None:
        """Why `advisory` passes under this threshold, or None when it fails the gate."""
        if advisory.source != "bandit":
            return None
        if _rank(advisory.severity) >= _rank(self.severity) and _rank(advisory.confidence) >= _rank(
            self.confidence
        ):
            return None
        return (
            f"below the bandit threshold ({advisory.severity} severity, "
            f"{advisory.confidence} confidence; fails at {self.severity}/{self.confidence})"
        )


def _rank(level: str) -> int:
    """LOW 0, MEDIUM 1, HIGH 2; anything unknown counts as the highest (fail closed)."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def evaluate(
    advisories: Iterable[Advisory],
    ignore: Mapping[str, Reason],
    threshold: BanditThreshold | None = None,
) -> AdvisoryGate:
    """Match advisories against the ignore list (by id or alias), then bandit's threshold."""
    bar = threshold or BanditThreshold()
    used: set[str] = set()
    verdicts = []
    for advisory in advisories:
        key = next((k for k in advisory.keys if k in ignore), None)
        if key is None:
            verdicts.append(Verdict(advisory, bar.below(advisory)))
        else:
            used.add(key)
            verdicts.append(Verdict(advisory, ignore[key].reason))
    unused = tuple(sorted(set(ignore) - used))
    return AdvisoryGate(verdicts=tuple(verdicts), unused_ignores=unused)
