"""Deploys of fixture shape 1 (database, backend, proxy) on the real engine.

One target is shared by the module: deployed on release `good`, then each bad release must
leave `good` serving again, through the proxy, with the database container untouched (the
backend caches its database connection, so a database restart would show as 500s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration._services import (
    CRASH,
    GOOD,
    GOOD2,
    WEBSTACK,
    WRONG_PORT,
    ServiceTarget,
    build_webstack_images,
    webstack_target,
)
from tests.integration.conftest import git

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def webstack_images(repo_base_image: str) -> None:
    build_webstack_images()


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """Everything the module's deploys printed (checked for secrets at the end)."""
    return []


@pytest.fixture(scope="module")
def stack(
    webstack_images: None, tmp_path_factory: pytest.TempPathFactory, outputs: list[str]
) -> Iterator[ServiceTarget]:
    """Shape 1 deployed to `staging` on release `good`."""
    target = webstack_target(tmp_path_factory.mktemp("webstack") / "checkout")
    try:
        done = target.invoke("deploy", "--env", "staging", "--tag", GOOD)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr
        target.first_output = done.stderr
        yield target
    finally:
        target.down()


def deploy(target: ServiceTarget, outputs: list[str], tag: str) -> subprocess.CompletedProcess[str]:
    done = target.invoke("deploy", "--env", "staging", "--tag", tag)
    outputs.append(done.stdout + done.stderr)
    return done


def test_a_good_release_deploys_through_the_proxy(stack: ServiceTarget) -> None:
    status, body = stack.get("/")
    assert (status, body["release"]) == (200, GOOD)
    assert body["greeting"] == "hello from the webstack fixture"  # env_file reached it
    err = stack.first_output
    assert "warning: service backend has no healthcheck" in err
    assert "warning: service proxy has no healthcheck" in err
    assert "service db has no healthcheck" not in err
    assert stack.inspect("db")["State"]["Health"]["Status"] == "healthy"
    (release,) = stack.ledger()
    assert release["outcome"] == "deployed"
    assert [f["path"] for f in release["compose_files"]] == ["compose.yaml", "compose.deploy.yaml"]
    assert release["env_files"] == ["test.env", "backend.env"]
    assert release["git_sha"] == git(stack.root, "rev-parse", "HEAD")
    assert set(release["services"]) == set(WEBSTACK)


def test_a_crash_looping_backend_is_rolled_back_and_the_database_is_untouched(
    stack: ServiceTarget, outputs: list[str]
) -> None:
    before = stack.containers()
    done = deploy(stack, outputs, CRASH)
    assert done.returncode == 1, done.stderr
    assert "backend (new image); unchanged: db, proxy" in done.stderr
    assert "backend is crash-looping" in done.stderr
    assert "boot failed: no database settings" in done.stderr  # the backend's own logs
    assert "rolled back to release 1 (healthy)" in done.stderr
    after = stack.containers()
    assert after["db"] == before["db"]
    assert after["proxy"] == before["proxy"]
    assert stack.inspect("db")["RestartCount"] == 0
    assert stack.serving_release() == GOOD  # the cached connection still works: no restart


def test_a_backend_on_the_wrong_port_shows_its_logs_not_just_502(
    stack: ServiceTarget, outputs: list[str]
) -> None:
    before = stack.containers()
    done = deploy(stack, outputs, WRONG_PORT)
    assert done.returncode == 1, done.stderr
    assert f"GET http://127.0.0.1:{stack.port}/ -> 502" in done.stderr
    assert "attempts" in done.stderr  # retried until its deadline, not once
    assert "last log lines of backend:" in done.stderr
    assert "backend: listening on :9000" in done.stderr
    assert stack.serving_release() == GOOD
    assert stack.containers()["db"] == before["db"]


