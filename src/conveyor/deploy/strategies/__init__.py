"""How a release replaces another: one small interface, so the orchestration never asks which.

The orchestration (lock, ledger, preflight, health gate, smoke tests, rollback) prepares a
`ReleasePlan` (the services that change, the containers to remove) and hands it to a
strategy; a rollback is the same calls with the previous release's plan:

    preflight(release) -> warnings      before the lock; ConfigError refuses the release
    apply(release, plan, timeout=)      start what the plan changes
    wait(release, ...) -> HealthReport  watch it become healthy (or not), up to the timeout

- `InPlace` (in_place.py): changed services are recreated where they stand (compose).
- `SwarmStack` (swarm.py): the whole release is deployed as a swarm stack; Swarm replaces
  the changed services' tasks, and Conveyor watches them converge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from conveyor.deploy.health import HealthReport, Progress
from conveyor.deploy.plan import ReleasePlan
from conveyor.deploy.prepare import PreparedRelease


class Strategy(Protocol):
    """Brings the target from what runs now to `plan`; touches nothing the plan leaves out."""

    name: str

    def preflight(self, release: PreparedRelease) -> list[str]:
        """Warnings about this release for this strategy; ConfigError if it cannot be done."""
        ...

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        """Make the plan's changes; raise ConveyorError when the engine refuses one."""
        ...

    def wait(
        self,
        release: PreparedRelease,
        *,
        timeout: float,
        window: float,
        log_lines: int,
        baseline: Mapping[str, int],
        progress: Progress | None = None,
    ) -> HealthReport:
        """Watch the release until it is healthy, fails, or `timeout` passes."""
        ...
