"""The project's own coverage configuration: what it measures and the plugins it loads."""

from __future__ import annotations

import configparser
from pathlib import Path

from conveyor.adopt.sources import SETUP_CFG, TOX_INI, ProjectFiles, ini_list, read_ini

COVERAGERC = ".coveragerc"
READ = (COVERAGERC, SETUP_CFG, TOX_INI)
SOURCE_KEYS = ("source", "source_pkgs", "include")
SKIPPED_DIRS = {".git", ".nox", ".tox", ".venv", "venv", "node_modules", "build", "dist"}


def _ini_run_section(files: ProjectFiles) -> tuple[configparser.ConfigParser | None, str]:
    """The ini file and section coverage would read `[run]` from (its own order)."""
    rc = read_ini(files.root / COVERAGERC)
    if rc is not None:
        return rc, "run"
    for parser in (files.setup_cfg, files.tox):
        if parser is not None and parser.has_section("coverage:run"):
            return parser, "coverage:run"
    return None, ""


def run_option(files: ProjectFiles, key: str) -> list[str]:
    """A `[run]` option of the project's coverage config as a list (empty when unset)."""
    parser, section = _ini_run_section(files)
    if parser is not None:
        return ini_list(parser.get(section, key, fallback=""))
    table = files.tool.get("coverage", {}).get("run", {})
    value = table.get(key, []) if isinstance(table, dict) else []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def measures_own_sources(files: ProjectFiles) -> bool:
    """True when the project's coverage config says what to measure (Conveyor then keeps it)."""
    return any(run_option(files, key) for key in SOURCE_KEYS)


def plugin_dirs(files: ProjectFiles) -> list[str]:
    """Directories of the project holding its coverage plugin modules (for PYTHONPATH), when
    a plugin is not importable from the root or the sources."""
    found: list[str] = []
    for plugin in run_option(files, "plugins"):
        top = plugin.split(".")[0]
        if _module_at(files.root, top) or _module_at(files.root / "src", top):
            continue
        module_dir = _first_dir_with_module(files.root, top)
        if module_dir is not None and module_dir not in found:
            found.append(module_dir)
    return found


def _first_dir_with_module(root: Path, name: str) -> str | None:
    """The first directory under `root` (sorted, breadth first, environments and build output
    not entered) from which `name` imports, relative to `root`."""
    level = [root]
    while level:
        for directory in level:
            if _module_at(directory, name):
                return directory.relative_to(root).as_posix()
        level = sorted(
            child
            for directory in level
            for child in _subdirs(directory)
            if child.name not in SKIPPED_DIRS
        )
    return None


def _subdirs(directory: Path) -> list[Path]:
    try:
        return [e for e in directory.iterdir() if e.is_dir() and not e.is_symlink()]
    except OSError:
        return []


def _module_at(directory: Path, name: str) -> bool:
    return (directory / f"{name}.py").is_file() or (directory / name / "__init__.py").is_file()
