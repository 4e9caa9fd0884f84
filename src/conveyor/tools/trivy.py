"""Trivy adapter: image / fs / config scans as argv, JSON reports parsed into Findings.

Offline use is first-class: the cache directory and DB-update policy come from config, and a
missing vulnerability DB turns into a clear problem for the vuln scanner only, while the
secret and misconfig scanners still run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from conveyor.errors import ConveyorError, ToolFailedError
from conveyor.findings import Finding, Kind, fingerprint_of, severity_of
from conveyor.runner import DEFAULT_RUNNER, Runner, stderr_tail
from conveyor.tools.discovery import TRIVY, discover

Command = Literal["image", "fs", "config"]
DB_PRELOAD_HINT = (
    "pre-load it: on a connected machine run `trivy image --download-db-only --cache-dir DIR` "
    "and copy DIR to [tool.conveyor.scan] trivy-cache-dir here; or scan without it on purpose "
    "with [tool.conveyor.scan] vuln = false (or `inv scan --no-vuln` for one run)"
)
_DB_ERROR_MARKERS = ("db error", "vulnerability db", "download db", "--skip-db-update cannot")


class VulnDbUnavailableError(ToolFailedError):
    """The vulnerability scanner cannot run: no DB in the cache and none downloadable."""


@dataclass(frozen=True)
class DbStatus:
    """What the cache says about trivy's vulnerability DB."""

    path: Path
    present: bool
    updated_at: datetime | None = None

    def age_text(self, now: datetime | None = None) -> str:
        """e.g. '3 days old', or 'age unknown'."""
        if self.updated_at is None:
            return "age unknown"
        delta = (now or datetime.now(timezone.utc)) - self.updated_at
        days = delta.days
        if days >= 1:
            return f"{days} day{'s' if days != 1 else ''} old"
        return f"{int(delta.total_seconds() // 3600)} hours old"


def default_cache_dir() -> Path:
    """Trivy's own default: $XDG_CACHE_HOME/trivy or ~/.cache/trivy."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trivy"


def _parse_time(text: object) -> datetime | None:
    """Trivy's RFC 3339 timestamps (nanoseconds, 'Z') to the second, as UTC."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def db_status(cache_dir: Path) -> DbStatus:
    """Is `cache_dir/db/trivy.db` there, and when was it built (metadata.json UpdatedAt)?"""
    db_dir = cache_dir / "db"
    present = (db_dir / "trivy.db").is_file()
    updated = None
    try:
        meta = json.loads((db_dir / "metadata.json").read_text(encoding="utf-8"))
        updated = _parse_time(meta.get("UpdatedAt") or meta.get("DownloadedAt"))
    except (OSError, ValueError, AttributeError):
        updated = None
    return DbStatus(path=db_dir, present=present, updated_at=updated)


@dataclass(frozen=True)
class TrivyScan:
    """One trivy run: which command, on what, with which scanners, named for reports."""

    name: str
    command: Command
    target: str
    scanners: tuple[str, ...] = ()
    image_config_scanners: tuple[str, ...] = ()
    skip_dirs: tuple[str, ...] = ()
    path_prefix: str = ""

    @property
    def wants_vuln(self) -> bool:
        return "vuln" in self.scanners

    def without_vuln(self) -> TrivyScan:
        return replace(self, scanners=tuple(s for s in self.scanners if s != "vuln"))


@dataclass
class Trivy:
    """A trivy binary with the cache and DB policy from config."""

    path: str = "trivy"
    runner: Runner = field(default_factory=lambda: DEFAULT_RUNNER)
    cache_dir: Path | None = None
    db_update: bool = True
    version: str = ""

    @classmethod
    def discover(
        cls,
        configured: str | None = None,
        *,
        cache_dir: Path | None = None,
        db_update: bool = True,
        runner: Runner = DEFAULT_RUNNER,
    ) -> Trivy:
        """A Trivy whose binary is found and recent enough."""
        found = discover(TRIVY, configured, runner)
        return cls(
            path=found.path,
            runner=runner,
            cache_dir=cache_dir,
            db_update=db_update,
            version=found.version,
        )

    @property
    def cache(self) -> Path:
        return self.cache_dir or default_cache_dir()

    def db(self) -> DbStatus:
        """The vulnerability DB status in this trivy's cache."""
        return db_status(self.cache)

    def argv(self, scan: TrivyScan, report: Path) -> list[str]:
        """The trivy command line for `scan`, writing JSON to `report`."""
        argv = [self.path, scan.command, "--format", "json", "--output", str(report)]
        argv += ["--skip-version-check", "--disable-telemetry"]
        if self.cache_dir is not None:
            argv += ["--cache-dir", str(self.cache_dir)]
        if not self.db_update:
            argv += ["--skip-check-update"]
        if scan.command != "config":  # `trivy config` has no DB, progress bar or scanners
            argv += ["--no-progress", "--scanners", ",".join(scan.scanners)]
            if not self.db_update:
                argv += ["--skip-db-update"]
        if scan.command == "image":
            argv += ["--image-src", "docker"]
            if scan.image_config_scanners:
                argv += ["--image-config-scanners", ",".join(scan.image_config_scanners)]
        for skipped in scan.skip_dirs:
            argv += ["--skip-dirs", skipped]
        argv.append(scan.target)
        return argv

    def check_vuln_db(self, scan: TrivyScan) -> None:
        """Raise VulnDbUnavailableError when `scan` needs a DB that cannot be had offline."""
        if scan.wants_vuln and not self.db_update and not self.db().present:
            raise VulnDbUnavailableError(
                f"trivy: vulnerability DB missing in {self.cache / 'db'} and DB updates are off "
                f"([tool.conveyor.scan] trivy-db-update = false); {scan.name} ran without vuln",
                hint=DB_PRELOAD_HINT,
            )

    def scan(self, scan: TrivyScan, report: Path) -> list[Finding]:
        """Run `scan`; raise ToolFailedError naming trivy with stderr's tail on a crash."""
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        done = self.runner.run(
            self.argv(scan, report), ok_codes=range(256), tool=f"trivy {scan.command}"
        )
        if done.returncode != 0:
            message = f"trivy {scan.command} ({scan.name}): exited {done.returncode}"
            tail = stderr_tail(done.stderr or done.stdout)
            if scan.wants_vuln and any(m in tail.lower() for m in _DB_ERROR_MARKERS):
                raise VulnDbUnavailableError(
                    f"{message}: the vulnerability DB is not available (cache {self.cache / 'db'})",
                    hint=f"{DB_PRELOAD_HINT}\n{tail}",
                )
            raise ToolFailedError(message, hint=tail)
        return parse_report(read_json(report, f"trivy {scan.command}", done.stderr), scan)


