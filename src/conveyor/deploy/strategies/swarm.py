"""The swarm strategy: a release is the whole stack, handed to `docker stack deploy`; Swarm
replaces each changed service's tasks (start-first where it can, rolling back by itself when
a task fails within the monitor window) and Conveyor watches until every service runs the
release (`conveyor.deploy.convergence`).

Swarm only rolls back the service that failed, and `docker stack deploy` exits 0 all the
same; the orchestration's rollback deploys the previous release's recorded compose files as
the whole stack, so every service returns to it (docker/cli#595, #6752). The stack file goes
to the CLI on stdin: the environment values Compose rendered into it are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import yaml

from conveyor.config import SwarmSettings
from conveyor.deploy.convergence import wait_converged
from conveyor.deploy.health import Gate, HealthReport, Progress
from conveyor.deploy.plan import ReleasePlan
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies import Endpoint
from conveyor.deploy.swarm_stack import StackDocument, stack_document
from conveyor.errors import ConfigError, ToolFailedError
from conveyor.tools.compose import ContainerState
from conveyor.tools.swarm import Swarm

IMAGES_ON_EVERY_NODE = (
    "the swarm has {count} nodes and each one that runs a task needs its image: push the "
    "images to a registry the nodes can pull from, or load them on each node "
    "(`docker save IMAGE | docker -H ssh://NODE load`); Conveyor checked this manager only, "
    "and names any node that rejects a task for a missing image"
)
_SECRET_CHANGED = "only updates to Labels are allowed"  # noqa: S105 - an error message


class SwarmStack:
    """Deploy the release as a swarm stack and watch it converge."""

    name = "swarm"

    def __init__(
        self,
        swarm: Swarm,
        stack: str,
        settings: SwarmSettings,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.swarm = swarm
        self.stack = stack
        self.settings = settings
        self.say = say
        self._known: frozenset[str] = frozenset()

    def document(self, release: PreparedRelease) -> StackDocument:
        """The stack file of `release` (see `conveyor.deploy.swarm_stack`)."""
        return stack_document(
            release.config.document,
            stack=self.stack,
            images=release.images,
            fingerprints=release.fingerprints,
            image_ids=release.image_ids,
            settings=self.settings,
        )

    @staticmethod
    def text(document: StackDocument) -> str:
        return yaml.safe_dump(dict(document.document), sort_keys=False)

    def preflight(self, release: PreparedRelease) -> list[str]:
        """A manager answers; the stack file is one `docker stack deploy` accepts; what a
        swarm does differently from Compose, and what a multi-node swarm needs."""
        self.swarm.require_manager()
        document = self.document(release)
        self.swarm.validate(self.text(document))
        notes = list(document.notes)
        nodes = self.swarm.nodes()
        notes += [
            f"node {n.hostname} is {n.status}: Swarm cannot place tasks there"
            for n in nodes
            if n.status != "ready"
        ]
        if len(nodes) > 1:
            notes.append(IMAGES_ON_EVERY_NODE.format(count=len(nodes)))
        return notes

    def serving(self, containers: Sequence[ContainerState]) -> list[ContainerState]:
        return list(containers)

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        """`docker stack deploy` the whole release; tasks that exist now are not news later."""
        services = self.swarm.services(self.stack)
        self._known = frozenset(t.id for t in self.swarm.tasks([s.id for s in services]))
        document = self.document(release)
        try:
            output = self.swarm.deploy(self.stack, self.text(document), timeout=timeout)
        except ToolFailedError as exc:
            if _SECRET_CHANGED in exc.hint:
                raise ConfigError(
                    "a swarm secret of this stack changed: Swarm secrets cannot change in place",
                    hint="give the changed secret a new name in the compose files (e.g. "
                    "`name: app_token_v2`) and deploy; the old one is removed with the stack",
                ) from None
            raise
        for line in output.splitlines():
            if line.startswith("Ignoring unsupported options"):
                self.say(f"docker stack deploy: {line}")

    def wait(
        self,
        release: PreparedRelease,
        *,
        gate: Gate,
        baseline: Mapping[str, int],
        progress: Progress | None = None,
    ) -> HealthReport:
        """Until every service runs the release (Swarm's own rollback is a failure); the
        tasks that existed before `apply` stand for the baseline."""
        return wait_converged(
            self.swarm,
            self.stack,
            release.fingerprints,
            timeout=gate.timeout,
            known=self._known,
            window=gate.window,
            log_lines=gate.log_lines,
            progress=progress,
        )

    def smoke_endpoint(
        self, release: PreparedRelease, plan: ReleasePlan, services: Sequence[str]
    ) -> Endpoint | None:
        """The environment's published port (the stack publishes it)."""
        return None

    def promote(self, release: PreparedRelease, plan: ReleasePlan) -> list[str]:
        """Nothing left to do: Swarm moved the traffic as each task became healthy."""
        return []
