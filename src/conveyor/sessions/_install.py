"""Install a project's dependency groups into a session's venv exactly as `uv.lock` pins them.

The lock is the single source of versions: sessions never `pip install` a bare name, they
`uv sync --frozen` the named groups into the venv nox created. A venv synced before from the
same lock, pyproject.toml and arguments, whose site-packages has not changed since, is not
synced again (a no-op `uv sync` still costs a tenth of a second per session).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nox

from conveyor.config import PYPROJECT, Project
from conveyor.errors import ConfigError
from conveyor.fingerprint import digest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

LOCKFILE = "uv.lock"
SYNC_STAMP = ".conveyor-synced"
"""In a session's venv: what it was last synced from, and its site-packages afterwards."""


def read_pyproject(root: Path) -> tuple[bytes, Mapping[str, Any]]:
    """`root`'s pyproject.toml as bytes and as a (read-only) table: a sync reads it for its
    groups, its extras and its state, and a file is parsed once per content."""
    raw = (root / PYPROJECT).read_bytes()
    return raw, _parsed(raw)


@functools.lru_cache(maxsize=8)
def _parsed(raw: bytes) -> Mapping[str, Any]:
    return tomllib.loads(raw.decode("utf-8"))


def declared_groups(root: Path) -> set[str]:
    """The `[dependency-groups]` names in `root`'s pyproject.toml."""
    groups = read_pyproject(root)[1].get("dependency-groups", {})
    return set(groups) if isinstance(groups, dict) else set()


def declared_extras(root: Path) -> set[str]:
    """The `[project.optional-dependencies]` names in `root`'s pyproject.toml."""
    extras = read_pyproject(root)[1].get("project", {}).get("optional-dependencies", {})
    return set(extras) if isinstance(extras, dict) else set()


def require_groups(project: Project, groups: Sequence[str], extras: Sequence[str] = ()) -> None:
    """Stop with one line naming the first group or extra the project does not declare."""
    declared = declared_groups(project.root)
    for group in groups:
        if group not in declared:
            raise ConfigError(
                f"{project.root / PYPROJECT}: [dependency-groups] has no {group!r} group",
                hint=f"add it with `uv add --group {group} <packages>` and commit uv.lock",
            )
    known = declared_extras(project.root)
    for extra in extras:
        if extra not in known:
            raise ConfigError(
                f"{project.root / PYPROJECT}: [project.optional-dependencies] has no "
                f"{extra!r} extra",
                hint="declare it, or set [tool.conveyor] test-extras to the extras you have",
            )
    if not (project.root / LOCKFILE).is_file():
        raise ConfigError(
            f"{project.root / LOCKFILE}: not found",
            hint="create it with `uv lock` and commit it: sessions install exactly what it pins",
        )


def sync_argv(
    groups: Sequence[str],
    *,
    python: str,
    only: bool = False,
    project_root: Path,
    extras: Sequence[str] = (),
) -> list[str]:
    """`uv sync` of `groups` and the project's `extras` (plus the project unless `only`) as
    locked, nothing else."""
    flag = "--only-group" if only else "--group"
    argv = ["uv", "sync", "--frozen", "--no-default-groups", "--project", str(project_root)]
    for group in dict.fromkeys(groups):
        argv += [flag, group]
    for extra in dict.fromkeys(extras):
        argv += ["--extra", extra]
    return [*argv, "--python", python]


def sync(
    session: nox.Session,
    project: Project,
    *groups: str,
    only: bool = False,
    extras: Sequence[str] = (),
) -> bool:
    """Install `groups` and `extras` (with the project unless `only`) into the session's venv
    from the lock.

    Returns False under `nox --install-only`, where nox skips every later `session.run`, so
    the session must stop before reading what those runs would have written.
    """
    require_groups(project, groups, extras)
    venv = Path(session.virtualenv.location)
    python = str(Path(session.bin) / "python")
    argv = sync_argv(
        groups, python=python, only=only and not extras, project_root=project.root, extras=extras
    )
    stamp = venv / SYNC_STAMP
    before = sync_state(project.root, argv, venv) if stamp.is_file() else ""
    if before and stamp.read_text(encoding="utf-8") == before:
        session.log(f"uv sync not needed: the venv is as its last sync from {LOCKFILE} left it")
    else:
        stamp.unlink(missing_ok=True)
        session.run_install(*argv, env={"UV_PROJECT_ENVIRONMENT": str(venv)}, external=True)
        after = sync_state(project.root, argv, venv)
        if after and not session._runner.global_config.no_install:  # nox ran the sync
            stamp.write_text(after, encoding="utf-8")
    return not session._runner.global_config.install_only


def sync_state(root: Path, argv: Sequence[str], venv: Path) -> str:
    """What a sync of `argv` into `venv` depends on, with the venv's site-packages as it is
    (an install or removal changes its mtime); "" when that cannot be known for sure (metadata
    computed at build time, uv cache keys, no site-packages to watch)."""
    pyproject, data = read_pyproject(root)
    dynamic = data.get("project", {}).get("dynamic")
    cache_keys = data.get("tool", {}).get("uv", {}).get("cache-keys")
    site_packages = sorted(venv.glob("lib/python*/site-packages")) + sorted(
        venv.glob("Lib/site-packages")
    )
    if dynamic or cache_keys or (root / "setup.py").exists() or not site_packages:
        return ""
    sources = [
        hashlib.sha256(raw).hexdigest() for raw in (pyproject, (root / LOCKFILE).read_bytes())
    ]
    return digest(list(argv), sources, [(str(p), p.stat().st_mtime_ns) for p in site_packages])