def read_json(report: Path, tool: str, stderr: str) -> Any:
    """The JSON a tool wrote, or ToolFailedError naming the tool with its stderr tail."""
    try:
        return json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolFailedError(
            f"{tool}: wrote no valid JSON report to {report} ({type(exc).__name__})",
            hint=stderr_tail(stderr) or "no output on stderr",
        ) from None


def _items(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def parse_report(data: Any, scan: TrivyScan) -> list[Finding]:
    """Trivy's JSON (schema v2) as Findings: vulnerabilities, failed misconfigs, secrets."""
    if not isinstance(data, Mapping):
        raise ToolFailedError(
            f"trivy {scan.command} ({scan.name}): report is not a JSON object",
            hint="run the same trivy command by hand to see what it wrote",
        )
    artifact = str(data.get("ArtifactName") or scan.target)
    findings: list[Finding] = []
    for result in _items(data.get("Results")):
        where = _join(scan.path_prefix, str(result.get("Target") or ""))
        findings += [_vuln(scan, artifact, where, v) for v in _items(result.get("Vulnerabilities"))]
        findings += [
            _misconfig(scan, artifact, where, m)
            for m in _items(result.get("Misconfigurations"))
            if m.get("Status", "FAIL") == "FAIL"
        ]
        findings += [_secret(scan, artifact, where, s) for s in _items(result.get("Secrets"))]
    return findings


def _join(prefix: str, target: str) -> str:
    if prefix and target and not target.startswith("/") and " (" not in target:
        return f"{prefix.rstrip('/')}/{target}"
    return target


def _finding(
    scan: TrivyScan, kind: Kind, artifact: str, where: str, rule: str, **extra: Any
) -> Finding:
    return Finding(
        tool="trivy", scan=scan.name, kind=kind, target=artifact, rule_id=rule, path=where, **extra
    )


def _vuln(scan: TrivyScan, artifact: str, where: str, item: Mapping[str, Any]) -> Finding:
    vuln_id = str(item.get("VulnerabilityID") or "UNKNOWN")
    package = str(item.get("PkgName") or "")
    installed = str(item.get("InstalledVersion") or "")
    return _finding(
        scan,
        "vuln",
        artifact,
        str(item.get("PkgPath") or where),
        vuln_id,
        severity=severity_of(item.get("Severity")),
        title=str(item.get("Title") or vuln_id),
        package=package or None,
        installed_version=installed or None,
        fixed_version=str(item.get("FixedVersion") or "") or None,
        url=item.get("PrimaryURL") or None,
        fingerprint=fingerprint_of("trivy", scan.name, vuln_id, package, installed, where),
    )


def _misconfig(scan: TrivyScan, artifact: str, where: str, item: Mapping[str, Any]) -> Finding:
    rule = str(item.get("ID") or item.get("AVDID") or "UNKNOWN")
    cause = item.get("CauseMetadata") or {}
    line = cause.get("StartLine") if isinstance(cause, Mapping) else None
    return _finding(
        scan,
        "misconfig",
        artifact,
        where,
        rule,
        severity=severity_of(item.get("Severity")),
        title=str(item.get("Title") or item.get("Message") or rule),
        line=line if isinstance(line, int) and line > 0 else None,
        url=item.get("PrimaryURL") or None,
        fingerprint=fingerprint_of("trivy", scan.name, rule, where, item.get("Message", "")),
    )


def _secret(scan: TrivyScan, artifact: str, where: str, item: Mapping[str, Any]) -> Finding:
    """A secret finding; the matched text (even masked) is never kept."""
    rule = str(item.get("RuleID") or "secret")
    line = item.get("StartLine")
    return _finding(
        scan,
        "secret",
        artifact,
        where,
        rule,
        severity=severity_of(item.get("Severity")),
        title=str(item.get("Title") or rule),
        line=line if isinstance(line, int) and line > 0 else None,
        fingerprint=fingerprint_of("trivy", scan.name, rule, where, line),
    )


def scan_or_degrade(
    trivy: Trivy, scan: TrivyScan, report: Path
) -> tuple[list[Finding], list[ConveyorError]]:
    """Run `scan`; when only the vuln DB is missing, rerun without vuln and report it."""
    problems: list[ConveyorError] = []
    try:
        trivy.check_vuln_db(scan)
        return trivy.scan(scan, report), problems
    except VulnDbUnavailableError as exc:
        problems.append(exc)
    return trivy.scan(scan.without_vuln(), report), problems
