"""The one typed record every scanner's output maps into, so policy and reports see one shape."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
Kind = Literal["vuln", "secret", "misconfig"]
SEVERITIES: tuple[Severity, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def severity_of(text: object) -> Severity:
    """A scanner's severity string as ours (anything unknown is UNKNOWN)."""
    value = str(text or "").upper()
    for known in SEVERITIES:
        if value == known:
            return known
    return "UNKNOWN"


def severity_rank(severity: Severity) -> int:
    """0 for CRITICAL ... 4 for UNKNOWN: for sorting, most severe first."""
    return SEVERITIES.index(severity)


def fingerprint_of(*parts: object) -> str:
    """A stable short id for a finding built from what identifies it (never the secret)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Finding(BaseModel):
    """One issue a scanner reported.

    `scan` names the run that found it (e.g. "trivy-image", "gitleaks"), `rule_id` is the
    CVE / check / rule id, `path` is repo-relative where the scanner gave one.
    """

    model_config = ConfigDict(frozen=True)

    tool: str
    scan: str
    kind: Kind
    target: str
    rule_id: str
    severity: Severity
    title: str
    path: str = ""
    line: int | None = None
    fingerprint: str
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    url: str | None = None
    commit: str | None = None

    @property
    def location(self) -> str:
        """`path:line` (or the target), plus `@commit` for history findings."""
        where = self.path or self.target
        if self.line:
            where += f":{self.line}"
        return f"{where}@{self.commit[:8]}" if self.commit else where
