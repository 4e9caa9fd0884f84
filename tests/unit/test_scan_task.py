"""`inv scan`'s own decisions: what it warns about, the DB it reports, when a scan is incomplete
(the real scanners run in tests/integration/test_scan.py)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conveyor.config import load_project
from conveyor.reports.scan import ScanRun, VulnDb
from conveyor.runner import Runner
from conveyor.tasks.scan import ignored_overrides, judged_by_db, vuln_db, with_vuln, without_vuln


def project_at(root: Path, scan: str = "") -> Path:
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "svc"\n[tool.conveyor.scan]\ntrivy-cache-dir = "cache"\n{scan}',
        encoding="utf-8",
    )
    return root


def test_repository_files_and_variables_are_named_for_the_scanners_that_run(
    tmp_path: Path,
) -> None:
    project = load_project(project_at(tmp_path))
    for name in (".trivyignore", "trivy.yaml", ".gitleaks.toml", ".gitleaksignore"):
        (tmp_path / name).write_text("", encoding="utf-8")
    environ = {"TRIVY_SEVERITY": "LOW", "TRIVY_CACHE_DIR": "/c", "GITLEAKS_CONFIG": "/g"}
    lines = ignored_overrides(project, ["fs", "secrets"], environ)
    accept = "accept findings in .conveyor-allow.toml with reason and expiry"
    assert lines == [
        f"ignored .trivyignore: {accept}",
        f"ignored trivy.yaml: {accept}",
        f"ignored .gitleaks.toml: {accept}",
        f"ignored .gitleaksignore: {accept}",
        f"ignored TRIVY_SEVERITY from the environment: {accept}",
        f"ignored GITLEAKS_CONFIG from the environment: {accept}",
    ]
    assert ignored_overrides(project, ["secrets"], {"TRIVY_SEVERITY": "LOW"}) == [
        f"ignored .gitleaks.toml: {accept}",
        f"ignored .gitleaksignore: {accept}",
    ]


def write_db(root: Path, updated: datetime) -> None:
    (root / "cache" / "db").mkdir(parents=True)
    (root / "cache" / "db" / "trivy.db").write_bytes(b"")
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    (root / "cache" / "db" / "metadata.json").write_text(json.dumps({"UpdatedAt": stamp}))


def test_the_db_state_for_every_kind_of_run(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path))
    assert vuln_db(project, ["fs"], no_vuln=True).detail == "not used: --no-vuln"
    assert vuln_db(project, ["config", "secrets"], no_vuln=False).detail == (
        "not used: no image or fs scan selected"
    )
    off = load_project(project_at(tmp_path / "off", "vuln = false\n"))
    assert vuln_db(off, ["fs"], no_vuln=False).status == "not used"
    absent = vuln_db(project, ["fs"], no_vuln=False)
    assert (absent.status, absent.path) == ("absent", str(tmp_path / "cache" / "db"))
    write_db(tmp_path, datetime.now(timezone.utc) - timedelta(days=2))
    current = vuln_db(project, ["image"], no_vuln=False)
    assert (current.status, current.age_days, current.max_age_days) == ("current", 2, 7)
    assert current.line.startswith("vulnerability DB: ")
    assert "(2 days old; max 7)" in current.line


def test_a_stale_db_makes_the_vuln_scans_incomplete_once() -> None:
    runs = [
        ScanRun("trivy-image", "trivy", "0.76.0", "app:1"),
        ScanRun("trivy-fs", "trivy", "0.76.0", "/repo", problem="trivy fs: crashed"),
        ScanRun("trivy-config", "trivy", "0.76.0", "/repo/docker"),
        ScanRun("gitleaks", "gitleaks", "8.30.1", "/repo"),
    ]
    stale = VulnDb("stale", "2020-01-01 (9 days old; max 7) in /c/db")
    judged = judged_by_db(runs, stale)
    assert [r.problem for r in judged] == [
        "trivy-image: vulnerability DB 2020-01-01 (9 days old; max 7) in /c/db",
        "trivy fs: crashed",
        "",
        "",
    ]
    assert "max-db-age" in judged[0].hint
    assert judged_by_db(runs, VulnDb("current", "x")) == runs


def test_the_runner_can_withhold_inherited_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_TEST_SETTING", "1")
    code = "import os, sys; sys.exit(0 if 'CONVEYOR_TEST_SETTING' in os.environ else 3)"
    runner = Runner()
    assert runner.run([sys.executable, "-c", code]).returncode == 0
    done = runner.run(
        [sys.executable, "-c", code], unset_env=["CONVEYOR_TEST_SETTING"], ok_codes=(3,)
    )
    assert done.returncode == 3


def test_vuln_is_switched_for_one_run_and_every_other_setting_kept(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path, "jobs = 3\n"))
    off = without_vuln(project)
    assert (off.settings.scan.vuln, off.settings.scan.jobs, off.root) == (False, 3, project.root)
    assert project.settings.scan.vuln  # the loaded project is not changed
    assert with_vuln(off).settings.scan.vuln
