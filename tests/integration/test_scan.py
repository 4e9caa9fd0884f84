"""`inv scan` with the real trivy and gitleaks binaries (offline) and the real Docker engine."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conveyor.tools.docker import Docker
from tests.conftest import require_tool
from tests.integration.conftest import (
    HARDENED_DOCKERFILE,
    ROOT_DOCKERFILE,
    RunTask,
    git,
    write_project,
)

if sys.version_info >= (3, 10):
    import sarif_pydantic  # type: ignore[import-untyped,unused-ignore]

CLEAN_IMAGE = "conveyor-it/scan-clean:1"
# Built at run time so no scanner ever finds a literal secret in Conveyor's own sources.
FAKE_AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"
FAKE_GITHUB_TOKEN = "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"


def scan_toml(extra: str = "", *, trivy: str = "", gitleaks: str = "", cache: str = "") -> str:
    """Offline scan settings for a temporary project (no vulnerability DB here)."""
    lines = ["[tool.conveyor.scan]", "vuln = false", "trivy-db-update = false"]
    if cache:
        lines.append(f'trivy-cache-dir = "{cache}"')
    if trivy:
        lines.append(f'trivy = "{trivy}"')
    if gitleaks:
        lines.append(f'gitleaks = "{gitleaks}"')
    return "\n".join(lines) + "\n" + extra


@pytest.fixture(autouse=True)
def _scanners() -> None:
    require_tool("trivy")
    require_tool("gitleaks")


@pytest.fixture(scope="session")
def clean_image(
    docker_engine: Docker, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A hardened image (non-root, HEALTHCHECK, multi-stage) built once per session."""
    if not docker_engine.image_exists(CLEAN_IMAGE):
        context = tmp_path_factory.mktemp("clean-image")
        (context / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
        subprocess.run(
            [
                "docker",
                "build",
                "-q",
                "--build-arg",
                f"BASE_IMAGE={base_image}",
                "-t",
                CLEAN_IMAGE,
                str(context),
            ],
            check=True,
            capture_output=True,
            env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        )
    return CLEAN_IMAGE


def summary(project: Path) -> dict[str, Any]:
    data = json.loads((project / "reports" / "scan" / "scan.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def all_report_text(project: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (project / "reports").rglob("*")
        if p.is_file()
    )


def _dockerfile(project: Path, text: str) -> None:
    (project / "docker").mkdir(exist_ok=True)
    (project / "docker" / "Dockerfile").write_text(text, encoding="utf-8")


def validate_sarif(path: Path) -> dict[str, Any]:
    """SARIF 2.1.0 per a maintained model (3.10+) plus GitHub's upload rules."""
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == "2.1.0"
    assert "sarif-2.1.0" in data["$schema"]
    if sys.version_info >= (3, 10):
        model = sarif_pydantic.load(path)
        assert model.version == "2.1.0"
        assert len(model.runs) == 1
    (run,) = data["runs"]
    assert run["tool"]["driver"]["name"]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"]
        assert " " not in location["artifactLocation"]["uri"]
        assert location["region"]["startLine"] >= 1
    assert isinstance(data, dict)
    return data


@pytest.mark.docker
def test_clean_repository_and_image_pass(
    clean_image: str, git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(
        project, HARDENED_DOCKERFILE.replace("ARG BASE_IMAGE\n", "ARG BASE_IMAGE=debian:12\n")
    )
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "service")
    result = run_task(project, "scan", "--image", clean_image)
    assert result.code == 0, result.out + result.err
    assert "scan gate passed" in result.out
    data = summary(project)
    assert data["passed"] is True
    assert [s["name"] for s in data["scans"]] == [
        "trivy-image",
        "trivy-fs",
        "trivy-config",
        "gitleaks",
    ]
    assert all(s["problem"] is None for s in data["scans"])
    sarif_files = sorted((project / "reports" / "scan" / "sarif").glob("*.sarif"))
    assert [p.stem for p in sarif_files] == ["gitleaks", "trivy-config", "trivy-fs", "trivy-image"]
    categories = [validate_sarif(p)["runs"][0]["automationDetails"]["id"] for p in sarif_files]
    assert len(set(categories)) == len(categories)


def test_secret_in_old_commit_fails_and_stays_redacted(
    git_project: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = write_project(git_project, scan_toml())
    leaked = project / "settings.ini"
    leaked.write_text(
        f'aws_access_key_id = {FAKE_AWS_KEY}\ntoken = "{FAKE_GITHUB_TOKEN}"\n', encoding="utf-8"
    )
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "add settings")
    git(project, "rm", "-q", "settings.ini")
    git(project, "commit", "-q", "-m", "remove settings")
    assert not leaked.exists()
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))

    result = run_task(project, "scan", "--only", "secrets")

    assert result.code == 1
    assert result.err.splitlines()[0].startswith("error: scan gate failed: 2 blocking finding(s)")
    assert "aws-access-token" in result.out
    assert "settings.ini" in result.out
    assert "::error" in result.out
    findings = summary(project)["findings"]
    assert {f["rule_id"] for f in findings} == {"aws-access-token", "github-pat"}
    assert all(f["status"] == "fail" and f["commit"] for f in findings)
    assert "Security scan: FAILED (gate)" in step_summary.read_text(encoding="utf-8")
    everything = result.out + result.err + all_report_text(project) + step_summary.read_text()
    for secret in (FAKE_AWS_KEY, FAKE_GITHUB_TOKEN):
        assert secret not in everything
        assert secret[4:] not in everything


