"""The convergence watcher's decisions, from service and task JSON recorded on a real swarm.

In the recordings the fingerprint label is the release's tag (good, good2, bad, crash,
never-built); the real watcher runs in tests/integration/test_swarm_deploy.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import pytest

from conveyor.deploy.convergence import ServiceConvergence, Steadiness, judge, wait_converged
from conveyor.tools.swarm import Swarm, SwarmTask, parse_services, parse_tasks
from tests.unit.test_swarm_adapter import NODE, Answers, recorded

NODES = {NODE: "vm"}


def verdicts(
    services_file: str,
    tasks_file: str,
    expected: str,
    *,
    known: Sequence[str] = (),
    window: float = 0.0,
    running_for: float = float("inf"),
) -> dict[str, ServiceConvergence]:
    services = parse_services(recorded(services_file))
    tasks = parse_tasks(recorded(tasks_file))
    return {
        s.service: judge(
            s.service,
            s,
            tasks,
            expected=expected,
            nodes=NODES,
            known=known,
            window=window,
            running_for=lambda _: running_for,
        )
        for s in services
    }


def test_a_completed_update_with_every_task_of_the_release_running_is_well() -> None:
    found = verdicts("services-completed.json", "tasks-converged.json", "good2")
    assert found["app"].health.verdict == "ok"
    assert found["app"].health.detail == "1/1 tasks of this release running, healthy"
    assert found["worker"].health.verdict == "ok"
    assert [(r.name, r.state) for r in found["app"].tasks] == [("app.1@vm", "running")]


def test_an_update_in_progress_is_waited_for_with_its_tasks_shown() -> None:
    found = verdicts("services-updating.json", "tasks-start-first.json", "good2")
    app = found["app"]
    assert app.health.verdict == "waiting"
    assert app.health.detail == "updating: 0/1 tasks of this release running"
    assert [(r.name, r.state) for r in app.tasks] == [
        ("app.1@vm (old)", "running (to shutdown)"),  # stop-first (host-mode port)
        ("app.1", "pending: no suitable node (host-mode port already in use on 1 node)"),
    ]
    worker = found["worker"]
    assert worker.health.verdict == "waiting"
    assert [r.state for r in worker.tasks] == ["running", "assigned"]  # start-first: both


@pytest.mark.parametrize(
    "services_file",
    [
        "services-rollback-started.json",
        "services-rollback-completed.json",
        # docker 20.10 flips UpdateStatus back to "completed" seconds after a rollback: only
        # the spec (the previous release's fingerprint) still says what happened.
        "services-completed-after-rollback.json",
    ],
)
def test_an_update_swarm_rolled_back_is_a_failure_whatever_its_update_state(
    services_file: str,
) -> None:
    found = verdicts(services_file, "tasks-rolled-back.json", "bad")
    app = found["app"]
    assert app.health.verdict == "failed"
    assert app.health.detail.startswith("was rolled back by Swarm: task app.1 on vm ended")
    assert app.culprit is not None
    assert app.culprit.labels["io.conveyor.fingerprint"] == "bad"
    assert app.logs_from == app.culprit.id
    assert app.if_unhealthy == "was rolled back by Swarm: task app.1 on vm was stopped as unhealthy"
    # The service Swarm did not roll back runs the failed release: the stack is mixed.
    assert found["worker"].health.verdict == "ok"


def test_restoring_the_release_swarm_rolled_back_to_counts_it_as_converged() -> None:
    found = verdicts("services-completed-after-rollback.json", "tasks-rolled-back.json", "good2")
    assert found["app"].health.verdict == "ok"
    assert found["worker"].health.verdict == "failed"  # runs `bad`: it must be restored too


def test_a_node_without_the_image_is_named_with_the_image() -> None:
    # The watcher sees the rejected tasks of the new release before Swarm rolls back.
    services = parse_services(recorded("services-no-such-image.json"))
    tasks = parse_tasks(recorded("tasks-no-such-image.json"))
    app = next(s for s in services if s.service == "app")
    pinned = replace(app, container_labels={"io.conveyor.fingerprint": "never-built"})
    found = judge("app", pinned, tasks, expected="never-built", nodes=NODES)
    assert found.health.verdict == "failed"
    assert found.health.detail == (
        "cannot start on node vm: image conveyor-demo-it:never-built is not there "
        "(No such image: conveyor-demo-it:never-built)"
    )


def test_a_new_service_whose_task_fails_fails_at_once() -> None:
    found = verdicts("services-created-crashing.json", "tasks-created-crashing.json", "crash")
    app = found["app"]
    assert app.health.verdict == "failed"
    assert app.health.detail == (
        "task app.1 on vm ended (failed, exit code 3): task: non-zero exit (3)"
    )
    assert app.culprit is not None
    assert app.culprit.container_id


def test_tasks_that_failed_before_the_deploy_are_history_not_news() -> None:
    tasks = parse_tasks(recorded("tasks-created-crashing.json"))
    before = [t.id for t in tasks if t.state == "failed"]
    found = verdicts(
        "services-created-crashing.json", "tasks-created-crashing.json", "crash", known=before
    )
    assert found["app"].health.verdict == "waiting"
    assert found["app"].health.detail == "0/1 tasks of this release running"


def test_a_paused_update_is_a_failure() -> None:
    found = verdicts("services-paused.json", "tasks-paused.json", "crash")
    assert found["app"].health.verdict == "failed"
    assert found["app"].health.detail.startswith("update was paused by Swarm: update paused due")


def test_a_service_without_healthcheck_must_stay_up_for_the_window() -> None:
    young = verdicts(
        "services-completed.json", "tasks-converged.json", "good2", window=10, running_for=3
    )
    assert young["worker"].health.verdict == "waiting"
    assert "must stay up 10s" in young["worker"].health.detail
    assert young["app"].health.verdict == "ok"  # its healthcheck gated it already
    steady = verdicts(
        "services-completed.json", "tasks-converged.json", "good2", window=10, running_for=12
    )
    assert steady["worker"].health.verdict == "ok"


def test_a_service_not_created_yet_is_waited_for() -> None:
    found = judge("app", None, [], expected="x", nodes=NODES)
    assert (found.health.verdict, found.health.detail) == ("waiting", "has no service yet")


def test_steadiness_restarts_when_a_task_stops_running() -> None:
    tasks: list[SwarmTask] = parse_tasks(recorded("tasks-converged.json"))
    running = next(t for t in tasks if t.state == "running")
    seen = Steadiness()
    seen.observe(tasks, 100.0)
    seen.observe(tasks, 105.0)
    assert seen.running_for(running, 107.0) == 7.0
    seen.observe([], 108.0)
    assert seen.running_for(running, 109.0) == 0.0


def test_the_watcher_times_out_naming_what_it_waited_for_with_its_logs() -> None:
    """The polling loop on recorded answers (argument building and parsing only)."""
    runner = Answers(
        {
            "docker node ls": recorded("node-ls.jsonl"),
            "docker service ls": "ytyh4db7da4c0t0s44t5w52nz\nvdky5hmfwo2brk3hl8ofawoyf\n",
            "docker service inspect": recorded("services-updating.json"),
            "docker service ps": "t1\n",
            "docker inspect --type task": recorded("tasks-start-first.json"),
            "docker service logs": "app.1 | still starting\n",
        }
    )
    ticks = itertools.chain([0.0, 0.0, 0.0], itertools.repeat(5.0))  # one poll, then late
    report = wait_converged(
        Swarm(runner=runner), "swx", {"app": "good2"}, timeout=1, clock=lambda: next(ticks)
    )
    assert report.timed_out
    assert report.summary() == (
        "health check timed out after 5.0s: app updating: 0/1 tasks of this release running"
    )
    assert report.logs == {"app": "app.1 | still starting"}
    assert [
        "docker",
        "service",
        "logs",
        "--no-task-ids",
        "--tail",
        "50",
        "ytyh4db7da4c0t0s44t5w52nz",
    ] in [argv for argv, _ in runner.calls]
