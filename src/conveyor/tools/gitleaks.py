"""Gitleaks adapter: full-history (or directory) secret scan, always redacted, parsed to Findings.

`--exit-code LEAKS_EXIT` tells "leaks found" apart from gitleaks' own errors (exit 1), so a
crash is never mistaken for a clean or a failed scan.

Only Conveyor's allowlist accepts findings: gitleaks gets Conveyor's config (its default
rules, `[extend] useDefault = true`), an ignore path with no `.gitleaksignore`, and
`--ignore-gitleaks-allow`, from an empty directory of its own. Gitleaks 8.30 also reads
SOURCE/.gitleaksignore whatever its flags say, so history is scanned through the git
directory (the same commits, where no such file lives).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from conveyor.errors import ToolFailedError
from conveyor.findings import Finding, Severity, fingerprint_of
from conveyor.runner import DEFAULT_RUNNER, Runner, stderr_tail
from conveyor.shapes import where_and_what
from conveyor.tools.discovery import GITLEAKS, discover
from conveyor.tools.trivy import read_json

LEAKS_EXIT = 42
SCAN_NAME = "gitleaks"
# gitleaks has no severity of its own; every secret fails the gate anyway.
SECRET_SEVERITY: Severity = "HIGH"  # noqa: S105 - a severity, not a password
REPOSITORY_FILES = (".gitleaks.toml", ".gitleaksignore")
"""Files through which a repository could tell gitleaks to report less (none is read)."""
CONFIG = "# Written by Conveyor: gitleaks' own default rules.\n[extend]\nuseDefault = true\n"
IGNORE_FILE = ".gitleaksignore"


def overriding_environment(environ: Mapping[str, str]) -> list[str]:
    """GITLEAKS_* variables (GITLEAKS_CONFIG, GITLEAKS_CONFIG_TOML) that would swap the rules."""
    return sorted(k for k in environ if k.startswith("GITLEAKS_"))


def is_git_repository(source: Path) -> bool:
    """True when `source` is a git work tree root (then history is scanned, not files)."""
    return (source / ".git").exists()


def git_dir(work_tree: Path) -> Path:
    """The git directory of `work_tree`: `.git`, or where a `.git` file (worktree, submodule)
    points."""
    dot_git = work_tree / ".git"
    if dot_git.is_file():
        text = dot_git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:") :].strip())
            return target if target.is_absolute() else (work_tree / target).resolve()
    return dot_git


class GitleaksLeak(msgspec.Struct, frozen=True):
    """One item of gitleaks' JSON report: the keys Conveyor reads, with their types (read
    strictly; keys Conveyor does not read, `Secret` and `Match` among them, are dropped)."""

    RuleID: str
    File: str
    StartLine: int
    Fingerprint: str
    Commit: str
    Description: str = ""


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

    def argv(
        self, source: Path, report: Path, *, history: bool, private_dir: Path | None = None
    ) -> list[str]:
        """`gitleaks git` (every commit) or `gitleaks dir`, redacted, JSON to `report`.

        With `private_dir`, its `gitleaks.toml` is the config and it is the ignore path.
        """
        own = []
        if private_dir is not None:
            own = ["--config", str(private_dir / "gitleaks.toml")]
            own += ["--gitleaks-ignore-path", str(private_dir), "--ignore-gitleaks-allow"]
        return [
            self.path,
            "git" if history else "dir",
            *own,
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
        report = report.absolute()
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        history = is_git_repository(source)
        if not history and (source / IGNORE_FILE).is_file():
            raise ToolFailedError(
                f"gitleaks dir: {source / IGNORE_FILE} would hide findings (gitleaks always "
                "reads it when scanning a directory)",
                hint="accept findings in Conveyor's allowlist instead (id = the fingerprint, "
                "with reason and expires), then delete the file",
            )
        scanned = git_dir(source) if history else source
        with tempfile.TemporaryDirectory(prefix="conveyor-gitleaks-") as private:
            (Path(private) / "gitleaks.toml").write_text(CONFIG, encoding="utf-8")
            done = self.runner.run(
                self.argv(scanned, report, history=history, private_dir=Path(private)),
                cwd=private,
                unset_env=overriding_environment(os.environ),
                ok_codes=range(256),
                tool="gitleaks",
            )
        if done.returncode not in (0, LEAKS_EXIT):
            raise ToolFailedError(
                f"gitleaks {'git' if history else 'dir'}: exited {done.returncode} "
                f"scanning {source}",
                hint=stderr_tail(done.stderr or done.stdout) or "no output on stderr",
            )
        data = read_json(report, "gitleaks", done.stderr)
        findings = parse_report(data, str(source), done.stderr)
        if done.returncode == LEAKS_EXIT and not findings:
            raise ToolFailedError(
                "gitleaks: reported leaks but its JSON report lists none",
                hint=stderr_tail(done.stderr) or "no output on stderr",
            )
        return findings


def parse_report(data: Any, target: str, stderr: str = "") -> list[Finding]:
    """Gitleaks' JSON list as Findings; `Secret` and `Match` are never kept.

    Anything but a list of leaks with their keys is a tool failure, never "no leaks".
    """
    if not isinstance(data, list):
        raise ToolFailedError(
            "gitleaks: report is not a JSON list",
            hint=stderr_tail(stderr)
            or "run the same gitleaks command by hand to see what it wrote",
        )
    leaks = []
    for index, item in enumerate(data):
        try:
            leaks.append(msgspec.convert(item, GitleaksLeak, strict=True))
        except msgspec.ValidationError as exc:
            where, what = where_and_what(exc)
            problem = f"{where}: {what}" if where else "not a JSON object"
            raise ToolFailedError(
                f"gitleaks: report item {index} does not have gitleaks' shape ({problem})",
                hint=stderr_tail(stderr) or "run the same gitleaks command by hand",
            ) from None
    return [_finding(leak, target) for leak in leaks]


def _relative(path: str, source: str) -> str:
    """`gitleaks dir` reports paths with the source in front; the reports want them relative."""
    prefix = source.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _finding(leak: GitleaksLeak, target: str) -> Finding:
    path = _relative(leak.File, target)
    line = leak.StartLine
    commit = leak.Commit or None
    # Relative, like the path, so an allowlist entry works on every checkout.
    fingerprint = _relative(leak.Fingerprint, target) or fingerprint_of(
        leak.RuleID, path, line, commit
    )
    return Finding(
        tool="gitleaks",
        scan=SCAN_NAME,
        kind="secret",
        target=target,
        rule_id=leak.RuleID,
        severity=SECRET_SEVERITY,
        title=leak.Description or leak.RuleID,
        path=path,
        line=line if line > 0 else None,
        commit=commit,
        fingerprint=fingerprint,
    )
