"""The license gate's reports: a table, reports/licenses.json and .md, step summary, annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from conveyor.policy.licenses import LicenseVerdict
from conveyor.reports.console import render_table
from conveyor.reports.github import Annotation, emit_annotations, markdown_table, write_step_summary

HEADERS = ["package", "version", "license", "status"]


def _status(verdict: LicenseVerdict) -> str:
    if verdict.status == "denied":
        return f"DENIED ({verdict.matched})"
    if verdict.status == "overridden":
        return f"allowed by override: {verdict.reason}"
    return verdict.status


def _rows(verdicts: list[LicenseVerdict]) -> list[list[str]]:
    return [[v.package.name, v.package.version, v.package.license, _status(v)] for v in verdicts]


def as_json(verdicts: list[LicenseVerdict]) -> dict[str, Any]:
    """The machine-readable report."""
    return {
        "passed": not any(v.status == "denied" for v in verdicts),
        "packages": [
            {
                "name": v.package.name,
                "version": v.package.version,
                "license": v.package.license,
                "url": v.package.url,
                "status": v.status,
                "matched": v.matched,
                "reason": v.reason,
            }
            for v in verdicts
        ],
    }


def report_licenses(
    verdicts: list[LicenseVerdict], reports_dir: Path, console: Console | None = None
) -> tuple[Path, Path]:
    """Print the table (problems only when all is well), write licenses.json and licenses.md."""
    rows = _rows(verdicts)
    notable = _rows([v for v in verdicts if v.status != "allowed"])
    render_table("licenses needing attention", HEADERS, notable, console)
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = reports_dir / "licenses.json"
    json_path.write_text(json.dumps(as_json(verdicts), indent=2) + "\n", encoding="utf-8")
    md_path = reports_dir / "licenses.md"
    md_path.write_text("# Runtime dependency licenses\n\n" + markdown_table(HEADERS, rows) + "\n")
    denied = [v for v in verdicts if v.status == "denied"]
    verdict = f"failed: {len(denied)} denied" if denied else "passed"
    write_step_summary(f"### Licenses ({verdict})\n\n" + markdown_table(HEADERS, notable or rows))
    emit_annotations(
        [
            Annotation("error", f"{v.package.name} {v.package.version}: {v.package.license}")
            for v in denied
        ]
    )
    return json_path, md_path
