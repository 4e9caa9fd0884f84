"""Where a target runs, and how a release replaces another there.

An environment's `engine` picks both: `compose` (one Docker host: `Compose` lists its
containers and keeps the ledger and lock; releases replace each other in place or
blue-green, as the environment's `strategy` says) or `swarm`
(a stack on the swarm a manager leads: `SwarmRuntime` lists its services and keeps the
ledger and lock in the swarm; `SwarmStack` deploys the whole stack). The orchestration asks
the engine what runs and the strategy how to change it, never which ones it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from conveyor.deploy.ledger import LedgerStore
from conveyor.deploy.lock import LockEngine
from conveyor.deploy.strategies import Strategy
from conveyor.deploy.strategies.select import strategy_for
from conveyor.deploy.strategies.swarm import SwarmStack
from conveyor.deploy.swarm_runtime import SwarmRuntime
from conveyor.deploy.target import Target
from conveyor.runner import Runner
from conveyor.tools.compose import Compose, ContainerState, EngineRecord
from conveyor.tools.swarm import Swarm


class TargetEngine(LedgerStore, LockEngine, Protocol):
    """What runs on a target, its logs, its removal; and where its ledger and lock live."""

    def containers(self) -> list[ContainerState]: ...

    def container_logs(self, container: str, *, tail: int = 50) -> str: ...

    def down(self, *, volumes: bool = False) -> None: ...

    def volumes(self, label: str) -> list[EngineRecord]: ...

    def create_volume(self, name: str, labels: Mapping[str, str]) -> EngineRecord: ...


def engine_for(
    target: Target, compose: Compose, runner: Runner, say: Callable[[str], None]
) -> tuple[TargetEngine, Strategy]:
    """The target's engine and the strategy that replaces releases on it."""
    if target.environment.engine == "swarm":
        swarm = Swarm(runner=runner, context=target.compose.context, new_session=True)
        stack = target.compose.project
        return SwarmRuntime(swarm, stack), SwarmStack(swarm, stack, target.settings.swarm, say)
    return compose, strategy_for(target, compose, say)
