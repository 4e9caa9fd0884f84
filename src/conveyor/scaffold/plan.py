"""`conveyor init` as a plan of file changes: shown as a diff, applied, or refused without --force.

A file that already exists with other content is never overwritten unless forced; pyproject.toml
is only ever extended. Running init twice finds nothing to change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from conveyor.adopt.sources import ProjectFiles
from conveyor.config import PYPROJECT
from conveyor.errors import ConveyorError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.scaffold import hooks
from conveyor.scaffold.docker import dockerignore, writes_compose
from conveyor.scaffold.layout import Layout, detect
from conveyor.scaffold.pyproject import extend, notes
from conveyor.scaffold.style import python_style
from conveyor.scaffold.templates import render
from conveyor.scaffold.workflow import workflow

WORKFLOW_PATH = ".github/workflows/ci.yml"
PRE_COMMIT_PATH = ".pre-commit-config.yaml"
DOCKERFILE = "docker/Dockerfile"
COMPOSE = "docker/compose.yaml"
PROXY_FILES = ("Dockerfile", "haproxy.cfg")
"""The reverse proxy blue-green deploys switch through (docker/proxy/)."""
DOCKERIGNORE = ".dockerignore"
GITIGNORE = ".gitignore"
IGNORED = (".nox/", "/reports/", ".conveyor/")
"""What the sessions and tasks leave in the tree: environments, reports, deploy state."""


class Action(str, Enum):
    """What init does with one file."""

    CREATE = "create"
    UPDATE = "update"
    KEEP = "unchanged"
    SKIP = "exists (use --force to overwrite)"


@dataclass(frozen=True)
class Change:
    """One file init wants to exist with `new` content."""

    path: str
    old: str | None
    new: str
    action: Action

    def diff(self) -> str:
        """The unified diff from the current content to the planned one."""
        before = (self.old or "").splitlines(keepends=True)
        after = self.new.splitlines(keepends=True)
        source = "/dev/null" if self.old is None else f"a/{self.path}"
        return "".join(difflib.unified_diff(before, after, source, f"b/{self.path}"))


@dataclass(frozen=True)
class Options:
    """The command line of `conveyor init`."""

    force: bool = False
    docker: bool = False
    conveyor_source: str | None = None
    safety_db: str | None = None
    accept_stale_data: str | None = None  # the reason offline advisory data may be old


def desired_files(layout: Layout, options: Options) -> dict[str, str]:
    """Every generated file (except pyproject.toml) and its content.

    The workflow gets its build-and-scan job when the project builds an image. An existing
    Dockerfile, compose file or `.dockerignore` is the project's and is never planned; the
    `.dockerignore` written next to an existing Dockerfile keeps everything it copies.
    """
    found = layout.docker
    builds_image = options.docker or found.builds_image
    style = python_style(ProjectFiles.read(layout.root))
    imports = style.imports_block()
    files = {
        "noxfile.py": render("noxfile.py", required_imports=imports, q=style.quote),
        "tasks.py": render("tasks.py", required_imports=imports),
        PRE_COMMIT_PATH: hooks.local_config(
            [*layout.src, *layout.tests], locked_pins(layout), hooks.linter_excluded(layout.root)
        ),
        WORKFLOW_PATH: workflow(layout, docker=builds_image),
    }
    if not layout.has_tests and not layout.application:
        files[f"{layout.tests[0]}/test_import.py"] = render(
            "test_import.py", package=layout.package
        )
    has_dockerignore = (layout.root / DOCKERIGNORE).exists()
    if options.docker and not found.builds_image:
        files[DOCKERFILE] = render(
            "docker/Dockerfile", src_root=layout.src_root, package=layout.package
        )
        if writes_compose(layout.root, found, docker=True):
            files[COMPOSE] = render("docker/compose.yaml", image=layout.package)
            for name in PROXY_FILES:
                if not (layout.root / "docker" / "proxy" / name).exists():
                    files[f"docker/proxy/{name}"] = render(f"docker/proxy/{name}")
        if not has_dockerignore:
            files[DOCKERIGNORE] = render("dockerignore", src_root=layout.src_root)
    elif found.root_context and not has_dockerignore:
        files[DOCKERIGNORE] = dockerignore(layout.root, found)
    return files


def locked_pins(layout: Layout) -> list[str]:
    """The hook pins from the project's lock when it already has the hook groups; else none
    yet (init's next steps say to `uv lock` and `uv run conveyor hooks`)."""
    if not (layout.root / "uv.lock").is_file():
        return []
    try:
        return hooks.hook_pins(layout.root)
    except ConveyorError:
        return []


def with_ignores(text: str | None) -> str:
    """`.gitignore` with the session directories added (existing lines kept as they are)."""
    current = text or ""
    present = {line.strip() for line in current.splitlines()}
    missing = [entry for entry in IGNORED if entry not in present]
    if not missing:
        return current
    if current and not current.endswith("\n"):
        current += "\n"
    return current + "".join(f"{entry}\n" for entry in missing)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _change(path: str, old: str | None, new: str, *, force: bool) -> Change:
    if old is None:
        return Change(path, old, new, Action.CREATE)
    if old == new:
        return Change(path, old, new, Action.KEEP)
    return Change(path, old, new, Action.UPDATE if force else Action.SKIP)


def plan(
    root: Path, options: Options, runner: Runner = DEFAULT_RUNNER
) -> tuple[Layout, list[Change]]:
    """The detected layout and what init would do to each file (`runner` resolves groups)."""
    layout = detect(root)
    pyproject_old = _read(layout.root / PYPROJECT)
    pyproject_new = extend(
        pyproject_old or "",
        layout,
        docker=options.docker,
        conveyor_source=options.conveyor_source,
        safety_db=options.safety_db,
        accept_stale_data=options.accept_stale_data,
        runner=runner,
    )
    changes = [_change(PYPROJECT, pyproject_old, pyproject_new, force=True)]
    gitignore_old = _read(layout.root / GITIGNORE)
    changes.append(_change(GITIGNORE, gitignore_old, with_ignores(gitignore_old), force=True))
    for path, content in desired_files(layout, options).items():
        changes.append(_change(path, _read(layout.root / path), content, force=options.force))
    return layout, changes


def follow_ups(changes: list[Change], layout: Layout) -> list[str]:
    """Notes on what init could not do itself (from the planned pyproject.toml)."""
    pyproject = next(c for c in changes if c.path == PYPROJECT)
    found = notes(pyproject.new)
    requirements = sorted(p.name for p in layout.root.glob("requirements*.txt"))
    if layout.application and requirements:
        found.append(
            f"{', '.join(requirements)} not read: `uv add -r {requirements[0]}` puts the "
            "application's dependencies where the test and type sessions install them from"
        )
    return found


def apply(root: Path, changes: list[Change]) -> list[Change]:
    """Write every created or updated file; return those written."""
    written = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)]
    for change in written:
        target = root / change.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(change.new, encoding="utf-8")
    return written
