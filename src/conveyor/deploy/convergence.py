"""Wait until every service of a swarm stack runs the release, or say precisely why not.

`docker stack deploy` returns as soon as the services' specs are updated; Swarm then replaces
their tasks in the background, and may roll an update back by itself, after which the stack
command has long exited 0 (docker/cli#6752). So the watcher judges each service from its
inspected state, polled every half second:

- its spec carries another release's fingerprint: Swarm rolled the update back (its
  UpdateStatus may already read `completed` again, so the spec is what counts) - failed;
- its update is paused (`paused`, `rollback_paused`) - failed;
- a task of this release was rejected or failed (a crash, an unhealthy container, an image a
  node does not have) - failed, naming the task, its node and Swarm's error;
- otherwise it is well once its update is no longer in progress (Swarm's monitor window has
  passed), as many tasks of this release run as it has replicas, and no task of another
  release still runs. A task only reaches `running` once its healthcheck passed; a service
  without one must also have run for the stability window.

Tasks that existed before the deploy (`known`) cannot fail it: their history is not news.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from conveyor.deploy.health import HealthReport, Progress, ServiceHealth, Verdict
from conveyor.deploy.plan import FINGERPRINT_LABEL
from conveyor.tools.compose import ContainerState
from conveyor.tools.swarm import Swarm, SwarmService, SwarmTask

POLL_SECONDS = 0.5
ENDED = ("complete", "shutdown", "failed", "rejected", "orphaned", "remove")
FAILED = ("failed", "rejected")
PAUSED = ("paused", "rollback_paused")
IN_PROGRESS = ("updating", "rollback_started")
NO_IMAGE = "No such image"


@dataclass(frozen=True)
class TaskRow:
    """One task as the progress shows it: `app.1@node1: running`."""

    name: str
    state: str
    verdict: Verdict = "waiting"

    def as_health(self) -> ServiceHealth:
        return ServiceHealth(f"  {self.name}", self.verdict, self.state)


@dataclass(frozen=True)
class ServiceConvergence:
    """One service's verdict, its tasks, the task that explains a failure, and where to read
    the logs from (that task, else the service)."""

    health: ServiceHealth
    tasks: tuple[TaskRow, ...] = ()
    culprit: SwarmTask | None = None
    logs_from: str = ""
    if_unhealthy: str = ""  # the detail when the culprit's container proves unhealthy


def _node(task: SwarmTask, nodes: Mapping[str, str]) -> str:
    return nodes.get(task.node_id, task.node_id[:12] or "no node")


def _task_name(task: SwarmTask, service: str, nodes: Mapping[str, str]) -> str:
    """`app.1@node1`, or `app.1` before the task has a node."""
    return task.label(service) + (f"@{_node(task, nodes)}" if task.node_id else "")


def _task_state(task: SwarmTask) -> str:
    going = task.desired_state not in ("running", "ready")
    state = f"{task.state} (to {task.desired_state})" if going else task.state
    why = task.error or (task.message if task.state in FAILED else "")
    return f"{state}: {why}" if why else state


def _row_verdict(task: SwarmTask) -> Verdict:
    if task.state in FAILED:
        return "failed"
    return "ok" if task.state == "running" and task.desired_state == "running" else "waiting"


def _why_failed(
    task: SwarmTask, service: str, nodes: Mapping[str, str], *, unhealthy: bool = False
) -> str:
    """What went wrong with a task, as the rest of a sentence that starts with the service."""
    node = _node(task, nodes)
    if unhealthy:
        return f"task {task.label(service)} on {node} was stopped as unhealthy"
    if NO_IMAGE in task.error:
        return f"cannot start on node {node}: image {task.image} is not there ({task.error})"
    code = f", exit code {task.exit_code}" if task.exit_code else ""
    why = task.error or task.message
    ended = f"task {task.label(service)} on {node} ended ({task.state}{code})"
    return f"{ended}: {why}" if why else ended


def _culprit(tasks: Sequence[SwarmTask], known: Collection[str]) -> SwarmTask | None:
    """The newest task of this release that ended (the one whose logs to show)."""
    ended = [t for t in tasks if t.state in ENDED and t.id not in known]
    return max(ended, key=lambda t: t.updated_at) if ended else None


Finding = tuple[Verdict, str, "SwarmTask | None"]


def _failure(
    name: str,
    service: SwarmService,
    ours: Sequence[SwarmTask],
    *,
    expected: str,
    nodes: Mapping[str, str],
    known: Collection[str],
) -> Finding | None:
    """Why the service has failed (rolled back, paused, a task rejected or failed), if it has."""
    update = service.update
    state, message = (update.state, update.message) if update else ("", "")
    if service.container_labels.get(FINGERPRINT_LABEL) != expected:
        culprit = _culprit(ours, known)
        if culprit is not None:
            return (
                "failed",
                f"was rolled back by Swarm: {_why_failed(culprit, name, nodes)}",
                culprit,
            )
        why = f": {message}" if "rolled back" in message else ""
        return "failed", f"was rolled back by Swarm{why}", None
    if state in PAUSED:
        return "failed", f"update was paused by Swarm: {message or state}", _culprit(ours, known)
    fresh = [t for t in ours if t.id not in known]
    missing = [t for t in fresh if NO_IMAGE in t.error]
    failed = missing or [t for t in fresh if t.state in FAILED]
    if failed:
        culprit = max(failed, key=lambda t: t.updated_at)
        return "failed", _why_failed(culprit, name, nodes), culprit
    return None


def _progress(
    service: SwarmService,
    mine: Sequence[SwarmTask],
    ours: Sequence[SwarmTask],
    running_for: Callable[[SwarmTask], float],
    window: float,
) -> tuple[Verdict, str]:
    """How far the service is from running the release (it has not failed)."""
    running = [t for t in ours if t.desired_state == "running" and t.state == "running"]
    desired = [t for t in ours if t.desired_state == "running"]
    wanted = service.replicas if service.replicas is not None else max(1, len(desired))
    if wanted == 0:
        return "ok", "scaled to 0 replicas"
    progress = f"{len(running)}/{wanted} tasks of this release running"
    state = service.update.state if service.update else ""
    if state in IN_PROGRESS:
        what = "updating" if state == "updating" else "Swarm rolling back to it"
        return "waiting", f"{what}: {progress}"
    replaced = [t for t in mine if t not in ours and t.desired_state == "running"]
    if len(running) < wanted or replaced:
        more = f", {len(replaced)} of another release still running" if replaced else ""
        return "waiting", progress + more
    if service.has_healthcheck or not window:
        return "ok", progress + (", healthy" if service.has_healthcheck else "")
    if min(running_for(t) for t in running) < window:
        return "waiting", f"{progress} (no healthcheck): must stay up {window:g}s without a restart"
    return "ok", f"{progress} (no healthcheck), {window:g}s without a restart"


def judge(
    name: str,
    service: SwarmService | None,
    tasks: Sequence[SwarmTask],
    *,
    expected: str,
    nodes: Mapping[str, str],
    known: Collection[str] = (),
    running_for: Callable[[SwarmTask], float] = lambda t: float("inf"),
    window: float = 0.0,
) -> ServiceConvergence:
    """The verdict for one service of the stack that should run release `expected`."""
    if service is None:
        return ServiceConvergence(ServiceHealth(name, "waiting", "has no service yet"))
    mine = [t for t in tasks if t.service_id == service.id]
    ours = [t for t in mine if t.labels.get(FINGERPRINT_LABEL) == expected]
    rows = tuple(
        TaskRow(
            _task_name(t, name, nodes) + ("" if t in ours else " (old)"),
            _task_state(t),
            _row_verdict(t),
        )
        for t in sorted(mine, key=lambda t: (t.slot or 0, t.created_at))
        if t.desired_state == "running" or (t.id not in known and t.state not in ENDED)
    )
    found = _failure(name, service, ours, expected=expected, nodes=nodes, known=known)
    if found is None:
        verdict, detail = _progress(service, mine, ours, running_for, window)
        found = verdict, detail, None
    verdict, detail, culprit = found
    source = culprit.id if culprit is not None else service.id
    unhealthy = ""
    if culprit is not None:
        unhealthy = detail.replace(
            _why_failed(culprit, name, nodes), _why_failed(culprit, name, nodes, unhealthy=True)
        )
    return ServiceConvergence(
        ServiceHealth(name, verdict, detail), rows, culprit, source, unhealthy
    )


class Steadiness:
    """How long each task has been seen running (monotonic clock of this process)."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def observe(self, tasks: Sequence[SwarmTask], now: float) -> None:
        running = {t.id for t in tasks if t.state == "running"}
        for task_id in running:
            self._since.setdefault(task_id, now)
        for task_id in set(self._since) - running:
            del self._since[task_id]

    def running_for(self, task: SwarmTask, now: float) -> float:
        since = self._since.get(task.id)
        return 0.0 if since is None else now - since


