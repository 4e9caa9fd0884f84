"""Data age against the configured maximum: the rule behind the DB and advisory-data gates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conveyor.policy.freshness import judge

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_data_within_the_age_is_current_and_older_is_stale() -> None:
    current = judge(NOW - timedelta(days=7, hours=1), 7, NOW)
    assert (current.age_days, current.stale) == (7, False)
    assert current.describe() == "2026-11-17 (7 days old; max 7)"
    stale = judge(NOW - timedelta(days=8), 7, NOW)
    assert (stale.age_days, stale.stale) == (8, True)
    assert judge(NOW - timedelta(days=1), 7, NOW).describe() == "2026-11-23 (1 day old; max 7)"


def test_an_unknown_date_is_stale() -> None:
    unknown = judge(None, 30, NOW)
    assert (unknown.age_days, unknown.stale) == (None, True)
    assert unknown.describe() == "of unknown date (max 30 days)"


def test_now_defaults_to_the_clock() -> None:
    assert judge(datetime.now(timezone.utc), 1).stale is False