def test_a_rollback_from_a_second_checkout_touches_only_what_changed(
    stack: ServiceTarget, outputs: list[str], tmp_path: Path
) -> None:
    first_sha = git(stack.root, "rev-parse", "HEAD")
    (stack.root / "NOTES.md").write_text("release two\n")
    git(stack.root, "add", "NOTES.md")
    git(stack.root, "commit", "-q", "-m", "release two")
    done = deploy(stack, outputs, GOOD2)
    assert done.returncode == 0, done.stderr
    assert stack.serving_release() == GOOD2
    before = stack.containers()

    second = tmp_path / "elsewhere" / "checkout"
    subprocess.run(["git", "clone", "-q", str(stack.root), str(second)], check=True)
    assert git(second, "rev-parse", "HEAD") != first_sha
    back = stack.invoke("rollback", "--env", "staging", cwd=second)
    outputs.append(back.stdout + back.stderr)
    assert back.returncode == 0, back.stderr
    assert "backend (new image); unchanged: db, proxy" in back.stderr
    assert stack.serving_release() == GOOD
    after = stack.containers()
    assert after["db"] == before["db"]
    assert after["proxy"] == before["proxy"]
    last = stack.ledger()[-1]
    assert last["outcome"] == "rolled-back"
    assert last["git_sha"] == first_sha  # the restored release's commit, not the checkout's
    left = [p for p in (second / ".conveyor").rglob("*") if p.is_file()]
    assert [p.name for p in left] == [".gitignore"]


def test_a_failing_rollback_exits_3_with_a_report_and_how_to_recover(
    stack: ServiceTarget, outputs: list[str], tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    stack.write_env(BACKEND_BOOT_FAILURE="broken shared setting")  # breaks both releases
    try:
        done = stack.invoke(
            "deploy", "--env", "staging", "--tag", GOOD2,
            env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        )  # fmt: skip
        outputs.append(done.stdout + done.stderr)
    finally:
        stack.write_env()
    assert done.returncode == 3, done.stderr
    live = [r for r in stack.ledger() if r["outcome"] != "failed"][-1]
    recover = f"inv rollback --env staging --to {live['id']}"
    assert f"Recover with: {recover}" in done.stderr
    assert "::error title=rollback failed::" in done.stdout
    text = summary.read_text()
    assert "the rollback failed too" in text
    assert "running now: backend=cvit-webstack-backend" in text
    assert f"recover: `{recover}`" in text
    report = json.loads((stack.root / "reports" / "deploy-staging.json").read_text())
    assert report["outcome"] == "rollback-failed"
    assert report["exit_code"] == 3
    assert report["recover"] == recover
    assert "backend is crash-looping" in report["rollback_error"]
    assert {r["service"] for r in report["running"]} == set(WEBSTACK)

    again = stack.invoke(*recover.split()[1:])  # the command it named, with today's env
    outputs.append(again.stdout + again.stderr)
    assert again.returncode == 0, again.stderr
    assert stack.serving_release() in (GOOD, GOOD2)


def test_planted_secrets_are_in_no_ledger_label_report_or_file(
    stack: ServiceTarget, outputs: list[str]
) -> None:
    planted = stack.secrets.values()
    env = stack.inspect("backend")["Config"]["Env"]
    assert f"ADMIN_TOKEN={stack.secrets['admin_token']}" in env  # they were live
    assert f"SESSION_SECRET={stack.secrets['session']}" in env
    assert stack.get("/")[0] == 200  # the database password was accepted

    ledger = stack.ledger_labels()
    assert len(stack.ledger()) >= 5
    reports = "".join(p.read_text() for p in (stack.root / "reports").glob("*.json"))
    assert "deploy" in reports
    mine = {"test.env", "backend.env", "db_password.txt"}
    files = [
        p for p in stack.root.rglob("*") if p.is_file() and ".git" not in p.parts
        and p.name not in mine
    ]  # fmt: skip
    labels = "".join(json.dumps(stack.inspect(service)["Config"]["Labels"]) for service in WEBSTACK)
    for secret in planted:
        assert secret not in ledger
        assert secret not in reports
        assert secret not in labels
        assert not [p for p in files if secret in p.read_text(errors="replace")]
        assert not [out for out in outputs if secret in out]
    state = stack.root / ".conveyor"
    assert (state / ".gitignore").read_text().endswith("*\n")
    assert not [p for p in state.rglob("*") if p.name != ".gitignore" and p.is_file()]
    assert os.fspath(stack.root) not in ledger  # no absolute path of the checkout
    shutil.rmtree(state)
