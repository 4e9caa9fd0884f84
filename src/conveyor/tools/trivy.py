"""Trivy adapter: image / fs / config scans as argv, JSON reports parsed into Findings.

Offline use is first-class: the cache directory and DB-update policy come from config, and a
missing vulnerability DB turns into a clear problem for the vuln scanner only, while the
secret and misconfig scanners still run.

Only Conveyor's allowlist accepts findings: trivy runs from an empty directory of its own with
its config, ignore and secret-config files switched off (`--config ""` ...), every severity
shown, and without the TRIVY_* variables that would change what it reports.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import msgspec

from conveyor.errors import ConveyorError, ToolFailedError
from conveyor.findings import SEVERITIES, Finding, Kind, fingerprint_of, severity_of
from conveyor.runner import DEFAULT_RUNNER, Runner, stderr_tail
from conveyor.shapes import where_and_what
from conveyor.tools.discovery import TRIVY, discover

Command = Literal["image", "fs", "config"]
DB_PRELOAD_HINT = (
    "pre-load it: on a connected machine run `trivy image --download-db-only --cache-dir DIR` "
    "and copy DIR to [tool.conveyor.scan] trivy-cache-dir here; or scan without it on purpose "
    "with [tool.conveyor.scan] vuln = false (or `inv scan --no-vuln` for one run)"
)
_DB_ERROR_MARKERS = ("db error", "vulnerability db", "download db", "--skip-db-update cannot")


REPOSITORY_FILES = (".trivyignore", ".trivyignore.yaml", "trivy.yaml", "trivy-secret.yaml")
"""Files through which a repository could tell trivy to report less (none is read)."""
KEPT_ENVIRONMENT = frozenset(
    {
        "TRIVY_CACHE_DIR",
        "TRIVY_DB_REPOSITORY",
        "TRIVY_JAVA_DB_REPOSITORY",
        "TRIVY_CHECKS_BUNDLE_REPOSITORY",
        "TRIVY_USERNAME",
        "TRIVY_PASSWORD",
        "TRIVY_REGISTRY_TOKEN",
        "TRIVY_INSECURE",
        "TRIVY_NON_SSL",
        "TRIVY_TIMEOUT",
        "TRIVY_DOCKER_HOST",
        "TRIVY_PODMAN_HOST",
    }
)
"""TRIVY_* variables that say where data comes from, never what is reported."""


def overriding_environment(environ: Mapping[str, str]) -> list[str]:
    """TRIVY_* variables that could change what trivy reports (severity, ignores, skips...)."""
    return sorted(k for k in environ if k.startswith("TRIVY_") and k not in KEPT_ENVIRONMENT)


class VulnDbUnavailableError(ToolFailedError):
    """The vulnerability scanner cannot run: no DB in the cache and none downloadable."""


@dataclass(frozen=True)
class DbStatus:
    """What the cache says about trivy's vulnerability DB."""

    path: Path
    present: bool
    updated_at: datetime | None = None


