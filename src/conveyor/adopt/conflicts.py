"""Which of a project's groups and extras must never share an environment with safety's.

safety 2.3 (the release that checks offline against the safety-db data) pins packaging<22.
uv resolves one universal lock for every group and extra, so each one whose dependencies
resolve to packaging>=22 must be declared in conflict with the `safety` group, or `uv lock`
fails (or, worse, holds that group back to old versions). Each group and extra is resolved
on its own with `uv pip compile`; one that cannot be resolved here is put in conflict too,
since a needless conflict costs nothing and a missing one breaks the lock.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import Version

from conveyor.adopt.sources import ProjectFiles, requirement_name
from conveyor.config import pythons_for
from conveyor.errors import ConveyorError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tools.uv import compile_argv, pinned_versions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SAFETY_GROUP = "safety"
PACKAGING_FLOOR = Version("22")
ALWAYS_APART = ("conveyor", "nox")
"""Packages that need packaging>=22 (nox) or come from a local source uv pip cannot see."""
COMPILE_TIMEOUT = 300
Kind = Literal["group", "extra"]


@dataclass(frozen=True)
class Item:
    """A dependency group or an extra, as uv's `conflicts` spells it."""

    kind: Kind
    name: str

    def as_toml(self) -> str:
        return f'{{ {self.kind} = "{self.name}" }}'


@dataclass(frozen=True)
class Verdict:
    """Whether `item` must stay apart from safety, and why."""

    item: Item
    apart: bool
    reason: str


def items(files: ProjectFiles) -> list[Item]:
    """Every group and extra of the project except safety's own group."""
    found = [Item("group", name) for name in files.groups if name != SAFETY_GROUP]
    return found + [Item("extra", name) for name in files.extras]


def requirements_of(files: ProjectFiles, item: Item) -> list[str]:
    """The requirement strings `item` installs (include-groups and self-extras expanded)."""
    if item.kind == "group":
        return files.group_requirements(item.name)
    return files.extra_requirements(item.name)


def lowest_python(files: ProjectFiles, item: Item, fallback: str) -> str:
    """The lowest Python `item` must resolve for: its uv `requires-python`, else `fallback`."""
    uv_groups = files.tool.get("uv", {}).get("dependency-groups", {})
    settings = uv_groups.get(item.name, {}) if item.kind == "group" else {}
    requires = settings.get("requires-python") if isinstance(settings, dict) else None
    if isinstance(requires, str):
        for candidate in (f"3.{minor}" for minor in range(8, 30)):
            if pythons_for(requires, [candidate]):
                return candidate
    return fallback


def judge(files: ProjectFiles, item: Item, python: str, runner: Runner = DEFAULT_RUNNER) -> Verdict:
    """Resolve `item` alone and look at the packaging it gets."""
    requirements = requirements_of(files, item)
    names = {requirement_name(r) for r in requirements}
    local = sorted(n for n in names if n in ALWAYS_APART)
    if local:
        return Verdict(item, True, f"installs {', '.join(local)}")
    if not requirements:
        return Verdict(item, False, "installs nothing")
    with tempfile.TemporaryDirectory(prefix="conveyor-conflicts-") as scratch:
        source = Path(scratch) / "requirements.in"
        source.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        try:
            done = runner.run(
                compile_argv(source, lowest_python(files, item, python)),
                cwd=scratch,
                timeout=COMPILE_TIMEOUT,
                tool="uv pip compile",
            )
        except ConveyorError as exc:
            return Verdict(item, True, f"cannot be resolved here ({exc.message})")
    versions = [Version(v) for v in pinned_versions(done.stdout, "packaging")]
    if any(v >= PACKAGING_FLOOR for v in versions):
        newest = max(versions)
        return Verdict(item, True, f"resolves packaging {newest}")
    return Verdict(item, False, "no packaging>=22")


def safety_conflicts(
    files: ProjectFiles, python: str, runner: Runner = DEFAULT_RUNNER
) -> list[Verdict]:
    """A verdict for every group and extra (resolved in parallel)."""
    candidates = items(files)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda item: judge(files, item, python, runner), candidates))


def declared_conflicts(data: dict[str, Any]) -> set[Item]:
    """The items `[tool.uv] conflicts` already keeps apart from the safety group."""
    found: set[Item] = set()
    conflicts = data.get("tool", {}).get("uv", {}).get("conflicts", [])
    for entry in conflicts if isinstance(conflicts, list) else []:
        members = [m for m in entry if isinstance(m, dict)] if isinstance(entry, list) else []
        if {"group": SAFETY_GROUP} not in members:
            continue
        for member in members:
            for kind in ("group", "extra"):
                if kind in member and member != {"group": SAFETY_GROUP}:
                    found.add(Item(kind, str(member[kind])))
    return found


def conflicts_line(apart: Sequence[Item]) -> str:
    """`conflicts = [...]` for `[tool.uv]`: safety against each item."""
    pairs = ", ".join(f'[{{ group = "{SAFETY_GROUP}" }}, {i.as_toml()}]' for i in apart)
    return f"conflicts = [{pairs}]\n"


def locked_items(lock: Path, project: str) -> set[Item]:
    """The groups and extras of `project` that `lock` (uv.lock) already resolved."""
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    wanted = canonicalize_name(project)
    for package in data.get("package", []):
        if canonicalize_name(str(package.get("name", ""))) == wanted:
            groups = package.get("dev-dependencies", {})
            extras = package.get("optional-dependencies", {})
            return {Item("group", str(g)) for g in groups} | {Item("extra", str(e)) for e in extras}
    return set()
