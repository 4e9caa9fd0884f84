"""Gitleaks adapter: argv and report parsing (real runs live in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.errors import ToolFailedError
from conveyor.tools.gitleaks import LEAKS_EXIT, Gitleaks, is_git_repository, parse_report

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
    {"RuleID": "generic-api-key", "File": "a.env", "StartLine": 0},
    "not a mapping",
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


def test_parse_report_keeps_no_secret_text() -> None:
    first, second = parse_report(REPORT, "/repo")
    assert first.rule_id == "aws-access-token"
    assert first.kind == "secret"
    assert first.path == "settings.ini"
    assert first.line == 4
    assert first.commit == "1e0c9ada41cf2527c8d2b6457d2f5d4edf59df21"
    assert first.fingerprint.endswith(":settings.ini:aws-access-token:4")
    assert "REDACTED" not in first.model_dump_json()
    assert second.line is None
    assert second.commit is None
    assert len(second.fingerprint) == 16


def test_parse_report_rejects_non_list() -> None:
    with pytest.raises(ToolFailedError, match="gitleaks: report is not a JSON list"):
        parse_report({"oops": 1}, "/repo")


def test_is_git_repository(tmp_path: Path) -> None:
    assert not is_git_repository(tmp_path)
    (tmp_path / ".git").mkdir()
    assert is_git_repository(tmp_path)


def test_dir_paths_are_made_relative_to_the_source() -> None:
    item = {"RuleID": "r", "File": "/src/app/deploy.env", "Fingerprint": "/src/app/deploy.env:r:1"}
    (finding,) = parse_report([item], "/src/app")
    assert finding.path == "deploy.env"
    assert finding.fingerprint == "deploy.env:r:1"
    (other,) = parse_report([{"RuleID": "r", "File": "/elsewhere/x"}], "/src/app")
    assert other.path == "/elsewhere/x"
