"""safety adapter: argv for online or offline checks, the offline DB fix-up, the JSON parsed.

safety 2.x checks requirement files with `safety check`; safety 3.x keeps `check` as its
legacy command (the new `scan` needs an account), only its telemetry switch is renamed.
Offline runs read a local directory holding `insecure.json` and `insecure_full.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from packaging.version import InvalidVersion, Version

from conveyor.errors import ConfigError, ToolFailedError

OK_CODES = (0, 64)
"""safety exits 64 when it found vulnerabilities; anything else is a crash."""
DB_FILES = ("insecure.json", "insecure_full.json")
SAFETY_DB_PACKAGE = "safety-db"
"""The `safety-db` setting value meaning "the data shipped by the safety-db package"."""
FIND_SAFETY_DB = (
    "import importlib.util as u; s = u.find_spec('safety_db'); "
    "print(list(s.submodule_search_locations)[0] if s else '')"
)
"""Prints the safety_db package directory (importing safety_db itself crashes)."""
BASE_DOMAIN = "https://pyup.io"


@dataclass(frozen=True)
class SafetyVulnerability:
    """One advisory safety matched against a pinned package."""

    vulnerability_id: str
    package: str
    version: str
    affected: str
    cve: str | None
    advisory: str
    more_info: str


def parse_version(text: str) -> Version:
    """The version from `safety --version` ("safety, version 2.3.5")."""
    match = re.search(r"version\s+(\S+)", text)
    try:
        return Version(match.group(1) if match else text.strip())
    except InvalidVersion:
        raise ToolFailedError(f"safety: cannot read its version from {text.strip()!r}") from None


def safety_argv(
    version: Version,
    requirements: Path,
    report: Path,
    db: Path | None = None,
    executable: str = "safety",
) -> list[str]:
    """`safety check` of a requirements file into a JSON report; offline when `db` is given."""
    telemetry = (
        "--disable-optional-telemetry-data" if version.major < 3 else "--disable-optional-telemetry"
    )
    argv = [executable, telemetry, "check", "-r", str(requirements), "--output", "json"]
    argv += ["--save-json", str(report)]
    if db is not None:
        argv += ["--db", str(db)]
    return argv


def resolve_db_dir(setting: str, project_root: Path, package_dir: str | None) -> Path:
    """The source directory of the offline DB: a path (relative to the project) or the package's."""
    if setting == SAFETY_DB_PACKAGE:
        if not package_dir:
            raise ConfigError(
                "[tool.conveyor.security] key 'safety-db': 'safety-db' is set but the "
                "safety-db package is not installed in the safety group",
                hint="uv add --group safety safety-db",
            )
        source = Path(package_dir)
    else:
        source = project_root / setting
    missing = [name for name in DB_FILES if not (source / name).is_file()]
    if missing:
        raise ConfigError(
            f"[tool.conveyor.security] key 'safety-db': {source} lacks {', '.join(missing)}",
            hint="point it at a directory holding safety's insecure.json and insecure_full.json",
        )
    return source


def prepare_offline_db(source: Path, cache: Path) -> Path:
    """Copy the DB into `cache`, adding `$meta.base_domain` when it is missing.

    safety 2.3.5's JSON output crashes ("Invalid URL 'None'") on data without it, which is
    the case for the safety-db package's files.
    """
    cache.mkdir(parents=True, exist_ok=True)
    for name in DB_FILES:
        data = json.loads((source / name).read_text(encoding="utf-8"))
        meta = data.setdefault("$meta", {})
        meta.setdefault("base_domain", BASE_DOMAIN)
        (cache / name).write_text(json.dumps(data), encoding="utf-8")
    return cache


def published_at(db_dir: Path) -> datetime | None:
    """When an offline DB's data was published: its `$meta.timestamp` (epoch seconds, UTC).

    None when the files carry no readable timestamp: such data cannot be shown to be current.
    """
    for name in reversed(DB_FILES):
        try:
            meta = json.loads((db_dir / name).read_text(encoding="utf-8")).get("$meta", {})
            stamp = meta.get("timestamp") if isinstance(meta, dict) else None
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and stamp > 0:
            return datetime.fromtimestamp(stamp, timezone.utc)
    return None


def package_release_date(version: str) -> datetime | None:
    """The date in a calendar version such as safety-db's `2021.7.17` (None when it has none)."""
    match = re.fullmatch(r"(\d{4})\.(\d{1,2})\.(\d{1,2})(?:\D.*)?", version)
    if match is None:
        return None
    try:
        year, month, day = (int(part) for part in match.groups())
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None


def parse_report(text: str) -> list[SafetyVulnerability]:
    """The vulnerabilities in safety's JSON report (format version 1)."""
    try:
        items = json.loads(text)["vulnerabilities"]
        return [
            SafetyVulnerability(
                vulnerability_id=str(item["vulnerability_id"]),
                package=str(item["package_name"]),
                version=str(item["analyzed_version"]),
                affected=str(item.get("vulnerable_spec") or ""),
                cve=item.get("CVE") or None,
                advisory=str(item.get("advisory") or ""),
                more_info=str(item.get("more_info_url") or ""),
            )
            for item in items
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"safety: unreadable JSON report ({exc.__class__.__name__}: {exc})",
            hint="run safety check --output json by hand to see what it printed",
        ) from None
