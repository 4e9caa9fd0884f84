"""The one scan gate."""

from __future__ import annotations

from datetime import date

import msgspec

from conveyor.findings import Finding
from conveyor.policy.allowlist import AllowEntry, Allowlist
from conveyor.policy.gate import blocks, evaluate

TODAY = date(2026, 6, 1)


def finding(rule: str, severity: str = "HIGH", kind: str = "misconfig", path: str = "a") -> Finding:
    return msgspec.convert(
        {
            "tool": "trivy",
            "scan": "trivy-fs",
            "kind": kind,
            "target": "/repo",
            "rule_id": rule,
            "severity": severity,
            "title": rule,
            "path": path,
            "fingerprint": f"fp-{rule}",
        },
        Finding,
    )


def entry(rule: str, expires: date) -> AllowEntry:
    return AllowEntry(id=rule, reason="accepted risk", expires=expires)


def test_blocks_configured_severities_and_every_secret() -> None:
    assert blocks(finding("a", "CRITICAL"), ("CRITICAL", "HIGH"))
    assert not blocks(finding("a", "MEDIUM"), ("CRITICAL", "HIGH"))
    assert blocks(finding("a", "LOW", kind="secret"), ("CRITICAL",))
    assert blocks(finding("a", "MEDIUM"), ("MEDIUM",))


def test_clean_and_below_the_bar_pass() -> None:
    result = evaluate([finding("low", "LOW")], Allowlist(), today=TODAY)
    assert result.passed
    assert result.reason() == ""
    assert result.counts() == {"pass": 1}
    assert evaluate([], Allowlist(), today=TODAY).passed


def test_failures_are_counted_and_sorted_first() -> None:
    result = evaluate(
        [finding("low", "LOW"), finding("high", "HIGH"), finding("key", "LOW", "secret")],
        Allowlist(),
        today=TODAY,
    )
    assert not result.passed
    assert [d.finding.rule_id for d in result.decisions] == ["high", "key", "low"]
    assert result.reason() == "2 blocking finding(s) (1 HIGH, 1 secret)"


def test_allowlisted_finding_passes_and_is_marked() -> None:
    allow = Allowlist(entries=(entry("high", date(2027, 1, 1)),))
    result = evaluate([finding("high")], allow, today=TODAY)
    assert result.passed
    (decision,) = result.decisions
    assert decision.status == "allowed"
    assert decision.entry == allow.entries[0]


def test_expired_entry_fails_naming_it_even_when_unused() -> None:
    old = entry("high", date(2026, 5, 31))
    result = evaluate([finding("high")], Allowlist(entries=(old,)), today=TODAY)
    assert not result.passed
    assert result.decisions[0].status == "expired"
    assert result.decisions[0].blocking
    assert "expired allowlist entries: high (expires 2026-05-31)" in result.reason()
    unused = evaluate([], Allowlist(entries=(entry("gone", date(2020, 1, 1)),)), today=TODAY)
    assert not unused.passed
    assert unused.reason() == "expired allowlist entries: gone (expires 2020-01-01)"


def test_custom_fail_on() -> None:
    result = evaluate([finding("m", "MEDIUM")], Allowlist(), fail_on=("MEDIUM",), today=TODAY)
    assert not result.passed
    assert result.blocking[0].finding.rule_id == "m"
