"""CI-native output for real: failing `lint`, `types` and `tests-3.12` sessions under
GITHUB_ACTIONS=true fold each tool's output into a group, annotate the failing line (path
relative to the project) and write the step summary table.

One consumer project is initialised and locked for the module; each test plants its own
breakage and removes it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration._consumers import consumer_env, init, lock, run, write_consumer

BROKEN = '''\
"""A module with a lint error."""


def broken() -> int:
    """Uses a name that does not exist."""
    return undefined_name
'''
MISTYPED = '''\
"""A module with a type error."""


def half(value: int) -> str:
    """Half of `value`, declared as the wrong type."""
    return value // 2
'''
FAILING_TEST = """\
from svc_src import double


def test_double_is_wrong() -> None:
    assert double(2) == 5
"""


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("uv")
    root = write_consumer(tmp_path_factory.mktemp("ci-output") / "svc", "src")
    assert init(root) == 0
    lock(root)
    return root


@contextmanager
def planted(path: Path, text: str) -> Iterator[None]:
    path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        path.unlink()


def run_in_actions(root: Path, summary: Path, session: str, *posargs: str) -> tuple[list[str], str]:
    """`nox -s <session>` under GitHub Actions: it must fail; its stdout lines and summary."""
    env = {**consumer_env(), "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    argv = ["uv", "run", "--frozen", "nox", "-s", session, *(["--", *posargs] if posargs else [])]
    done = run(root, *argv, env=env)
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout.splitlines(), summary.read_text(encoding="utf-8")


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("::error ")]


def test_failing_lint_session_annotates_and_summarises(consumer: Path, tmp_path: Path) -> None:
    with planted(consumer / "src" / "svc_src" / "broken.py", BROKEN):
        lines, text = run_in_actions(consumer, tmp_path / "step_summary.md", "lint")
    assert "::group::ruff check" in lines
    assert "::endgroup::" in lines
    assert errors(lines) == [
        "::error file=src/svc_src/broken.py,line=6,title=ruff::F821 Undefined name `undefined_name`"
    ]
    assert "### ruff check: 1 finding(s)" in text
    assert "| level | file | line | message |" in text
    assert "| error | src/svc_src/broken.py | 6 | F821 Undefined name `undefined_name` |" in text


def test_failing_types_session_annotates_and_summarises(consumer: Path, tmp_path: Path) -> None:
    with planted(consumer / "src" / "svc_src" / "mistyped.py", MISTYPED):
        lines, text = run_in_actions(consumer, tmp_path / "step_summary.md", "types")
    group = lines.index("::group::mypy")
    assert "::endgroup::" in lines[group:]
    message = 'Incompatible return value type (got "int", expected "str") [return-value]'
    assert any(
        line.startswith("src/svc_src/mistyped.py:6: error: Incompatible return value type")
        for line in lines[group:]
    )
    assert errors(lines) == [f"::error file=src/svc_src/mistyped.py,line=6,title=mypy::{message}"]
    assert "### mypy: 1 finding(s)" in text
    assert f"| error | src/svc_src/mistyped.py | 6 | {message} |" in text


def test_failing_tests_session_annotates_and_summarises(consumer: Path, tmp_path: Path) -> None:
    with planted(consumer / "tests" / "test_broken.py", FAILING_TEST):
        lines, text = run_in_actions(consumer, tmp_path / "step_summary.md", "tests-3.12")
    group = lines.index("::group::pytest tests-3.12")
    assert "::endgroup::" in lines[group:]
    (error,) = errors(lines)
    assert error.startswith(
        "::error file=tests/test_broken.py,line=5,title=pytest failure::"
        "test_double_is_wrong: assert 4 == 5"
    )
    assert "### pytest tests-3.12: 1 finding(s)" in text
    assert "| error | tests/test_broken.py | 5 | test_double_is_wrong: assert 4 == 5" in text


def test_a_tests_session_that_collects_nothing_still_fails_and_says_why(
    consumer: Path, tmp_path: Path
) -> None:
    lines, text = run_in_actions(
        consumer, tmp_path / "step_summary.md", "tests-3.12", "-k", "no_such_test"
    )
    message = "pytest tests-3.12: exit code 5 (no tests collected); see the log"
    assert errors(lines) == [f"::error title=pytest::{message}"]
    assert f"| error | - | - | {message} |" in text
