"""`conveyor doctor`'s checks: what is required follows the configuration; ages make stale."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conveyor import doctor
from conveyor.config import load_project
from conveyor.doctor import Check, Status
from conveyor.runner import Completed, Runner
from conveyor.tools.discovery import TRIVY

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def project_with(tmp_path: Path, conveyor: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nrequires-python = ">=3.11"\n\n[tool.conveyor]\n' + conveyor,
        encoding="utf-8",
    )
    return tmp_path


def write_trivy_metadata(cache: Path, updated: datetime) -> None:
    (cache / "db").mkdir(parents=True)
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    (cache / "db" / "metadata.json").write_text(json.dumps({"UpdatedAt": stamp}))


def test_exit_code_counts_only_required_failures() -> None:
    optional = Check("trivy DB", Status.MISSING, "", "fix", required=False)
    required = Check("uv", Status.PRESENT, "0.9", "", required=True)
    assert doctor.exit_code([optional, required]) == 0
    stale = Check("safety DB", Status.STALE, "100 days old", "refresh", required=True)
    assert doctor.exit_code([optional, required, stale]) == 1
    assert doctor.rows([stale]) == [["safety DB", "stale", "yes", "100 days old", "refresh"]]


def test_trivy_db_age_and_when_it_is_required(tmp_path: Path) -> None:
    root = project_with(tmp_path, '[tool.conveyor.scan]\ntrivy-cache-dir = "cache"\n')
    project = load_project(root)
    missing = doctor.check_trivy_db(project, NOW)
    assert (missing.status, missing.required) == (Status.MISSING, False)
    write_trivy_metadata(root / "cache", NOW - timedelta(days=2))
    assert doctor.check_trivy_db(project, NOW).status is Status.PRESENT
    stale = doctor.check_trivy_db(project, NOW + timedelta(days=30))
    assert stale.status is Status.STALE
    assert "(32 days old; max 7)" in stale.detail
    assert "max-db-age" in stale.fix
    lenient = load_project(
        project_with(tmp_path, '[tool.conveyor.scan]\ntrivy-cache-dir = "cache"\nmax-db-age = 60\n')
    )
    assert doctor.check_trivy_db(lenient, NOW + timedelta(days=30)).status is Status.PRESENT
    offline = load_project(
        project_with(
            tmp_path, '[tool.conveyor.scan]\ntrivy-cache-dir = "x"\ntrivy-db-update = false\n'
        )
    )
    assert doctor.check_trivy_db(offline, NOW).failed


def test_unreadable_trivy_metadata_is_missing(tmp_path: Path) -> None:
    root = project_with(tmp_path, '[tool.conveyor.scan]\ntrivy-cache-dir = "cache"\n')
    (root / "cache" / "db").mkdir(parents=True)
    (root / "cache" / "db" / "metadata.json").write_text("{}")
    check = doctor.check_trivy_db(load_project(root), NOW)
    assert check.status is Status.MISSING
    assert "unreadable" in check.detail


def test_trivy_cache_dir_defaults_to_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIVY_CACHE_DIR", raising=False)
    project = load_project(project_with(tmp_path))
    assert doctor.trivy_cache_dir(project) == Path.home() / ".cache" / "trivy"
    monkeypatch.setenv("TRIVY_CACHE_DIR", str(tmp_path / "t"))
    assert doctor.trivy_cache_dir(project) == tmp_path / "t"


def test_safety_db_settings(tmp_path: Path) -> None:
    online = doctor.check_safety_db(load_project(project_with(tmp_path)), NOW)
    assert (online.status, online.required) == (Status.PRESENT, False)
    assert "does not report the data's date" in online.detail
    package = load_project(
        project_with(tmp_path, '[tool.conveyor.security]\nsafety-db = "safety-db"\n')
    )
    assert doctor.check_safety_db(package, NOW).failed
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "safety-db"\nversion = "2026.11.1"\n')
    fresh = doctor.check_safety_db(package, NOW)
    assert fresh.status is Status.PRESENT
    assert (
        fresh.detail
        == "safety-db 2026.11.1 (locked; release date), 2026-11-01 (22 days old; max 45)"
    )
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "safety-db"\nversion = "2021.7.17"\n')
    old = doctor.check_safety_db(package, NOW)
    assert (old.status, old.failed) == (Status.STALE, True)
    assert "2021-07-17 (1955 days old; max 45): older than max-data-age" in old.detail
    assert "accept-stale-data" in old.fix
    accepted = load_project(
        project_with(
            tmp_path,
            '[tool.conveyor.security]\nsafety-db = "safety-db"\n'
            'accept-stale-data = { reason = "no newer data offline" }\n',
        )
    )
    shown = doctor.check_safety_db(accepted, NOW)
    assert (shown.status, shown.failed) == (Status.ACCEPTED, False)
    assert doctor.rows([shown])[0][1] == "stale, accepted"
    assert shown.detail.endswith("accepted: no newer data offline")
    directory = load_project(project_with(tmp_path, '[tool.conveyor.security]\nsafety-db = "db"\n'))
    assert doctor.check_safety_db(directory, NOW).status is Status.MISSING
    (tmp_path / "db").mkdir()
    stamp = (NOW - timedelta(days=10)).timestamp()
    (tmp_path / "db" / "insecure_full.json").write_text(json.dumps({"$meta": {"timestamp": stamp}}))
    assert doctor.check_safety_db(directory, NOW).status is Status.PRESENT
    assert doctor.check_safety_db(directory, NOW + timedelta(days=200)).status is Status.STALE
    (tmp_path / "db" / "insecure_full.json").write_text("{}")  # no date: cannot be current
    undated = doctor.check_safety_db(directory, NOW)
    assert (undated.status, undated.detail) == (
        Status.STALE,
        "offline DB db, of unknown date (max 45 days): older than max-data-age",
    )


def test_missing_programs_name_their_fix(tmp_path: Path) -> None:
    absent = doctor.check_program("no-such-tool-xyz", ["--version"], "install it", required=True)
    assert (absent.status, absent.fix, absent.failed) == (Status.MISSING, "install it", True)
    (python,) = doctor.check_pythons(["3.99"], {"3.99"})
    assert (python.name, python.status, python.required) == ("python3.99", Status.MISSING, True)
    assert "uv python install 3.99" in python.fix
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    (running,) = doctor.check_pythons([here], set())
    assert running.status is Status.PRESENT
    assert running.detail.startswith(f"{here}.")
    assert not running.required
    configured = doctor.check_tool(TRIVY, str(tmp_path / "nope"), required=True)
    assert configured.status is Status.MISSING
    assert "is not an executable file" in configured.detail
    assert configured.fix == TRIVY.install


def test_gitleaks_is_required_only_with_docker_or_a_gitleaks_hook(tmp_path: Path) -> None:
    assert not doctor.hooks_run_gitleaks(tmp_path)
    (tmp_path / ".pre-commit-config.yaml").write_text("repos:\n  - repo: local\n")
    assert not doctor.hooks_run_gitleaks(tmp_path)
    (tmp_path / ".pre-commit-config.yaml").write_text("hooks:\n  - id: gitleaks\n")
    assert doctor.hooks_run_gitleaks(tmp_path)


class CompileAnswers(Runner):
    """`uv pip compile`: packaging 24 for anything but ruff (parsing only; real: integration)."""

    def run(self, argv: Sequence[Any], **_: Any) -> Completed:
        wanted = Path(str(argv[-1])).read_text(encoding="utf-8")
        out = "ruff==0.8.0\n" if wanted.strip() == "ruff" else "packaging==24.0\n"
        return Completed(tuple(map(str, argv)), 0, out, "")


def test_a_stale_safety_conflicts_list_is_named_with_the_pairs_to_add(tmp_path: Path) -> None:
    text = (
        '[project]\nname = "svc"\nrequires-python = ">=3.11"\n\n'
        '[dependency-groups]\nsafety = ["safety"]\nlint = ["ruff"]\ntest = ["pytest"]\n'
        'release = ["twine"]\n\n'
        '[tool.uv]\nconflicts = [[{ group = "safety" }, { group = "test" }]]\n'
    )
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    project = load_project(tmp_path)
    check = doctor.check_safety_conflicts(project, CompileAnswers())
    assert check.status is Status.STALE
    assert check.detail == "not apart from safety: group release: resolves packaging 24.0"
    assert '[{ group = "safety" }, { group = "release" }]' in check.fix
    assert check.required  # not in uv.lock yet: `uv lock` fails until it is declared
    (tmp_path / "uv.lock").write_text(
        '[[package]]\nname = "svc"\n[package.dev-dependencies]\nrelease = []\n', encoding="utf-8"
    )
    assert not doctor.check_safety_conflicts(project, CompileAnswers()).required  # held back
    pair = '[{ group = "safety" }, { group = "release" }]'
    fixed = text.replace('{ group = "test" }]]', f'{{ group = "test" }}], {pair}]')
    (tmp_path / "pyproject.toml").write_text(fixed, encoding="utf-8")
    ok = doctor.check_safety_conflicts(load_project(tmp_path), CompileAnswers())
    assert (ok.status, ok.detail) == (Status.PRESENT, "2 group(s)/extra(s) kept apart")
    (tmp_path / "none").mkdir()
    none = project_with(tmp_path / "none")
    assert not doctor.check_safety_conflicts(load_project(none), CompileAnswers()).required


def test_compose_fix_names_the_package_debian_has() -> None:
    apt = doctor.compose_fix(has_apt=True)
    assert apt.startswith("apt-get install docker-compose (Compose v1")
    assert "apt-get install docker-compose-plugin" in apt  # only after Docker's repository
    assert apt.index("Docker's apt repository") < apt.index("docker-compose-plugin")
    assert "docker-compose-plugin" not in doctor.compose_fix(has_apt=False)


def test_missing_compose_gives_the_fix_for_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, no docker-compose, no apt-get
    check = doctor.check_compose(required=True)
    assert (check.status, check.failed) == (Status.MISSING, True)
    assert check.fix == doctor.compose_fix(has_apt=False)
