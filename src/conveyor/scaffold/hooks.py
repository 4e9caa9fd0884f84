"""Conveyor's pre-commit hooks: one definition, rendered as a project's local config and exported.

Every hook runs its tool through `uv run --frozen` from a dependency group, so the version a commit
hook runs is the one `uv.lock` pins for the nox sessions: a commit hook and CI never disagree.
Nothing is cloned from a hook repository; the tools come from the package index like any other
locked dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

MINIMUM_PRE_COMMIT = "3.2.0"


@dataclass(frozen=True)
class Hook:
    """One pre-commit hook: the tool's argv and the dependency group that provides it."""

    id: str
    name: str
    group: str
    argv: tuple[str, ...]
    types: tuple[str, ...] = ()
    types_or: tuple[str, ...] = ()
    pass_filenames: bool = True
    require_serial: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def entry(self, argv: Sequence[str] = ()) -> str:
        """The command line pre-commit runs: the locked tool from its group."""
        run = ["uv", "run", "--frozen", "--no-default-groups", "--group", self.group]
        return " ".join([*run, *self.argv, *argv])

    def as_dict(self, argv: Sequence[str] = ()) -> dict[str, Any]:
        """The hook as pre-commit's YAML schema spells it."""
        item: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description:
            item["description"] = self.description
        item["entry"] = self.entry(argv)
        item["language"] = "system"
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


def _hygiene(hook_id: str, name: str, script: str, *types: str) -> Hook:
    return Hook(
        hook_id, name, "hooks", (script,), types=types, description=f"{name} (pre-commit-hooks)"
    )


PYTHON = ("python", "pyi")
HOOKS: tuple[Hook, ...] = (
    _hygiene(
        "trailing-whitespace", "trim trailing whitespace", "trailing-whitespace-fixer", "text"
    ),
    _hygiene("end-of-file-fixer", "fix end of files", "end-of-file-fixer", "text"),
    _hygiene("check-yaml", "check yaml syntax", "check-yaml", "yaml"),
    _hygiene("check-toml", "check toml syntax", "check-toml", "toml"),
    _hygiene("check-json", "check json syntax", "check-json", "json"),
    _hygiene("check-added-large-files", "check for added large files", "check-added-large-files"),
    _hygiene(
        "check-merge-conflict", "check for merge conflict markers", "check-merge-conflict", "text"
    ),
    _hygiene("detect-private-key", "detect private keys", "detect-private-key", "text"),
    Hook(
        "ruff-check",
        "ruff check --fix",
        "lint",
        ("ruff", "check", "--fix", "--force-exclude"),
        types_or=PYTHON,
        require_serial=True,
        description="ruff's linter, fixing what it can",
    ),
    Hook(
        "ruff-format",
        "ruff format",
        "lint",
        ("ruff", "format", "--force-exclude"),
        types_or=PYTHON,
        require_serial=True,
        description="ruff's formatter",
    ),
    Hook(
        "mypy",
        "mypy --strict",
        "typing",
        ("mypy", "--strict"),
        types_or=PYTHON,
        pass_filenames=False,
        require_serial=True,
        description="mypy over the whole project (give the paths as args)",
    ),
    Hook(
        "gitleaks",
        "gitleaks (staged changes)",
        "scanners",
        ("gitleaks", "git", "--pre-commit", "--staged", "--redact", "--no-banner", "--verbose"),
        pass_filenames=False,
        require_serial=True,
        description="gitleaks over the staged changes",
    ),
)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def local_config(mypy_paths: Sequence[str]) -> str:
    """A project's `.pre-commit-config.yaml`: every hook as a `repo: local` hook."""
    hooks = [hook.as_dict(mypy_paths if hook.id == "mypy" else ()) for hook in HOOKS]
    header = (
        "# Written by `conveyor init`. Each hook runs its tool from uv.lock (`uv run --frozen`),\n"
        "# the versions the nox sessions use: nothing is cloned from a hook repository.\n"
    )
    body = {
        "minimum_pre_commit_version": MINIMUM_PRE_COMMIT,
        "repos": [{"repo": "local", "hooks": hooks}],
    }
    return header + _dump(body)


def exported_hooks() -> str:
    """`.pre-commit-hooks.yaml`: the same hooks for repositories that use Conveyor's."""
    header = (
        "# Conveyor's hooks for other repositories. Each runs its tool from the using project's\n"
        "# uv.lock (`uv run --frozen --group <group>`): declare the groups `conveyor init` adds.\n"
    )
    hooks = [{**hook.as_dict(), "minimum_pre_commit_version": MINIMUM_PRE_COMMIT} for hook in HOOKS]
    return header + _dump(hooks)
