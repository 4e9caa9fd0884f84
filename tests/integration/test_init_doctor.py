"""`conveyor doctor` against the real machine: every tool looked up and run for its version."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import doctor
from conveyor.cli import main
from conveyor.config import load_project


def test_doctor_table_matches_its_exit_code(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = doctor.diagnose(load_project(repo_root))
    code = main(["doctor", str(repo_root)])
    out, err = capsys.readouterr()
    assert code == doctor.exit_code(checks)
    for check in checks:
        assert check.name in out
    failed = [c.name for c in checks if c.failed]
    if failed:
        assert err.startswith("missing or stale and required: ")
    else:
        assert err == ""
    by_name = {c.name: c for c in checks}
    assert by_name["uv"].status is doctor.Status.PRESENT
    assert by_name["gitleaks"].status is doctor.Status.PRESENT
    assert by_name["gitleaks"].detail.startswith("8.")
    assert by_name["python3.12"].required
    assert by_name["python3.15"].status is doctor.Status.MISSING  # known, named, not dropped
    # A real `uv pip compile` of each group: every group that needs packaging>=22 is declared
    # apart from safety's packaging<22 in this repository's [tool.uv] conflicts.
    conflicts = by_name["safety conflicts"]
    assert conflicts.status is doctor.Status.PRESENT, conflicts.detail


def test_doctor_names_a_group_missing_from_the_safety_conflicts(tmp_path: Path) -> None:
    """A real resolution: twine needs packaging>=22, safety 2.3 pins packaging<22."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "lib"\nrequires-python = ">=3.12"\n\n[dependency-groups]\n'
        'safety = ["safety==2.3.5"]\nrelease = ["twine>=5"]\n',
        encoding="utf-8",
    )
    checks = {c.name: c for c in doctor.diagnose(load_project(tmp_path))}
    conflicts = checks["safety conflicts"]
    assert conflicts.status is doctor.Status.STALE
    assert conflicts.detail.startswith("not apart from safety: group release: resolves packaging")
    assert '{ group = "release" }' in conflicts.fix


def test_doctor_requires_docker_only_for_projects_that_build_images(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "lib"\n', encoding="utf-8")
    checks = {c.name: c for c in doctor.diagnose(load_project(tmp_path))}
    assert not checks["docker engine"].required
    assert not checks["compose"].required
    assert not checks["trivy"].required
    assert not checks["gitleaks"].required  # no Docker, no hooks: nothing runs it
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    (tmp_path / "docker" / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    checks = {c.name: c for c in doctor.diagnose(load_project(tmp_path))}
    assert checks["docker engine"].required
    assert checks["compose"].required
    assert checks["trivy"].required
    assert checks["gitleaks"].required
