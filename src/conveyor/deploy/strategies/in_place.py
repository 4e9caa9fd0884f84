"""The in-place strategy: the changed services' containers are recreated where they stand.

Containers of services the release drops are stopped and removed first (they may hold a
port a new service needs); then `compose up --no-deps` with only the changed services, so
Compose recreates nothing else, whatever it thinks of the other services' configuration.
"""

from __future__ import annotations

from conveyor.deploy.plan import ReleasePlan
from conveyor.tools.compose import Compose


class InPlace:
    """Recreate changed services in place (a short gap while each one restarts)."""

    name = "in-place"

    def apply(self, compose: Compose, plan: ReleasePlan, *, timeout: float) -> None:
        compose.stop_and_remove([c.id for c in plan.removals])
        if plan.changed:
            compose.up(plan.changed, timeout=timeout, no_deps=True)
