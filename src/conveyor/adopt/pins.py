"""The versions a project pins for a tool: in its groups or extras, its pre-commit hooks, tox.

`conveyor init` writes the group a session installs with the project's own pin, so the lock
(one source of versions) gives the sessions the ruff or mypy the project already runs.
"""

from __future__ import annotations

import re

from conveyor.adopt.sources import ProjectFiles, requirement_name

HOOK_REPOS: dict[str, tuple[str, ...]] = {
    "ruff": ("astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit"),
    "mypy": ("pre-commit/mirrors-mypy",),
    "pyright": ("RobertCraigie/pyright-python",),
}
"""Hook repositories whose `rev` is the tool's version (`v0.6.9` -> `ruff==0.6.9`)."""
_REV = re.compile(r"^v?(\d+(?:\.\d+)*)$")


def declared_pin(files: ProjectFiles, tool: str) -> str | None:
    """The requirement string the project declares for `tool` (groups, then extras, then tox
    envs), markers and all; None when it declares none."""
    for name in files.groups:
        for text in files.group_requirements(name):
            if requirement_name(text) == tool:
                return text
    for name in files.extras:
        for text in files.extra_requirements(name):
            if requirement_name(text) == tool:
                return text
    for section in files.tox_sections():
        for text in files.tox_deps(section):
            if requirement_name(text) == tool:
                return text
    return None


def hook_pin(files: ProjectFiles, tool: str) -> str | None:
    """`tool==X` from the `rev` of the tool's pre-commit hook repository, if the project has one."""
    repos = files.pre_commit.get("repos", [])
    for repo in repos if isinstance(repos, list) else []:
        if not isinstance(repo, dict):
            continue
        url = str(repo.get("repo", "")).rstrip("/")
        match = _REV.match(str(repo.get("rev", "")))
        if match and any(url.endswith(name) for name in HOOK_REPOS.get(tool, ())):
            return f"{tool}=={match.group(1)}"
    return None


def tool_requirement(files: ProjectFiles, tool: str, default: str) -> str:
    """What Conveyor's group for `tool` should require: the project's pin where it has one."""
    return declared_pin(files, tool) or hook_pin(files, tool) or default
