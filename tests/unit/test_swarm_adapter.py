"""Swarm adapter: parsing of JSON recorded from a real single-node swarm, and argv building.

The recordings (tests/fixtures/swarm) come from docker 20.10 during a good update, an update
Swarm rolled back, a missing image, a crash on creation and a paused update; the same
commands run for real in tests/integration/test_swarm_deploy.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from conveyor.errors import ConfigError, ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.tools.swarm import (
    ServicePort,
    Swarm,
    client_major,
    parse_configs,
    parse_info,
    parse_nodes,
    parse_services,
    parse_tasks,
)
from tests.conftest import REPO_ROOT

RECORDED = REPO_ROOT / "tests" / "fixtures" / "swarm"
NODE = "pnxxbd0s6hdttt4us25o4tvn0"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


def test_swarm_state_of_a_manager_and_of_a_plain_engine() -> None:
    active = parse_info(recorded("info-active.json"))
    assert (active.node_id, active.state, active.nodes, active.managers) == (NODE, "active", 1, 1)
    assert active.is_manager
    inactive = parse_info(recorded("info-inactive.json"))
    assert inactive.state == "inactive"
    assert not inactive.is_manager


def test_nodes_from_node_ls_json_lines() -> None:
    (node,) = parse_nodes(recorded("node-ls.jsonl") + "\n\n")
    assert (node.id, node.hostname, node.status, node.availability) == (
        NODE,
        "vm",
        "ready",
        "active",
    )
    assert node.manager_status == "Leader"


def test_services_of_a_stack_with_their_update_state() -> None:
    app, worker = parse_services(recorded("services-rollback-started.json"))
    assert (app.name, app.stack, app.service) == ("swx_app", "swx", "app")
    assert app.image == "conveyor-demo-it:good2"
    assert app.container_labels["io.conveyor.fingerprint"] == "good2"
    assert app.replicas == 1
    assert app.update is not None
    assert app.update.state == "rollback_started"
    assert "rolled back due to failure" in app.update.message
    assert not app.has_previous_spec  # Swarm's rollback swapped the previous spec back in
    assert app.ports == (ServicePort(published=18555, target=8000, protocol="tcp", mode="host"),)
    assert app.has_healthcheck
    assert not worker.has_healthcheck  # `healthcheck: disable: true` is Test ["NONE"]
    assert worker.update is not None
    assert (worker.update.state, worker.update.message) == ("completed", "update completed")
    assert worker.update.completed_at > worker.update.started_at
    (created,) = parse_services(recorded("services-created.json"))
    assert created.update is None
    assert not created.has_previous_spec
    updated, _ = parse_services(recorded("services-updating.json"))
    assert updated.has_previous_spec


def test_tasks_with_their_errors_and_exit_codes() -> None:
    tasks = parse_tasks(recorded("tasks-no-such-image.json"))
    rejected = [t for t in tasks if t.state == "rejected"]
    assert len(rejected) == 3
    assert rejected[0].error == "No such image: conveyor-demo-it:never-built"
    assert rejected[0].image == "conveyor-demo-it:never-built"
    assert rejected[0].node_id == NODE
    crashed = [
        t for t in parse_tasks(recorded("tasks-created-crashing.json")) if t.state == "failed"
    ]
    assert crashed[0].exit_code == 3
    assert crashed[0].error == "task: non-zero exit (3)"
    assert crashed[0].label("app") == "app.1"
    assert crashed[0].container_id
    assert crashed[0].labels["com.docker.stack.namespace"] == "swx"


def test_configs_and_services_as_records() -> None:
    (config,) = parse_configs(recorded("config-inspect.json"))
    assert config.name == "conveyor-release-swx-000001"
    assert config.labels["io.conveyor.ledger"] == "swx"
    (lock,) = parse_configs(recorded("lock-service-inspect.json"))
    assert lock.name == "conveyor-lock-swx"
    assert lock.labels["io.conveyor.lock.lease"] == '{"renewed":"x"}'


@pytest.mark.parametrize(("text", "major"), [('"28.2.2"\n', 28), ("20.10.24", 20), ("", 0)])
def test_client_major_version(text: str, major: int) -> None:
    assert client_major(text) == major


class Answers(Runner):
    """Answers `docker` commands from a table (argument building only; real: integration)."""

    def __init__(self, answers: dict[str, Completed | str]) -> None:
        super().__init__()
        self.answers = answers
        self.calls: list[tuple[list[str], str | None]] = []

    def run(self, argv: Sequence[Any], **kwargs: Any) -> Completed:
        args = [str(a) for a in argv]
        self.calls.append((args, kwargs.get("input_text")))
        for prefix, answer in self.answers.items():
            if " ".join(args).startswith(prefix):
                if isinstance(answer, Completed):
                    if answer.returncode not in kwargs.get("ok_codes", (0,)):
                        raise ToolFailedError("docker: exited 1", hint=answer.stderr)
                    return answer
                return Completed(tuple(args), 0, answer, "")
        raise AssertionError(f"unexpected command {args}")


def test_stack_deploy_reads_stdin_never_resolves_images_and_detaches_when_it_can() -> None:
    runner = Answers({"docker version": '"28.2.2"', "docker --context": '"20.10.5"'})
    runner.answers["docker stack deploy"] = ""
    runner.answers["docker --context prod stack deploy"] = ""
    Swarm(runner=runner).deploy("shop", "services: {}\n")
    argv, stdin = runner.calls[-1]
    assert argv == [
        "docker", "stack", "deploy", "--prune", "--resolve-image", "never", "--detach=true",
        "--compose-file", "-", "shop",
    ]  # fmt: skip
    assert stdin == "services: {}\n"
    old = Swarm(runner=runner, context="prod")
    old.deploy("shop", "services: {}\n")
    assert "--detach=true" not in runner.calls[-1][0]  # a CLI before 26 always detaches
    assert runner.calls[-1][0][:3] == ["docker", "--context", "prod"]


def test_a_plain_engine_and_a_worker_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@node2")
    plain = Swarm(runner=Answers({"docker info": recorded("info-inactive.json")}))
    with pytest.raises(ConfigError, match=r"^docker \(ssh://deploy@node2\) is not part of a swarm"):
        plain.require_manager()
    worker = '{"LocalNodeState": "active", "ControlAvailable": false}'
    with pytest.raises(ConfigError, match="is a swarm worker, not a manager"):
        Swarm(runner=Answers({"docker info": worker})).require_manager()
    manager = Swarm(runner=Answers({"docker info": recorded("info-active.json")}))
    assert manager.require_manager().is_manager


def test_records_kept_by_the_swarm_report_a_taken_name() -> None:
    taken = Completed((), 1, "", "Error response from daemon: rpc error: code = AlreadyExists")
    swarm = Swarm(runner=Answers({"docker config create": taken, "docker service create": taken}))
    assert swarm.create_config("conveyor-release-x-000001", {"k": "v"}, "data") is False
    assert swarm.create_idle_service("conveyor-lock-x", "base", {"k": "v"}) is None
    broken = Completed((), 1, "", "Error response from daemon: permission denied")
    with pytest.raises(ToolFailedError, match="could not create config"):
        Swarm(runner=Answers({"docker config create": broken})).create_config("c", {}, "")
    gone = Completed((), 1, "", "Error: no such service: conveyor-lock-x")
    assert Swarm(runner=Answers({"docker service update": gone})).set_label("x", "k", "v") is False


def test_validation_names_what_stack_deploy_refuses() -> None:
    refused = Completed((), 1, "", "services.app Additional property foo is not allowed")
    swarm = Swarm(runner=Answers({"docker stack config": refused}))
    with pytest.raises(ConfigError, match=r"services\.app Additional property foo is not allowed"):
        swarm.validate("services: {app: {foo: 1}}\n")
