"""Small library projects written on the fly, with a noxfile that registers Conveyor's sessions.

For tests of the sessions themselves (interpreters, the result cache): a package, one unit
test, the dependency groups the test needs, and `[tool.conveyor]` settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import require_tool

NOXFILE = """\
import nox

import conveyor.sessions

nox.options.default_venv_backend = "uv"
conveyor.sessions.register()
"""
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def library(
    root: Path,
    *,
    package: str,
    module: str,
    test: str,
    requires_python: str,
    groups: Mapping[str, Sequence[str]],
    conveyor: Mapping[str, object],
) -> Path:
    """Write the project under `root` (src layout, tests/unit) and return `root`."""
    (root / "src" / package).mkdir(parents=True)
    (root / "src" / package / "__init__.py").write_text(module)
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "tests" / "unit" / f"test_{package}.py").write_text(test)
    (root / "noxfile.py").write_text(NOXFILE)
    lines = [
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        f'[project]\nname = "{package}"\nversion = "0.1.0"\n'
        f"requires-python = {json.dumps(requires_python)}\n",
        "[dependency-groups]",
        *(f"{name} = {json.dumps(list(pins))}" for name, pins in groups.items()),
        "\n[tool.conveyor]",
        *(f"{key} = {json.dumps(value)}" for key, value in conveyor.items()),
    ]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return root


def lock(root: Path, *args: str) -> None:
    """`uv lock` with the running Python (no interpreter download)."""
    subprocess.run(
        [require_tool("uv"), "lock", "--quiet", "--python", sys.executable, *args],
        cwd=root,
        check=True,
        timeout=300,
    )
