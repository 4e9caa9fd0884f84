"""SARIF 2.1.0 files GitHub code scanning accepts: one file and one run per scan (tool + target).

GitHub rejects several runs sharing a category, so each file's run carries its own
`automationDetails.id` ("conveyor/<scan>/"). Allowlisted findings stay in, marked suppressed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.findings import Finding, Severity
from conveyor.policy.gate import Decision

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
TOOL_URIS = {
    "trivy": ("Trivy", "https://github.com/aquasecurity/trivy"),
    "gitleaks": ("Gitleaks", "https://github.com/gitleaks/gitleaks"),
}
LEVELS: Mapping[Severity, str] = {
    "CRITICAL": "error",
    "HIGH": "error",
    "MEDIUM": "warning",
    "LOW": "note",
    "UNKNOWN": "note",
}
# GitHub ranks security alerts by this CVSS-like score (critical > 9.0, high 7.0-8.9, ...).
SECURITY_SEVERITY: Mapping[Severity, str] = {
    "CRITICAL": "9.5",
    "HIGH": "8.0",
    "MEDIUM": "5.5",
    "LOW": "2.0",
    "UNKNOWN": "0.0",
}


def category(scan: str) -> str:
    """The run's automationDetails.id: distinct per scan so GitHub keeps every file."""
    return f"conveyor/{scan}/"


def _uri(finding: Finding) -> str:
    return quote((finding.path or finding.target).lstrip("/"), safe="/._-~@:+")


def _level(finding: Finding) -> str:
    return "error" if finding.kind == "secret" else LEVELS[finding.severity]


def _rule(finding: Finding) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": finding.rule_id,
        "shortDescription": {"text": finding.title},
        "defaultConfiguration": {"level": _level(finding)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "tags": ["security", finding.kind],
        },
    }
    if finding.url:
        rule["helpUri"] = finding.url
    return rule


def _message(finding: Finding) -> str:
    text = f"{finding.severity} {finding.kind}: {finding.title}"
    if finding.package:
        text += f" ({finding.package} {finding.installed_version or ''}".rstrip()
        text += f", fixed in {finding.fixed_version})" if finding.fixed_version else ")"
    if finding.commit:
        text += f" in commit {finding.commit[:12]}"
    return text


def _result(decision: Decision, rule_index: int) -> dict[str, Any]:
    finding = decision.finding
    region = {"startLine": finding.line or 1}
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _level(finding),
        "message": {"text": _message(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding)},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"conveyorFingerprint/v1": finding.fingerprint},
        "properties": {"conveyor-status": decision.status, "target": finding.target},
    }
    if decision.status == "allowed" and decision.entry is not None:
        result["suppressions"] = [{"kind": "external", "justification": decision.entry.reason}]
    return result


def sarif_run(scan: str, tool: str, version: str, decisions: Sequence[Decision]) -> dict[str, Any]:
    """One run: the tool, its rules, its results, its category."""
    name, uri = TOOL_URIS.get(tool, (tool, "https://github.com/"))
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for decision in decisions:
        rule_id = decision.finding.rule_id
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append(_rule(decision.finding))
        results.append(_result(decision, index[rule_id]))
    driver: dict[str, Any] = {"name": name, "informationUri": uri, "rules": rules}
    if version:
        driver["version"] = version
    return {
        "tool": {"driver": driver},
        "automationDetails": {"id": category(scan)},
        "results": results,
    }


def sarif_document(run: dict[str, Any]) -> dict[str, Any]:
    """A whole SARIF log holding one run."""
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


def write_sarif(
    directory: Path, scan: str, tool: str, version: str, decisions: Sequence[Decision]
) -> Path:
    """Write `<directory>/<scan>.sarif` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{scan}.sarif"
    document = sarif_document(sarif_run(scan, tool, version, decisions))
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
