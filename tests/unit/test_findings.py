"""The shared Finding record."""

from __future__ import annotations

import msgspec
import pytest

from conveyor.findings import (
    Finding,
    Severity,
    fingerprint_of,
    merge_duplicates,
    severity_of,
    severity_rank,
)


def make(**overrides: object) -> Finding:
    values: dict[str, object] = {
        "tool": "trivy",
        "scan": "trivy-fs",
        "kind": "misconfig",
        "target": "/repo",
        "rule_id": "DS-0002",
        "severity": "HIGH",
        "title": "root user",
        "path": "docker/Dockerfile",
        "line": 3,
        "fingerprint": "abc",
    }
    values.update(overrides)
    return msgspec.convert(values, Finding)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("critical", "CRITICAL"),
        ("HIGH", "HIGH"),
        ("medium", "MEDIUM"),
        ("bogus", "UNKNOWN"),
        (None, "UNKNOWN"),
    ],
)
def test_severity_of(raw: object, expected: str) -> None:
    assert severity_of(raw) == expected


def test_severity_rank_orders_most_severe_first() -> None:
    levels: list[Severity] = ["LOW", "CRITICAL", "UNKNOWN", "HIGH"]
    ranked = sorted(levels, key=severity_rank)
    assert ranked == ["CRITICAL", "HIGH", "LOW", "UNKNOWN"]


def test_fingerprint_is_stable_and_distinguishes_parts() -> None:
    assert fingerprint_of("a", 1) == fingerprint_of("a", 1)
    assert fingerprint_of("a", 1) != fingerprint_of("a1")
    assert len(fingerprint_of("x")) == 16


def test_location() -> None:
    assert make().location == "docker/Dockerfile:3"
    assert make(line=None, path="").location == "/repo"
    assert make(commit="0123456789abcdef", line=2, path="a.txt").location == "a.txt:2@01234567"


def test_finding_is_immutable_and_validated() -> None:
    finding = make()
    with pytest.raises(AttributeError, match="immutable"):
        finding.rule_id = "x"  # type: ignore[misc]
    with pytest.raises(msgspec.ValidationError, match="severity"):
        make(severity="SEVERE")


def test_one_finding_per_rule_file_and_line_naming_every_scan() -> None:
    fs = make(scan="trivy-fs")
    config = make(scan="trivy-config", fingerprint="other")
    other_line = make(scan="trivy-config", line=9)
    gitleaks = make(tool="gitleaks", scan="gitleaks", kind="secret")
    merged = merge_duplicates([fs, config, other_line, gitleaks, make(scan="trivy-fs")])
    assert [(f.scan, f.line, f.scans) for f in merged] == [
        ("trivy-fs", 3, ("trivy-fs", "trivy-config")),
        ("trivy-config", 9, ("trivy-config",)),
        ("gitleaks", 3, ("gitleaks",)),
    ]
    assert merged[0].fingerprint == "abc"  # the first report is the one kept
    assert make().scans == ("trivy-fs",)
    vulns = [
        make(kind="vuln", rule_id="CVE-1", package="openssl", installed_version=v, line=None)
        for v in ("3.0.1", "3.0.2")
    ]
    assert len(merge_duplicates(vulns)) == 2  # two installed versions are two findings
