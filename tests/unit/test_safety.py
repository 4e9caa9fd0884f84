"""safety adapter: version and argv, the offline DB fix-up, JSON parsing (real runs:
tests/integration)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from packaging.version import Version

from conveyor.errors import ConfigError, ToolFailedError
from conveyor.tools.safety import (
    BASE_DOMAIN,
    SafetyVulnerability,
    package_release_date,
    parse_report,
    parse_version,
    prepare_offline_db,
    published_at,
    resolve_db_dir,
    safety_argv,
)

VULNERABILITY = {
    "vulnerability_id": "36546",
    "package_name": "requests",
    "analyzed_version": "2.19.0",
    "vulnerable_spec": "<=2.19.1",
    "advisory": "The Requests package through 2.19.1 sends an HTTP Authorization header...",
    "CVE": "CVE-2018-18074",
    "more_info_url": "https://pyup.io",
}


def test_version_is_read_from_its_banner() -> None:
    assert parse_version("safety, version 2.3.5\n") == Version("2.3.5")
    assert parse_version("3.2.0") == Version("3.2.0")
    with pytest.raises(ToolFailedError, match="cannot read its version"):
        parse_version("safety, version unknown")


def test_argv_online_and_offline_for_each_major() -> None:
    req, report = Path("req.txt"), Path("safety.json")
    online = safety_argv(Version("2.3.5"), req, report)
    assert online == [
        "safety",
        "--disable-optional-telemetry-data",
        "check",
        "-r",
        "req.txt",
        "--output",
        "json",
        "--save-json",
        "safety.json",
    ]
    offline = safety_argv(Version("2.3.5"), req, report, Path("db"))
    assert offline[-2:] == ["--db", "db"]
    assert safety_argv(Version("3.2.0"), req, report)[1] == "--disable-optional-telemetry"
    assert safety_argv(Version("2.3.5"), req, report, executable="/opt/safety")[0] == "/opt/safety"


def write_db(directory: Path, meta: dict[str, object]) -> Path:
    directory.mkdir(parents=True)
    for name in ("insecure.json", "insecure_full.json"):
        (directory / name).write_text(json.dumps({"$meta": meta, "requests": []}))
    return directory


def test_offline_db_gains_a_base_domain_and_keeps_one_it_has(tmp_path: Path) -> None:
    source = write_db(tmp_path / "src", {"timestamp": 1})
    prepared = prepare_offline_db(source, tmp_path / "cache")
    for name in ("insecure.json", "insecure_full.json"):
        data = json.loads((prepared / name).read_text())
        assert data["$meta"] == {"timestamp": 1, "base_domain": BASE_DOMAIN}
        assert data["requests"] == []
    own = write_db(tmp_path / "own", {"base_domain": "https://mirror.example"})
    again = prepare_offline_db(own, tmp_path / "cache2")
    meta = json.loads((again / "insecure.json").read_text())["$meta"]
    assert meta["base_domain"] == "https://mirror.example"


def test_db_dir_resolution(tmp_path: Path) -> None:
    package = write_db(tmp_path / "site" / "safety_db", {})
    assert resolve_db_dir("safety-db", tmp_path, str(package)) == package
    write_db(tmp_path / "vendor" / "db", {})
    assert resolve_db_dir("vendor/db", tmp_path, None) == tmp_path / "vendor" / "db"
    with pytest.raises(ConfigError, match="safety-db package is not installed"):
        resolve_db_dir("safety-db", tmp_path, "")
    with pytest.raises(ConfigError, match=r"lacks insecure\.json, insecure_full\.json"):
        resolve_db_dir("nowhere", tmp_path, None)


def test_report_vulnerabilities_become_typed_records() -> None:
    text = json.dumps({"vulnerabilities": [VULNERABILITY, {**VULNERABILITY, "CVE": None}]})
    first, second = parse_report(text)
    assert first == SafetyVulnerability(
        vulnerability_id="36546",
        package="requests",
        version="2.19.0",
        affected="<=2.19.1",
        cve="CVE-2018-18074",
        advisory=VULNERABILITY["advisory"],
        more_info="https://pyup.io",
    )
    assert second.cve is None
    with pytest.raises(ToolFailedError, match="safety: unreadable JSON report"):
        parse_report('{"report_meta": {}}')


def test_offline_data_carries_its_publication_date(tmp_path: Path) -> None:
    dated = write_db(tmp_path / "dated", {"advisory": "PyUp.io metadata", "timestamp": 1625119202})
    assert published_at(dated) == datetime(2021, 7, 1, 6, 0, 2, tzinfo=timezone.utc)
    undated: tuple[dict[str, object], ...] = (
        {},
        {"timestamp": "yesterday"},
        {"timestamp": True},
        {"timestamp": -5},
    )
    for index, meta in enumerate(undated):
        assert published_at(write_db(tmp_path / f"undated{index}", meta)) is None
    assert published_at(tmp_path / "missing") is None


def test_calendar_versions_give_a_release_date() -> None:
    assert package_release_date("2021.7.17") == datetime(2021, 7, 17, tzinfo=timezone.utc)
    assert package_release_date("2021.7.17.post1") == datetime(2021, 7, 17, tzinfo=timezone.utc)
    assert package_release_date("2.3.5") is None
    assert package_release_date("2021.13.40") is None
