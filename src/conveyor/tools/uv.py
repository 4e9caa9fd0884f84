"""uv adapter: export the locked dependency set as a requirements file, and read its names."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conveyor.runner import DEFAULT_RUNNER, Runner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


def export_argv(project_root: Path, output: Path, groups: Sequence[str] | None = None) -> list[str]:
    """`uv export` of the lock (without the project itself), pinned, into `output`.

    With `groups` None the runtime dependencies and the default groups are exported (all
    groups at once fail when the project declares conflicting groups); otherwise the runtime
    dependencies plus exactly `groups`.
    """
    argv = ["uv", "export", "--frozen", "--project", str(project_root), "--no-emit-project"]
    argv += ["--no-hashes", "--no-header", "--no-annotate", "--output-file", str(output)]
    if groups is not None:
        argv.append("--no-default-groups")
        for group in groups:
            argv += ["--group", group]
    return argv


def locked_requirements(
    project_root: Path, groups: Sequence[str], runner: Runner = DEFAULT_RUNNER
) -> list[str]:
    """`name==version[ ; marker]` for every package `uv.lock` pins for exactly `groups`."""
    argv = ["uv", "export", "--frozen", "--project", str(project_root), "--no-emit-project"]
    argv += ["--no-hashes", "--no-header", "--no-annotate", "--no-default-groups"]
    for group in groups:
        argv += ["--group", group]
    done = runner.run(argv, cwd=project_root, tool="uv export", timeout=120)
    lines = (line.strip() for line in done.stdout.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def requirement_names(text: str) -> list[str]:
    """Canonical names of the requirements in an exported file, sorted, without repeats."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return sorted(names)


def compile_argv(requirements: Path, python_version: str) -> list[str]:
    """`uv pip compile` of a requirements file for every platform from `python_version` on,
    pinned output only (one `name==version` line per package). No interpreter is downloaded:
    resolving for a version needs none."""
    return [
        "uv",
        "pip",
        "compile",
        "--quiet",
        "--no-python-downloads",
        "--no-header",
        "--no-annotate",
        "--no-strip-markers",
        "--universal",
        "--python-version",
        python_version,
        str(requirements),
    ]


def pinned_versions(text: str, name: str) -> list[str]:
    """Every version `uv pip compile` output pins for package `name` (forks may pin several)."""
    wanted = canonicalize_name(name)
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == wanted:
            found += [spec.version for spec in requirement.specifier if spec.operator == "=="]
    return found


def locked_version(lock: Path, name: str) -> str | None:
    """The version `uv.lock` pins for package `name` (None: no lock, or not in it)."""
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    wanted = canonicalize_name(name)
    for package in data.get("package", []):
        if isinstance(package, dict) and canonicalize_name(str(package.get("name", ""))) == wanted:
            version = package.get("version")
            return str(version) if version is not None else None
    return None
