"""Gate reports: the rich table, the JSON/markdown files, GitHub step summary and annotations."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from conveyor.config import LicenseSettings, Reason
from conveyor.policy.advisories import Advisory, evaluate
from conveyor.policy.licenses import evaluate as evaluate_licenses
from conveyor.reports.console import render_table
from conveyor.reports.licenses import report_licenses
from conveyor.reports.security import report_security
from conveyor.tools.piplicenses import PackageLicense

B602 = Advisory(
    source="bandit",
    id="B602",
    subject="src/a.py:3",
    severity="HIGH",
    summary="shell=True",
    file="src/a.py",
    line=3,
)
CVE = Advisory(
    source="safety", id="36546", subject="requests 2.19.0", severity="", summary="redirect leak"
)


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200), out


@pytest.fixture
def actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_render_table_rows_and_empty() -> None:
    con, out = console()
    render_table("things", ["a", "b"], [["1", "two"]], con)
    render_table("nothing", ["a"], [], con)
    text = out.getvalue()
    assert "things" in text
    assert "two" in text
    assert "nothing: none" in text


def test_security_report_files_summary_and_annotations(
    tmp_path: Path, actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = evaluate([B602, CVE], {"36546": Reason(reason="not reachable")})
    con, out = console()
    path = report_security(gate, tmp_path / "reports", con)
    data = json.loads(path.read_text())
    assert data["passed"] is False
    assert [(f["id"], f["ignored"], f["reason"]) for f in data["findings"]] == [
        ("B602", False, None),
        ("36546", True, "not reachable"),
    ]
    assert "ignored: not reachable" in out.getvalue()
    assert "### Security (failed: 1 finding(s))" in actions.read_text()
    assert "::error file=src/a.py,line=3::bandit B602: shell=True" in capsys.readouterr().out


def test_license_report_files_summary_and_annotations(
    tmp_path: Path, actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packages = [
        PackageLicense("rich", "15.0.0", "MIT", "https://rich"),
        PackageLicense("Unidecode", "1.4.0", "GPL", ""),
        PackageLicense("chardet", "5.2.0", "LGPL-3.0-only", ""),
    ]
    allow = {"chardet": Reason(reason="replaced next release")}
    verdicts = evaluate_licenses(packages, LicenseSettings().deny, allow)
    con, out = console()
    json_path, md_path = report_licenses(verdicts, tmp_path, con)
    data = json.loads(json_path.read_text())
    assert data["passed"] is False
    assert {p["name"]: p["status"] for p in data["packages"]} == {
        "chardet": "overridden",
        "rich": "allowed",
        "Unidecode": "denied",
    }
    markdown = md_path.read_text()
    assert "| rich | 15.0.0 | MIT | allowed |" in markdown
    assert "| Unidecode | 1.4.0 | GPL | DENIED (GPL) |" in markdown
    assert "allowed by override: replaced next release" in out.getvalue()
    assert "rich" not in out.getvalue()  # the console lists only what needs attention
    assert "### Licenses (failed: 1 denied)" in actions.read_text()
    assert "::error::Unidecode 1.4.0: GPL" in capsys.readouterr().out
