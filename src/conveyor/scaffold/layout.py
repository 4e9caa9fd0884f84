"""What `conveyor init` learns from a project: name, package or app code, tests, Pythons, images."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conveyor.config import (
    PREFERRED_TOOLS_PYTHON,
    PYPROJECT,
    SUPPORTED_PYTHONS,
    classifier_versions,
    pythons_for,
)
from conveyor.errors import ConfigError
from conveyor.scaffold.docker import DockerLayout, detect_docker

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

TEST_DIRS = ("tests", "test")
NOT_SOURCES = frozenset(
    {*TEST_DIRS, "docs", "venv", "env", "build", "dist", "node_modules", "reports", "htmlcov"}
)


@dataclass(frozen=True)
class Layout:
    """The facts the generated files are rendered from."""

    root: Path
    name: str
    package: str
    src: tuple[str, ...]
    tests: tuple[str, ...]
    has_tests: bool
    pythons: tuple[str, ...]
    tools_python: str
    application: bool = False
    """No package to import: an application repository (requirements.txt, a Dockerfile)."""
    has_project_table: bool = True
    docker: DockerLayout = field(default_factory=DockerLayout)

    @property
    def src_root(self) -> str:
        """The top directory holding the code (`src` or the package itself)."""
        return self.src[0].split("/")[0]

    @property
    def image(self) -> str:
        """The image name init configures: the name in Docker's grammar."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "app"


def read_pyproject(root: Path) -> dict[str, Any]:
    """The parsed pyproject.toml ({} when there is none), or one line saying why it cannot be
    read."""
    path = root / PYPROJECT
    if not path.is_file():
        return {}
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix the syntax") from None
    return data


def import_name(distribution: str) -> str:
    """The import name a distribution name maps to by convention (`my-pkg` -> `my_pkg`)."""
    return re.sub(r"[-.]+", "_", distribution).lower()


def find_package(root: Path, package: str) -> tuple[str, tuple[str, ...]] | None:
    """(import name, source paths) for src or flat layout; None when there is no package."""
    candidates = [
        (root / "src" / package / "__init__.py", f"src/{package}"),
        (root / package / "__init__.py", package),
        (root / f"{package}.py", f"{package}.py"),
    ]
    for marker, source in candidates:
        if marker.is_file():
            return package, (source,)
    src_packages = sorted(p.parent.name for p in (root / "src").glob("*/__init__.py"))
    if len(src_packages) == 1:
        return src_packages[0], (f"src/{src_packages[0]}",)
    return None


def application_sources(root: Path) -> tuple[str, ...]:
    """Top-level directories holding Python code (not tests, environments or tool state);
    the root itself when the code is only top-level modules."""
    found = sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir()
        and not d.name.startswith(".")
        and d.name not in NOT_SOURCES
        and next(d.rglob("*.py"), None) is not None
    )
    return tuple(found) or (".",)


def package_error(root: Path, package: str) -> ConfigError:
    """A package (it has a build system) whose code is not where its name says."""
    tried = f"src/{package}/__init__.py, {package}/__init__.py, {package}.py"
    return ConfigError(
        f"{root / PYPROJECT}: cannot find the package {package!r} (looked for {tried})",
        hint="use src/<package>/__init__.py or <package>/__init__.py matching [project] name",
    )


def _python_version_file(root: Path) -> str | None:
    path = root / ".python-version"
    if not path.is_file():
        return None
    match = re.match(r"\s*(3\.\d+)", path.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def detect(root: Path) -> Layout:
    """Read the project at `root`: its package (or application code), layout, tests, images
    and the Pythons it supports.

    A repository without a package to build (no `[build-system]`, or no pyproject.toml at
    all) is an application: its code directories are the sources. Values an existing
    `[tool.conveyor]` table sets win over what is detected, so the files init renders agree
    with the configuration the sessions read.
    """
    root = root.resolve()
    data = read_pyproject(root)
    project = data.get("project", {})
    name = project.get("name") if "project" in data else root.name
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{root / PYPROJECT}: [project] key 'name' is missing",
            hint='add name = "<distribution name>" under [project]',
        )
    found = find_package(root, import_name(name))
    if found is None and "build-system" in data:
        raise package_error(root, import_name(name))
    package, src = found or (import_name(name), application_sources(root))
    tests = tuple(d for d in TEST_DIRS if (root / d).is_dir())
    requires: str | None = project.get("requires-python")
    if requires is None and "project" not in data:
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        requires = f">={_python_version_file(root) or running}"  # as `uv init` chooses
    if requires is not None:
        try:
            SpecifierSet(requires)
        except InvalidSpecifier:
            raise ConfigError(
                f"{root / PYPROJECT}: [project] key 'requires-python': invalid specifier "
                f"{requires!r}",
                hint="use a PEP 440 specifier such as '>=3.9'",
            ) from None
    pythons = tuple(pythons_for(requires, classifier_versions(project)))
    if not pythons:
        raise ConfigError(
            f"{root / PYPROJECT}: [project] key 'requires-python': {requires!r} admits none of "
            f"its classifiers' versions or Python {SUPPORTED_PYTHONS[0]}-{SUPPORTED_PYTHONS[-1]}",
            hint="widen requires-python",
        )
    tools = PREFERRED_TOOLS_PYTHON if PREFERRED_TOOLS_PYTHON in pythons else pythons[-1]
    configured = data.get("tool", {}).get("conveyor", {})
    return Layout(
        root=root,
        name=name,
        package=package,
        src=tuple(configured.get("src", src)),
        tests=tuple(configured.get("tests", tests or ("tests",))),
        has_tests=bool(tests),
        pythons=tuple(configured.get("python", pythons)),
        tools_python=str(configured.get("tools-python", tools)),
        application=found is None,
        has_project_table="project" in data,
        docker=detect_docker(root),
    )
