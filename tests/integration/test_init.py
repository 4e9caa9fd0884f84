"""`conveyor init` on fixture projects, then their `lint` and `tests-3.12` sessions for real."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration._consumers import init, lock, run, snapshot, write_consumer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


@pytest.mark.parametrize("kind", ["src", "flat", "configured", "no-tests"])
def test_init_then_lint_and_tests_pass(tmp_path: Path, kind: str) -> None:
    require_tool("uv")
    root = write_consumer(tmp_path / kind, kind)
    before = snapshot(root)
    assert init(root, "--dry-run") == 0
    assert snapshot(root) == before, "--dry-run wrote files"

    assert init(root) == 0
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    if kind == "configured":
        assert data["tool"]["ruff"]["line-length"] == 120
        assert data["tool"]["mypy"] == {"strict": True}
        assert data["dependency-groups"]["dev"] == ["ipython-genutils>=0.2"]
    if kind == "no-tests":
        assert (root / "tests" / "test_import.py").is_file()
    expected_src = "svc_flat" if kind == "flat" else f"src/svc_{kind.replace('-', '_')}"
    assert data["tool"]["conveyor"]["src"] == [expected_src]
    # No classifiers: every known version requires-python admits (3.14/3.15 named missing).
    assert data["tool"]["conveyor"]["python"] == ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]

    lock(root)
    # As init prints and the workflow runs it: nox from its group, whatever `dev` holds (the
    # "configured" project's own dev group has no nox).
    done = run(root, "uv", "run", "--frozen", "--group", "nox", "nox", "-s", "lint", "tests-3.12")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Session lint was successful" in output
    assert "Session tests-3.12 was successful" in output

    after = snapshot(root)
    assert init(root) == 0
    assert snapshot(root) == after, "a second init changed files"
