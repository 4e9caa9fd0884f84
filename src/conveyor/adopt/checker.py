"""Which type checker a project uses, and whether its settings are the project's or Conveyor's.

A checker the project configures (a `[tool.X]` table or its own config file) runs with those
settings and the targets they name; `--strict` and Conveyor's targets apply only when the
project configures none and Conveyor owns the choice (mypy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conveyor.adopt.sources import PYPROJECT, SETUP_CFG, ProjectFiles, ini_list, read_ini
from conveyor.adopt.testing import declares

CheckerName = Literal["mypy", "pyright", "basedpyright", "ty"]
CHECKERS: tuple[CheckerName, ...] = ("ty", "basedpyright", "pyright", "mypy")
"""In order of preference when a project declares several (the newer tool is the one in use)."""
CONFIG_FILES: dict[CheckerName, tuple[str, ...]] = {
    "ty": ("ty.toml",),
    "basedpyright": (),
    "pyright": ("pyrightconfig.json",),
    "mypy": ("mypy.ini", ".mypy.ini"),
}
CONFIG_READ = ("ty.toml", "pyrightconfig.json", "mypy.ini", ".mypy.ini", SETUP_CFG)
"""Files besides pyproject.toml that decide the checker and its settings."""


@dataclass(frozen=True)
class Checker:
    """The type checker to run; `config` names where the project configures it (None: Conveyor
    owns its settings), `targets` what the project's config says to check (empty: its default)."""

    name: CheckerName
    config: str | None
    targets: tuple[str, ...] = ()
    command_targets: tuple[str, ...] = ()  # what the project's tox command passes it

    @property
    def owned_by_conveyor(self) -> bool:
        return self.config is None


def configured_in(files: ProjectFiles, name: CheckerName) -> str | None:
    """Where the project configures checker `name`, or None."""
    if isinstance(files.tool.get(name), dict):
        return f"{PYPROJECT} [tool.{name}]"
    for file_name in CONFIG_FILES[name]:
        if (files.root / file_name).is_file():
            return file_name
    if name == "mypy" and files.setup_cfg is not None and files.setup_cfg.has_section("mypy"):
        return f"{SETUP_CFG} [mypy]"
    return None


def mypy_files(files: ProjectFiles) -> tuple[str, ...]:
    """The `files` mypy's own configuration names (what the project checks)."""
    table = files.tool.get("mypy")
    if isinstance(table, dict) and "files" in table:
        value = table["files"]
        return tuple(ini_list(value)) if isinstance(value, str) else tuple(map(str, value))
    for name in CONFIG_FILES["mypy"]:
        parser = read_ini(files.root / name)
        if parser is not None and parser.has_option("mypy", "files"):
            return tuple(ini_list(parser.get("mypy", "files")))
    if files.setup_cfg is not None and files.setup_cfg.has_option("mypy", "files"):
        return tuple(ini_list(files.setup_cfg.get("mypy", "files")))
    return ()


def tox_targets(files: ProjectFiles, program: str) -> tuple[str, ...]:
    """The paths a tox env's command passes to `program` (`mypy src tests` -> src, tests)."""
    for section in files.tox_sections():
        for line in files.tox_value("commands", section).splitlines():
            words = line.split()
            if words[:1] == [program] or words[:3] == ["python", "-m", program]:
                start = 1 if words[0] == program else 3
                paths = [w for w in words[start:] if not w.startswith(("-", "{"))]
                if paths and all((files.root / p).exists() for p in paths):
                    return tuple(paths)
    return ()


def type_checker(files: ProjectFiles, chosen: CheckerName | None = None) -> Checker:
    """The checker `chosen` in `[tool.conveyor]`, else the one the project configures, else the
    one it declares as a dependency, else mypy with Conveyor's strict settings."""
    candidates = [chosen] if chosen else list(CHECKERS)
    for name in candidates:
        where = configured_in(files, name)
        if where is not None:
            targets = mypy_files(files) if name == "mypy" else ()
            return Checker(name, where, targets, tox_targets(files, name))
    if chosen:
        return Checker(chosen, None)
    for name in CHECKERS:
        if declares(files, name):
            return Checker(name, "its defaults" if name != "mypy" else None)
    return Checker("mypy", None)
