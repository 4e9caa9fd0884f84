"""Parsing tool output into GitHub annotations and the step summary (real runs: integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.errors import GateFailedError, ToolFailedError
from conveyor.reports import annotations as anno
from conveyor.reports.github import Annotation
from conveyor.sessions._pytest import ran_tests

RUFF = [
    {
        "code": "F401",
        "filename": "{root}/src/m.py",
        "location": {"column": 8, "row": 1},
        "message": "`os` imported but unused",
    },
    {"code": None, "filename": "src/n.py", "location": {"row": 3}, "message": "SyntaxError: x"},
]
MYPY = """\
src/m.py:6: error: Incompatible return value type (got "int", expected "str")  [return-value]
src/m.py:6: note: See https://mypy.readthedocs.io
src/m.py:9:5: warning: unused 'type: ignore' comment
Found 1 error in 1 file (checked 1 source file)
"""
BANDIT = {
    "results": [
        {
            "filename": "./src/m.py",
            "issue_severity": "HIGH",
            "issue_text": "Use of exec detected.",
            "line_number": 4,
            "test_id": "B102",
        },
        {
            "filename": "src/m.py",
            "issue_severity": "LOW",
            "issue_text": "assert used",
            "line_number": 7,
            "test_id": "B101",
        },
    ]
}
JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" tests="3">
<testcase classname="tests.unit.test_m" name="test_ok" time="0.001" />
<testcase classname="tests.unit.test_m" name="test_bad" time="0.001">
<failure message="assert 1 == 2">def test_bad() -&gt; None:
&gt;       assert 1 == 2
E       assert 1 == 2

tests/unit/test_m.py:8: AssertionError</failure></testcase>
<testcase classname="tests.unit.test_m" name="test_setup" time="0.001">
<error message="failed on setup with &quot;fixture 'nope' not found&quot;">file /x, line 3</error>
</testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_ruff_json_paths_become_relative(tmp_path: Path) -> None:
    text = json.dumps(RUFF).replace("{root}", str(tmp_path))
    found = anno.from_ruff(text, tmp_path)
    assert found == [
        Annotation("error", "F401 `os` imported but unused", "src/m.py", 1, "ruff"),
        Annotation("error", "syntax-error SyntaxError: x", "src/n.py", 3, "ruff"),
    ]
    assert anno.from_ruff("", tmp_path) == []


def test_mypy_lines_skip_notes(tmp_path: Path) -> None:
    found = anno.from_mypy(MYPY, tmp_path)
    assert found == [
        Annotation(
            "error",
            'Incompatible return value type (got "int", expected "str") [return-value]',
            "src/m.py",
            6,
            "mypy",
        ),
        Annotation("warning", "unused 'type: ignore' comment", "src/m.py", 9, "mypy"),
    ]


def test_bandit_severity_maps_to_level(tmp_path: Path) -> None:
    found = anno.from_bandit(json.dumps(BANDIT), tmp_path)
    assert [(a.level, a.file, a.line) for a in found] == [
        ("error", "src/m.py", 4),
        ("warning", "src/m.py", 7),
    ]
    assert found[0].message == "B102 Use of exec detected."


def test_junit_failures_point_at_the_failing_line(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "test_m.py").write_text("")
    found = anno.from_junit(JUNIT, tmp_path)
    assert found == [
        Annotation("error", "test_bad: assert 1 == 2", "tests/unit/test_m.py", 8, "pytest failure"),
        Annotation(
            "error",
            "test_setup: failed on setup with \"fixture 'nope' not found\"",
            "tests/unit/test_m.py",
            None,
            "pytest error",
        ),
    ]


def test_unreadable_reports_are_tool_failures(tmp_path: Path) -> None:
    with pytest.raises(ToolFailedError, match="ruff: unreadable JSON"):
        anno.from_ruff("{not json", tmp_path)
    with pytest.raises(ToolFailedError, match="pytest: unreadable JUnit XML"):
        anno.from_junit("<testsuite", tmp_path)


def test_paths_outside_the_root_stay_as_given(tmp_path: Path) -> None:
    assert anno.relative("/elsewhere/x.py", tmp_path) == "/elsewhere/x.py"
    assert anno.relative(str(tmp_path / "a" / "b.py"), tmp_path) == "a/b.py"


def test_publish_writes_summary_and_at_most_ten_annotations(
    actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = [Annotation("warning", f"w{i}", "a.py", i) for i in range(1, 12)]
    findings.append(Annotation("error", "the worst", "b.py", 3))
    assert anno.publish("ruff check", findings) == 10
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "::error file=b.py,line=3::the worst"
    assert len(lines) == 10
    summary = actions.read_text(encoding="utf-8")
    assert summary.startswith("### ruff check: 12 finding(s)\n\n| level | file | line | message |")
    assert "| error | b.py | 3 | the worst |" in summary


def test_summary_of_nothing_says_passed_and_long_lists_are_cut() -> None:
    assert anno.summary("mypy", []) == "### mypy: passed\n\nNo findings."
    many = [Annotation("error", "x", "a.py", 1)] * (anno.SUMMARY_ROWS + 5)
    assert anno.summary("mypy", many).endswith("... and 5 more")


def test_report_file_parses_and_publishes(
    tmp_path: Path, actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "mypy.txt"
    assert anno.report_file("mypy", report, anno.from_mypy, tmp_path) == []
    report.write_text(MYPY)
    found = anno.report_file("mypy", report, anno.from_mypy, tmp_path)
    assert len(found) == 2
    assert "::error file=src/m.py,line=6,title=mypy::" in capsys.readouterr().out
    assert "### mypy: 2 finding(s)" in actions.read_text(encoding="utf-8")


def test_nothing_is_written_outside_actions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert anno.publish("x", [Annotation("error", "m", "a.py", 1)]) == 0
    assert capsys.readouterr().out == ""


def test_report_text_publishes_tool_output_and_read_report_only_parses(
    tmp_path: Path, actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = anno.report_text("mypy", MYPY, anno.from_mypy, tmp_path)
    assert [(f.level, f.file, f.line) for f in found] == [
        ("error", "src/m.py", 6),
        ("warning", "src/m.py", 9),
    ]
    assert "### mypy: 2 finding(s)" in actions.read_text(encoding="utf-8")
    assert "::error file=src/m.py,line=6,title=mypy::" in capsys.readouterr().out
    report = tmp_path / "junit.xml"
    assert anno.read_report(report, anno.from_junit, tmp_path) == []
    report.write_text(JUNIT)
    assert len(anno.read_report(report, anno.from_junit, tmp_path)) == 2
    assert capsys.readouterr().out == ""
    assert actions.read_text(encoding="utf-8").count("###") == 1


TWO_SUITES = (
    '<testsuites><testsuite tests="{tests}" failures="0" errors="0" skipped="{skipped}"/>'
    '<testsuite tests="2" failures="1" errors="0" skipped="0"/></testsuites>'
)


def test_junit_totals_sum_every_suite_and_count_what_ran() -> None:
    totals = anno.junit_totals(TWO_SUITES.format(tests=5, skipped=2))
    assert (totals.passed, totals.ran, totals.failures) == (4, 5, 1)
    assert str(totals) == "4 passed, 1 failures, 2 skipped"
    nothing = anno.junit_totals('<testsuite tests="3" skipped="3"/>')
    assert (nothing.ran, str(nothing)) == (0, "0 passed, 3 skipped")


def test_a_run_in_which_no_test_ran_is_not_green(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    with pytest.raises(GateFailedError, match=r"^pytest tests-3\.12: no test ran \(the run wrote"):
        ran_tests("pytest tests-3.12", junit)
    junit.write_text('<testsuite tests="0"/>')
    with pytest.raises(GateFailedError, match=r"no test ran \(0 passed\)") as caught:
        ran_tests("pytest tests-3.12", junit)
    assert "--collect-only" in caught.value.hint
    junit.write_text('<testsuite tests="4" skipped="4"/>')
    with pytest.raises(GateFailedError, match=r"no test ran \(0 passed, 4 skipped\)"):
        ran_tests("pytest tests-3.12", junit)
    junit.write_text('<testsuite tests="4" skipped="3"/>')
    assert str(ran_tests("pytest tests-3.12", junit)) == "1 passed, 3 skipped"
