"""Docker Swarm adapter: `docker stack`, `service`, `node`, `config`, `info`, parsed into records.

Everything goes through the manager the docker CLI reaches (`DOCKER_HOST` or a docker
context, passed straight through). Service and task state comes from `docker service
inspect` / `docker inspect --type task` JSON, never from the human columns of `service ls`
or `stack ps`. Besides deploying stacks, the manager keeps Conveyor's own small records:
swarm configs (the release ledger) and a service that never runs a task (the deploy lock),
both cluster-wide, so any machine that reaches any manager sees them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import ConfigError, ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.tools.compose import ContainerState, EngineRecord, parse_inspect

STACK_LABEL = "com.docker.stack.namespace"
_EXISTS = re.compile(r"AlreadyExists|already exists", re.IGNORECASE)
_NOT_FOUND = re.compile(r"not found|no such", re.IGNORECASE)
DETACH_SINCE = 26  # `docker stack deploy --detach` appeared in CLI 26 (before, always detached)


@dataclass(frozen=True)
class SwarmInfo:
    """`docker info`'s `.Swarm`: is this engine part of a swarm, and a manager of it?"""

    node_id: str
    state: str  # inactive, pending, active, error, locked
    control_available: bool
    error: str = ""
    nodes: int = 0
    managers: int = 0

    @property
    def is_manager(self) -> bool:
        return self.state == "active" and self.control_available


@dataclass(frozen=True)
class SwarmNode:
    """One node of the swarm (`docker node ls`)."""

    id: str
    hostname: str
    status: str  # ready, down, unknown, disconnected
    availability: str  # active, pause, drain
    manager_status: str = ""  # Leader, Reachable, Unreachable, "" for workers


@dataclass(frozen=True)
class UpdateStatus:
    """A service's `.UpdateStatus`: where Swarm's rolling update (or its rollback) stands."""

    state: str  # updating, paused, completed, rollback_started, rollback_paused, rollback_completed
    message: str = ""
    started_at: str = ""
    completed_at: str = ""


@dataclass(frozen=True)
class ServicePort:
    """A port a service publishes (`.Endpoint.Ports` / `.Spec.EndpointSpec.Ports`)."""

    published: int
    target: int
    protocol: str = "tcp"
    mode: str = "ingress"


@dataclass(frozen=True)
class SwarmService:
    """What `docker service inspect` says about one service of a stack."""

    id: str
    name: str  # <stack>_<service>
    stack: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)  # the service's own
    container_labels: Mapping[str, str] = field(default_factory=dict)  # its tasks' containers
    replicas: int | None = None  # None: a global service
    update: UpdateStatus | None = None
    has_previous_spec: bool = False
    ports: tuple[ServicePort, ...] = ()
    has_healthcheck: bool = False

    @property
    def service(self) -> str:
        """The compose service name (the stack prefix removed)."""
        prefix = f"{self.stack}_"
        return (
            self.name[len(prefix) :] if self.stack and self.name.startswith(prefix) else self.name
        )


@dataclass(frozen=True)
class SwarmTask:
    """One task (`docker inspect --type task`): which release it runs, where, and how it is."""

    id: str
    service_id: str
    slot: int | None
    node_id: str
    desired_state: str
    state: str  # new ... pending, assigned, preparing, starting, running, complete, failed, ...
    message: str = ""
    error: str = ""
    exit_code: int | None = None
    container_id: str = ""
    image: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)  # its container's labels
    created_at: str = ""
    updated_at: str = ""

    def label(self, service: str) -> str:
        """`app.1` (replicated) or `app.<node>` (global): how `docker service ps` names it."""
        return f"{service}.{self.slot}" if self.slot else f"{service}.{self.node_id[:12]}"


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def parse_info(text: str) -> SwarmInfo:
    """`docker info --format '{{json .Swarm}}'`."""
    data = json.loads(text or "{}") or {}
    return SwarmInfo(
        node_id=str(data.get("NodeID") or ""),
        state=str(data.get("LocalNodeState") or "inactive"),
        control_available=bool(data.get("ControlAvailable")),
        error=str(data.get("Error") or ""),
        nodes=int(data.get("Nodes") or 0),
        managers=int(data.get("Managers") or 0),
    )


