"""The in-place strategy: the changed services' containers are recreated where they stand.

Containers of services the release drops, and leftovers of services it keeps, are stopped
and removed first (they may hold a port a new container needs); then `compose up --no-deps`
with only the changed services, so Compose recreates nothing else, whatever it thinks of the
other services' configuration. The new containers take traffic as soon as they listen, so
there is nothing to promote, and a short gap while each one restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conveyor.deploy.health import Gate, HealthReport, Progress, wait_release
from conveyor.deploy.plan import ReleasePlan
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies import Endpoint
from conveyor.tools.compose import Compose, ContainerState


class InPlace:
    """Recreate changed services in place (a short gap while each one restarts)."""

    name = "in-place"

    def __init__(self, compose: Compose) -> None:
        self.compose = compose

    def preflight(self, release: PreparedRelease) -> list[str]:
        return []

    def serving(self, containers: Sequence[ContainerState]) -> list[ContainerState]:
        return list(containers)

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        compose = release.compose
        compose.stop_and_remove([c.id for c in (*plan.removals, *plan.leftovers)])
        if plan.changed:
            compose.up(plan.changed, timeout=timeout, no_deps=True)

    def wait(
        self,
        release: PreparedRelease,
        *,
        gate: Gate,
        baseline: Mapping[str, int],
        progress: Progress | None = None,
    ) -> HealthReport:
        return wait_release(self.compose, release, gate=gate, baseline=baseline, progress=progress)

    def smoke_endpoint(
        self, release: PreparedRelease, plan: ReleasePlan, services: Sequence[str]
    ) -> Endpoint | None:
        return None

    def promote(self, release: PreparedRelease, plan: ReleasePlan) -> list[str]:
        return []
