"""The `conveyor` command line: init (dry run, twice, force), doctor and matrix error paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.cli import main
from tests.unit.test_init import make_project


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dry_run_shows_a_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    before = snapshot(root)
    assert main(["init", str(root), "--dry-run", "--docker"]) == 0
    out = capsys.readouterr().out
    assert snapshot(root) == before
    assert "+++ b/pyproject.toml" in out
    assert "+[tool.conveyor]" in out
    assert "--- /dev/null\n+++ b/docker/Dockerfile" in out
    assert "  noxfile.py: would create" in out
    assert "my-service: package my_service in src/my_service" in out


def test_init_twice_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    assert main(["init", str(root)]) == 0
    first = capsys.readouterr().out
    assert "noxfile.py: create" in first
    assert "uv lock" in first
    after_first = snapshot(root)
    assert main(["init", str(root)]) == 0
    second = capsys.readouterr().out
    assert snapshot(root) == after_first
    assert "create" not in second
    assert "uv lock" not in second


def test_init_keeps_a_changed_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    main(["init", str(root)])
    (root / "tasks.py").write_text("# edited\n", encoding="utf-8")
    main(["init", str(root)])
    assert "tasks.py: exists (use --force to overwrite)" in capsys.readouterr().out
    assert (root / "tasks.py").read_text(encoding="utf-8") == "# edited\n"
    main(["init", str(root), "--force"])
    assert "ns = namespace()" in (root / "tasks.py").read_text(encoding="utf-8")


def test_init_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'absent'}: not a directory\n")
    (tmp_path / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'pyproject.toml'}: invalid TOML")
    assert "Traceback" not in err


def test_doctor_and_matrix_report_a_bad_config_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.conveyor]\nsrcs = []\n", encoding="utf-8")
    assert main(["doctor", str(tmp_path)]) == 2
    assert "[tool.conveyor] key 'srcs': unknown key" in capsys.readouterr().err
    assert main(["matrix", "--root", str(tmp_path)]) == 2
    assert "[tool.conveyor] key 'srcs': unknown key" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