def default_cache_dir() -> Path:
    """Where trivy looks without --cache-dir: $TRIVY_CACHE_DIR, else $XDG_CACHE_HOME/trivy or
    ~/.cache/trivy."""
    if os.environ.get("TRIVY_CACHE_DIR"):
        return Path(os.environ["TRIVY_CACHE_DIR"]).expanduser()
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
    require_targets: bool = False  # a config scan that found no file to check checked nothing

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
        # No trivy.yaml, no .trivyignore (empty string: not loaded), every severity reported.
        argv += ["--config", "", "--ignorefile", "", "--severity", ",".join(reversed(SEVERITIES))]
        if self.cache_dir is not None:
            argv += ["--cache-dir", str(self.cache_dir)]
        if not self.db_update:
            argv += ["--skip-check-update"]
        if scan.command != "config":  # `trivy config` has no DB, progress bar, scanners, secrets
            argv += ["--no-progress", "--scanners", ",".join(scan.scanners)]
            argv += ["--secret-config", ""]
            if not self.db_update:
                argv += ["--skip-db-update"]
        if scan.command == "image":
            # The scan cache in memory: parallel trivy processes (one per image, or another
            # pipeline on this machine) would otherwise queue on its file lock and time out.
            argv += ["--image-src", "docker", "--cache-backend", "memory"]
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
        report = report.absolute()
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix="conveyor-trivy-") as neutral:
            done = self.runner.run(
                self.argv(scan, report),
                cwd=neutral,
                unset_env=overriding_environment(os.environ),
                ok_codes=range(256),
                tool=f"trivy {scan.command}",
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
        return parse_report(
            read_json(report, f"trivy {scan.command}", done.stderr), scan, done.stderr
        )


def read_json(report: Path, tool: str, stderr: str) -> Any:
    """The JSON a tool wrote, or ToolFailedError naming the tool with its stderr tail."""
    try:
        return json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolFailedError(
            f"{tool}: wrote no valid JSON report to {report} ({type(exc).__name__})",
            hint=stderr_tail(stderr) or "no output on stderr",
        ) from None


class _Record(msgspec.Struct, frozen=True):
    """A piece of trivy's JSON: the keys Conveyor reads must be there, with their types (read
    strictly, see read_report); keys Conveyor does not read are dropped."""


class _Vulnerability(_Record, frozen=True):
    VulnerabilityID: str
    PkgName: str
    Severity: str
    InstalledVersion: str = ""
    FixedVersion: str = ""
    PkgPath: str = ""
    Title: str = ""
    PrimaryURL: str = ""


class _Cause(_Record, frozen=True):
    StartLine: int = 0


class _Misconfiguration(_Record, frozen=True):
    ID: str
    Severity: str
    Status: str
    Title: str = ""
    Message: str = ""
    PrimaryURL: str = ""
    CauseMetadata: _Cause = _Cause()  # frozen: one shared default is safe


class _Secret(_Record, frozen=True):
    RuleID: str
    Severity: str
    StartLine: int
    Title: str = ""


class _Result(_Record, frozen=True):
    Target: str
    Class: str
    Vulnerabilities: list[_Vulnerability] = []
    Misconfigurations: list[_Misconfiguration] = []
    Secrets: list[_Secret] = []


class TrivyReport(_Record, frozen=True):
    """Trivy's JSON report (schema 2). Trivy leaves `Results` out when it has none; it never
    writes null or an object without its schema version and artifact."""

    SchemaVersion: Literal[2]
    ArtifactName: str
    ArtifactType: str
    Results: list[_Result] = []


def _shape_problem(error: msgspec.ValidationError) -> str:
    where, what = where_and_what(error)
    return f"{where}: {what}" if where else "not a JSON object"


def read_report(data: Any, scan: TrivyScan, stderr: str = "") -> TrivyReport:
    """`data` as a TrivyReport, or ToolFailedError (with stderr's tail) naming what is off."""
    try:
        return msgspec.convert(data, TrivyReport, strict=True)
    except msgspec.ValidationError as exc:
        raise ToolFailedError(
            f"trivy {scan.command} ({scan.name}): report does not have trivy's shape "
            f"({_shape_problem(exc)})",
            hint=stderr_tail(stderr) or "run the same trivy command by hand to see what it wrote",
        ) from None


def parse_report(data: Any, scan: TrivyScan, stderr: str = "") -> list[Finding]:
    """Trivy's JSON (schema v2) as Findings: vulnerabilities, failed misconfigs, secrets."""
    report = read_report(data, scan, stderr)
    if scan.require_targets and not report.Results:
        raise ToolFailedError(
            f"trivy {scan.command} ({scan.name}): found no file to check in {scan.target}",
            hint="point [tool.conveyor.scan] config-dir at your Dockerfiles and compose files, "
            "or drop 'config' from scanners",
        )
    artifact = report.ArtifactName or scan.target
    findings: list[Finding] = []
    for result in report.Results:
        where = _join(scan.path_prefix, result.Target)
        findings += [_vuln(scan, artifact, where, v) for v in result.Vulnerabilities]
        findings += [
            _misconfig(scan, artifact, where, m)
            for m in result.Misconfigurations
            if m.Status == "FAIL"
        ]
        findings += [_secret(scan, artifact, where, s) for s in result.Secrets]
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


def _vuln(scan: TrivyScan, artifact: str, where: str, item: _Vulnerability) -> Finding:
    vuln_id = item.VulnerabilityID
    return _finding(
        scan,
        "vuln",
        artifact,
        item.PkgPath or where,
        vuln_id,
        severity=severity_of(item.Severity),
        title=item.Title or vuln_id,
        package=item.PkgName or None,
        installed_version=item.InstalledVersion or None,
        fixed_version=item.FixedVersion or None,
        url=item.PrimaryURL or None,
        fingerprint=fingerprint_of("trivy", vuln_id, item.PkgName, item.InstalledVersion, where),
    )


def _misconfig(scan: TrivyScan, artifact: str, where: str, item: _Misconfiguration) -> Finding:
    line = item.CauseMetadata.StartLine
    return _finding(
        scan,
        "misconfig",
        artifact,
        where,
        item.ID,
        severity=severity_of(item.Severity),
        title=item.Title or item.Message or item.ID,
        line=line if line > 0 else None,
        url=item.PrimaryURL or None,
        fingerprint=fingerprint_of("trivy", item.ID, where, item.Message),
    )


def _secret(scan: TrivyScan, artifact: str, where: str, item: _Secret) -> Finding:
    """A secret finding; the matched text (even masked) is never kept."""
    line = item.StartLine
    return _finding(
        scan,
        "secret",
        artifact,
        where,
        item.RuleID,
        severity=severity_of(item.Severity),
        title=item.Title or item.RuleID,
        line=line if line > 0 else None,
        fingerprint=fingerprint_of("trivy", item.RuleID, where, line),
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
