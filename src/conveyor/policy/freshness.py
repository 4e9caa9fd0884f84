"""How old the data behind a check is, against the age the configuration accepts.

A vulnerability scan is only as current as its database: data past the configured age (or
of unknown date) does not make a green check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class Freshness:
    """When the data was published, and whether that is within `max_age_days` of `now`."""

    updated: datetime | None
    max_age_days: int
    now: datetime

    @property
    def age_days(self) -> int | None:
        """Whole days since the data was published (None: date unknown)."""
        return None if self.updated is None else (self.now - self.updated).days

    @property
    def stale(self) -> bool:
        """Older than allowed, or of unknown date (which cannot be shown to be current)."""
        age = self.age_days
        return age is None or age > self.max_age_days

    def describe(self) -> str:
        """e.g. '2026-11-20 (4 days old; max 7)' or 'of unknown date (max 7 days)'."""
        age = self.age_days
        if self.updated is None or age is None:
            return f"of unknown date (max {self.max_age_days} days)"
        unit = "day" if age == 1 else "days"
        return f"{self.updated.date().isoformat()} ({age} {unit} old; max {self.max_age_days})"


def judge(updated: datetime | None, max_age_days: int, now: datetime | None = None) -> Freshness:
    """The Freshness of data published at `updated` (UTC) against `max_age_days`."""
    return Freshness(updated, max_age_days, now or datetime.now(timezone.utc))
