"""What `conveyor init` learns from an existing project: name, package, layout, tests, Pythons."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
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

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

TEST_DIRS = ("tests", "test")


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

    @property
    def src_root(self) -> str:
        """The top directory holding the code (`src` or the package itself)."""
        return self.src[0].split("/")[0]


def read_pyproject(root: Path) -> dict[str, Any]:
    """The parsed pyproject.toml, or one line saying why it cannot be read."""
    path = root / PYPROJECT
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found",
            hint="conveyor init adds to an existing Python project: create one with `uv init`",
        )
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix the syntax") from None
    return data


def import_name(distribution: str) -> str:
    """The import name a distribution name maps to by convention (`my-pkg` -> `my_pkg`)."""
    return re.sub(r"[-.]+", "_", distribution).lower()


def find_package(root: Path, package: str) -> tuple[str, tuple[str, ...]]:
    """(import name, source paths) for src or flat layout; one line naming what was tried."""
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
    tried = ", ".join(source for _, source in candidates)
    raise ConfigError(
        f"{root / PYPROJECT}: cannot find the package {package!r} (looked for {tried})",
        hint="use src/<package>/__init__.py or <package>/__init__.py matching [project] name",
    )


def detect(root: Path) -> Layout:
    """Read the project at `root`: its package, layout, tests and the Pythons it supports.

    Values an existing `[tool.conveyor]` table sets win over what is detected, so the files
    init renders agree with the configuration the sessions read.
    """
    root = root.resolve()
    data = read_pyproject(root)
    project = data.get("project", {})
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{root / PYPROJECT}: [project] key 'name' is missing",
            hint='add name = "<distribution name>" under [project]',
        )
    package, src = find_package(root, import_name(name))
    tests = tuple(d for d in TEST_DIRS if (root / d).is_dir())
    requires: str | None = project.get("requires-python")
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
    )
