"""The scan report: table, JSON summary, files written (real runs: tests/integration)."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from conveyor.findings import Finding, merge_duplicates
from conveyor.policy.allowlist import AllowEntry, Allowlist
from conveyor.policy.gate import evaluate
from conveyor.reports.console import LOG_WIDTH, output_console, render_table
from conveyor.reports.scan import TABLE_ROWS, ScanRun, VulnDb, print_table, write_reports


def finding(rule: str, severity: str = "HIGH", scan: str = "trivy-fs") -> Finding:
    return msgspec.convert(
        {
            "tool": "trivy",
            "scan": scan,
            "kind": "misconfig",
            "target": "/repo",
            "rule_id": rule,
            "severity": severity,
            "title": f"[bold]{rule}[/bold] title",
            "path": "docker/Dockerfile",
            "fingerprint": f"fp-{rule}",
        },
        Finding,
    )


def test_table_is_short_and_escapes_markup() -> None:
    findings = [finding(f"R{i:03}") for i in range(TABLE_ROWS + 5)] + [finding("low", "LOW")]
    result = evaluate(findings, Allowlist(), today=date(2026, 1, 1))
    screen = io.StringIO()
    runs = [
        ScanRun("trivy-fs", "trivy", "0.76.0", "/repo", 1.5),
        ScanRun("gitleaks", "gitleaks", "8.30.1", "/repo", problem="gitleaks: exited 1 [boom]"),
    ]
    database = VulnDb("stale", "2026-01-01 (30 days old; max 7) in /c/db")
    print_table(result, runs, Console(file=screen, width=200), database)
    text = screen.getvalue()
    assert "[bold]R000[/bold] title" in text
    assert "R039" in text
    assert "R040" not in text
    assert "... and 5 more (see the JSON summary)" in text
    assert "1 finding(s) below the gate's severities" in text
    assert "vulnerability DB: 2026-01-01 (30 days old; max 7) in /c/db" in text
    assert "FAILED: gitleaks: exited 1 [boom]" in text


def test_reports_keep_every_finding_and_skip_sarif_for_crashed_scans(tmp_path: Path) -> None:
    entry = AllowEntry(id="ok", reason="accepted risk", expires=date(2030, 1, 1))
    result = evaluate(
        [finding("bad"), finding("ok"), finding("low", "LOW")],
        Allowlist(entries=(entry,)),
        today=date(2026, 1, 1),
    )
    runs = [
        ScanRun("trivy-fs", "trivy", "0.76.0", "/repo"),
        ScanRun("gitleaks", "gitleaks", "8.30.1", "/repo", problem="crashed", hint="tail"),
    ]
    database = VulnDb("not used", "not used: --no-vuln")
    written = write_reports(
        tmp_path,
        result,
        runs,
        fail_on=["CRITICAL", "HIGH"],
        exit_code=2,
        vuln_db=database,
        ignored=["ignored .trivyignore: accept findings in .conveyor-allow.toml"],
    )
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "scan.json",
        "sarif/trivy-fs.sarif",
    ]
    summary = json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))
    assert summary["passed"] is False
    assert summary["exit_code"] == 2
    assert summary["counts"] == {"fail": 1, "allowed": 1, "pass": 1}
    assert [f["status"] for f in summary["findings"]] == ["fail", "allowed", "pass"]
    assert summary["findings"][1]["allowlist_reason"] == "accepted risk"
    assert summary["scans"][1] == {
        "name": "gitleaks",
        "tool": "gitleaks",
        "version": "8.30.1",
        "target": "/repo",
        "seconds": 0.0,
        "problem": "crashed",
        "hint": "tail",
    }
    assert summary["vulnerability_db"]["status"] == "not used"
    assert summary["vulnerability_db"]["detail"] == "not used: --no-vuln"
    assert summary["ignored_overrides"] == [
        "ignored .trivyignore: accept findings in .conveyor-allow.toml"
    ]


def test_a_finding_several_scans_saw_is_in_each_of_their_sarif_files(tmp_path: Path) -> None:
    merged = merge_duplicates([finding("DS-0002"), finding("DS-0002", scan="trivy-config")])
    result = evaluate(merged, Allowlist(), today=date(2026, 1, 1))
    assert len(result.decisions) == 1
    runs = [
        ScanRun("trivy-fs", "trivy", "0.76.0", "/repo"),
        ScanRun("trivy-config", "trivy", "0.76.0", "/repo/docker"),
    ]
    write_reports(tmp_path, result, runs, fail_on=["HIGH"], exit_code=1)
    for name in ("trivy-fs", "trivy-config"):
        sarif = json.loads((tmp_path / "sarif" / f"{name}.sarif").read_text(encoding="utf-8"))
        assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["DS-0002"]
    summary = json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))
    assert summary["findings"][0]["seen_by"] == ["trivy-fs", "trivy-config"]


def test_output_console_never_wraps_at_80_outside_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    screen = io.StringIO()
    console = output_console(screen)
    message = "error: " + "x" * 250  # longer than any console width: soft-wrapped only
    console.print(message)
    render_table("images", ["service", "tags"], [["backend", "a" * 120]], console)
    lines = screen.getvalue().splitlines()
    assert lines[0] == message
    assert any("a" * 120 in line for line in lines)
    assert console.width == LOG_WIDTH


def test_each_image_scan_keeps_its_own_raw_report_and_one_sarif(tmp_path: Path) -> None:
    app = ScanRun("trivy-image", "trivy", "0.76.0", "shop-app:abc")
    proxy = ScanRun("trivy-image", "trivy", "0.76.0", "registry:5000/shop/proxy:abc")
    assert app.report_stem == "trivy-image-shop-app_abc"
    assert proxy.report_stem == "trivy-image-registry_5000_shop_proxy_abc"
    assert ScanRun("trivy-fs", "trivy", "0.76.0", "/repo").report_stem == "trivy-fs"
    result = evaluate([finding("CVE-1", scan="trivy-image")], Allowlist(), today=date(2026, 1, 1))
    crashed = ScanRun("trivy-image", "trivy", "0.76.0", "shop-db:abc", problem="crashed")
    written = write_reports(tmp_path, result, [app, crashed, proxy], fail_on=["HIGH"], exit_code=2)
    assert [p.name for p in written] == ["scan.json", "trivy-image.sarif"]
