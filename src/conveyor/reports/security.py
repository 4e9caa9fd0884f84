"""The security gate's reports: a table, reports/security.json, step summary and annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from conveyor.policy.advisories import AdvisoryData, AdvisoryGate, Verdict
from conveyor.reports.console import render_table
from conveyor.reports.github import Annotation, emit_annotations, markdown_table, write_step_summary

HEADERS = ["tool", "id", "where", "severity", "status", "summary"]
SUMMARY_WIDTH = 90


def _row(verdict: Verdict) -> list[str]:
    a = verdict.advisory
    reason = verdict.ignored_because
    status = (
        "FAIL" if reason is None else reason if reason.startswith("below") else f"ignored: {reason}"
    )
    ident = " / ".join(key for key in a.keys if ":" not in key)
    severity = f"{a.severity}/{a.confidence}" if a.confidence else a.severity or "-"
    return [a.source, ident, a.subject, severity, status, a.summary[:SUMMARY_WIDTH]]


def data_json(data: AdvisoryData) -> dict[str, Any]:
    """The advisory data entry: source, date, age and whether its age is accepted."""
    freshness = data.freshness
    updated = freshness.updated if freshness else None
    return {
        "source": data.source,
        "published": updated.isoformat() if updated else None,
        "age_days": freshness.age_days if freshness else None,
        "max_age_days": freshness.max_age_days if freshness else None,
        "stale": bool(freshness and freshness.stale),
        "accepted_because": data.accepted_because,
        "summary": data.line,
    }


def as_json(gate: AdvisoryGate, data: AdvisoryData | None = None) -> dict[str, Any]:
    """The machine-readable report."""
    return {
        "passed": gate.passed and not (data and data.blocking),
        "advisory_data": data_json(data) if data else None,
        "findings": [
            {
                "source": v.advisory.source,
                "id": v.advisory.id,
                "aliases": list(v.advisory.aliases),
                "subject": v.advisory.subject,
                "severity": v.advisory.severity,
                "summary": v.advisory.summary,
                "url": v.advisory.url,
                "file": v.advisory.file,
                "line": v.advisory.line,
                "ignored": v.ignored_because is not None,
                "reason": v.ignored_because,
            }
            for v in gate.verdicts
        ],
        "unused_ignores": list(gate.unused_ignores),
    }


def report_security(
    gate: AdvisoryGate,
    reports_dir: Path,
    console: Console | None = None,
    data: AdvisoryData | None = None,
) -> Path:
    """Print the table, write reports/security.json, and report to GitHub Actions."""
    rows = [_row(v) for v in gate.verdicts]
    render_table("security findings", HEADERS, rows, console)
    path = reports_dir / "security.json"
    reports_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(gate, data), indent=2) + "\n", encoding="utf-8")
    verdict = "passed" if gate.passed else f"failed: {len(gate.failing)} finding(s)"
    if gate.passed and data and data.blocking:
        verdict = "failed: advisory data too old"
    body = markdown_table(HEADERS, rows) if rows else "No findings."
    dated = f"\n\n{data.line}" if data else ""
    write_step_summary(f"### Security ({verdict})\n\n{body}{dated}")
    stale = [Annotation("error", f"security: {data.line}")] if data and data.blocking else []
    emit_annotations(
        [
            Annotation("error", f"{a.source} {a.id}: {a.summary}", file=a.file, line=a.line)
            for a in gate.failing
        ]
        + stale
    )
    return path
