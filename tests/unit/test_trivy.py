"""Trivy adapter: argv, DB status, report parsing (real runs live in tests/integration)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from conveyor.errors import ToolFailedError
from conveyor.tools.trivy import (
    Trivy,
    TrivyScan,
    VulnDbUnavailableError,
    db_status,
    default_cache_dir,
    overriding_environment,
    parse_report,
    read_json,
)

REPORT: dict[str, Any] = {
    "SchemaVersion": 2,
    "ArtifactName": "acme/app:1",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "acme/app:1 (debian 12.15)",
            "Class": "os-pkgs",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-0001",
                    "PkgName": "openssl",
                    "InstalledVersion": "3.0.1",
                    "FixedVersion": "3.0.2",
                    "Severity": "CRITICAL",
                    "Title": "overflow",
                    "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-0001",
                }
            ],
        },
        {
            "Target": "Dockerfile",
            "Class": "config",
            "Misconfigurations": [
                {
                    "ID": "DS-0002",
                    "Title": "Image user should not be 'root'",
                    "Severity": "HIGH",
                    "Status": "FAIL",
                    "Message": "Specify at least 1 USER command",
                    "CauseMetadata": {"StartLine": 0},
                },
                {"ID": "DS-0001", "Severity": "MEDIUM", "Status": "PASS"},
                {
                    "ID": "DS-0026",
                    "Title": "No HEALTHCHECK defined",
                    "Severity": "LOW",
                    "Status": "FAIL",
                    "CauseMetadata": {"StartLine": 3},
                },
            ],
        },
        {
            "Target": "config/app.env",
            "Class": "secret",
            "Secrets": [
                {
                    "RuleID": "aws-access-key-id",
                    "Severity": "CRITICAL",
                    "Title": "AWS Access Key ID",
                    "StartLine": 2,
                    "Match": "AWS_ACCESS_KEY_ID=********************",
                }
            ],
        },
    ],
}
CLEAN = {"SchemaVersion": 2, "ArtifactName": "/repo", "ArtifactType": "filesystem"}


def scan(**overrides: Any) -> TrivyScan:
    values: dict[str, Any] = {
        "name": "trivy-fs",
        "command": "fs",
        "target": "/repo",
        "scanners": ("vuln", "secret", "misconfig"),
    }
    values.update(overrides)
    return TrivyScan(**values)


def test_fs_argv_offline() -> None:
    trivy = Trivy(path="/bin/trivy", cache_dir=Path("/cache"), db_update=False)
    argv = trivy.argv(scan(skip_dirs=("/repo/.venv",)), Path("/out/fs.json"))
    assert argv[:6] == ["/bin/trivy", "fs", "--format", "json", "--output", "/out/fs.json"]
    # The repository's trivy.yaml, .trivyignore and trivy-secret.yaml are never read.
    for option in ("--config", "--ignorefile", "--secret-config"):
        assert argv[argv.index(option) + 1] == ""
    assert argv[argv.index("--severity") + 1] == "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL"
    assert argv[argv.index("--cache-dir") + 1] == "/cache"
    assert {"--skip-db-update", "--skip-check-update", "--no-progress"} <= set(argv)
    assert argv[argv.index("--scanners") + 1] == "vuln,secret,misconfig"
    assert argv[argv.index("--skip-dirs") + 1] == "/repo/.venv"
    assert argv[-1] == "/repo"


def test_image_argv_online() -> None:
    trivy = Trivy(path="trivy")
    image = scan(
        name="trivy-image",
        command="image",
        target="acme/app:1",
        scanners=("secret",),
        image_config_scanners=("misconfig", "secret"),
    )
    argv = trivy.argv(image, Path("/o.json"))
    assert "--skip-db-update" not in argv
    assert "--cache-dir" not in argv
    assert argv[argv.index("--image-src") + 1] == "docker"
    assert argv[argv.index("--image-config-scanners") + 1] == "misconfig,secret"


def test_config_argv_has_no_db_or_scanner_flags() -> None:
    argv = Trivy(path="trivy", db_update=False).argv(
        scan(command="config", scanners=(), target="/repo/docker"), Path("/o.json")
    )
    assert "--skip-check-update" in argv
    assert not {"--skip-db-update", "--scanners", "--no-progress"} & set(argv)


def test_parse_report_maps_every_kind() -> None:
    findings = parse_report(REPORT, scan(path_prefix="docker"))
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"CVE-2024-0001", "DS-0002", "DS-0026", "aws-access-key-id"}
    vuln = by_rule["CVE-2024-0001"]
    assert (vuln.kind, vuln.severity, vuln.package, vuln.fixed_version) == (
        "vuln",
        "CRITICAL",
        "openssl",
        "3.0.2",
    )
    assert vuln.path == "acme/app:1 (debian 12.15)"
    root = by_rule["DS-0002"]
    assert (root.kind, root.path, root.line) == ("misconfig", "docker/Dockerfile", None)
    assert by_rule["DS-0026"].line == 3
    secret = by_rule["aws-access-key-id"]
    assert (secret.kind, secret.path, secret.line) == ("secret", "docker/config/app.env", 2)
    assert b"****" not in msgspec.json.encode(secret)
    assert all(f.target == "acme/app:1" for f in findings)


def test_a_clean_report_has_no_results_key() -> None:
    assert parse_report(CLEAN, scan()) == []  # what trivy 0.76 writes for a clean target


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "SchemaVersion: required, but not set"),
        ({"Results": None}, "Results: Expected `array`, got `null`"),
        ([1, 2], "not a JSON object"),
        ({**CLEAN, "SchemaVersion": 1}, "SchemaVersion: Invalid enum value 1"),
        ({**CLEAN, "Results": None}, "Results: Expected `array`, got `null`"),
        ({**CLEAN, "Results": [{"Class": "config"}]}, "Results[0].Target: required, but not set"),
        (
            {**CLEAN, "Results": [{"Target": "a", "Class": "secret", "Secrets": [{"RuleID": 1}]}]},
            "Results[0].Secrets[0].RuleID: Expected `str`, got `int`",
        ),
        (
            {
                **CLEAN,
                "Results": [
                    {"Target": "a", "Class": "lang-pkgs", "Vulnerabilities": [{"PkgName": "x"}]}
                ],
            },
            "Results[0].Vulnerabilities[0].VulnerabilityID: required, but not set",
        ),
    ],
)
def test_a_report_without_trivys_shape_is_a_tool_failure(data: Any, problem: str) -> None:
    with pytest.raises(ToolFailedError) as info:
        parse_report(data, scan(), "WARN something\nFATAL the real cause\n")
    assert info.value.message == (
        f"trivy fs (trivy-fs): report does not have trivy's shape ({problem})"
    )
    assert info.value.hint.endswith("FATAL the real cause")


def test_read_json_names_the_tool(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text("not json {", encoding="utf-8")
    with pytest.raises(ToolFailedError) as info:
        read_json(bad, "trivy fs", "line1\nFATAL boom\n")
    assert info.value.message.startswith("trivy fs: wrote no valid JSON report")
    assert info.value.hint.endswith("FATAL boom")
    with pytest.raises(ToolFailedError) as missing:
        read_json(tmp_path / "missing.json", "trivy fs", "")
    assert "(FileNotFoundError)" in missing.value.message
    assert missing.value.hint == "no output on stderr"


def test_db_status(tmp_path: Path) -> None:
    assert not db_status(tmp_path).present
    db = tmp_path / "db"
    db.mkdir()
    (db / "trivy.db").write_bytes(b"")
    (db / "metadata.json").write_text(
        json.dumps({"UpdatedAt": "2026-11-20T06:12:44.123456789Z"}), encoding="utf-8"
    )
    status = db_status(tmp_path)
    assert status.present
    assert status.updated_at == datetime(2026, 11, 20, 6, 12, 44, tzinfo=timezone.utc)
    (db / "metadata.json").write_text("{broken", encoding="utf-8")
    assert db_status(tmp_path).updated_at is None
    (db / "metadata.json").write_text('{"UpdatedAt": "yesterday"}', encoding="utf-8")
    assert db_status(tmp_path).updated_at is None


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIVY_CACHE_DIR", str(tmp_path / "from-env"))
    assert default_cache_dir() == tmp_path / "from-env"  # where trivy itself would look
    monkeypatch.delenv("TRIVY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "trivy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "trivy"


def test_missing_db_offline_is_a_clear_problem(tmp_path: Path) -> None:
    trivy = Trivy(path="trivy", cache_dir=tmp_path, db_update=False)
    with pytest.raises(VulnDbUnavailableError) as info:
        trivy.check_vuln_db(scan())
    assert "vulnerability DB missing" in info.value.message
    assert "trivy image --download-db-only" in info.value.hint
    assert "vuln = false" in info.value.hint
    trivy.check_vuln_db(scan().without_vuln())  # no vuln wanted: nothing to complain about
    assert scan().without_vuln().scanners == ("secret", "misconfig")


def test_only_source_variables_of_the_environment_reach_trivy() -> None:
    environ = {
        "TRIVY_SEVERITY": "LOW",
        "TRIVY_IGNOREFILE": "x",
        "TRIVY_SKIP_FILES": "a",
        "TRIVY_DB_REPOSITORY": "mirror",
        "TRIVY_CACHE_DIR": "/c",
        "PATH": "/bin",
    }
    assert overriding_environment(environ) == [
        "TRIVY_IGNOREFILE",
        "TRIVY_SEVERITY",
        "TRIVY_SKIP_FILES",
    ]
