"""Deploy target resolution, CLI values, confirmation, port pre-check, signals, pins, tables."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from conveyor.config import load_project
from conveyor.deploy.ledger import Release, ServiceImage
from conveyor.deploy.orchestrate import Deployer, engine_is_local, releases_table, running_table
from conveyor.deploy.preflight import busy_ports
from conveyor.deploy.signals import Interrupted, signals_as_errors
from conveyor.deploy.target import parse_seconds, project_slug, resolve_target
from conveyor.errors import ConfigError, InvalidInputError
from conveyor.tasks.deploy import release_id
from conveyor.tools.compose import Compose, ContainerState, PublishedPort, ServiceSpec

PYPROJECT = """[project]
name = "Demo App"

[tool.conveyor.deploy]
compose-files = ["compose.yaml"]
env-file = "base.env"
smoke = [{ path = "/health" }]

[tool.conveyor.deploy.environments.staging]
compose-files = ["compose.staging.yaml"]

[tool.conveyor.deploy.environments.production]
compose-files = ["compose.production.yaml"]
env-file = "prod.env"
project = "shop"
context = "prod-host"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def test_environments_resolve_to_compose_targets(root: Path) -> None:
    project = load_project(root)
    staging = resolve_target(project, "staging", "v1.2")
    assert staging.compose.files == (root / "compose.yaml", root / "compose.staging.yaml")
    assert staging.compose.project == "demo-app-staging"
    assert staging.compose.env_file == root / "base.env"
    assert staging.compose.variables == {"APP_TAG": "v1.2"}
    assert staging.state_dir == root / ".conveyor" / "deploy" / "staging" / "demo-app-staging"
    assert not staging.needs_confirmation
    production = resolve_target(project, "production")
    assert (production.compose.project, production.compose.context) == ("shop", "prod-host")
    assert production.compose.env_file == root / "prod.env"
    assert production.needs_confirmation
    assert production.label == "production (shop)"
    base = resolve_target(project, None)
    assert base.compose.project == "demo-app"
    assert base.label == "default (demo-app)"


