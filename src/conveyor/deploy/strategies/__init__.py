"""How a release replaces another: one small interface, so the orchestration never asks which.

The orchestration (lock, ledger, preflight, health gate, smoke tests, rollback) prepares a
`ReleasePlan` (the services that change, the containers to remove) and hands it to a
strategy; a rollback is the same call with the previous release's plan.
"""

from __future__ import annotations

from typing import Protocol

from conveyor.deploy.plan import ReleasePlan
from conveyor.tools.compose import Compose


class Strategy(Protocol):
    """Brings the target from what runs now to `plan`; touches nothing the plan leaves out."""

    name: str

    def apply(self, compose: Compose, plan: ReleasePlan, *, timeout: float) -> None:
        """Make the plan's changes; raise ConveyorError when the engine refuses one."""
        ...
