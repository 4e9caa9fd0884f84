"""SARIF output: structure GitHub code scanning accepts (schema checks live in integration)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import msgspec

from conveyor.findings import Finding
from conveyor.policy.allowlist import AllowEntry
from conveyor.policy.gate import Decision
from conveyor.reports.sarif import category, sarif_run, write_sarif


def finding(rule: str, **overrides: object) -> Finding:
    values: dict[str, object] = {
        "tool": "trivy",
        "scan": "trivy-image",
        "kind": "vuln",
        "target": "acme/app:1",
        "rule_id": rule,
        "severity": "HIGH",
        "title": f"title {rule}",
        "path": "acme/app:1 (debian 12.15)",
        "fingerprint": f"fp-{rule}",
        "package": "openssl",
        "installed_version": "3.0.1",
        "fixed_version": "3.0.2",
        "url": "https://avd.aquasec.com/x",
    }
    values.update(overrides)
    return msgspec.convert(values, Finding)


def test_run_has_rules_results_and_category() -> None:
    allowed = AllowEntry(id="CVE-2", reason="not reachable", expires=date(2030, 1, 1))
    decisions = [
        Decision(finding("CVE-1"), "fail"),
        Decision(finding("CVE-1", package="libssl", fingerprint="fp-x"), "fail"),
        Decision(finding("CVE-2", severity="LOW", line=7, fixed_version=None), "allowed", allowed),
    ]
    run = sarif_run("trivy-image", "trivy", "0.76.0", decisions)
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("Trivy", "0.76.0")
    assert [r["id"] for r in driver["rules"]] == ["CVE-1", "CVE-2"]
    assert driver["rules"][0]["properties"]["security-severity"] == "8.0"
    assert driver["rules"][0]["helpUri"] == "https://avd.aquasec.com/x"
    assert run["automationDetails"] == {"id": "conveyor/trivy-image/"}
    first, second, third = run["results"]
    assert (first["ruleIndex"], second["ruleIndex"], third["ruleIndex"]) == (0, 0, 1)
    assert first["level"] == "error"
    assert third["level"] == "note"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "acme/app:1%20%28debian%2012.15%29"
    assert location["region"]["startLine"] == 1
    assert third["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert "fixed in 3.0.2" in first["message"]["text"]
    assert third["suppressions"] == [{"kind": "external", "justification": "not reachable"}]
    assert "suppressions" not in first
    assert first["partialFingerprints"] == {"conveyorFingerprint/v1": "fp-CVE-1"}


def test_secret_is_always_an_error_and_names_commit() -> None:
    secret = finding(
        "aws-access-token",
        tool="gitleaks",
        scan="gitleaks",
        kind="secret",
        severity="LOW",
        package=None,
        path="settings.ini",
        commit="1e0c9ada41cf2527",
        url=None,
    )
    run = sarif_run("gitleaks", "gitleaks", "", [Decision(secret, "fail")])
    assert "version" not in run["tool"]["driver"]
    assert run["tool"]["driver"]["name"] == "Gitleaks"
    assert run["results"][0]["level"] == "error"
    assert run["results"][0]["message"]["text"].endswith("in commit 1e0c9ada41cf")


def test_write_sarif_one_file_per_scan_with_distinct_categories(tmp_path: Path) -> None:
    paths = [
        write_sarif(tmp_path, scan, "trivy", "0.76.0", [])
        for scan in ("trivy-image", "trivy-fs", "trivy-config")
    ]
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    assert [p.name for p in paths] == ["trivy-image.sarif", "trivy-fs.sarif", "trivy-config.sarif"]
    assert all(d["version"] == "2.1.0" and len(d["runs"]) == 1 for d in documents)
    ids = {d["runs"][0]["automationDetails"]["id"] for d in documents}
    assert ids == {category("trivy-image"), category("trivy-fs"), category("trivy-config")}