def wait_converged(
    swarm: Swarm,
    stack: str,
    expected: Mapping[str, str],
    *,
    timeout: float,
    known: Collection[str] = (),
    window: float = 0.0,
    log_lines: int = 50,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> HealthReport:
    """Poll until every service in `expected` (service -> fingerprint) runs its release, one
    fails, or `timeout` passes; the report names the failures with Swarm's errors and logs."""
    started = clock()
    nodes = {n.id: n.hostname for n in swarm.nodes()}
    steadiness = Steadiness()
    timed_out = False
    while True:
        services = {s.service: s for s in swarm.services(stack)}
        tasks = swarm.tasks([s.id for s in services.values()])
        now = clock()
        steadiness.observe(tasks, now)
        running_for = functools.partial(steadiness.running_for, now=now)
        verdicts = [
            judge(
                name,
                services.get(name),
                tasks,
                expected=fingerprint,
                nodes=nodes,
                known=known,
                running_for=running_for,
                window=window,
            )
            for name, fingerprint in expected.items()
        ]
        elapsed = clock() - started
        if progress is not None:
            progress.update([row for v in verdicts for row in _rows(v)], elapsed)
        if all(v.health.verdict == "ok" for v in verdicts):
            break
        if any(v.health.verdict == "failed" for v in verdicts):
            break
        if elapsed >= timeout:
            timed_out = True
            break
        time.sleep(POLL_SECONDS)
    return _report(swarm, verdicts, clock() - started, timed_out, log_lines)


def _rows(convergence: ServiceConvergence) -> list[ServiceHealth]:
    return [convergence.health, *(row.as_health() for row in convergence.tasks)]


def _report(
    swarm: Swarm,
    verdicts: Sequence[ServiceConvergence],
    seconds: float,
    timed_out: bool,
    log_lines: int,
) -> HealthReport:
    """The health report orchestration prints: failing services with probes and logs."""
    healths: list[ServiceHealth] = []
    logs: dict[str, str] = {}
    failing = {v.health.service for v in verdicts if v.health.verdict != "ok"}
    for item in verdicts:
        health = item.health
        culprit = item.culprit
        container: ContainerState | None = None
        if health.service in failing:
            if culprit is not None and culprit.container_id:
                container = swarm.container(culprit.container_id)
            if container is not None and container.health == "unhealthy" and item.if_unhealthy:
                health = replace(health, detail=item.if_unhealthy)
            if log_lines and item.logs_from:
                logs[health.service] = swarm.logs(item.logs_from, tail=log_lines)
        healths.append(ServiceHealth(health.service, health.verdict, health.detail, container))
    return HealthReport(services=healths, seconds=seconds, timed_out=timed_out, logs=logs)
