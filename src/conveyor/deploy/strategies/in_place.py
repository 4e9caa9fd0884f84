"""The in-place strategy: the changed services' containers are recreated where they stand.

Containers of services the release drops are stopped and removed first (they may hold a
port a new service needs); then `compose up --no-deps` with only the changed services, so
Compose recreates nothing else, whatever it thinks of the other services' configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.deploy.health import HealthReport, Progress, wait_healthy
from conveyor.deploy.plan import ReleasePlan
from conveyor.deploy.prepare import PreparedRelease
from conveyor.tools.compose import Compose


class InPlace:
    """Recreate changed services in place (a short gap while each one restarts)."""

    name = "in-place"

    def __init__(self, compose: Compose) -> None:
        self.compose = compose

    def preflight(self, release: PreparedRelease) -> list[str]:
        return []

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        compose = release.compose
        compose.stop_and_remove([c.id for c in plan.removals])
        if plan.changed:
            compose.up(plan.changed, timeout=timeout, no_deps=True)

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
        """Every service healthy, judged on the release's containers (by fingerprint)."""
        return wait_healthy(
            self.compose,
            list(release.config.services),
            timeout=timeout,
            log_lines=log_lines,
            progress=progress,
            baseline=baseline,
            window=window,
            expected=release.fingerprints,
        )
