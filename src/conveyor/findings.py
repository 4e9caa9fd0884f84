"""The one typed record every scanner's output maps into, so policy and reports see one shape."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal, Optional

import msgspec

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


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One issue a scanner reported.

    `scan` names the run that found it (e.g. "trivy-image", "gitleaks"), `rule_id` is the
    CVE / check / rule id, `path` is repo-relative where the scanner gave one.
    """

    tool: str
    scan: str
    kind: Kind
    target: str
    rule_id: str
    severity: Severity
    title: str
    path: str = ""
    line: Optional[int] = None
    fingerprint: str
    package: Optional[str] = None
    installed_version: Optional[str] = None
    fixed_version: Optional[str] = None
    url: Optional[str] = None
    commit: Optional[str] = None
    seen_by: tuple[str, ...] = ()

    @property
    def scans(self) -> tuple[str, ...]:
        """Every scan that reported this finding (after merging), else the one that did."""
        return self.seen_by or (self.scan,)

    @property
    def identity(self) -> tuple[object, ...]:
        """What makes two reports one finding: tool, kind, rule, file, line (and package)."""
        return (
            self.tool,
            self.kind,
            self.rule_id,
            self.path,
            self.line,
            self.package,
            self.installed_version,
            self.commit,
        )

    @property
    def location(self) -> str:
        """`path:line` (or the target), plus `@commit` for history findings."""
        where = self.path or self.target
        if self.line:
            where += f":{self.line}"
        return f"{where}@{self.commit[:8]}" if self.commit else where


def merge_duplicates(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per identity, the first reported kept, `seen_by` naming every scan.

    trivy's fs and config scans both check the Dockerfiles: without this, one issue in a
    Dockerfile would count twice in the gate and the table.
    """
    merged: dict[tuple[object, ...], Finding] = {}
    scans: dict[tuple[object, ...], list[str]] = {}
    for finding in findings:
        key = finding.identity
        merged.setdefault(key, finding)
        seen = scans.setdefault(key, [])
        seen += [scan for scan in finding.scans if scan not in seen]
    return [msgspec.structs.replace(f, seen_by=tuple(scans[k])) for k, f in merged.items()]
