"""The security gate: findings fail unless the ignore list names them with a reason."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from conveyor.config import Reason
from conveyor.policy.advisories import (
    Advisory,
    BanditThreshold,
    evaluate,
    from_bandit,
    from_safety,
    judge_data,
)
from conveyor.policy.freshness import judge
from conveyor.tools.bandit import BanditFinding
from conveyor.tools.safety import SafetyVulnerability

FINDING = BanditFinding(
    test_id="B602",
    test_name="subprocess_popen_with_shell_equals_true",
    severity="HIGH",
    confidence="HIGH",
    filename="src/demo/run.py",
    line=3,
    text="shell=True",
    more_info="https://bandit/b602",
)
VULN = SafetyVulnerability(
    vulnerability_id="36546",
    package="requests",
    version="2.19.0",
    affected="<=2.19.1",
    cve="CVE-2018-18074",
    advisory="leaks Authorization on redirect",
    more_info="https://pyup.io",
)


def test_tool_records_become_advisories() -> None:
    (bandit,) = from_bandit([FINDING])
    assert bandit == Advisory(
        source="bandit",
        id="B602",
        subject="src/demo/run.py:3",
        severity="HIGH",
        summary="subprocess_popen_with_shell_equals_true: shell=True",
        url="https://bandit/b602",
        aliases=("B602:src/demo/run.py",),
        file="src/demo/run.py",
        line=3,
        confidence="HIGH",
    )
    (safety,) = from_safety([VULN])
    assert safety.keys == ("36546", "CVE-2018-18074")
    assert safety.subject == "requests 2.19.0"
    no_cve = from_safety([SafetyVulnerability("1", "x", "1", "", None, "", "")])
    assert no_cve[0].keys == ("1",)


def test_findings_fail_without_an_ignore() -> None:
    gate = evaluate(from_bandit([FINDING]) + from_safety([VULN]), {})
    assert not gate.passed
    assert [a.id for a in gate.failing] == ["B602", "36546"]
    assert gate.unused_ignores == ()


def test_ignores_match_by_id_or_alias_and_unused_ones_are_reported() -> None:
    ignore = {
        "CVE-2018-18074": Reason(reason="no redirects in our client"),
        "B602:src/demo/run.py": Reason(reason="constant command"),
        "99999": Reason(reason="fixed long ago"),
    }
    gate = evaluate(from_bandit([FINDING]) + from_safety([VULN]), ignore)
    assert gate.passed
    assert [v.ignored_because for v in gate.verdicts] == [
        "constant command",
        "no redirects in our client",
    ]
    assert gate.unused_ignores == ("99999",)


@pytest.mark.parametrize(
    ("severity", "confidence", "fails"),
    [
        ("HIGH", "HIGH", True),
        ("MEDIUM", "MEDIUM", True),
        ("LOW", "HIGH", False),  # e.g. B311 random, B101 assert: below the default bar
        ("HIGH", "LOW", False),
        ("UNKNOWN", "HIGH", True),  # an unknown level fails closed
    ],
)
def test_bandit_findings_fail_at_the_threshold_by_default_medium_medium(
    severity: str, confidence: str, fails: bool
) -> None:
    finding = dataclasses.replace(FINDING, severity=severity, confidence=confidence)
    gate = evaluate(from_bandit([finding]), {})
    assert gate.passed is not fails
    if not fails:
        (verdict,) = gate.verdicts
        assert verdict.ignored_because == (
            f"below the bandit threshold ({severity} severity, {confidence} confidence; "
            "fails at MEDIUM/MEDIUM)"
        )


def test_a_stricter_threshold_and_safety_advisories() -> None:
    low = dataclasses.replace(FINDING, severity="LOW", confidence="LOW")
    strict = BanditThreshold(severity="LOW", confidence="LOW")
    assert not evaluate(from_bandit([low]), {}, strict).passed
    # The threshold is bandit's only: a safety advisory has no severity and always fails.
    assert not evaluate(from_safety([VULN]), {}, BanditThreshold("HIGH", "HIGH")).passed


NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)
JULY_2021 = datetime(2021, 7, 1, tzinfo=timezone.utc)


def test_stale_advisory_data_blocks_unless_accepted_with_a_reason() -> None:
    old = judge(JULY_2021, 45, NOW)
    blocked = judge_data("safety-db package", old, None)
    assert blocked.blocking
    assert blocked.line == (
        "advisory data: safety-db package, 2021-07-01 (1972 days old; max 45): "
        "older than max-data-age"
    )
    accepted = judge_data("safety-db package", old, Reason(reason="offline machines"))
    assert not accepted.blocking
    assert accepted.line.endswith(": older than max-data-age, accepted: offline machines")


def test_current_and_online_data_do_not_block() -> None:
    fresh = judge_data(
        "offline DB db", judge(NOW - timedelta(days=3), 45, NOW), Reason(reason="x y")
    )
    assert (fresh.blocking, fresh.accepted_because) == (False, None)
    assert fresh.line == "advisory data: offline DB db, 2026-11-21 (3 days old; max 45)"
    online = judge_data("online", None, None)
    assert not online.blocking
    assert online.line == "advisory data: online (safety does not report the data's date)"
