"""Planning the builds: sources, grouping, names, notes, the overlay for build-only services.

The whole `planned_builds` (with git and a real `compose config`) runs in
tests/integration/test_build_images.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import load_project
from conveyor.deploy.target import resolve_target
from conveyor.errors import ConfigError, InvalidInputError
from conveyor.images.naming import (
    build_only_services,
    image_overlay,
    service_repository,
    write_image_overlay,
)
from conveyor.images.plan import (
    BuildPlan,
    BuildSource,
    common_args,
    compose_notes,
    compose_source,
    compose_target,
    configured_source,
    group_builds,
    repository_of,
)
from conveyor.images.revision import Revision, TagScheme
from conveyor.tools.compose import BuildSection

SCHEME = TagScheme(movable=("abc123",), pinned=("1.0.0",))


def source(repository: str, **overrides: object) -> BuildSource:
    values: dict[str, object] = {
        "origin": f"compose service {repository}",
        "repository": repository,
        "context": Path("/p"),
        "dockerfile": Path("/p/Dockerfile"),
        "services": (repository,),
        "args": {"BASE_IMAGE": "base:1"},
    }
    values.update(overrides)
    return BuildSource(**values)  # type: ignore[arg-type]


def test_every_image_gets_the_same_tags() -> None:
    builds = group_builds([source("shop-web"), source("shop-proxy", context=Path("/q"))], SCHEME)
    assert [(b.tags, b.pinned_tags) for b in builds] == [
        (("shop-web:abc123",), ("shop-web:1.0.0",)),
        (("shop-proxy:abc123",), ("shop-proxy:1.0.0",)),
    ]
    assert builds[0].reference == "shop-web:abc123"
    assert builds[0].base_image == "base:1"


def test_the_same_build_runs_once_under_every_name() -> None:
    builds = group_builds(
        [source("app", origin="[tool.conveyor.docker]", services=("web",)),
         source("shop-worker", services=("worker",))],
        SCHEME,
    )  # fmt: skip
    assert len(builds) == 1
    assert builds[0].services == ("web", "worker")
    assert builds[0].tags == ("app:abc123", "shop-worker:abc123")
    assert builds[0].origins == ("[tool.conveyor.docker]", "compose service shop-worker")


def test_one_name_built_two_ways_is_refused() -> None:
    with pytest.raises(ConfigError, match="image app is built two different ways"):
        group_builds([source("app"), source("app", target="debug")], SCHEME)


def test_plan_select() -> None:
    builds = group_builds(
        [source("shop-web", services=("web",)), source("app", services=(), context=Path("/x"))],
        SCHEME,
    )
    plan = BuildPlan(tuple(builds), SCHEME, Revision("abc123", None), "1.0.0")
    assert [b.name for b in plan.select("web")] == ["web"]
    assert [b.name for b in plan.select("app")] == ["app"]
    assert len(plan.select(None)) == 2
    assert plan.references == ["shop-web:abc123", "app:abc123"]
    with pytest.raises(InvalidInputError, match="--service 'db'") as unknown:
        plan.select("db")
    assert unknown.value.hint == "choose from: app, web"


def test_repository_of() -> None:
    assert repository_of("registry.example:5000/acme/app:1.0") == "registry.example:5000/acme/app"
    assert repository_of("app") == "app"


def section(tmp_path: Path, **overrides: object) -> BuildSection:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    values: dict[str, object] = {
        "service": "web",
        "context": str(tmp_path),
        "dockerfile": str(tmp_path / "Dockerfile"),
        "args": {"NOTE": "two words", "BASE_IMAGE": "own:base"},
    }
    values.update(overrides)
    return BuildSection(**values)  # type: ignore[arg-type]


def test_compose_source_names_and_args(tmp_path: Path) -> None:
    common = {"BASE_IMAGE": "conveyor/base:bookworm", "PIP": "x"}
    built = compose_source(section(tmp_path, target="runtime"), None, "shop", common)
    assert built.repository == "shop-web"
    assert dict(built.args) == {"BASE_IMAGE": "own:base", "PIP": "x", "NOTE": "two words"}
    assert built.target == "runtime"
    named = compose_source(section(tmp_path), "acme/web:abc123", "shop", common)
    assert named.repository == "acme/web"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"other_keys": ("ssh",)}, "build.ssh needs BuildKit"),
        ({"context": "https://example.invalid/a.git"}, "remote build context"),
        ({"dockerfile": "/nonexistent/Dockerfile"}, "Dockerfile not found: /nonexistent"),
        ({"args": {"BAD": "a\nb"}}, "control character"),
    ],
)
def test_compose_source_refusals(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises((ConfigError, InvalidInputError), match=message):
        compose_source(section(tmp_path, **overrides), None, "shop", {})


def test_compose_notes(tmp_path: Path) -> None:
    sections = {"web": section(tmp_path, other_keys=("cache_from", "network"))}
    images = {"web": "shop-web:abc123", "api": "acme/api:2.0", "db": None}
    notes = compose_notes(sections, images, "abc123", "APP_TAG")
    assert notes == [
        "compose service web: build.cache_from, build.network not passed to docker build "
        "(Conveyor passes context, dockerfile, target, args, labels)"
    ]
    sections["api"] = section(tmp_path, service="api")
    notes = compose_notes(sections, images, "abc123", "APP_TAG")
    assert notes[0] == (
        "compose service api runs acme/api:2.0, which does not follow ${APP_TAG}: a deploy "
        "with --tag will not switch it; write image: acme/api:${APP_TAG:-latest}"
    )


def project_at(root: Path, conveyor: str = "") -> Path:
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "Shop"\nversion = "1.0.0"\n\n{conveyor}', encoding="utf-8"
    )
    return root


def test_configured_source_is_optional_only_at_its_default_path(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path))
    assert configured_source(project, {}, []) is None
    explicit = load_project(
        project_at(tmp_path, '[tool.conveyor.docker]\ndockerfile = "Dockerfile"\n')
    )
    with pytest.raises(ConfigError, match="Dockerfile not found"):
        configured_source(explicit, {}, [])
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    found = configured_source(explicit, {"A": "1"}, ["app"])
    assert found is not None
    assert (found.repository, found.services, found.context) == ("app", ("app",), tmp_path)


def test_common_args_are_validated(tmp_path: Path) -> None:
    project = load_project(
        project_at(
            tmp_path, '[tool.conveyor.docker]\nbase-image = "b:1"\nbuild-args = { A = "1" }\n'
        )
    )
    assert common_args(project) == {"BASE_IMAGE": "b:1", "A": "1"}
    bad = load_project(project_at(tmp_path, '[tool.conveyor.docker]\nbuild-args = { A = "x;y" }\n'))
    with pytest.raises(InvalidInputError, match="contains a ';'"):
        common_args(bad)


def test_compose_target_only_when_there_are_compose_files(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path))
    assert compose_target(project, None, "abc") is None  # default file absent, not configured
    configured = load_project(
        project_at(tmp_path, '[tool.conveyor.deploy]\ncompose-files = ["compose.yaml"]\n')
    )
    target = compose_target(configured, None, "abc")
    assert target is not None
    assert target.compose.variables == {"APP_TAG": "abc"}


COMPOSE = """\
services:
  db:
    image: postgres
  web:
    build: .
  Worker_1:
    build:
      context: .
  app:
    image: app:${APP_TAG:-latest}
    build: .
