"""bandit adapter: argv building and JSON parsing (real runs: tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.errors import ToolFailedError
from conveyor.tools.bandit import BanditFinding, bandit_argv, parse_report

REPORT = {
    "errors": [],
    "metrics": {},
    "results": [
        {
            "code": "3 subprocess.call('true', shell=True)\n",
            "filename": "src/demo/run.py",
            "issue_confidence": "HIGH",
            "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
            "issue_severity": "HIGH",
            "issue_text": "subprocess call with shell=True identified, security issue.",
            "line_number": 3,
            "line_range": [3],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b602.html",
            "test_id": "B602",
            "test_name": "subprocess_popen_with_shell_equals_true",
        }
    ],
}


def test_argv_targets_skips_and_json_report() -> None:
    argv = bandit_argv(["src"], ["B101", "B404"], Path("reports/bandit.json"))
    assert argv == [
        "bandit",
        "-r",
        "-f",
        "json",
        "-o",
        "reports/bandit.json",
        "-q",
        "-s",
        "B101,B404",
        "--",
        "src",
    ]
    assert "-s" not in bandit_argv(["src", "lib"], [], Path("b.json"))


def test_results_become_typed_findings() -> None:
    assert parse_report(json.dumps(REPORT)) == [
        BanditFinding(
            test_id="B602",
            test_name="subprocess_popen_with_shell_equals_true",
            severity="HIGH",
            confidence="HIGH",
            filename="src/demo/run.py",
            line=3,
            text="subprocess call with shell=True identified, security issue.",
            more_info="https://bandit.readthedocs.io/en/1.9.4/plugins/b602.html",
        )
    ]
    assert parse_report('{"results": []}') == []


@pytest.mark.parametrize("text", ["not json", "{}", '{"results": [{"test_id": "B1"}]}'])
def test_an_unreadable_report_is_a_tool_failure(text: str) -> None:
    with pytest.raises(ToolFailedError, match="bandit: unreadable JSON report"):
        parse_report(text)
