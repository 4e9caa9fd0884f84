"""The shared Finding record."""

from __future__ import annotations

import pytest

from conveyor.findings import Finding, Severity, fingerprint_of, severity_of, severity_rank


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
    return Finding.model_validate(values)


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
    with pytest.raises(ValueError, match="frozen"):
        finding.rule_id = "x"
    with pytest.raises(ValueError, match="severity"):
        make(severity="SEVERE")
