"""A swarm stack as the orchestration sees a target: what runs, its logs, removal, and the
ledger and lock, kept by the swarm itself (raft, on every manager).

For a compose target, `Compose` plays this part: containers, volumes, a marker container.
Here each service of the stack is one `ContainerState` (status from its tasks, image ID and
fingerprint from the labels Conveyor put on it), so planning, the ledger and the reports
work unchanged. The records live where any machine that reaches any manager sees them:

- each ledger record is a swarm config `conveyor-release-<stack>-<id>` whose labels hold the
  record (as a ledger volume's do); configs are immutable and their names unique, so one
  create per record, and a taken name is seen;
- the lock is a service `conveyor-lock-<stack>` with no replica (it never runs a task, so no
  node needs its image): service names are unique in the swarm, which makes creating it
  atomic; its holder is in its labels, and its lease in one label the holder updates.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from conveyor.deploy.swarm_stack import IMAGE_ID_LABEL
from conveyor.errors import ToolFailedError
from conveyor.tools.compose import ContainerState, EngineRecord
from conveyor.tools.swarm import STACK_LABEL, Swarm, SwarmService, SwarmTask

LEASE_LABEL = "io.conveyor.lock.lease-record"
RECORD_DATA = "A release record of Conveyor's ledger: see this config's labels.\n"
REMOVAL_SECONDS = 120.0
POLL_SECONDS = 0.5


def service_state(service: SwarmService, tasks: Sequence[SwarmTask]) -> ContainerState:
    """One service as the orchestration's `ContainerState`: `running` once as many of its
    current tasks run as it has replicas (healthy, when it has a healthcheck)."""
    current = [t for t in tasks if t.service_id == service.id and t.desired_state == "running"]
    running = [t for t in current if t.state == "running"]
    wanted = service.replicas if service.replicas is not None else max(1, len(current))
    if len(running) >= wanted:
        status = "running"
    else:
        states = sorted({t.state for t in current if t.state != "running"}) or ["no task"]
        status = f"{len(running)}/{wanted} running, {', '.join(states)}"
    healthy = service.has_healthcheck and status == "running"
    return ContainerState(
        id=service.id,
        name=service.name,
        service=service.service,
        status=status,
        exit_code=0,
        restart_count=0,
        image=service.image,
        image_id=service.container_labels.get(IMAGE_ID_LABEL, ""),
        health=("healthy" if healthy else None),
        host_ports=tuple(p.published for p in service.ports),
        labels=dict(service.container_labels),  # the fingerprint label among them
    )


class SwarmRuntime:
    """The stack `stack` on the swarm `swarm` reaches (see the module docstring)."""

    def __init__(self, swarm: Swarm, stack: str) -> None:
        self.swarm = swarm
        self.stack = stack

    # -- what runs ------------------------------------------------------------------------

    def containers(self) -> list[ContainerState]:
        """Every service of the stack, one record each."""
        services = self.swarm.services(self.stack)
        tasks = self.swarm.tasks([s.id for s in services])
        return [service_state(s, tasks) for s in services]

    def container_logs(self, container: str, *, tail: int = 50) -> str:
        """The last lines of a service (or task), from whichever nodes run it."""
        return self.swarm.logs(container, tail=tail)

    def down(self, *, volumes: bool = False) -> None:
        """Remove the stack and wait until its services and networks are gone; `volumes`
        also removes its named volumes on this manager (a volume lives on each node)."""
        self.swarm.remove(self.stack)
        deadline = time.monotonic() + REMOVAL_SECONDS
        while not self.swarm.stack_gone(self.stack):
            if time.monotonic() > deadline:
                raise ToolFailedError(
                    f"docker: stack {self.stack} is still being removed after {REMOVAL_SECONDS:g}s",
                    hint=f"check `docker stack ps {self.stack}` and its networks",
                )
            time.sleep(POLL_SECONDS)
        if volumes:
            self.swarm.remove_volumes(f"{STACK_LABEL}={self.stack}")

    def ping(self) -> str:
        """The manager's version; a one-line error when it is unreachable or no manager."""
        version = self.swarm.ping()
        self.swarm.require_manager()
        return version

    # -- the ledger (`conveyor.deploy.ledger.LedgerStore`) -------------------------------

    def volumes(self, label: str) -> list[EngineRecord]:
        return self.swarm.configs(label)

    def create_volume(self, name: str, labels: Mapping[str, str]) -> EngineRecord:
        self.swarm.create_config(name, labels, RECORD_DATA)
        found = self.swarm.configs_named([name])
        if not found:
            raise ToolFailedError(f"docker: config {name} was created but cannot be read back")
        return found[0]

    # -- the lock (`conveyor.deploy.lock.LockEngine`); a lease is a label, not a file -----

    def create_marker(self, name: str, image: str, labels: Mapping[str, str]) -> str | None:
        return self.swarm.create_idle_service(name, image, labels)

    def marker(self, name: str) -> EngineRecord | None:
        return self.swarm.service_record(name)

    def remove_container(self, container: str) -> None:
        self.swarm.remove_service(container)

    def put_file(self, container: str, path: str, text: str) -> bool:
        return self.swarm.set_label(container, LEASE_LABEL, text)

    def read_file(self, container: str, path: str) -> str | None:
        found = self.swarm.service_record(container)
        return found.labels.get(LEASE_LABEL) if found is not None else None
