"""What `inv scan` leaves behind: a JSON summary, SARIF per scan, a terminal table, and in
GitHub Actions the step summary and annotations. Every finding is kept, allowed ones marked."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conveyor.policy.gate import STATUSES_WORST_FIRST, Decision, GateResult
from conveyor.reports.github import (
    Annotation,
    emit_annotations,
    markdown_table,
    write_step_summary,
)
from conveyor.reports.sarif import write_sarif

TABLE_ROWS = 40
SUMMARY_FILE = "scan.json"
STATUS_STYLE = dict(
    zip(STATUSES_WORST_FIRST, ("bold red", "bold red", "yellow", "green"))
)  # a literal dict with a "pass" key reads as a password to bandit (B105)


@dataclass(frozen=True)
class ScanRun:
    """One scanner run as the report shows it: which tool, on what, how long, any problem."""

    name: str
    tool: str
    version: str
    target: str
    seconds: float = 0.0
    problem: str = ""
    hint: str = ""

    @property
    def report_stem(self) -> str:
        """The raw report's file name: the scan, and its target when one scan runs on several
        (each built image gets its own `trivy-image` run)."""
        if self.name != "trivy-image":
            return self.name
        return f"{self.name}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.target)}"


@dataclass(frozen=True)
class VulnDb:
    """The vulnerability DB the scans ran on, as every report shows it."""

    status: str  # "current", "stale", "absent" or "not used"
    detail: str  # e.g. "2026-11-20 (4 days old; max 7) in /root/.cache/trivy/db"
    path: str | None = None
    updated_at: str | None = None
    age_days: int | None = None
    max_age_days: int | None = None

    @property
    def line(self) -> str:
        return f"vulnerability DB: {self.detail}"

    def document(self) -> dict[str, Any]:
        """The scan.json entry."""
        return {
            "status": self.status,
            "detail": self.detail,
            "path": self.path,
            "updated_at": self.updated_at,
            "age_days": self.age_days,
            "max_age_days": self.max_age_days,
        }


def _row(decision: Decision) -> list[str]:
    f = decision.finding
    note = ""
    if decision.entry is not None:
        note = decision.entry.reason if decision.status == "allowed" else decision.entry.label
    scans = ", ".join(f.scans)
    return [decision.status, f.severity, f.kind, f.rule_id, f.location, scans, f.title, note]


HEADERS = ["status", "severity", "kind", "id", "location", "scan", "title", "allowlist"]
TITLE_WIDTH = 48


def shown(result: GateResult) -> list[Decision]:
    """The findings a person must see: blocking and allowed ones (below-the-bar are counted)."""
    return [d for d in result.decisions if d.status != "pass"]


def print_table(
    result: GateResult, runs: Sequence[ScanRun], console: Console, vuln_db: VulnDb | None = None
) -> None:
    """A short table of what matters, then one line per scan and the DB the scans used."""
    rows = shown(result)
    if rows:
        table = Table(title="scan findings", show_lines=False)
        for header in HEADERS:
            if header == "title":
                table.add_column(header, max_width=TITLE_WIDTH, no_wrap=True, overflow="ellipsis")
            else:
                table.add_column(header, overflow="fold")
        for decision in rows[:TABLE_ROWS]:
            cells = [escape(cell) for cell in _row(decision)]
            table.add_row(*cells, style=STATUS_STYLE[decision.status])
        console.print(table)
        if len(rows) > TABLE_ROWS:
            console.print(
                f"... and {len(rows) - TABLE_ROWS} more (see the JSON summary)", markup=False
            )
    below = result.counts().get("pass", 0)
    if below:
        console.print(
            f"{below} finding(s) below the gate's severities (kept in the reports)", markup=False
        )
    for run in runs:
        state = f"FAILED: {run.problem}" if run.problem else f"{run.seconds:.1f}s"
        line = f"  {run.name} ({run.tool} {run.version}) on {run.target}: {state}"
        console.print(line, style="red" if run.problem else None, markup=False)
    if vuln_db is not None:
        stale = vuln_db.status in ("stale", "absent")
        console.print(vuln_db.line, style="red" if stale else None, markup=False)


def summary_document(
    result: GateResult,
    runs: Sequence[ScanRun],
    *,
    fail_on: Sequence[str],
    exit_code: int,
    vuln_db: VulnDb | None = None,
    ignored: Sequence[str] = (),
) -> dict[str, Any]:
    """The JSON summary: verdict, scans, the DB, problems, expired entries, every finding."""
    return {
        "passed": exit_code == 0,
        "exit_code": exit_code,
        "fail_on": list(fail_on),
        "vulnerability_db": vuln_db.document() if vuln_db else None,
        "ignored_overrides": list(ignored),
        "reason": result.reason(),
        "counts": result.counts(),
        "expired_allowlist_entries": [e.label for e in result.expired_entries],
        "scans": [
            {
                "name": r.name,
                "tool": r.tool,
                "version": r.version,
                "target": r.target,
                "seconds": round(r.seconds, 3),
                "problem": r.problem or None,
                "hint": r.hint or None,
            }
            for r in runs
        ],
        "findings": [
            {
                **msgspec.structs.asdict(d.finding),
                "status": d.status,
                "allowlist_entry": d.entry.label if d.entry else None,
                "allowlist_reason": d.entry.reason if d.entry else None,
            }
            for d in result.decisions
        ],
    }


def write_reports(
    directory: Path,
    result: GateResult,
    runs: Sequence[ScanRun],
    *,
    fail_on: Sequence[str],
    exit_code: int,
    vuln_db: VulnDb | None = None,
    ignored: Sequence[str] = (),
) -> list[Path]:
    """scan.json plus one SARIF file per scan that ran; return the paths written.

    A scan that crashed gets no SARIF file: an empty one would tell GitHub its alerts were fixed.
    A finding several scans reported is in each of their files (one category each).
    """
    directory.mkdir(parents=True, exist_ok=True)
    summary = directory / SUMMARY_FILE
    document = summary_document(
        result, runs, fail_on=fail_on, exit_code=exit_code, vuln_db=vuln_db, ignored=ignored
    )
    summary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    written = [summary]
    for name in dict.fromkeys(run.name for run in runs):
        mine = [run for run in runs if run.name == name]
        decisions = [d for d in result.decisions if name in d.finding.scans]
        if all(run.problem for run in mine) and not decisions:
            continue
        first = mine[0]
        written.append(write_sarif(directory / "sarif", name, first.tool, first.version, decisions))
    return written


def publish_to_github(
    result: GateResult,
    runs: Sequence[ScanRun],
    verdict: str,
    vuln_db: VulnDb | None = None,
    ignored: Sequence[str] = (),
) -> None:
    """Step summary and annotations (no-ops outside GitHub Actions)."""
    rows = [_row(d) for d in shown(result)[:TABLE_ROWS]]
    scans = [[r.name, r.target, r.problem or f"{r.seconds:.1f}s"] for r in runs]
    parts = [f"### Security scan: {verdict}", markdown_table(["scan", "target", "result"], scans)]
    parts += [vuln_db.line] if vuln_db else []
    parts += [f"warning: {line}" for line in ignored]
    if rows:
        parts.append(markdown_table(HEADERS, rows))
    write_step_summary("\n\n".join(parts))
    emit_annotations(
        [Annotation(level="warning", message=line, title="scan") for line in ignored]
        + [
            Annotation(
                level="error",
                message=f"{d.finding.severity} {d.finding.kind} {d.finding.rule_id}: "
                f"{d.finding.title}",
                file=d.finding.path if d.finding.scan != "trivy-image" else None,
                line=d.finding.line,
                title=f"{d.finding.scan}: {d.finding.rule_id}",
            )
            for d in result.blocking
        ]
    )
