"""Gitleaks adapter: full-history (or directory) secret scan, always redacted, parsed to Findings.

`--exit-code LEAKS_EXIT` tells "leaks found" apart from gitleaks' own errors (exit 1), so a
crash is never mistaken for a clean or a failed scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.errors import ToolFailedError
from conveyor.findings import Finding, Severity, fingerprint_of
from conveyor.runner import DEFAULT_RUNNER, Runner, stderr_tail
from conveyor.tools.discovery import GITLEAKS, discover
from conveyor.tools.trivy import read_json

LEAKS_EXIT = 42
SCAN_NAME = "gitleaks"
# gitleaks has no severity of its own; every secret fails the gate anyway.
SECRET_SEVERITY: Severity = "HIGH"  # noqa: S105 - a severity, not a password


def is_git_repository(source: Path) -> bool:
    """True when `source` is a git work tree root (then history is scanned, not files)."""
    return (source / ".git").exists()


@dataclass
class Gitleaks:
    """A gitleaks binary bound to a runner."""

    path: str = "gitleaks"
    runner: Runner = field(default_factory=lambda: DEFAULT_RUNNER)
    version: str = ""

    @classmethod
    def discover(cls, configured: str | None = None, runner: Runner = DEFAULT_RUNNER) -> Gitleaks:
        """A Gitleaks whose binary is found and recent enough."""
        found = discover(GITLEAKS, configured, runner)
        return cls(path=found.path, runner=runner, version=found.version)

    def argv(self, source: Path, report: Path, *, history: bool) -> list[str]:
        """`gitleaks git` (every commit) or `gitleaks dir`, redacted, JSON to `report`."""
        return [
            self.path,
            "git" if history else "dir",
            "--redact",
            "--exit-code",
            str(LEAKS_EXIT),
            "--no-banner",
            "--no-color",
            "--log-level",
            "warn",
            "--report-format",
            "json",
            "--report-path",
            str(report),
            str(source),
        ]

    def scan(self, source: Path, report: Path) -> list[Finding]:
        """Scan `source`; ToolFailedError naming gitleaks with stderr's tail on any error."""
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        history = is_git_repository(source)
        done = self.runner.run(
            self.argv(source, report, history=history), ok_codes=range(256), tool="gitleaks"
        )
        if done.returncode not in (0, LEAKS_EXIT):
            raise ToolFailedError(
                f"gitleaks {'git' if history else 'dir'}: exited {done.returncode} "
                f"scanning {source}",
                hint=stderr_tail(done.stderr or done.stdout) or "no output on stderr",
            )
        data = read_json(report, "gitleaks", done.stderr)
        findings = parse_report(data, str(source))
        if done.returncode == LEAKS_EXIT and not findings:
            raise ToolFailedError(
                "gitleaks: reported leaks but its JSON report lists none",
                hint=stderr_tail(done.stderr) or "no output on stderr",
            )
        return findings


def parse_report(data: Any, target: str) -> list[Finding]:
    """Gitleaks' JSON list as Findings; `Secret` and `Match` are never kept."""
    if not isinstance(data, list):
        raise ToolFailedError(
            "gitleaks: report is not a JSON list",
            hint="run the same gitleaks command by hand to see what it wrote",
        )
    return [_finding(item, target) for item in data if isinstance(item, Mapping)]


def _relative(path: str, source: str) -> str:
    """`gitleaks dir` reports paths with the source in front; the reports want them relative."""
    prefix = source.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _finding(item: Mapping[str, Any], target: str) -> Finding:
    rule = str(item.get("RuleID") or "secret")
    path = _relative(str(item.get("File") or ""), target)
    line = item.get("StartLine")
    commit = str(item.get("Commit") or "") or None
    # Relative, like the path, so an allowlist entry works on every checkout.
    fingerprint = _relative(str(item.get("Fingerprint") or ""), target) or fingerprint_of(
        rule, path, line, commit
    )
    return Finding(
        tool="gitleaks",
        scan=SCAN_NAME,
        kind="secret",
        target=target,
        rule_id=rule,
        severity=SECRET_SEVERITY,
        title=str(item.get("Description") or rule),
        path=path,
        line=line if isinstance(line, int) and line > 0 else None,
        commit=commit,
        fingerprint=fingerprint,
    )
