"""What `conveyor init` learns about a project's images: its Dockerfiles, its compose file, and
what they copy, so the `.dockerignore` init writes never drops a file a Dockerfile needs.

An existing Dockerfile is the project's: init never replaces it. Its `.dockerignore` (when
the project has none) leaves out only what Conveyor and its sessions create (`.nox/`,
`.venv/`, reports, caches, `.conveyor/`), and drops any such pattern a COPY or ADD needs.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ROOT_DOCKERFILES = ("Dockerfile", "docker/Dockerfile")
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DEFAULT_COMPOSE = "docker/compose.yaml"
TOOL_STATE = (
    ".nox",
    ".venv",
    ".conveyor",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "htmlcov",
    ".coverage*",
    "**/__pycache__",
    "**/*.pyc",
)
"""What Conveyor's sessions and tools leave in the tree: never part of an image."""
_INSTRUCTION = re.compile(r"^\s*(COPY|ADD)\s+(.*)$", re.IGNORECASE | re.DOTALL)
_REMOTE = ("http://", "https://", "git@", "<<")


@dataclass(frozen=True)
class DockerLayout:
    """The images a project builds, as init finds them."""

    dockerfile: str | None = None
    """A Dockerfile for `[tool.conveyor.docker] dockerfile` (None: the default or none)."""
    compose_file: str | None = None
    """A compose file for `[tool.conveyor.deploy] compose-files` (None: the default or none)."""
    root_context: tuple[str, ...] = ()
    """Dockerfiles built with the project root as context (what `.dockerignore` applies to)."""
    compose_builds: bool = False

    @property
    def builds_image(self) -> bool:
        """True when the project has a Dockerfile or a compose service with `build:`."""
        return bool(self.root_context) or self.compose_builds


def detect_docker(root: Path) -> DockerLayout:
    """The Dockerfiles and compose file at the project root, and which builds use the root."""
    compose = next((n for n in (*COMPOSE_NAMES, DEFAULT_COMPOSE) if (root / n).is_file()), None)
    builds = compose_builds(root, compose) if compose else []
    root_builds = [dockerfile for context, dockerfile in builds if context == "."]
    existing = [name for name in ROOT_DOCKERFILES if (root / name).is_file()]
    unbuilt = [name for name in existing if name not in root_builds]
    configured = next((n for n in unbuilt if n != "docker/Dockerfile"), None)
    return DockerLayout(
        dockerfile=configured,
        compose_file=compose if compose != DEFAULT_COMPOSE else None,
        root_context=tuple(dict.fromkeys([*unbuilt, *root_builds])),
        compose_builds=bool(builds),
    )


def writes_compose(root: Path, layout: DockerLayout, *, docker: bool) -> bool:
    """True when `init --docker` writes the compose layout: the project builds no image and
    has no compose file of its own (then init owns the layout, blue-green behind a proxy)."""
    return (
        docker
        and not layout.builds_image
        and layout.compose_file is None
        and not (root / DEFAULT_COMPOSE).is_file()
    )


def compose_builds(root: Path, compose: str) -> list[tuple[str, str]]:
    """(context, Dockerfile) of each `build:` in the compose file, relative to the root;
    contexts written with variables are left out (init cannot resolve them)."""
    try:
        data = yaml.safe_load((root / compose).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    services = data.get("services") if isinstance(data, dict) else None
    bodies = (
        [b for b in services.values() if isinstance(b, dict)] if isinstance(services, dict) else []
    )
    found: list[tuple[str, str]] = []
    base = PurePosixPath(compose).parent
    for body in bodies:
        build: Any = body.get("build")
        if build is None:
            continue
        spec = {"context": build} if isinstance(build, str) else dict(build)
        context = str(spec.get("context") or ".")
        if "$" in context or "://" in context:
            continue
        context_path = _normal(base / context)
        dockerfile = _normal(
            PurePosixPath(context_path) / str(spec.get("dockerfile") or "Dockerfile")
        )
        found.append((context_path, dockerfile))
    return found


def _normal(path: PurePosixPath) -> str:
    """`a/../b/./c` -> `b/c`, the root as `.`."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts) or "."


def copied_sources(dockerfile: str) -> list[str]:
    """The build-context paths a Dockerfile's COPY and ADD instructions read.

    `--from=` copies (from another stage or image), URLs and heredocs read nothing from the
    context and are left out.
    """
    sources: list[str] = []
    for instruction in _instructions(dockerfile):
        match = _INSTRUCTION.match(instruction)
        if match is None:
            continue
        args = _arguments(match.group(2))
        if any(a.startswith("--from") for a in args):
            continue
        operands = [a for a in args if not a.startswith("--")]
        for source in operands[:-1]:
            if not source.startswith(_REMOTE):
                sources.append(_normal(PurePosixPath(source.lstrip("/"))))
    return sources


def _instructions(text: str) -> list[str]:
    """Instructions with their `\\` continuation lines joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    if current:
        joined.append(current)
    return joined


def _arguments(text: str) -> list[str]:
    """The exec (JSON array) or whitespace-separated form of an instruction's arguments."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    try:
        return shlex.split(stripped)
    except ValueError:
        return stripped.split()


def excludes(pattern: str, source: str) -> bool:
    """True when a `.dockerignore` pattern would drop `source` or something inside it."""
    bare = pattern.removeprefix("**/")
    parts = PurePosixPath(source).parts if source != "." else ()
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if bare != pattern:
        candidates += list(parts)
    return any(fnmatchcase(c, bare) or fnmatchcase(bare, c) for c in candidates)


def dockerignore(root: Path, layout: DockerLayout, reports_dir: str = "reports") -> str:
    """A `.dockerignore` for the root context: tool state out, every COPY/ADD source kept."""
    needed: list[str] = []
    for name in layout.root_context:
        path = root / name
        if path.is_file():
            needed += copied_sources(path.read_text(encoding="utf-8"))
    patterns = [p for p in (*TOOL_STATE, reports_dir) if not any(excludes(p, s) for s in needed)]
    kept = sorted({p for p in (*TOOL_STATE, reports_dir)} - set(patterns))
    lines = [
        "# Written by `conveyor init`: what Conveyor's sessions and tools leave in the tree.",
        f"# Checked against what {', '.join(layout.root_context)} COPY and ADD"
        + (f"; kept in the context because they are copied: {', '.join(kept)}" if kept else "")
        + ".",
        *patterns,
    ]
    return "\n".join(lines) + "\n"
