"""A swarm stack as the orchestration sees it: services as records, and which engine and
strategy an environment gets (the real ones run in tests/integration/test_swarm_deploy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import SwarmSettings, load_project
from conveyor.deploy.engine import engine_for
from conveyor.deploy.ledger import ReleaseSource
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies.blue_green import BlueGreen
from conveyor.deploy.strategies.in_place import InPlace
from conveyor.deploy.strategies.swarm import SwarmStack
from conveyor.deploy.swarm_runtime import SwarmRuntime, service_state
from conveyor.deploy.target import resolve_target
from conveyor.errors import ConfigError
from conveyor.runner import Runner
from conveyor.tools.compose import Compose, ComposeTarget, ImageFacts, load_config
from conveyor.tools.swarm import Swarm, parse_services, parse_tasks
from tests.unit.test_swarm_adapter import Answers, recorded

PYPROJECT = """[project]
name = "shop"

[tool.conveyor.deploy]
compose-files = ["compose.yaml"]

[tool.conveyor.deploy.swarm]
monitor = 4

[tool.conveyor.deploy.environments.staging]

[tool.conveyor.deploy.environments.production]
engine = "swarm"
context = "prod-manager"
"""


def test_a_converged_service_is_one_running_record_with_its_labels() -> None:
    tasks = parse_tasks(recorded("tasks-converged.json"))
    app, worker = (
        service_state(s, tasks) for s in parse_services(recorded("services-completed.json"))
    )
    assert (app.service, app.name, app.status, app.health) == (
        "app",
        "swx_app",
        "running",
        "healthy",
    )
    assert app.image == "conveyor-demo-it:good2"
    assert app.labels["io.conveyor.fingerprint"] == "good2"
    assert app.host_ports == (18555,)
    assert (worker.status, worker.health) == ("running", None)  # no healthcheck


def test_a_service_in_the_middle_of_an_update_says_where_it_is() -> None:
    tasks = parse_tasks(recorded("tasks-start-first.json"))
    app, worker = (
        service_state(s, tasks) for s in parse_services(recorded("services-updating.json"))
    )
    assert app.status == "0/1 running, no task"  # stop-first: the old task is being stopped
    assert worker.status == "running"  # start-first: the old task serves meanwhile
    assert app.health is None


def test_an_environment_picks_its_engine_and_strategy(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    project = load_project(tmp_path)
    runner = Runner()
    staging = resolve_target(project, "staging")
    compose = Compose(staging.compose, command=("x",), runner=runner)
    engine, strategy = engine_for(staging, compose, runner, print)
    assert engine is compose
    assert isinstance(strategy, InPlace)
    production = resolve_target(project, "production")
    engine, strategy = engine_for(production, compose, runner, print)
    assert isinstance(engine, SwarmRuntime)
    assert isinstance(strategy, SwarmStack)
    assert engine.stack == strategy.stack == "shop-production"
    assert engine.swarm.argv("node", "ls") == ["docker", "--context", "prod-manager", "node", "ls"]
    assert strategy.settings.monitor == 4


def test_a_swarm_environment_does_not_take_the_proxy_strategy(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace(
            "[tool.conveyor.deploy]\n", '[tool.conveyor.deploy]\nstrategy = "blue-green"\n'
        )
    )
    project = load_project(tmp_path)
    runner = Runner()
    staging = resolve_target(project, "staging")
    compose = Compose(staging.compose, command=("x",), runner=runner)
    assert isinstance(engine_for(staging, compose, runner, print)[1], BlueGreen)
    production = resolve_target(project, "production")  # inherits blue-green: Swarm's own
    assert isinstance(engine_for(production, compose, runner, print)[1], SwarmStack)
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace('engine = "swarm"', 'engine = "swarm"\nstrategy = "blue-green"')
    )
    with pytest.raises(ConfigError) as refused:
        load_project(tmp_path)
    assert refused.value.message.startswith(
        f"{(tmp_path / 'pyproject.toml').resolve()}: "
        "[tool.conveyor.deploy.environments.production] key 'strategy': "
        '"blue-green" is for compose targets'
    ), refused.value.message


def test_an_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.replace('engine = "swarm"', 'engine = "k8s"')
    )
    with pytest.raises(ConfigError, match="engine"):
        load_project(tmp_path)


def release_of(rendered: str) -> PreparedRelease:
    config = load_config(rendered)
    names = list(config.services)
    return PreparedRelease(
        compose=Compose(ComposeTarget(files=(), project="shop"), command=("x",)),
        config=config,
        images={n: f"{n}:1" for n in names},
        facts={n: ImageFacts(id=f"sha256:{n}", has_healthcheck=True) for n in names},
        fingerprints={n: f"f-{n}" for n in names},
        source=ReleaseSource(),
    )


def test_the_preflight_names_what_a_swarm_of_several_nodes_needs() -> None:
    nodes = recorded("node-ls.jsonl") + (
        '{"Availability":"Active","Hostname":"node2","ID":"n2","ManagerStatus":"",'
        '"Status":"Down"}\n'
    )
    runner = Answers(
        {
            "docker info": recorded("info-active.json"),
            "docker stack config": "",
            "docker node ls": nodes,
        }
    )
    stack = SwarmStack(Swarm(runner=runner), "shop", SwarmSettings(), print)
    notes = stack.preflight(release_of(recorded("compose-config-v1-staging.yaml")))
    assert "node node2 is down: Swarm cannot place tasks there" in notes
    assert any(n.startswith("the swarm has 2 nodes and each one that runs a task") for n in notes)
    assert "docker save IMAGE | docker -H ssh://NODE load" in notes[-1]
    (validated,) = [stdin for argv, stdin in runner.calls if argv[1:3] == ["stack", "config"]]
    assert validated is not None
    assert "image: app:1" in validated  # the stack file itself went to `docker stack config`
