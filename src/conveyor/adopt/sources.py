"""The files a project configures its tools in, read once into one typed view."""

from __future__ import annotations

import configparser
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TOX_INI = "tox.ini"
SETUP_CFG = "setup.cfg"
PYTEST_INIS = ("pytest.ini", ".pytest.ini")
PRE_COMMIT = ".pre-commit-config.yaml"
READ = (PYPROJECT, TOX_INI, SETUP_CFG, *PYTEST_INIS, PRE_COMMIT)
"""Every file detection reads: a session that detects lists them among its inputs."""


def read_ini(path: Path) -> configparser.ConfigParser | None:
    """An ini file without interpolation (tox's `{posargs}` stays text); None when absent or
    unreadable (a broken file is the project's own tool's to report)."""
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None
    return parser


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # noqa: PLC0415 - only projects that pin tools in pre-commit pay for it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def ini_list(value: str) -> list[str]:
    """An ini value as a list: one item per line or comma, blank items dropped."""
    return [item.strip() for line in value.splitlines() for item in line.split(",") if item.strip()]


def requirement_name(text: str) -> str | None:
    """The canonical package name of a requirement string, or None when it is not one."""
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


@dataclass(frozen=True)
class ProjectFiles:
    """A project's configuration files, parsed (absent files are empty)."""

    root: Path
    pyproject: dict[str, Any]
    tox: configparser.ConfigParser | None = None
    setup_cfg: configparser.ConfigParser | None = None
    pytest_ini: configparser.ConfigParser | None = None
    pytest_ini_name: str = ""

    @classmethod
    def read(cls, root: Path) -> ProjectFiles:
        """Everything detection needs from `root`."""
        pytest_name = next((n for n in PYTEST_INIS if (root / n).is_file()), "")
        return cls(
            root=root,
            pyproject=read_toml(root / PYPROJECT),
            tox=read_ini(root / TOX_INI),
            setup_cfg=read_ini(root / SETUP_CFG),
            pytest_ini=read_ini(root / pytest_name) if pytest_name else None,
            pytest_ini_name=pytest_name,
        )

    @cached_property
    def pre_commit(self) -> dict[str, Any]:
        """`.pre-commit-config.yaml`, read when first asked (registering sessions never does)."""
        return _read_yaml(self.root / PRE_COMMIT)

    @property
    def tool(self) -> dict[str, Any]:
        """`[tool]` of pyproject.toml."""
        tool = self.pyproject.get("tool", {})
        return tool if isinstance(tool, dict) else {}

    @property
    def project(self) -> dict[str, Any]:
        """`[project]` of pyproject.toml."""
        project = self.pyproject.get("project", {})
        return project if isinstance(project, dict) else {}

    @property
    def groups(self) -> dict[str, list[Any]]:
        """`[dependency-groups]` (name -> items)."""
        groups = self.pyproject.get("dependency-groups", {})
        return {str(k): list(v) for k, v in groups.items()} if isinstance(groups, dict) else {}

    @property
    def extras(self) -> dict[str, list[str]]:
        """`[project.optional-dependencies]` (name -> requirement strings)."""
        extras = self.project.get("optional-dependencies", {})
        if not isinstance(extras, dict):
            return {}
        return {str(k): [str(r) for r in v] for k, v in extras.items() if isinstance(v, list)}

    def group_requirements(self, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """A group's requirement strings, its `include-group`s expanded."""
        found: list[str] = []
        for item in self.groups.get(name, []):
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict) and item.get("include-group") not in seen | {name}:
                found += self.group_requirements(str(item["include-group"]), seen | {name})
        return found

    def extra_requirements(self, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """An extra's requirement strings, self-references (`project[other]`) expanded."""
        own = canonicalize_name(str(self.project.get("name", "")))
        found: list[str] = []
        for text in self.extras.get(name, []):
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if canonicalize_name(requirement.name) == own:
                for extra in sorted(requirement.extras - seen - {name}):
                    found += self.extra_requirements(extra, seen | {name})
            else:
                found.append(text)
        return found

    def tox_value(self, key: str, section: str = "testenv") -> str:
        """A `[testenv]` (or other section's) key of tox.ini ('' when absent)."""
        if self.tox is None or not self.tox.has_section(section):
            return ""
        return self.tox.get(section, key, fallback="")

    def tox_deps(self, section: str = "testenv") -> list[str]:
        """The requirement lines of a tox env's `deps` (no options, files, substitutions)."""
        deps = []
        for line in self.tox_value("deps", section).splitlines():
            text = line.split("#", 1)[0].strip()
            if text and not text.startswith("-") and "{" not in text and requirement_name(text):
                deps.append(text)
        return deps

    def tox_sections(self) -> list[str]:
        """`testenv` and every `testenv:NAME` section of tox.ini."""
        if self.tox is None:
            return []
        return [s for s in self.tox.sections() if s == "testenv" or s.startswith("testenv:")]