def test_root_dockerfile_is_a_misconfig_finding(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 1
    findings = summary(project)["findings"]
    root_user = [f for f in findings if f["rule_id"] == "DS-0002"]
    assert root_user, findings
    assert root_user[0]["path"] == "docker/Dockerfile"
    assert root_user[0]["status"] == "fail"
    assert "DS-0002" in result.out
    validate_sarif(project / "reports" / "scan" / "sarif" / "trivy-config.sarif")


def _allow(project: Path, expires: str) -> None:
    (project / ".conveyor-allow.toml").write_text(
        "[[allow]]\n"
        'id = "DS-0002"\n'
        'path = "docker/Dockerfile"\n'
        'reason = "demo image needs root for the test"\n'
        f"expires = {expires}\n",
        encoding="utf-8",
    )


def test_allowlisted_finding_passes_and_is_shown(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    _allow(project, "2999-12-31")
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 0, result.out + result.err
    assert "allowed" in result.out
    finding = next(f for f in summary(project)["findings"] if f["rule_id"] == "DS-0002")
    assert finding["status"] == "allowed"
    assert finding["allowlist_reason"] == "demo image needs root for the test"
    sarif = validate_sarif(project / "reports" / "scan" / "sarif" / "trivy-config.sarif")
    suppressed = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "DS-0002"]
    assert suppressed[0]["suppressions"][0]["justification"].startswith("demo image")


def test_expired_allowlist_entry_fails_naming_it(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    _allow(project, "2020-01-31")
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert "expired allowlist entries: DS-0002 path=docker/Dockerfile (expires 2020-01-31)" in first


def test_bad_allowlist_entry_is_one_line(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    (project / ".conveyor-allow.toml").write_text(
        '[[allow]]\nid = "CVE-2024-1"\nexpires = 2030-01-01\n', encoding="utf-8"
    )
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert (
        ".conveyor-allow.toml: [[allow]] entry 1 (id=CVE-2024-1): reason: required, but not set"
        in first
    )


def _fake_tool(path: Path, version_line: str, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{version_line}\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_trivy_writing_garbage_exits_2_naming_it(
    git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    fake = _fake_tool(
        tmp_path / "trivy",
        'if [ "$1" = "--version" ]; then echo "Version: 0.76.0"; exit 0; fi',
        'while [ $# -gt 0 ]; do if [ "$1" = "--output" ]; then out="$2"; fi; shift; done\n'
        'echo "not json {" > "$out"\necho "trivy: something broke inside" >&2',
    )
    project = write_project(git_project, scan_toml(trivy=str(fake)))
    _dockerfile(project, HARDENED_DOCKERFILE)
    result = run_task(project, "scan", "--only", "config,secrets")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert first.startswith("error: scan: 1 scan(s) incomplete; trivy config: wrote no valid JSON")
    assert "trivy: something broke inside" in result.err
    scans = {s["name"]: s for s in summary(project)["scans"]}
    assert scans["gitleaks"]["problem"] is None  # the other scanner still ran


def test_gitleaks_crash_exits_2_with_stderr_tail(
    git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    fake = _fake_tool(
        tmp_path / "gitleaks",
        'if [ "$1" = "version" ]; then echo "8.30.1"; exit 0; fi',
        'echo "fatal: repository walk failed" >&2\nexit 1',
    )
    project = write_project(git_project, scan_toml(gitleaks=str(fake)))
    result = run_task(project, "scan", "--only", "secrets")
    assert result.code == 2
    assert result.err.splitlines()[0].startswith("error: scan: 1 scan(s) incomplete; gitleaks git")
    assert "fatal: repository walk failed" in result.err


def test_missing_vuln_db_fails_vuln_but_still_scans_the_rest(
    git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    cache = tmp_path / "empty-trivy-cache"
    project = write_project(
        git_project, scan_toml(cache=str(cache)).replace("vuln = false", "vuln = true")
    )
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "fs")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert f"trivy-fs: vulnerability DB absent (no trivy.db in {cache / 'db'})" in first
    assert "trivy image --download-db-only" in result.err
    assert "vuln = false" in result.err
    data = summary(project)
    assert any(f["rule_id"] == "DS-0002" for f in data["findings"])  # misconfig still ran
    assert data["vulnerability_db"]["status"] == "absent"
    assert f"vulnerability DB: absent (no trivy.db in {cache / 'db'})" in result.out


def test_no_vuln_flag_scans_without_the_db_for_one_run(
    git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    cache = tmp_path / "empty-trivy-cache"
    project = write_project(
        git_project, scan_toml(cache=str(cache)).replace("vuln = false", "vuln = true")
    )
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "fs", "--no-vuln")
    assert result.code == 1  # the root Dockerfile fails the gate; no DB error
    assert "vulnerability DB" not in result.err
    data = summary(project)
    assert any(f["rule_id"] == "DS-0002" for f in data["findings"])


def test_old_tool_version_is_one_line(git_project: Path, run_task: RunTask, tmp_path: Path) -> None:
    fake = _fake_tool(tmp_path / "trivy", 'echo "Version: 0.20.1"; exit 0', "")
    project = write_project(git_project, scan_toml(trivy=str(fake)))
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"error: trivy: version 0.20.1 at {fake} is older than the minimum 0.50.0"
    )


@pytest.mark.docker
def test_scanning_a_missing_image_says_how_to_build_it(
    docker_engine: Docker, git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml())
    result = run_task(project, "scan", "--only", "image", "--image", "conveyor-it/none:404")
    assert result.code == 2
    assert "image conveyor-it/none:404 not found" in result.err.splitlines()[0]
    assert "inv build" in result.err


def test_bad_image_reference_is_rejected_before_scanning(
    git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml())
    result = run_task(project, "scan", "--image", "app;rm -rf /")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "error: invalid image reference 'app;rm -rf /': contains a ';'"
    )
    assert not (project / "reports").exists()


def test_undownloadable_vuln_db_falls_back_to_the_other_scanners(
    git_project: Path, run_task: RunTask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DB updates on, but the DB registry refuses connections (as on an air-gapped machine).
    monkeypatch.setenv("TRIVY_DB_REPOSITORY", "127.0.0.1:9/nowhere/trivy-db:2")
    cache = tmp_path / "empty-trivy-cache"
    toml = scan_toml(cache=str(cache)).replace("vuln = false", "vuln = true")
    project = write_project(git_project, toml.replace("trivy-db-update = false", ""))
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "fs")
    assert result.code == 2
    assert "the vulnerability DB is not available" in result.err.splitlines()[0]
    assert "trivy image --download-db-only" in result.err
    assert any(f["rule_id"] == "DS-0002" for f in summary(project)["findings"])


def test_secret_in_working_tree_fails_fs_scan_and_stays_masked(
    git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml())
    (project / "local.ini").write_text(
        f'aws_access_key_id = {FAKE_AWS_KEY}\ntoken = "{FAKE_GITHUB_TOKEN}"\n', encoding="utf-8"
    )
    result = run_task(project, "scan", "--only", "fs")
    assert result.code == 1
    secrets = [f for f in summary(project)["findings"] if f["kind"] == "secret"]
    assert {(f["path"], f["status"]) for f in secrets} == {("local.ini", "fail")}
    assert {f["rule_id"] for f in secrets} == {"aws-access-key-id", "github-pat"}
    everything = result.out + result.err + all_report_text(project)
    for secret in (FAKE_AWS_KEY, FAKE_GITHUB_TOKEN):
        assert secret not in everything


def test_outside_git_gitleaks_scans_the_directory(tmp_path: Path, run_task: RunTask) -> None:
    project = write_project(tmp_path / "plain-dir", scan_toml())
    (project / "deploy.env").write_text(f"AWS_KEY={FAKE_AWS_KEY}\n", encoding="utf-8")
    result = run_task(project, "scan", "--only", "secrets")
    assert result.code == 1
    (finding,) = summary(project)["findings"]
    assert (finding["rule_id"], finding["path"], finding["commit"]) == (
        "aws-access-token",
        "deploy.env",
        None,
    )
    assert FAKE_AWS_KEY not in result.out + result.err + all_report_text(project)


def test_gitleaks_fingerprint_in_allowlist_passes(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    (project / "old.ini").write_text(f"aws_access_key_id = {FAKE_AWS_KEY}\n", encoding="utf-8")
    git(project, "add", "old.ini")
    git(project, "commit", "-q", "-m", "oops")
    commit = git(project, "rev-parse", "HEAD")
    git(project, "rm", "-q", "old.ini")
    git(project, "commit", "-q", "-m", "remove")
    (project / ".conveyor-allow.toml").write_text(
        "[[allow]]\n"
        f'id = "{commit}:old.ini:aws-access-token:1"\n'
        'reason = "revoked key, history kept on purpose"\n'
        "expires = 2999-01-01\n",
        encoding="utf-8",
    )
    result = run_task(project, "scan", "--only", "secrets")
    assert result.code == 0, result.out + result.err
    (finding,) = summary(project)["findings"]
    assert finding["status"] == "allowed"
    row = next(line for line in result.out.splitlines() if "aws-access-token" in line)
    assert "allowed" in row
    assert "revoked key" in row  # the allowlist column names the entry's reason


# Conveyor's allowlist is the one way to accept a finding: files and variables through which
# the repository or the environment could make trivy or gitleaks report less are not honoured.
# Each case first shows that the plain tool, run as a user would, does go silent on it.

TRIVY_OVERRIDES = {
    "trivy.yaml": "severity:\n  - LOW\n",
    ".trivyignore": "DS-0002\n",
    ".trivyignore.yaml": "misconfigurations:\n  - id: DS-0002\n",
}
ALLOW_INI_SECRETS = "allow-rules:\n  - id: ini-files\n    description: x\n    path: .*\\.ini\n"


def plain_trivy(project: Path, *args: str) -> dict[str, Any]:
    """trivy as a user would run it in the repository (its cwd), without Conveyor's flags."""
    out = project.parent / "plain-trivy.json"
    subprocess.run(
        [
            require_tool("trivy"),
            *args,
            *("--format", "json", "--output", str(out)),
            *("--skip-version-check", "--disable-telemetry", "--skip-check-update"),
        ],
        cwd=project,
        check=True,
        capture_output=True,
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def trivy_rules(data: dict[str, Any]) -> set[str]:
    return {
        str(item.get("ID") or item.get("RuleID"))
        for result in data.get("Results", [])
        for item in result.get("Misconfigurations", []) + result.get("Secrets", [])
        if item.get("Status", "FAIL") == "FAIL"
    }


@pytest.mark.parametrize("name", sorted(TRIVY_OVERRIDES))
def test_a_trivy_file_in_the_repository_does_not_lower_the_gate(
    name: str, git_project: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    (project / name).write_text(TRIVY_OVERRIDES[name], encoding="utf-8")
    ignorefile = ("--ignorefile", name) if name == ".trivyignore.yaml" else ()
    assert "DS-0002" not in trivy_rules(plain_trivy(project, "config", *ignorefile, "docker"))
    monkeypatch.chdir(project)  # where trivy would look for the file

    result = run_task(project, "scan", "--only", "fs,config")

    assert result.code == 1, result.out + result.err
    warning = f"warning: ignored {name}: accept findings in .conveyor-allow.toml with reason"
    assert warning in result.out
    data = summary(project)
    (root_user,) = [f for f in data["findings"] if f["rule_id"] == "DS-0002"]
    assert root_user["status"] == "fail"
    assert root_user["seen_by"] == ["trivy-fs", "trivy-config"]  # one finding, both scans
    assert data["counts"]["fail"] == 1
    assert any(line.startswith(f"ignored {name}:") for line in data["ignored_overrides"])


def test_a_trivy_secret_config_does_not_hide_a_secret(
    git_project: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(git_project, scan_toml())
    (project / "local.ini").write_text(f"aws_access_key_id = {FAKE_AWS_KEY}\n", encoding="utf-8")
    (project / "trivy-secret.yaml").write_text(ALLOW_INI_SECRETS, encoding="utf-8")
    plain = plain_trivy(project, "fs", "--scanners", "secret", "--skip-db-update", ".")
    assert "aws-access-key-id" not in trivy_rules(plain)
    monkeypatch.chdir(project)
    result = run_task(project, "scan", "--only", "fs")
    assert result.code == 1
    assert "warning: ignored trivy-secret.yaml" in result.out
    secrets = [f for f in summary(project)["findings"] if f["kind"] == "secret"]
    assert [(f["rule_id"], f["path"], f["status"]) for f in secrets] == [
        ("aws-access-key-id", "local.ini", "fail")
    ]


def test_trivy_variables_that_change_the_report_are_not_inherited(
    git_project: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    monkeypatch.setenv("TRIVY_SEVERITY", "LOW")
    monkeypatch.setenv("TRIVY_SKIP_DIRS", str(project / "docker"))
    assert "DS-0002" not in trivy_rules(plain_trivy(project, "config", "docker"))
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 1
    assert "warning: ignored TRIVY_SEVERITY from the environment" in result.out
    assert "warning: ignored TRIVY_SKIP_DIRS from the environment" in result.out
    assert any(f["rule_id"] == "DS-0002" for f in summary(project)["findings"])


def plain_gitleaks(project: Path) -> list[dict[str, Any]]:
    """gitleaks as a user would run it on the repository, without Conveyor's flags."""
    out = project.parent / "plain-gitleaks.json"
    subprocess.run(
        [
            *(require_tool("gitleaks"), "git", "--redact", "--no-banner", "--exit-code", "0"),
            *("--report-format", "json", "--report-path", str(out), str(project)),
        ],
        cwd=project,
        check=True,
        capture_output=True,
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_gitleaks_allowlists_in_the_repository_do_not_hide_secrets(
    git_project: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = write_project(git_project, scan_toml())
    (project / "a.ini").write_text(f"aws_access_key_id = {FAKE_AWS_KEY}\n", encoding="utf-8")
    (project / "b.ini").write_text(f'token = "{FAKE_GITHUB_TOKEN}"  # gitleaks:allow\n')
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "settings")
    commit = git(project, "rev-parse", "HEAD")
    (project / ".gitleaks.toml").write_text(
        "[extend]\nuseDefault = true\n[allowlist]\npaths = ['''a\\.ini''']\n", encoding="utf-8"
    )
    (project / ".gitleaksignore").write_text(f"{commit}:a.ini:aws-access-token:1\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "quiet the scanner")
    assert plain_gitleaks(project) == []  # every secret hidden from gitleaks as-is
    elsewhere = tmp_path / "env-config.toml"
    elsewhere.write_text("[extend]\nuseDefault = true\n[allowlist]\npaths = ['''.*''']\n")
    monkeypatch.setenv("GITLEAKS_CONFIG", str(elsewhere))
    monkeypatch.chdir(project)

    result = run_task(project, "scan", "--only", "secrets")

    assert result.code == 1, result.out + result.err
    for name in (".gitleaks.toml", ".gitleaksignore"):
        assert f"warning: ignored {name}: accept findings in .conveyor-allow.toml" in result.out
    assert "warning: ignored GITLEAKS_CONFIG from the environment" in result.out
    findings = summary(project)["findings"]
    assert {(f["rule_id"], f["path"], f["status"]) for f in findings} == {
        ("aws-access-token", "a.ini", "fail"),
        ("github-pat", "b.ini", "fail"),
    }

    (project / ".conveyor-allow.toml").write_text(
        "".join(
            f'[[allow]]\nid = "{rule}"\npath = "{path}"\nreason = "revoked in the test"\n'
            "expires = 2999-01-01\n"
            for rule, path in (("aws-access-token", "a.ini"), ("github-pat", "b.ini"))
        ),
        encoding="utf-8",
    )
    accepted = run_task(project, "scan", "--only", "secrets")
    assert accepted.code == 0, accepted.out + accepted.err
    assert {f["status"] for f in summary(project)["findings"]} == {"allowed"}
    assert "revoked in the test" in accepted.out


def test_a_gitleaksignore_in_a_plain_directory_stops_the_scan(
    tmp_path: Path, run_task: RunTask
) -> None:
    project = write_project(tmp_path / "plain-dir", scan_toml())
    (project / "deploy.env").write_text(f"AWS_KEY={FAKE_AWS_KEY}\n", encoding="utf-8")
    (project / ".gitleaksignore").write_text("deploy.env:aws-access-token:1\n")
    result = run_task(project, "scan", "--only", "secrets")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert f"gitleaks dir: {project / '.gitleaksignore'} would hide findings" in first
    assert "scan gate passed" not in result.out


@pytest.mark.parametrize(
    ("setting", "key"), [("scanners = []", "scanners"), ("fail-on = []", "fail-on")]
)
def test_an_empty_scanner_list_or_gate_is_a_config_error(
    setting: str, key: str, git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml(setting + "\n"))
    result = run_task(project, "scan")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"error: {project.resolve() / 'pyproject.toml'}: [tool.conveyor.scan] key '{key}': "
        "Expected `array` of length >= 1"
    )
    assert "scan gate passed" not in result.out
    assert not (project / "reports").exists()


def test_a_config_dir_without_files_checked_nothing_and_fails(
    git_project: Path, run_task: RunTask
) -> None:
    project = write_project(git_project, scan_toml())
    (project / "docker").mkdir()
    (project / "docker" / "README.md").write_text("no Dockerfile here\n")
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 2
    assert "found no file to check in" in result.err.splitlines()[0]
    assert "scan gate passed" not in result.out


def _wrapper(path: Path, real: str, corrupt: str) -> Path:
    """A script that runs the real scanner, then overwrites the report it wrote."""
    path.write_text(
        "#!/bin/sh\n"
        'out=""; prev=""\n'
        'for arg in "$@"; do\n'
        '  if [ "$prev" = "--output" ] || [ "$prev" = "--report-path" ]; then out="$arg"; fi\n'
        '  prev="$arg"\n'
        "done\n"
        f'"{real}" "$@"; code=$?\n'
        f"if [ -n \"$out\" ]; then printf '%s' '{corrupt}' > \"$out\"; "
        'echo "wrapper: rewrote the report" >&2; fi\n'
        'exit "$code"\n',
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        ("{}", "SchemaVersion: required, but not set"),
        ('{"Results": null}', "Results: Expected `array`, got `null`"),
        (
            '{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "filesystem", '
            '"Results": null}',
            "Results: Expected `array`, got `null`",
        ),
    ],
)
def test_a_trivy_report_without_trivys_shape_exits_2(
    corrupt: str, problem: str, git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    wrapper = _wrapper(tmp_path / "trivy", require_tool("trivy"), corrupt)
    project = write_project(git_project, scan_toml(trivy=str(wrapper)))
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "config")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "error: scan: 1 scan(s) incomplete; trivy config (trivy-config): report does not have "
        f"trivy's shape ({problem})"
    )
    assert "wrapper: rewrote the report" in result.err  # the tool's stderr tail
    assert "scan gate passed" not in result.out


@pytest.mark.parametrize(
    ("corrupt", "first_line"),
    [
        ("[]", "gitleaks: reported leaks but its JSON report lists none"),
        ('{"leaks": 2}', "gitleaks: report is not a JSON list"),
        (
            '[{"RuleID": "aws-access-token"}]',
            "gitleaks: report item 0 does not have gitleaks' shape (File: required, but not set)",
        ),
        ("", "gitleaks: wrote no valid JSON report"),
    ],
)
def test_a_gitleaks_report_without_gitleaks_shape_exits_2(
    corrupt: str, first_line: str, git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    wrapper = _wrapper(tmp_path / "gitleaks", require_tool("gitleaks"), corrupt)
    project = write_project(git_project, scan_toml(gitleaks=str(wrapper)))
    (project / "a.ini").write_text(f"aws_access_key_id = {FAKE_AWS_KEY}\n", encoding="utf-8")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "leak")
    result = run_task(project, "scan", "--only", "secrets")
    assert result.code == 2
    assert result.err.splitlines()[0].startswith(f"error: scan: 1 scan(s) incomplete; {first_line}")
    assert "wrapper: rewrote the report" in result.err
    assert FAKE_AWS_KEY not in result.out + result.err


def _stale_db(cache: Path, updated: str) -> None:
    (cache / "db").mkdir(parents=True)
    (cache / "db" / "trivy.db").write_bytes(b"an old database trivy is never asked to open")
    (cache / "db" / "metadata.json").write_text(
        json.dumps({"Version": 2, "UpdatedAt": updated, "NextUpdate": updated}), encoding="utf-8"
    )


def test_a_stale_vuln_db_fails_the_gate_and_is_named(
    git_project: Path, run_task: RunTask, tmp_path: Path
) -> None:
    cache = tmp_path / "old-trivy-cache"
    _stale_db(cache, "2020-01-01T06:00:00.123456789Z")
    toml = scan_toml("max-db-age = 30\n", cache=str(cache)).replace("vuln = false", "vuln = true")
    project = write_project(git_project, toml)
    _dockerfile(project, ROOT_DOCKERFILE)
    result = run_task(project, "scan", "--only", "fs")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert first.startswith(
        "error: scan: 1 scan(s) incomplete; trivy-fs: vulnerability DB 2020-01-01 ("
    )
    assert f"days old; max 30) in {cache / 'db'}" in first
    assert "max-db-age" in result.err
    assert "vulnerability DB: 2020-01-01 (" in result.out
    data = summary(project)
    assert data["vulnerability_db"]["status"] == "stale"
    assert data["vulnerability_db"]["updated_at"] == "2020-01-01T06:00:00+00:00"
    assert data["vulnerability_db"]["max_age_days"] == 30
    assert any(f["rule_id"] == "DS-0002" for f in data["findings"])  # the rest still ran


def test_the_db_state_is_printed_on_every_run(git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, scan_toml())
    _dockerfile(project, ROOT_DOCKERFILE)
    off = run_task(project, "scan", "--only", "config")
    assert "vulnerability DB: not used: vuln = false in [tool.conveyor.scan]" in off.out
    flag = run_task(project, "scan", "--only", "config", "--no-vuln")
    assert "vulnerability DB: not used: --no-vuln" in flag.out
    assert summary(project)["vulnerability_db"]["detail"] == "not used: --no-vuln"
