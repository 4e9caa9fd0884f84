"""`inv up/health/logs/down` and the Compose adapter against the real engine."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from conveyor.config import load_project
from conveyor.deploy.ledger import Ledger
from conveyor.deploy.lock import DeployLock
from conveyor.deploy.target import resolve_target
from conveyor.errors import ToolFailedError
from conveyor.runner import Runner
from conveyor.tasks.compose import down, health, logs, up
from conveyor.tools.compose import Compose, detect_compose, port_conflict, services_publishing
from tests.integration._demo import (
    BAD,
    BASE_IMAGE,
    DemoTarget,
    docker,
    make_target,
    wait_for,
)
from tests.integration._machine import COMPOSE_V1

pytestmark = pytest.mark.docker

ONE_SHOT = f"""services:
  migrate:
    image: {BASE_IMAGE}
    command: ["python3", "-c", "print('migrated')"]
    restart: "no"
"""


@pytest.fixture
def target(demo_images: None, tmp_path: Path) -> Iterator[DemoTarget]:
    made = make_target(tmp_path)
    try:
        yield made
    finally:
        made.down()


def restarts(container: str) -> str:
    return docker("inspect", "-f", "{{.RestartCount}}", container).stdout.strip()


def compose_of(target: DemoTarget) -> Compose:
    return Compose(resolve_target(load_project(target.root), "staging").compose)


def test_up_health_logs_down(target: DemoTarget, capsys: pytest.CaptureFixture[str]) -> None:
    up(target.context(), env="staging")
    out = capsys.readouterr().out
    assert "all 2 services healthy" in out
    assert target.get("/health")[0] == 200

    health(target.context(), env="staging", timeout="10")
    assert "all 2 services healthy" in capsys.readouterr().out

    # A restart before `inv health` started is history, not a crash loop.
    app = target.containers()["app"]
    docker("exec", app, "python3", "-c", "import os, signal; os.kill(1, signal.SIGTERM)")
    assert wait_for(lambda: restarts(app) == "1" and target.get("/health")[0] == 200)
    health(target.context(), env="staging", timeout="30")
    assert "all 2 services healthy" in capsys.readouterr().out

    logs(target.context(), env="staging", service="app", tail=20)
    assert "Uvicorn running on" in capsys.readouterr().out
    with pytest.raises(Exit):
        logs(target.context(), env="staging", service="nope")
    assert "no service 'nope'" in capsys.readouterr().err

    down(target.context(), env="staging")
    assert target.containers() == {}


def test_health_names_the_failing_service_with_probes_and_logs(
    target: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    up(target.context(), env="staging", tag=BAD, wait=False)
    with pytest.raises(Exit) as exit_info:
        health(target.context(), env="staging", timeout="25")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "app is unhealthy" in err
    assert "probe exit 1: 503" in err
    assert "last log lines of app" in err
    assert "Uvicorn running on" in err


def test_health_times_out_naming_the_waiting_service(
    target: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    target.write_env(APP_START_PERIOD="60s")
    up(target.context(), env="staging", tag=BAD, wait=False)
    with pytest.raises(Exit):
        health(target.context(), env="staging", timeout="1")
    err = capsys.readouterr().err
    assert "health check timed out after" in err
    assert "app health starting" in err


def test_one_shot_container_that_exited_zero_counts_as_healthy(
    target: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    (target.root / "compose.init.yaml").write_text(ONE_SHOT)
    pyproject = target.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'compose-files = ["compose.staging.yaml"]',
            'compose-files = ["compose.staging.yaml", "compose.init.yaml"]',
        )
    )
    up(target.context(), env="staging")
    out = capsys.readouterr()
    assert "all 3 services healthy" in out.out
    assert "migrate: completed (exit 0)" in out.err


def test_adapter_reads_state_and_names_a_taken_port(target: DemoTarget) -> None:
    runner = Runner()
    assert detect_compose(runner).argv == (str(COMPOSE_V1),)  # the suite default: v1
    compose = compose_of(target)
    specs = compose.config()
    assert specs["app"].ports[0].published == target.port
    assert specs["app"].has_healthcheck
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", target.port))
        squatter.listen()
        with pytest.raises(ToolFailedError) as failure:
            compose.up()
    assert port_conflict(failure.value.hint) == target.port
    assert services_publishing(specs, target.port) == ["app"]
    states = {c.service: c for c in compose.containers()}
    assert states["store"].status == "running"
    assert states["app"].status == "created"
    assert states["app"].host_ports == (target.port,)


def test_up_and_down_volumes_on_a_confirm_environment_need_yes(
    target: DemoTarget, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    prod = DemoTarget(root=target.root, project=f"{target.project}-prod", port=target.port)
    try:
        with pytest.raises(Exit) as refused:
            up(target.context(), env="production")
        assert refused.value.code == 2
        assert "starting production needs confirmation" in capsys.readouterr().err
        assert prod.containers() == {}

        up(target.context(), env="production", yes=True)
        assert "all 2 services healthy" in capsys.readouterr().out
        (release,) = Ledger(
            compose_of(target), env="production", project=prod.project
        ).releases()  # `up` records what it started
        assert (release.outcome, release.note) == ("deployed", "inv up")
        assert prod.lock_holder() == {}

        with pytest.raises(Exit) as refused:
            down(target.context(), env="production", volumes=True)
        assert refused.value.code == 2
        assert "removing the volumes of production needs confirmation" in (capsys.readouterr().err)
        assert set(prod.containers()) == {"app", "store"}
        down(target.context(), env="production", volumes=True, yes=True)
        assert prod.containers() == {}
    finally:
        prod.down()


def test_up_preflights_like_deploy_before_anything_starts(
    target: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", target.port))
        squatter.listen()
        with pytest.raises(Exit) as exit_info:
            up(target.context(), env="staging")
    assert exit_info.value.code == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (
        f"error: cannot deploy to staging ({target.project}): port {target.port} "
        "(service app) already in use on this host"
    )
    assert target.containers() == {}

    with pytest.raises(Exit) as exit_info:
        up(target.context(), env="staging", tag="never-built")
    assert exit_info.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (
        "error: image conveyor-demo-it:never-built of service app is not on the Docker engine"
    )
    assert target.containers() == {}

    resolved = resolve_target(load_project(target.root), "staging")
    lock = DeployLock(Compose(resolved.compose), target.project, image=BASE_IMAGE)
    with lock, pytest.raises(Exit) as exit_info:
        up(target.context(), env="staging")
    assert exit_info.value.code == 2
    assert f"held by pid {os.getpid()}" in capsys.readouterr().err
    assert target.containers() == {}
