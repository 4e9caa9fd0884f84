"""CI-native output for real: a failing `lint` session under GITHUB_ACTIONS=true folds ruff's
output into a group, annotates the failing line and writes the step summary table."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import require_tool
from tests.integration._consumers import consumer_env, init, lock, run, write_consumer

BROKEN = '''\
"""A module with a lint error."""


def broken() -> int:
    """Uses a name that does not exist."""
    return undefined_name
'''


def test_failing_lint_session_annotates_and_summarises(tmp_path: Path) -> None:
    require_tool("uv")
    root = write_consumer(tmp_path / "svc", "src")
    assert init(root) == 0
    lock(root)
    (root / "src" / "svc_src" / "broken.py").write_text(BROKEN, encoding="utf-8")
    summary = tmp_path / "step_summary.md"
    env = {**consumer_env(), "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    done = run(root, "uv", "run", "--frozen", "nox", "-s", "lint", env=env)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    lines = done.stdout.splitlines()
    assert "::group::ruff check" in lines
    assert "::endgroup::" in lines
    errors = [line for line in lines if line.startswith("::error ")]
    assert errors == [
        "::error file=src/svc_src/broken.py,line=6,title=ruff::F821 Undefined name `undefined_name`"
    ]
    text = summary.read_text(encoding="utf-8")
    assert "### ruff check: 1 finding(s)" in text
    assert "| level | file | line | message |" in text
    assert "| error | src/svc_src/broken.py | 6 | F821 Undefined name `undefined_name` |" in text