@pytest.mark.parametrize(
    ("env", "tag", "error", "message"),
    [
        ("qa", None, ConfigError, "unknown environment 'qa' .*known: production, staging"),
        ("Staging", None, InvalidInputError, "invalid environment name 'Staging'"),
        ("staging;id", None, InvalidInputError, "contains a ';'"),
        ("staging", "v1;rm", InvalidInputError, "invalid image tag"),
        ("staging", "-x", InvalidInputError, "invalid image tag"),
    ],
)
def test_bad_names_are_refused(
    root: Path, env: str, tag: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        resolve_target(load_project(root), env, tag)


def test_project_slug() -> None:
    assert project_slug("My Shop!") == "my-shop"
    assert project_slug("___") == "app"


def test_cli_numbers() -> None:
    assert parse_seconds("timeout", None) is None
    assert parse_seconds("timeout", "2.5") == 2.5
    for bad in ("-1", "soon", "inf", "nan"):
        with pytest.raises(InvalidInputError, match="is not a number of seconds"):
            parse_seconds("timeout", bad)
    assert release_id("12") == 12
    for bad in ("latest", "\u00b2", "\u0663", "-1", " 1", "1" * 19):  # '²', Arabic-Indic 3
        with pytest.raises(InvalidInputError, match="is not a release id"):
            release_id(bad)


def test_production_needs_yes_unless_ci(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = resolve_target(load_project(root), "production")
    deployer = Deployer(target, root=str(root), compose=Compose(target.compose, command=("x",)))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(InvalidInputError, match="deploying to production needs confirmation"):
        deployer.check_confirmation(yes=False)
    deployer.check_confirmation(yes=True)
    monkeypatch.setenv("CI", "true")
    deployer.check_confirmation(yes=False)


def test_smoke_host_is_validated_before_anything(root: Path) -> None:
    bad_host = '\n[tool.conveyor.deploy.environments.bad-host]\nhost = "evil.example/x"\n'
    (root / "pyproject.toml").write_text(PYPROJECT + bad_host, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key 'host': 'evil\.example/x' is not a hostname"):
        load_project(root)


def test_remote_engines_are_not_port_checked(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load_project(root)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert engine_is_local(resolve_target(project, "staging"))
    assert not engine_is_local(resolve_target(project, "production"))  # a docker context
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@host")
    assert not engine_is_local(resolve_target(project, "staging"))


def test_busy_ports_names_port_and_service() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        spec = ServiceSpec("web", "demo:1", (PublishedPort("web", taken, 80, "127.0.0.1"),))
        assert busy_ports({"web": spec}, []) == [f"port {taken} (service web)"]
        ours = ContainerState(
            id="c", name="c", service="web", status="running", exit_code=0, restart_count=0,
            image="demo:0", image_id="sha256:0", host_ports=(taken,),
        )  # fmt: skip
        assert busy_ports({"web": spec}, [ours]) == []


def test_signals_raise_only_while_armed() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with signals_as_errors() as guard:
        guard.check()  # nothing pending: no-op
        guard.armed = True
        with pytest.raises(Interrupted, match="interrupted by SIGTERM") as raised:
            os.kill(os.getpid(), signal.SIGTERM)
        assert raised.value.exit_code == 143
        assert not guard.armed
        assert guard.pending == "SIGTERM"
    with signals_as_errors() as guard:
        os.kill(os.getpid(), signal.SIGINT)  # disarmed: noted, not raised, not dropped
        assert guard.pending == "SIGINT"
        with pytest.raises(Interrupted, match="interrupted by SIGINT") as raised:
            guard.check()
        assert raised.value.exit_code == 130
    assert signal.getsignal(signal.SIGTERM) == before


def test_tables_render() -> None:
    release = Release(
        id=3,
        env="staging",
        project="demo",
        services={"app": ServiceImage(image="demo:1", image_id="x")},
        git_sha="0123456789abcdef",
        created_at="2026-01-01T00:00:00+00:00",
        by="me@host",
        outcome="deployed",
    )
    console = Console(width=200, record=True)
    console.print(releases_table([release], release))
    text = console.export_text()
    assert "3 (live)" in text
    assert "0123456789ab " in text
    assert "app=demo:1" in text
    state = ContainerState(
        id="c", name="c", service="app", status="running", exit_code=0, restart_count=0,
        image="demo:1", image_id="x", health="healthy",
    )  # fmt: skip
    console.print(running_table([state], "now"))
    assert "running (healthy)" in console.export_text()


def test_the_strategy_is_the_environments_else_the_deploy_tables(root: Path) -> None:
    text = (root / "pyproject.toml").read_text()
    assert resolve_target(load_project(root), "staging").strategy == "in-place"
    (root / "pyproject.toml").write_text(
        text.replace(
            'compose-files = ["compose.staging.yaml"]',
            'compose-files = ["compose.staging.yaml"]\nstrategy = "blue-green"',
        )
    )
    assert resolve_target(load_project(root), "staging").strategy == "blue-green"
    assert resolve_target(load_project(root), "production").strategy == "in-place"


def test_the_releases_table_shows_colours_when_a_release_has_them() -> None:
    coloured = Release(
        id=4,
        env="staging",
        project="demo",
        services={"app": ServiceImage(image="demo:2", image_id="y")},
        created_at="2026-01-01T00:00:00+00:00",
        by="me@host",
        outcome="deployed",
        colours={"app": "green"},
    )
    console = Console(width=200, record=True)
    console.print(releases_table([coloured], coloured))
    text = console.export_text()
    assert "colour" in text
    assert "app=green" in text
    plain = msgspec.structs.replace(coloured, colours={})
    console = Console(width=200, record=True)
    console.print(releases_table([plain], plain))
    assert "colour" not in console.export_text()