def parse_nodes(text: str) -> list[SwarmNode]:
    """`docker node ls --format '{{json .}}'` (one JSON object per line)."""
    nodes: list[SwarmNode] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        nodes.append(
            SwarmNode(
                id=str(item.get("ID", "")),
                hostname=str(item.get("Hostname", "")),
                status=str(item.get("Status", "")).lower(),
                availability=str(item.get("Availability", "")).lower(),
                manager_status=str(item.get("ManagerStatus", "")),
            )
        )
    return nodes


def _ports(endpoint: Mapping[str, Any]) -> tuple[ServicePort, ...]:
    found = []
    for port in endpoint.get("Ports") or []:
        if port.get("PublishedPort"):
            found.append(
                ServicePort(
                    published=int(port["PublishedPort"]),
                    target=int(port.get("TargetPort") or 0),
                    protocol=str(port.get("Protocol") or "tcp"),
                    mode=str(port.get("PublishMode") or "ingress"),
                )
            )
    return tuple(found)


def parse_services(text: str) -> list[SwarmService]:
    """`docker service inspect` JSON."""
    services: list[SwarmService] = []
    for item in json.loads(text or "[]") or []:
        spec = item.get("Spec") or {}
        container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        labels = _labels(spec.get("Labels"))
        mode = spec.get("Mode") or {}
        replicated = mode.get("Replicated")
        update = item.get("UpdateStatus")
        health = container.get("Healthcheck") or {}
        test = health.get("Test") or []
        asked = spec.get("EndpointSpec") or (item.get("Endpoint") or {})
        services.append(
            SwarmService(
                id=str(item.get("ID", "")),
                name=str(spec.get("Name", "")),
                stack=labels.get(STACK_LABEL, ""),
                image=str(container.get("Image", "")),
                labels=labels,
                container_labels=_labels(container.get("Labels")),
                replicas=int(replicated.get("Replicas", 1)) if replicated is not None else None,
                update=UpdateStatus(
                    state=str(update.get("State", "")),
                    message=str(update.get("Message", "")),
                    started_at=str(update.get("StartedAt", "")),
                    completed_at=str(update.get("CompletedAt", "")),
                )
                if update
                else None,
                has_previous_spec=bool(item.get("PreviousSpec")),
                ports=_ports(asked),
                has_healthcheck=bool(test) and test[0] != "NONE",
            )
        )
    return services


def parse_tasks(text: str) -> list[SwarmTask]:
    """`docker inspect --type task` JSON."""
    tasks: list[SwarmTask] = []
    for item in json.loads(text or "[]") or []:
        status = item.get("Status") or {}
        container = status.get("ContainerStatus") or {}
        spec = (item.get("Spec") or {}).get("ContainerSpec") or {}
        slot = item.get("Slot")
        exit_code = container.get("ExitCode")
        tasks.append(
            SwarmTask(
                id=str(item.get("ID", "")),
                service_id=str(item.get("ServiceID", "")),
                slot=int(slot) if slot else None,
                node_id=str(item.get("NodeID") or ""),
                desired_state=str(item.get("DesiredState", "")),
                state=str(status.get("State", "")),
                message=str(status.get("Message") or ""),
                error=str(status.get("Err") or ""),
                exit_code=int(exit_code) if exit_code is not None else None,
                container_id=str(container.get("ContainerID") or ""),
                image=str(spec.get("Image", "")),
                labels=_labels(spec.get("Labels")),
                created_at=str(item.get("CreatedAt", "")),
                updated_at=str(item.get("UpdatedAt", "")),
            )
        )
    return tasks


def parse_configs(text: str) -> list[EngineRecord]:
    """`docker config inspect` / `docker service inspect` JSON as name, ID and labels."""
    return [
        EngineRecord(
            name=str((item.get("Spec") or {}).get("Name", "")),
            id=str(item.get("ID", "")),
            labels=_labels((item.get("Spec") or {}).get("Labels")),
        )
        for item in json.loads(text or "[]") or []
    ]


def client_major(version: str) -> int:
    """28 from `"28.2.2"` (the JSON the CLI prints), 0 when unreadable."""
    match = re.match(r'"?(\d+)', version.strip())
    return int(match.group(1)) if match else 0


