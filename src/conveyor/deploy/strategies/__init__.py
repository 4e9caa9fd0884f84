"""How a release replaces another: one small interface, so the orchestration never asks which.

The target's engine (`conveyor.deploy.engine`: Compose on one host, or a swarm) says what
runs and keeps the ledger and lock; the environment's strategy says how a release replaces
another there. The orchestration (`conveyor.deploy.orchestrate`) owns the lock, the
ledger, the preflight, the health gate's verdict, the smoke tests, the rollback, signals and
reports. It calls a strategy at six points, always in this order, and a rollback is the
same sequence with the previous release:

    preflight(release) -> warnings        before the lock; raises ConfigError to refuse
    serving(containers) -> containers     which of them take traffic (plans, ledger, live)
    apply(release, plan, timeout=)        start what the plan changes; the new release takes
                                          no traffic yet, if the strategy can hold it back
    wait(release, gate=, baseline=, progress=) -> HealthReport
                                          watch the release become healthy (or not)
    smoke_endpoint(release, plan, services) -> (host or None, port) or None
                                          where smoke tests reach the release under test
                                          (None: the environment's public host and port)
    promote(release, plan) -> notes       send it the traffic and retire what it replaced;
                                          after this returns the release is live

Only `apply` and `promote` change the target, and neither is cut short by a signal (the
orchestration lets them finish, then acts). A failure before `promote` rolls back; the
release under test has taken no traffic if the strategy could hold it back.

- `InPlace` (in_place.py): `apply` recreates changed services where they stand (they take
  traffic at once, after a short gap); `promote` has nothing left to do.
- `BlueGreen` (blue_green.py): `apply` starts each changed service behind the proxy as a
  second colour beside the live one and points the proxy's preview port at it; `promote`
  switches the proxy's live backend to it through HAProxy's runtime API, drains the old
  colour and stops it. Services not behind the proxy are recreated in place.
- `SwarmStack` (swarm.py, for `engine = "swarm"`): `preflight` checks the engine is a swarm
  manager and the stack file is one Swarm accepts; `serving` is the stack's running tasks;
  `apply` is `docker stack deploy` with start-first updates and automatic rollback configured;
  `wait` watches each service's UpdateStatus and tasks until converged, reporting Swarm's
  own rollback (`rollback_completed`) as a failed service; `smoke_endpoint` returns None
  (the published ports); `promote` has nothing left to do. The orchestration's rollback
  deploys the previous release's recorded compose files as the whole stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional, Protocol

from conveyor.deploy.health import Gate, HealthReport, Progress
from conveyor.deploy.plan import ReleasePlan
from conveyor.deploy.prepare import PreparedRelease
from conveyor.tools.compose import ContainerState

Endpoint = tuple[Optional[str], int]
"""Host (None: the environment's) and port where a smoke test reaches the release."""


class Strategy(Protocol):
    """Brings the target from what runs now to a plan; touches nothing the plan leaves out."""

    name: str

    def preflight(self, release: PreparedRelease) -> list[str]:
        """Warnings about this release for this strategy; ConfigError if it cannot be done."""
        ...

    def serving(self, containers: Sequence[ContainerState]) -> list[ContainerState]:
        """The containers that take traffic now (the live release)."""
        ...

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        """Start the plan's changes; raise ConveyorError when the engine refuses one."""
        ...

    def wait(
        self,
        release: PreparedRelease,
        *,
        gate: Gate,
        baseline: Mapping[str, int],
        progress: Progress | None = None,
    ) -> HealthReport:
        """Watch the release until it is healthy, fails, or the gate's timeout passes."""
        ...

    def smoke_endpoint(
        self, release: PreparedRelease, plan: ReleasePlan, services: Sequence[str]
    ) -> Endpoint | None:
        """Where smoke tests naming `services` reach the release under test."""
        ...

    def promote(self, release: PreparedRelease, plan: ReleasePlan) -> list[str]:
        """Send the release the traffic and retire what it replaced; notes for the report."""
        ...
