"""Gitleaks adapter: argv and report parsing (real runs live in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from conveyor.errors import ToolFailedError
from conveyor.tools.gitleaks import (
    CONFIG,
    LEAKS_EXIT,
    Gitleaks,
    git_dir,
    is_git_repository,
    overriding_environment,
    parse_report,
)

REPORT = [
    {
        "RuleID": "aws-access-token",
        "Description": "AWS credentials",
        "StartLine": 4,
        "File": "settings.ini",
        "Commit": "1e0c9ada41cf2527c8d2b6457d2f5d4edf59df21",
        "Secret": "REDACTED",
        "Match": "REDACTED",
        "Fingerprint": "1e0c9ada41cf2527c8d2b6457d2f5d4edf59df21:settings.ini:aws-access-token:4",
    },
    {
        "RuleID": "generic-api-key",
        "File": "a.env",
        "StartLine": 0,
        "Commit": "",
        "Fingerprint": "",
    },
]


def test_argv_history_and_dir() -> None:
    gitleaks = Gitleaks(path="/bin/gitleaks")
    argv = gitleaks.argv(Path("/repo"), Path("/out/g.json"), history=True)
    assert argv[:2] == ["/bin/gitleaks", "git"]
    assert "--redact" in argv
    assert argv[argv.index("--exit-code") + 1] == str(LEAKS_EXIT)
    assert argv[argv.index("--report-format") + 1] == "json"
    assert argv[argv.index("--report-path") + 1] == "/out/g.json"
    assert argv[-1] == "/repo"
    assert gitleaks.argv(Path("/repo"), Path("/o.json"), history=False)[1] == "dir"
    own = gitleaks.argv(Path("/repo"), Path("/o.json"), history=True, private_dir=Path("/p"))
    assert own[own.index("--config") + 1] == "/p/gitleaks.toml"
    assert own[own.index("--gitleaks-ignore-path") + 1] == "/p"
    assert "--ignore-gitleaks-allow" in own
    assert "[extend]\nuseDefault = true" in CONFIG


def test_parse_report_keeps_no_secret_text() -> None:
    first, second = parse_report(REPORT, "/repo")
    assert first.rule_id == "aws-access-token"
    assert first.kind == "secret"
    assert first.path == "settings.ini"
    assert first.line == 4
    assert first.commit == "1e0c9ada41cf2527c8d2b6457d2f5d4edf59df21"
    assert first.fingerprint.endswith(":settings.ini:aws-access-token:4")
    assert b"REDACTED" not in msgspec.json.encode(first)
    assert second.line is None
    assert second.commit is None
    assert len(second.fingerprint) == 16


def test_parse_report_rejects_non_list() -> None:
    with pytest.raises(ToolFailedError, match="gitleaks: report is not a JSON list") as info:
        parse_report({"oops": 1}, "/repo", "ERR boom\n")
    assert info.value.hint == "ERR boom"


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("not a mapping", "not a JSON object"),
        ({**REPORT[0], "RuleID": None}, "RuleID: Expected `str`, got `null`"),
        ({k: v for k, v in REPORT[0].items() if k != "File"}, "File: required, but not set"),
        ({**REPORT[0], "StartLine": "4"}, "StartLine: Expected `int`, got `str`"),
    ],
)
def test_an_item_without_gitleaks_shape_is_a_tool_failure(item: object, problem: str) -> None:
    with pytest.raises(ToolFailedError) as info:
        parse_report([REPORT[0], item], "/repo")
    assert info.value.message == (
        f"gitleaks: report item 1 does not have gitleaks' shape ({problem})"
    )


def test_gitleaks_variables_are_not_inherited() -> None:
    environ = {"GITLEAKS_CONFIG": "/x", "GITLEAKS_CONFIG_TOML": "[a]", "HOME": "/root"}
    assert overriding_environment(environ) == ["GITLEAKS_CONFIG", "GITLEAKS_CONFIG_TOML"]


def test_git_dir_follows_a_gitdir_file(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert git_dir(tmp_path / "repo") == tmp_path / "repo" / ".git"
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: ../repo/.git/worktrees/wt\n")
    assert git_dir(tmp_path / "wt") == (tmp_path / "repo" / ".git" / "worktrees" / "wt")
    (tmp_path / "abs").mkdir()
    (tmp_path / "abs" / ".git").write_text("gitdir: /elsewhere/.git\n")
    assert git_dir(tmp_path / "abs") == Path("/elsewhere/.git")


def test_is_git_repository(tmp_path: Path) -> None:
    assert not is_git_repository(tmp_path)
    (tmp_path / ".git").mkdir()
    assert is_git_repository(tmp_path)


def test_dir_paths_are_made_relative_to_the_source() -> None:
    item = {
        "RuleID": "r",
        "File": "/src/app/deploy.env",
        "Fingerprint": "/src/app/deploy.env:r:1",
        "StartLine": 1,
        "Commit": "",
    }
    (finding,) = parse_report([item], "/src/app")
    assert finding.path == "deploy.env"
    assert finding.fingerprint == "deploy.env:r:1"
    (other,) = parse_report([{**item, "File": "/elsewhere/x"}], "/src/app")
    assert other.path == "/elsewhere/x"