"""


def test_build_only_services_and_overlay(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "override.yaml").write_text("services:\n  web:\n    image: named/web\n")
    (tmp_path / "broken.yaml").write_text("services: [\n")
    files = [tmp_path / "compose.yaml", tmp_path / "broken.yaml", tmp_path / "absent.yaml"]
    assert build_only_services(files) == ["Worker_1", "web"]
    assert build_only_services([*files, tmp_path / "override.yaml"]) == ["Worker_1"]
    assert service_repository("shop", "Worker_1") == "shop-worker-1"
    assert image_overlay(["web"], "shop", "APP_TAG").endswith(
        "services:\n  web:\n    image: shop-web:${APP_TAG:-latest}\n"
    )
    path = tmp_path / ".conveyor" / "images" / "shop.yaml"
    assert write_image_overlay(files, "shop", "APP_TAG", path) == path
    written = path.stat().st_mtime_ns
    assert write_image_overlay(files, "shop", "APP_TAG", path) == path
    assert path.stat().st_mtime_ns == written  # unchanged content: not rewritten
    assert write_image_overlay([tmp_path / "override.yaml"], "shop", "APP_TAG", path) is None


def test_every_environment_runs_the_same_build_only_image_names(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "compose.staging.yaml").write_text("services:\n  web:\n    environment: {A: 1}\n")
    project = load_project(
        project_at(
            tmp_path,
            '[tool.conveyor.deploy]\ncompose-files = ["compose.yaml"]\n'
            "[tool.conveyor.deploy.environments.staging]\n"
            'compose-files = ["compose.staging.yaml"]\n',
        )
    )
    base = resolve_target(project, None)
    staging = resolve_target(project, "staging", "abc")
    assert base.compose.files[-1] == tmp_path / ".conveyor" / "images" / "shop.yaml"
    assert staging.compose.files == (
        tmp_path / "compose.yaml",
        tmp_path / "compose.staging.yaml",
        tmp_path / ".conveyor" / "images" / "shop-staging.yaml",
    )
    for target in (base, staging):
        assert "image: shop-web:${APP_TAG:-latest}" in target.compose.files[-1].read_text()