class Swarm:
    """Runs the docker CLI against a swarm manager; every command is an argv list."""

    def __init__(
        self,
        *,
        runner: Runner | None = None,
        context: str | None = None,
        docker: str = "docker",
        new_session: bool = False,
    ) -> None:
        self.runner = runner or Runner()
        self.context = context
        self.docker = docker
        self.new_session = new_session
        self._client_major: int | None = None

    @property
    def where(self) -> str:
        """How the manager is reached, for messages."""
        return self.context or os.environ.get("DOCKER_HOST") or "the local socket"

    def argv(self, *args: str) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [self.docker, *context, *args]

    def run(
        self,
        *args: str,
        timeout: float = 60,
        ok_codes: Sequence[int] = (0,),
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        return self.runner.run(
            self.argv(*args),
            timeout=timeout,
            tool="docker",
            ok_codes=ok_codes,
            input_text=input_text,
            env=env,
            new_session=self.new_session,
        )

    # -- the swarm --------------------------------------------------------------------

    def info(self) -> SwarmInfo:
        return parse_info(self.run("info", "--format", "{{json .Swarm}}").stdout)

    def require_manager(self) -> SwarmInfo:
        """The swarm's state; a one-line error when this engine is no manager of one."""
        info = self.info()
        if info.is_manager:
            return info
        if info.state == "active":
            raise ConfigError(
                f"docker ({self.where}) is a swarm worker, not a manager",
                hint="point DOCKER_HOST or the environment's context at a manager node",
            )
        detail = f" ({info.error})" if info.error else ""
        raise ConfigError(
            f"docker ({self.where}) is not part of a swarm: its state is {info.state}{detail}",
            hint="run `docker swarm init` on the manager (or `docker swarm join` this node), "
            "or point DOCKER_HOST / the context at a manager",
        )

    def nodes(self) -> list[SwarmNode]:
        return parse_nodes(self.run("node", "ls", "--format", "{{json .}}").stdout)

    def client_major(self) -> int:
        if self._client_major is None:
            done = self.run("version", "--format", "{{json .Client.Version}}", ok_codes=(0, 1))
            self._client_major = client_major(done.stdout)
        return self._client_major

    # -- stacks -------------------------------------------------------------------------

    def deploy(self, stack: str, document: str, *, timeout: float = 300) -> str:
        """`docker stack deploy` a compose document read from stdin (nothing written to
        disk); its output. The services are updated in the background: the caller watches
        them converge.
        `--prune` removes services the document no longer has; images are never resolved
        against a registry (`--resolve-image never`), so local images deploy as they are."""
        detach = ["--detach=true"] if self.client_major() >= DETACH_SINCE else []
        done = self.run(
            "stack", "deploy", "--prune", "--resolve-image", "never", *detach,
            "--compose-file", "-", stack,
            input_text=document, timeout=timeout,
        )  # fmt: skip
        return done.stdout + done.stderr

    def validate(self, document: str) -> str:
        """`docker stack config`: the document as `stack deploy` would read it; ConfigError
        (with the CLI's reason) when it would refuse it. Changes nothing."""
        try:
            return self.run("stack", "config", "--compose-file", "-", input_text=document).stdout
        except ToolFailedError as exc:
            raise ConfigError(
                "the compose files cannot be deployed as a swarm stack: "
                + (exc.hint.strip().splitlines() or [exc.message])[-1],
                hint="docker stack deploy reads compose file format 3.x: remove or replace "
                "the key it names (see `docker stack config -c FILE`)",
            ) from None

    def remove(self, stack: str) -> None:
        """`docker stack rm` (the caller waits for `stack_gone`)."""
        self.run("stack", "rm", stack, ok_codes=(0, 1))

    def remove_volumes(self, label: str) -> None:
        """Remove this engine's volumes carrying `label` (those in use stay)."""
        names = self.run("volume", "ls", "--quiet", "--filter", f"label={label}").stdout.split()
        if names:
            self.run("volume", "rm", *names, ok_codes=(0, 1))

    def stack_gone(self, stack: str) -> bool:
        """True once the stack has no service and no network left (a redeploy is safe)."""
        label = f"label={STACK_LABEL}={stack}"
        services = self.run("service", "ls", "--quiet", "--filter", label).stdout.split()
        networks = self.run("network", "ls", "--quiet", "--filter", label).stdout.split()
        return not services and not networks

    def services(self, stack: str) -> list[SwarmService]:
        """Every service of the stack."""
        listed = self.run(
            "service", "ls", "--quiet", "--filter", f"label={STACK_LABEL}={stack}"
        ).stdout.split()
        if not listed:
            return []
        done = self.run("service", "inspect", *listed, ok_codes=(0, 1))  # one may be gone
        return [s for s in parse_services(done.stdout) if s.stack == stack]

    def tasks(self, services: Sequence[str]) -> list[SwarmTask]:
        """The tasks (current and the few Swarm keeps in history) of these service IDs."""
        if not services:
            return []
        listed = self.run(
            "service", "ps", "--quiet", "--no-trunc", *services, ok_codes=(0, 1)
        ).stdout.split()
        if not listed:
            return []
        done = self.run("inspect", "--type", "task", *listed, ok_codes=(0, 1))
        return parse_tasks(done.stdout)

    def logs(self, target: str, *, tail: int = 50) -> str:
        """The last lines a service or task wrote (from whichever node runs it)."""
        done = self.run(
            "service", "logs", "--no-task-ids", "--tail", str(tail), target,
            ok_codes=(0, 1), timeout=60,
        )  # fmt: skip
        return (done.stdout + done.stderr).strip()

    def container(self, container_id: str) -> ContainerState | None:
        """A task's container as the manager's engine sees it (its healthcheck probes); None
        when it runs on another node or is gone."""
        done = self.run("container", "inspect", container_id, ok_codes=(0, 1))
        found = parse_inspect(done.stdout) if done.returncode == 0 else []
        return found[0] if found else None

    # -- small records kept by the swarm -------------------------------------------------

    def create_config(self, name: str, labels: Mapping[str, str], data: str) -> bool:
        """Create a labelled swarm config; False when the name is taken (configs never change)."""
        done = self.run(
            "config", "create", *_label_args(labels), name, "-", input_text=data, ok_codes=(0, 1)
        )
        if done.returncode == 0:
            return True
        if _EXISTS.search(done.stderr):
            return False
        raise ToolFailedError(f"docker: could not create config {name}", hint=done.stderr.strip())

    def configs(self, label: str) -> list[EngineRecord]:
        """Every config carrying `label` (`key` or `key=value`)."""
        names = self.run("config", "ls", "--quiet", "--filter", f"label={label}").stdout.split()
        return self.configs_named(names) if names else []

    def configs_named(self, names: Sequence[str]) -> list[EngineRecord]:
        done = self.run("config", "inspect", *names, ok_codes=(0, 1))
        return parse_configs(done.stdout)

    def create_idle_service(self, name: str, image: str, labels: Mapping[str, str]) -> str | None:
        """Create a service that runs no task (0 replicas): its ID, or None if the name is
        taken. Service names are unique in the swarm, which makes this a lock primitive."""
        done = self.run(
            "service", "create", "--detach", "--quiet", "--replicas", "0", "--no-resolve-image",
            "--name", name, *_label_args(labels), image,
            ok_codes=(0, 1),
        )  # fmt: skip
        if done.returncode == 0:
            return done.stdout.strip().splitlines()[-1]
        if _EXISTS.search(done.stderr):
            return None
        raise ToolFailedError(f"docker: could not create service {name}", hint=done.stderr.strip())

    def service_record(self, name: str) -> EngineRecord | None:
        """A service's name, ID and labels, or None when there is none of that name."""
        done = self.run("service", "inspect", name, ok_codes=(0, 1))
        found = parse_configs(done.stdout) if done.returncode == 0 else []
        return found[0] if found else None

    def set_label(self, service: str, key: str, value: str) -> bool:
        """Set one label of a service; False when the service is gone."""
        done = self.run(
            "service", "update", "--detach", "--quiet", "--label-add", f"{key}={value}", service,
            ok_codes=(0, 1),
        )  # fmt: skip
        if done.returncode == 0:
            return True
        if _NOT_FOUND.search(done.stderr):
            return False
        raise ToolFailedError(
            f"docker: could not label service {service}", hint=done.stderr.strip()
        )

    def remove_service(self, service: str) -> None:
        """Remove a service by ID (absent already is fine)."""
        self.run("service", "rm", service, ok_codes=(0, 1))

    def ping(self) -> str:
        """The engine's version; a one-line error when the manager cannot be reached."""
        try:
            done = self.run("version", "--format", "{{.Server.Version}}", timeout=30)
        except ToolFailedError as exc:
            reason = next((ln for ln in exc.hint.splitlines() if ln.strip()), exc.message)
            raise ToolFailedError(
                f"docker: cannot reach the swarm manager ({self.where}): {reason.strip()}",
                hint="check DOCKER_HOST and the docker context, and that the manager's daemon runs",
            ) from None
        return done.stdout.strip()


def _label_args(labels: Mapping[str, str]) -> list[str]:
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
